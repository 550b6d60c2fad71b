"""Edit a workbook in a real LibreOffice, as a park would, through UNO.

Runs under the system Python that has LibreOffice's `uno` module (Debian: python3-uno):
    /usr/bin/python3 tests/lo_edit.py SRC DST '[{"op": "insert_rows", ...}, ...]'
Operations: insert_rows {sheet, before (1-based row), count}, delete_rows {sheet, row, count},
rename {sheet, to}, move {sheet, to (0-based position)}, set {sheet, cell, value}, store {filter, password}
(how to save: another format, with a password).
The result is saved by LibreOffice (as .xlsx unless a store operation says otherwise), with its own cached
formula values.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(src, dst, ops):
    pipe = "consolidator_" + uuid.uuid4().hex[:8]
    profile = tempfile.mkdtemp(prefix="lo-uno-")
    office = subprocess.Popen(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--invisible", "--norestore",
         "--nologo", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = None
        for _ in range(120):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.5)
        if ctx is None:
            raise SystemExit("LibreOffice did not start")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(src)), "_blank", 0,
                                           (prop("Hidden", True),))
        sheets = doc.Sheets
        store = [prop("FilterName", "Calc MS Excel 2007 XML")]
        for op in ops:
            if op["op"] == "store":
                store = [prop("FilterName", op["filter"])] + ([prop("Password", op["password"])] if op.get("password") else [])
                continue
            kind = op["op"]
            if kind in ("insert_rows", "delete_rows", "rename", "move", "set"):
                sheet = sheets.getByName(op["sheet"])
                if sheet.isProtected():
                    sheet.unprotect("")
            if kind == "insert_rows":
                sheet.Rows.insertByIndex(op["before"] - 1, op["count"])
            elif kind == "delete_rows":
                sheet.Rows.removeByIndex(op["row"] - 1, op["count"])
            elif kind == "rename":
                sheet.setName(op["to"])
            elif kind == "move":
                sheets.moveByName(op["sheet"], op["to"])
            elif kind == "set":
                cell = sheet.getCellRangeByName(op["cell"])
                if isinstance(op["value"], (int, float)):
                    cell.setValue(op["value"])
                else:
                    cell.setString(op["value"])
            else:
                raise SystemExit(f"unknown operation {kind}")
        doc.calculateAll()
        doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(dst)), tuple(store))
        doc.close(True)
    finally:
        office.terminate()
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
