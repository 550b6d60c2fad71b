"""The official Word form (.docx) of a return: what the province has stamped and what the experts read.

  (rules/wordlayout.py: where everything stands, from the Form alone, and the report's standard; pure)
  report.py    the report's typesetting standard, as the writer's modules name it (from rules/wordlayout.py)
  ooxml.py     what python-docx lacks: East-Asian fonts, footnotes, the page-number field, row flags
  styles.py    the base document: A4, page numbers, default fonts, the paragraph styles
  skeleton.py  the blank form of a category, written once per process, and where each value goes
  document.py  the document of one return (the blank form filled), as bytes; its file name
"""

from ...rules.wordlayout import Plan, Section, Slot, form_plan
from .document import (
           CHECKED,
           UNCHECKED,
           display,
           docx_name,
           form_document,
           return_document,
)
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
