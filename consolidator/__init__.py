"""consolidator: templates, batch checks and summaries for the 2026 industrial-park innovation-practice returns."""

__version__ = "0.1.0"
