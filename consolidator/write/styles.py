"""What every workbook we write shares: fonts, fills, borders, protection, and how wide and tall text is.

Severity colours are the checker's: red for an error (强制性), orange for a warning (核实性), in the
template's in-sheet warnings, the annotated copy and the summary alike.
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
ERROR_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
WARNING_FILL = PatternFill("solid", start_color="FFD8A8", end_color="FFD8A8")
# the same colours as conditional formats (a differential style's fill is its background colour)
ERROR_STYLE = DifferentialStyle(fill=PatternFill(bgColor="FFC7CE", fill_type="solid"), font=Font(color="9C0006"))
WARN_STYLE = DifferentialStyle(fill=PatternFill(bgColor="FFD8A8", fill_type="solid"), font=Font(color="833C0B"))

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

HEAD_FONT = Font(name=FONT_HEAD, size=11, bold=True)
BODY_FONT = Font(name=FONT_BODY, size=10)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
