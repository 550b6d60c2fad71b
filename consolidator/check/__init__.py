"""Checking: the pure core. A batch of returns as read in, findings and statuses out."""
