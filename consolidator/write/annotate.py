"""The copy of a return sent back to its park: each problem cell coloured and commented.

The original is never touched; macros are never carried over (the copy is a plain .xlsx).
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict

import openpyxl
from openpyxl.comments import Comment

from ..findings import ERROR, WARNING, Finding
from .styles import ERROR_FILL, WARNING_FILL
from .xlsx import xml_text

COMMENT_AUTHOR = "报送检查"


def annotate(data: bytes, findings: list[Finding]) -> bytes | None:
    """A copy of the return with each problem cell coloured and commented; None when the file is not
    an .xlsx/.xlsm openpyxl can open. Macros are never carried over: the copy is a plain .xlsx."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False)
    except Exception:
        return None
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.sheet and f.cell and f.severity in (ERROR, WARNING) and f.sheet in wb.sheetnames:
            by_cell[(f.sheet, f.cell)].append(f)
    for (sheet, coord), items in by_cell.items():
        ws = wb[sheet]
        for rng in ws.merged_cells.ranges:
            if coord in rng:
                coord = rng.start_cell.coordinate
                break
        cell = ws[coord]
        worst = ERROR if any(f.severity == ERROR for f in items) else WARNING
        cell.fill = ERROR_FILL if worst == ERROR else WARNING_FILL
        text = "\n".join(f"【{'错误' if f.severity == ERROR else '请核实'}】{f.message}" for f in items)
        old = cell.comment.text + "\n" if cell.comment else ""
        comment = Comment(xml_text(old + text), COMMENT_AUTHOR)
        comment.width, comment.height = 320, 40 + 18 * text.count("\n") + 18 * (len(text) // 24)
        cell.comment = comment
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
