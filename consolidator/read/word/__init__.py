"""The official Word form (.docx) as a park fills it, read into the same fields as a workbook.

  document.py  the document through python-docx: paragraphs and tables in reading order, cells on the grid,
               texts with the ticked boxes of a choice
  anchors.py   where each field stands in the form and by which words it is found (from rules/wordlayout.py)
  form.py      the form's parts found in the document (sections, 情况说明, enterprise lists), each value
  format.py    the report against the form's format standard: 提示 naming the paragraphs
  reader.py    one .docx in, one RawReturn out (package checks, the category, the cells, the list)

Loaded only when a Word file is read (read/workbook.py), so reading a workbook never loads python-docx.
"""

from .reader import read_word

__all__ = ["read_word"]
