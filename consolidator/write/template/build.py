"""The whole workbook, part by part, in the order the parts are built."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.workbook.protection import WorkbookProtection

from ...rules import Form
from ...rules.layout import Layout, form_layout
from . import checks, identity
from .calc import build_calc
from .common import Build
from .enterprise_list import list_sheet
from .sheets import form_sheet, print_lines, shading


def build_workbook(form: Form, *, park: dict[str, str] | None = None) -> tuple[Workbook, Layout]:
    """The fill-in workbook for `form`. With `park` (park_id, park_name and field values such as
    province_city, county), a personal copy: those values are filled in and locked."""
    b = build(form, park=park)
    return b.wb, b.layout


def build(form: Form, *, park: dict[str, str] | None = None) -> Build:
    """The build itself: the workbook, its layout and its in-sheet checks (Build.row_checks)."""
    b = Build(form, park or {}, form_layout(form))
    b.wb.remove(b.wb.active)
    for sheet in b.layout.all_sheets():  # in the order they print: the cover first, the manual last
        if b.layout.enterprise_list and sheet is b.layout.enterprise_list.sheet:
            list_sheet(b)
        else:
            form_sheet(b, sheet)
    identity.meta_sheet(b)
    build_calc(b)
    for lines in b.layout.print_lines:
        print_lines(b, lines)
    identity.define_names(b)
    checks.validations(b)
    checks.collect_field_checks(b)
    checks.rule_checks(b)
    checks.explanation_checks(b)
    checks.choice_marks(b)  # first: a choice shows its ☑/☐ under the colours of the checks
    checks.emit_checks(b)
    shading(b)  # last: the yellow and grey give way to every check
    identity.properties(b)
    b.wb.active = 0
    b.wb.security = WorkbookProtection(lockStructure=True)
    return b
