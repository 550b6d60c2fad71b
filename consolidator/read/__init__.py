"""Reading: find the returns, look at each package, read and normalise it in an isolated worker; the roster."""
