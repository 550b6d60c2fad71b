"""The floor of a check, as a process of its own: read every return's bytes and parse its XML parts with expat,
on all cores, nothing else (no imports of the program).

    python benchmarks/floor.py FOLDER                       # every XML part
    python benchmarks/floor.py FOLDER --tight SHEET ...     # only the parts the reader opens

The tight floor parses what the reader opens: the package parts it or its workbook reader reads
(PACKAGE_PARTS) and the worksheets of the sheets named, found through workbook.xml and its relationships as a
reader finds them. Not the others: a template's hidden _calc sheet, the largest part of a return, is never read.
"""

import io
import multiprocessing as mp
import os
import re
import sys
import xml.parsers.expat
import zipfile
from pathlib import Path

# Opened for every return: by the workbook reader (python-calamine reads the package and workbook relationships,
# the workbook, its shared strings and styles: a return whose copy of one of these is damaged cannot be read,
# while one with a damaged theme, app, core or content-types part still is) and by consolidator itself (the
# workbook's defined names and the custom document properties).
PACKAGE_PARTS = ("_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
                 "xl/styles.xml", "docProps/custom.xml")
_TAG = {"sheet": re.compile(rb'<(?:\w+:)?sheet\s[^>]*>'), "rel": re.compile(rb'<(?:\w+:)?Relationship\s[^>]*>')}
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')


def _sheet_parts(book: bytes, rels: bytes, wanted: set[str]) -> set[str]:
    """The worksheet parts of the sheets named (the workbook lists each sheet's name and relationship id, its
    relationships give the part)."""
    target = {a.get(b"Id"): a.get(b"Target", b"").decode() for a in map(_attributes, _TAG["rel"].findall(rels))}
    parts = set()
    for a in map(_attributes, _TAG["sheet"].findall(book)):
        t = target.get(a.get(b"r:id"))
        if t and a.get(b"name", b"").decode() in wanted:
            parts.add(t.lstrip("/") if t.startswith("/") else "xl/" + t)
    return parts


def _attributes(tag: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(tag))


def one(args: tuple[str, tuple[str, ...] | None]) -> int:
    path, sheets = args
    parts = 0
    with zipfile.ZipFile(io.BytesIO(Path(path).read_bytes())) as zf:
        read = {}  # (the workbook and its relationships are decompressed once, for the map and the parse)
        if sheets is None:
            wanted = {n for n in zf.namelist() if n.endswith((".xml", ".rels"))}
        else:
            read = {n: zf.read(n) for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")}
            wanted = set(PACKAGE_PARTS) | _sheet_parts(*read.values(), set(sheets))
        for info in zf.infolist():
            if info.filename in wanted:
                data = read.get(info.filename)
                xml.parsers.expat.ParserCreate().Parse(zf.read(info) if data is None else data, True)
                parts += 1
    return parts


def main() -> None:
    folder = Path(sys.argv[1])
    sheets = tuple(sys.argv[sys.argv.index("--tight") + 1:]) if "--tight" in sys.argv else None
    files = sorted(str(p) for p in folder.glob("*.xlsx"))
    with mp.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pool.map(one, [(f, sheets) for f in files], chunksize=50)


if __name__ == "__main__":
    main()
