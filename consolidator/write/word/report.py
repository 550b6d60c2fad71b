"""The report's typesetting standard and how its headings are recognised: kept in rules/wordlayout.py, where the
reader of a filled-in form (read/word/) finds it too; named here for the writer's modules."""

from ...rules.wordlayout import (  # noqa: F401
    ABSTRACT,
    BODY_FONT,
    FIRST_LINE_CHARS,
    LEVEL_FONTS,
    LEVELS,
    LINE_PT,
    SIZE_PT,
    Piece,
    ReportParagraph,
    heading_level,
    report_paragraphs,
)
