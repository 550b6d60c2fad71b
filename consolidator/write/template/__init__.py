"""Build the workbook that parks fill, from a compiled Form.

Everything in the workbook comes from the Form: the sheets and their order, every label, hint and
footnote, the input cells, the live formulas of computed indicators, the drop-downs and number
validation, the conditional formatting that turns a cell red (强制性) or orange (核实性) while the
park types, and the 校验提示 column that says why — the checker's own findings, evaluated on the cells
as the checker reads them (tests/test_sheet_agreement.py compares the two cell by cell).

Where each thing stands, and how it prints, is the form's layout (rules/layout.py, pure, which the reader
shares); this package writes it and adds styles, formulas, checks and protection:

  build.py            the parts in the order they are built
  common.py           what the parts share: the build's state, names, number formats, page setup
  sheets.py           the form sheets: titles, paragraphs, labels, headers, value cells, printed lines
  calc.py             the very hidden _calc sheet: every cell read as the checker reads it
  checks.py           in-sheet checks: conditional formatting, the 校验提示 column, ☑/☐, data validation
  enterprise_list.py  the enterprise list sheet, its live counts and its 情况说明 column
  identity.py         the hidden _meta sheet, custom properties, defined names
  package.py          bytes (byte-stable zip), filled copies, the template files

Every field's cell carries a workbook-level defined name (`fld_<field id>`). Excel, WPS and
LibreOffice move defined names along when rows are inserted or sheets renamed, so the checker
finds every field in a park's edited copy; the formulas use the same names, so they keep working
too. The template's identity (category, version, rule fingerprint and, for personal copies, the
park) is kept in a very hidden sheet and in the workbook's custom properties.
"""

from ...rules.layout import Layout
from .build import build_workbook
from .common import field_name, header_cell, number_format
from .package import (
           filled_workbook_bytes,
           template_filename,
           workbook_bytes,
           write_templates,
)

__all__ = ["Layout", "build_workbook", "field_name", "filled_workbook_bytes", "header_cell", "number_format",
           "template_filename", "workbook_bytes", "write_templates"]
