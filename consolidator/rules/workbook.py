"""What the template and the reader agree on: the workbook's defined names and identity keys.

Kept apart from write/template/ so that reading a return does not load openpyxl (the check command never
writes a workbook, and its worker processes start lighter)."""

META_SHEET = "_meta"
META_KEYS = ("category", "category_name", "template_version", "fingerprint", "park_id", "park_name")
PROPERTY_PREFIX = "consolidator."
NAME_PREFIX = "fld_"
LIST_PREFIX = "lst_"


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA (as openpyxl's get_column_letter)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 1, AA -> 27 (as openpyxl's column_index_from_string)."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index
