"""The whole workbook, part by part, in the order the parts are built."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.workbook.protection import WorkbookProtection

from ...rules import Form
from ...rules.layout import Layout, form_layout
from . import checks, identity
from .common import Build
from .enterprise_list import list_sheet
from .sheets import form_sheets


def build_workbook(form: Form, *, park: dict[str, str] | None = None) -> tuple[Workbook, Layout]:
    """The fill-in workbook for `form`. With `park` (park_id, park_name and field values such as
    province_city, county), a personal copy: those values are filled in and locked."""
    b = Build(form, park or {}, form_layout(form))
    b.wb.remove(b.wb.active)
    form_sheets(b)
    list_sheet(b)
    identity.meta_sheet(b)
    identity.define_names(b)
    checks.validations(b)
    checks.collect_field_checks(b)
    checks.rule_checks(b)
    checks.emit_checks(b)
    identity.properties(b)
    b.wb.active = 0
    b.wb.security = WorkbookProtection(lockStructure=True)
    return b.wb, b.layout
