"""The report typeset to the form's standard (填写要求 5. 报告格式):

  全文行间距22磅，无段间距，字体大小使用【小四】号；各级标题依次使用“一、”“（一）”“1.”“（1）”标注排序，
  对应字体依次为黑体、楷体_GB2312、仿宋_GB2312、仿宋_GB2312；正文内容使用仿宋_GB2312。

A paragraph is a heading by its numbering. A heading that runs on into its text ("（一）搭建平台。园区…")
has its heading font up to the end of its first sentence, the rest in the body font.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE_PT = 22.0  # 行间距22磅: exactly
SIZE_PT = 12.0  # 小四
BODY_FONT = "仿宋_GB2312"
# level -> font, in the order of the standard; level 0 is the body
LEVEL_FONTS = {1: "黑体", 2: "楷体_GB2312", 3: "仿宋_GB2312", 4: "仿宋_GB2312", 0: BODY_FONT}
FIRST_LINE_CHARS = 2  # the first line of every paragraph is indented two characters

_CN = "一二三四五六七八九十百"
LEVELS = (
    (1, re.compile(rf"^[{_CN}]+、")),
    (2, re.compile(rf"^[（(][{_CN}]+[）)]")),
    (3, re.compile(r"^[0-9０-９]+[.．、](?![0-9０-９])")),
    (4, re.compile(r"^[（(][0-9０-９]+[）)]")),
)
ABSTRACT = re.compile(r"^【[^】]{1,8}】")  # 【摘要】: its mark in the first-level heading font
_SENTENCE_END = re.compile(r"[。！？；：:]")


@dataclass(frozen=True)
class Piece:
    text: str
    font: str


@dataclass(frozen=True)
class ReportParagraph:
    level: int  # 1-4 a heading of that level, 0 the body
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


def heading_level(text: str) -> int:
    """1 for "一、", 2 for "（一）", 3 for "1." (or "1．", "1、"), 4 for "（1）"; 0 for a body paragraph."""
    for level, pattern in LEVELS:
        if pattern.match(text):
            return level
    return 0


def report_paragraphs(text: str) -> list[ReportParagraph]:
    """The report's paragraphs (one per line; blank lines dropped), each with its level and fonts."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip().strip("\u3000")
        if not line:
            continue
        level = heading_level(line)
        mark = ABSTRACT.match(line)
        if mark and not level:
            out.append(ReportParagraph(0, _split(line, mark.end(), LEVEL_FONTS[1])))
            continue
        head_end = len(line)
        if level:
            end = _SENTENCE_END.search(line)
            if end and end.end() < len(line):
                head_end = end.end()
        out.append(ReportParagraph(level, _split(line, head_end, LEVEL_FONTS[level])))
    return out


def _split(line: str, at: int, font: str) -> tuple[Piece, ...]:
    pieces = [Piece(line[:at], font)]
    if at < len(line):
        pieces.append(Piece(line[at:], BODY_FONT))
    return tuple(pieces)
