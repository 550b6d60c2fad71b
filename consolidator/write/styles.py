"""What every workbook we write shares: fonts, fills, borders, protection, and how wide and tall text is.

Severity colours are the checker's, one fixed palette: red for an error (强制性), orange for a warning
(核实性), green for a return that passed, in the template's in-sheet checks and 校验提示, the annotated copy
and the summary alike.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.differential import DifferentialStyle

# how wide and tall text is: pure, so the template's layout (rules/layout.py) shares it
from ..rules.layout import rows_height, text_width  # noqa: F401 (the pure part lives with the layout)

FONT_BODY = "宋体"
FONT_HEAD = "黑体"

HEAD_FILL = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
INPUT_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")  # cells a person fills in
DERIVED_FILL = PatternFill("solid", start_color="E7E6E6", end_color="E7E6E6")  # computed or given cells
# the palette: text and fill of an error (red), a warning (orange), a pass (green)
ERROR_COLOR, ERROR_BG = "C00000", "FFC7CE"
WARNING_COLOR, WARNING_BG = "C65911", "FFD8A8"
PASSED_COLOR, PASSED_BG = "375623", "C6EFCE"
ERROR_FILL = PatternFill("solid", start_color=ERROR_BG, end_color=ERROR_BG)
# a mark on a park's copy (write/annotate*): the warning's orange a shade deeper than WARNING_BG, which beside the
# yellow of an input cell was hard to tell from it, on screen and printed
WARNING_MARK = "F4B183"
WARNING_FILL = PatternFill("solid", start_color=WARNING_MARK, end_color=WARNING_MARK)
PASSED_FILL = PatternFill("solid", start_color=PASSED_BG, end_color=PASSED_BG)
# the same colours as conditional formats (a differential style's fill is its background colour)
ERROR_STYLE = DifferentialStyle(fill=PatternFill(bgColor=ERROR_BG, fill_type="solid"), font=Font(color="9C0006"))
WARN_STYLE = DifferentialStyle(fill=PatternFill(bgColor=WARNING_BG, fill_type="solid"), font=Font(color="833C0B"))

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

HEAD_FONT = Font(name=FONT_HEAD, size=11, bold=True)
BODY_FONT = Font(name=FONT_BODY, size=10)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
