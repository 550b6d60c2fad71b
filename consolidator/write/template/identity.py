"""What identifies the workbook and its cells: the very hidden _meta sheet and the custom properties
(category, template version, rule fingerprint and, in a personal copy, the park), and the defined
names `fld_<field id>` that Excel, WPS and LibreOffice move along when rows are inserted."""

from __future__ import annotations

import re

from openpyxl.packaging.custom import StringProperty
from openpyxl.utils import quote_sheetname
from openpyxl.workbook.defined_name import DefinedName

from ...rules.workbook import META_KEYS, META_SHEET, PROPERTY_PREFIX
from ..xlsx import xml_text
from .common import Build, absolute, field_name


def meta_values(b: Build) -> dict[str, str]:
    return {
        "category": b.form.category_id,
        "category_name": b.form.category_name,
        "template_version": b.form.template_version,
        "fingerprint": b.form.fingerprint,
        "park_id": b.park.get("park_id", ""),
        "park_name": b.park.get("park_name", ""),
    }


def meta_sheet(b: Build) -> None:
    ws = b.wb.create_sheet(META_SHEET)
    values = meta_values(b)
    for i, key in enumerate(META_KEYS, start=1):
        ws.cell(row=i, column=1, value=key)
        ws.cell(row=i, column=2, value=values[key])
    ws.sheet_state = "veryHidden"
    ws.protection.sheet = True


def properties(b: Build) -> None:
    props = b.wb.properties
    props.creator = "consolidator"
    props.title = f"{b.form.title}{b.form.subtitle}（{b.form.category_name}）"
    props.created = props.modified = b.form.created
    for key, value in meta_values(b).items():
        if value:
            b.wb.custom_doc_props.append(StringProperty(name=PROPERTY_PREFIX + key, value=xml_text(str(value))))


def define_names(b: Build) -> None:
    """A name at every field's cell, and one over the cells a drop-down takes its choices from."""
    for fid, (sheet, coord) in b.layout.cells.items():
        b.wb.defined_names[field_name(fid)] = DefinedName(field_name(fid), attr_text=absolute(sheet, coord))
    for f in b.form.fields.values():
        if f.choices_from:
            cells = [b.layout.cells[c] for c in f.choices_from]
            sheets = {s for s, _ in cells}
            cols = {re.match(r"[A-Z]+", c).group() for _, c in cells}
            rows = sorted(int(re.sub(r"[A-Z]+", "", c)) for _, c in cells)
            if len(sheets) != 1 or len(cols) != 1 or rows != list(range(rows[0], rows[0] + len(rows))):
                raise ValueError(f"规则文件错误：字段“{f.id}”的 choices_from 应指向同一列中相邻的几个单元格")
            (col,), (sheet,) = cols, sheets
            b.wb.defined_names[f"choices_{f.id}"] = DefinedName(
                f"choices_{f.id}", attr_text=f"{quote_sheetname(sheet)}!${col}${rows[0]}:${col}${rows[-1]}")
