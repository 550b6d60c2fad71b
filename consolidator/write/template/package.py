"""The workbook as bytes and as files: the same rules always give the same bytes."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Callable, Iterable

from openpyxl import Workbook

from ...rules import Form
from ...rules.layout import Layout
from ..xlsx import utf8_text
from .build import build_workbook


def template_filename(form: Form) -> str:
    return f"{form.title}{form.subtitle}（{form.category_name}）.xlsx"


def workbook_bytes(form: Form, *, park: dict[str, str] | None = None) -> bytes:
    """The workbook as .xlsx bytes, identical for identical rules (fixed timestamps)."""
    wb, _ = build_workbook(form, park=park)
    buf = io.BytesIO()
    wb.save(buf)
    return _repacked(buf.getvalue(), form.created.strftime("%Y-%m-%dT%H:%M:%SZ"))


def filled_workbook_bytes(form: Form, values: dict[str, object], enterprises: Iterable[dict[str, str]] = (),
                          *, park: dict[str, str] | None = None,
                          edit: Callable[[Workbook, Layout], None] | None = None) -> bytes:
    """A template filled in as a park would: `values` by field id, `enterprises` as list rows
    (keys are the list's column ids); `edit` may then change the workbook the way parks do
    (overwrite a formula, retype a label). Used for sample data, tests and benchmarks."""
    wb, layout = build_workbook(form, park=park)
    for fid, value in values.items():
        if form.fields[fid].is_derived:
            raise ValueError(f"{fid} is computed by the workbook and cannot be filled")
        sheet, coord = layout.cells[fid]
        wb[sheet][coord].value = value
    rows = list(enterprises)
    if len(rows) > form.enterprise_list.rows:
        raise ValueError(f"{len(rows)} enterprises do not fit the {form.enterprise_list.rows} list rows")
    for i, row in enumerate(rows):
        for cid, value in row.items():
            sheet, rng = layout.list_columns[cid]
            col = re.match(r"[A-Z]+", rng).group()
            wb[sheet][f"{col}{layout.list_first_row + i}"].value = value
    if edit is not None:
        edit(wb, layout)
    buf = io.BytesIO()
    wb.save(buf)
    return _repacked(buf.getvalue())


def write_templates(forms: Iterable[Form], out_dir: Path) -> list[Path]:
    """Write one template per category into out_dir (atomically); return the paths."""
    from ..files import atomic_write_bytes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for form in forms:
        path = out_dir / template_filename(form)
        atomic_write_bytes(path, workbook_bytes(form))
        paths.append(path)
    return paths


def _repacked(data: bytes, stamp: str | None = None) -> bytes:
    """The package with its text in UTF-8 rather than character references (xlsx.utf8_text), as Excel saves it;
    with a `stamp`, also fixed member times and creation/modification dates, so that the same rules always give
    the same bytes (the committed templates are compared in a test)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = utf8_text(info.filename, src.read(info.filename))
            if stamp is None:
                dst.writestr(info, body)
                continue
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rb"\g<1>" + stamp.encode() + rb"\2", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()
