"""The floor of a check, as a process of its own: read every return's bytes and parse its XML parts with expat,
on all cores, nothing else (no imports of the program). `--tight`: only the parts the reader opens.

    python benchmarks/floor.py FOLDER [--tight]
"""

import io
import multiprocessing as mp
import os
import sys
import xml.parsers.expat
import zipfile
from pathlib import Path

NEEDED = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "docProps/custom.xml")


def _wanted(name: str, tight: bool) -> bool:
    if not tight:
        return name.endswith((".xml", ".rels"))
    return name in NEEDED or (name.startswith("xl/worksheets/sheet") and name.endswith(".xml"))


def one(args: tuple[str, bool]) -> int:
    path, tight = args
    parts = 0
    with zipfile.ZipFile(io.BytesIO(Path(path).read_bytes())) as zf:
        for info in zf.infolist():
            if _wanted(info.filename, tight):
                xml.parsers.expat.ParserCreate().Parse(zf.read(info), True)
                parts += 1
    return parts


def main() -> None:
    folder, tight = Path(sys.argv[1]), "--tight" in sys.argv
    files = sorted(str(p) for p in folder.glob("*.xlsx"))
    with mp.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pool.map(one, [(f, tight) for f in files], chunksize=50)


if __name__ == "__main__":
    main()
