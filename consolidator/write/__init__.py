"""Writing: the workbook template, the report, the summary and evaluation workbooks, the docs."""
