"""The official Word form (.docx) of a return: what the province has stamped and what the experts read.

  plan.py      where everything stands, from the Form alone (pure): cover, 填写说明, 承诺声明, the tables
  report.py    the report's typesetting standard and how its headings are recognised (pure)
  ooxml.py     what python-docx lacks: East-Asian fonts, footnotes, the page-number field, row flags
  styles.py    the base document: A4, page numbers, default fonts, the paragraph styles
  skeleton.py  the blank form of a category, written once per process, and where each value goes
  document.py  the document of one return (the blank form filled), as bytes; its file name
"""

from .document import (
           CHECKED,
           UNCHECKED,
           display,
           docx_name,
           form_document,
           return_document,
)
from .plan import Plan, Section, Slot, form_plan
from .report import heading_level, report_paragraphs

__all__ = [
           "CHECKED",
           "UNCHECKED",
           "Plan",
           "Section",
           "Slot",
           "display",
           "docx_name",
           "form_document",
           "form_plan",
           "heading_level",
           "report_paragraphs",
           "return_document",
]
