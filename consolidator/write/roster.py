"""The blank roster a new workspace starts with: the header row the roster reader expects, a drop-down of
the categories, and a second sheet that says how to fill it."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation

from ..read.roster import COLUMNS, REQUIRED
from ..rules.model import Form
from .styles import BODY_FONT, BORDER, CENTER, HEAD_FILL, HEAD_FONT
from .xlsx import workbook_to_bytes

ORDER = ("name", "city", "county", "category", "contact", "email", "park_id")
WIDTHS = {"name": 34, "city": 16, "county": 14, "category": 26, "contact": 10, "email": 30, "park_id": 12}
NOTES = {
    "name": "园区的正式名称（与填报表中的名称一致）",
    "city": "如：江苏省苏州市",
    "county": "如：吴中区",
    "category": "从下拉列表中选择：{categories}",
    "contact": "园区联系人姓名",
    "email": "联系人的电子邮箱，填报表和反馈邮件发往这里",
    "park_id": "可不填：不填时按行号编为 P0001、P0002……；填写时每个园区必须不同",
}
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
ROWS = 500  # rows offered the category drop-down


def roster_workbook(forms: dict[str, Form]) -> bytes:
    """园区名单.xlsx: header row, frozen, category drop-down; notes on a second sheet."""
    categories = [f.category_name for f in forms.values()]
    wb = Workbook()
    ws = wb.active
    ws.title = "园区名单"
    for col, key in enumerate(ORDER, start=1):
        cell = ws.cell(row=1, column=col, value=COLUMNS[key][0])
        cell.font, cell.fill, cell.border, cell.alignment = HEAD_FONT, HEAD_FILL, BORDER, CENTER
        ws.column_dimensions[cell.column_letter].width = WIDTHS[key]
    ws.freeze_panes = "A2"
    letter = ws.cell(row=1, column=ORDER.index("category") + 1).column_letter
    choice = DataValidation(type="list", formula1='"' + ",".join(categories) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="类别", error="请从下拉列表中选择类别。")
    choice.add(f"{letter}2:{letter}{ROWS + 1}")
    ws.add_data_validation(choice)
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for key in ORDER:
        required = "必填" if key in REQUIRED else "选填"
        notes.append([COLUMNS[key][0], required, NOTES[key].format(categories="、".join(categories))])
    notes.append([])
    notes.append(["", "", "每行一个园区；第一行的列名请勿修改。保存为 .xlsx（也可另存为 .csv）。"])
    for row in notes.iter_rows():
        for cell in row:
            cell.font, cell.alignment = BODY_FONT, LEFT
    for cell in notes[1]:
        cell.font, cell.fill = HEAD_FONT, HEAD_FILL
    for letter, width in zip("ABC", (14, 10, 70)):
        notes.column_dimensions[letter].width = width
    return workbook_to_bytes(wb)
