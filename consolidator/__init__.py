"""consolidator: templates, batch checks and summaries for the 2026 industrial-park innovation-practice returns."""

import os

__version__ = "0.1.0"

# Arrow's arrays (the enterprise lists' names and codes) from the C library's malloc, read when pyarrow makes its
# first array: its default allocator reserves address space by the gigabyte, which a reading worker's memory cap
# refuses (read.workers._limit_memory), and holds on to freed pages (a national batch peaked ~70 MB higher).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
