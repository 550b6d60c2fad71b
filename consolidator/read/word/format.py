"""The report of a Word form checked against the form's format standard (填写要求 5. 报告格式, kept in
rules/wordlayout.py): 全文行间距22磅，无段间距，字体大小使用小四号；各级标题依次使用“一、”“（一）”“1.”“（1）”，
对应字体依次为黑体、楷体_GB2312、仿宋_GB2312、仿宋_GB2312；正文使用仿宋_GB2312.

Each deviation is a 提示 naming the paragraphs, counted from the report's first paragraph with text (第3段);
the same deviation in several paragraphs is one finding naming them all (第1-12、15段). What a paragraph
looks like is what Word shows: its own formatting, else its style's and the styles it is based on, else the
document's defaults (python-docx reads each level; the defaults, which it does not expose, from its elements).
The length and the four parts are the rules' (max_chars, report_headings): checked for every return, a
workbook's too, so not again here.
"""

from __future__ import annotations

import re
import unicodedata

from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from ...findings import Finding, make_finding
from ...rules.wordlayout import (
    BODY_FONT,
    LEVEL_FONTS,
    LINE_PT,
    SIZE_PT,
    heading_level,
    report_paragraphs,
)

LEVEL_NAMES = {0: "正文", 1: "一级标题", 2: "二级标题", 3: "三级标题", 4: "四级标题"}
SIZE_NAMES = {42: "初号", 36: "小初", 26: "一号", 24: "小一", 22: "二号", 18: "小二", 16: "三号", 15: "小三",
              14: "四号", 12: "小四", 10.5: "五号", 9: "小五", 7.5: "六号", 6.5: "小六", 5.5: "七号", 5: "八号"}
FONT_NAMES = {"simhei": "黑体", "kaiti_gb2312": "楷体_GB2312", "fangsong_gb2312": "仿宋_GB2312"}  # English names
MARKS = ("一、", "（一）", "1.", "（1）")  # each level's numbering as the standard writes it
_CN = "一二三四五六七八九十"
_NEAR_MISS = re.compile(rf"^[{_CN}]+[.．、,，]|^[（(][{_CN}]+[）)]|^\d+[.．、]|^[（(]\d+[）)]")
_RUNS = "./w:r | ./w:hyperlink/w:r | ./w:ins/w:r | ./w:smartTag/w:r | ./w:sdt/w:sdtContent/w:r | ./w:fldSimple/w:r"


def format_findings(paragraphs: list[Paragraph], document, where: dict[str, str]) -> list[Finding]:
    """The 提示 of the report's paragraphs; `where` locates them (file, field, sheet)."""
    defaults = _Defaults(document)
    groups: dict[tuple[str, str, str], list[int]] = {}
    excerpts: dict[tuple[str, str, str], str] = {}
    out: list[Finding] = []
    numbering = _Numbering()
    for n, p in enumerate(paragraphs, start=1):
        raw = "".join(r.text for r in _runs(p))
        text = raw.strip()
        for key in _deviations(p, raw, defaults):
            groups.setdefault(key, []).append(n)
            excerpts.setdefault(key, _excerpt(text))
        reason = numbering.step(text)
        if reason:
            out.append(make_finding("report_heading", paragraphs=f"第{n}段", value=_mark(text), reason=reason,
                                    **{**where, "cell": f"第{n}段"}))
    for (code, found, kind), numbers in groups.items():
        named = paragraph_ranges(numbers)
        out.append(make_finding(code, paragraphs=named, found=found, kind=LEVEL_NAMES.get(int(kind or 0), ""),
                                expected=_EXPECTED[code] if code != "report_font" else kind_font(kind),
                                value=excerpts[(code, found, kind)], **{**where, "cell": named}))
    return sorted(out, key=lambda f: _first(f.cell))


_EXPECTED = {"report_line_spacing": "固定值22磅", "report_paragraph_spacing": "无段间距",
             "report_font_size": "小四（12磅）"}


def kind_font(kind: str) -> str:
    return LEVEL_FONTS[int(kind or 0)]


def _first(cell: str) -> int:
    m = re.search(r"\d+", cell)
    return int(m.group()) if m else 0


def paragraph_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> 第1-3、5段."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return f"第{'、'.join(parts)}段"


def _excerpt(text: str) -> str:
    return text[:20] + ("…" if len(text) > 20 else "")


def _mark(text: str) -> str:
    m = _NEAR_MISS.match(text)
    return m.group() if m else text[:6]


def _runs(p: Paragraph) -> list[Run]:
    return [Run(r, p) for r in p._p.xpath(_RUNS)]


# ---- what a paragraph looks like -----------------------------------------------------------------------
class _Defaults:
    """The document's defaults (w:docDefaults): the last level every property falls back to."""

    def __init__(self, document):
        d = document.styles.element.find(qn("w:docDefaults"))
        self.ppr = d.find(f"{qn('w:pPrDefault')}/{qn('w:pPr')}") if d is not None else None
        self.rpr = d.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}") if d is not None else None


def _styles(style) -> list:
    out = []
    while style is not None and len(out) < 16:  # a loop of based-on styles ends here
        out.append(style)
        style = style.base_style
    return out


def _ppr_chain(p: Paragraph, defaults: _Defaults) -> list:
    return [p._p.pPr, *(s.element.pPr for s in _styles(p.style)), defaults.ppr]


def _rpr_chain(run: Run, p: Paragraph, defaults: _Defaults) -> list:
    return [run._r.rPr, *(s.element.rPr for s in _styles(run.style)), *(s.element.rPr for s in _styles(p.style)),
            defaults.rpr]


def _spacing(chain: list, attr: str) -> str | None:
    for ppr in chain:
        sp = ppr.spacing if ppr is not None else None
        if sp is not None and sp.get(qn(attr)) is not None:
            return sp.get(qn(attr))
    return None


def _line_spacing(chain: list) -> str | None:
    """None when the line spacing is exactly 22 pt, else what it is."""
    for ppr in chain:
        sp = ppr.spacing if ppr is not None else None
        if sp is not None and sp.get(qn("w:line")) is not None:
            line, rule = int(sp.get(qn("w:line"))), sp.get(qn("w:lineRule")) or "auto"
            if rule == "exact" and abs(line - LINE_PT * 20) <= 1:
                return None
            if rule == "auto":
                return "单倍行距" if line == 240 else f"{line / 240:g}倍行距"
            return f"{'固定值' if rule == 'exact' else '最小值'}{line / 20:g}磅"
    return "单倍行距"


def _paragraph_spacing(chain: list) -> str | None:
    said = []
    for side, name in (("before", "段前"), ("after", "段后")):
        auto = _spacing(chain, f"w:{side}Autospacing")
        lines = _spacing(chain, f"w:{side}Lines")
        twips = _spacing(chain, f"w:{side}")
        if auto in ("1", "true", "on"):
            said.append(f"{name}自动")
        elif lines is not None and int(lines) > 0:
            said.append(f"{name}{int(lines) / 100:g}行")
        elif lines is None and twips is not None and int(twips) > 0:
            said.append(f"{name}{int(twips) / 20:g}磅")
    return "、".join(said) or None


def _size(chain: list) -> float:
    for rpr in chain:
        if rpr is not None and rpr.sz_val is not None:
            return rpr.sz_val.pt
    return 10.0  # Word's own default


def _east_asian_font(chain: list) -> str:
    for rpr in chain:
        fonts = rpr.rFonts if rpr is not None else None
        if fonts is None:
            continue
        if fonts.get(qn("w:eastAsiaTheme")):
            return "主题字体"
        name = fonts.get(qn("w:eastAsia"))
        if name:
            return FONT_NAMES.get(name.lower(), name)
    return "未设置"


def _size_name(pt: float) -> str:
    named = SIZE_NAMES.get(pt if pt != int(pt) else int(pt))
    return f"{pt:g}磅" + (f"（{named}）" if named else "")


def _deviations(p: Paragraph, raw: str, defaults: _Defaults) -> list[tuple[str, str, str]]:
    """(code, what was found, the paragraph's level for a font) of each way the paragraph deviates (`raw`: its
    runs' text)."""
    out = []
    pchain = _ppr_chain(p, defaults)
    line = _line_spacing(pchain)
    if line:
        out.append(("report_line_spacing", line, ""))
    spacing = _paragraph_spacing(pchain)
    if spacing:
        out.append(("report_paragraph_spacing", spacing, ""))
    laid = report_paragraphs(raw)
    level = laid[0].level if laid else 0
    lead = len(raw) - len(raw.lstrip())  # indented with spaces typed before the text
    head = lead + len(laid[0].pieces[0].text) if laid and laid[0].pieces else 0
    head_fonts = {laid[0].pieces[0].font, *((BODY_FONT,) if not level else ())} if laid and laid[0].pieces else set()
    sizes, fonts, at = set(), None, 0
    for run in _runs(p):
        t = run.text
        start, at = at, at + len(t)
        if not t.strip():
            continue
        rchain = _rpr_chain(run, p, defaults)
        sizes.add(_size(rchain))
        if fonts is None and any(unicodedata.east_asian_width(ch) in "WF" and not ch.isspace() for ch in t):
            allowed = head_fonts if start < head else {BODY_FONT, LEVEL_FONTS[level]}
            font = _east_asian_font(rchain)
            if font not in allowed:
                fonts = font
    wrong = sorted(s for s in sizes if abs(s - SIZE_PT) > 0.01)
    if wrong:
        out.append(("report_font_size", "、".join(_size_name(s) for s in wrong), ""))
    if fonts:
        out.append(("report_font", f"“{fonts}”", str(level)))
    return out


# ---- the headings' numbering ---------------------------------------------------------------------------
def _cn_number(text: str) -> int | None:
    """一 -> 1, 十二 -> 12, 二十 -> 20 (the numbers headings use)."""
    digits = {ch: i + 1 for i, ch in enumerate(_CN[:9])}
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (digits.get(tens, 1) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)
    return digits.get(text) if len(text) == 1 else None


class _Numbering:
    """Follows the headings through the report: each level's number counts on from the one before it under
    the same parent, and no level is skipped (一、 then （一） then 1. then （1）)."""

    def __init__(self):
        self.last = 0  # the level of the last heading
        self.counts = {1: 0, 2: 0, 3: 0, 4: 0}

    def step(self, text: str) -> str | None:
        level = heading_level(text)
        m = _NEAR_MISS.match(text)
        if not level:
            if m and re.match(rf"^[{_CN}]+[.．,，]", m.group()):
                return f"序号应写作“{m.group()[:-1]}、”（一级标题）"
            return None
        reasons = []
        mark = _NEAR_MISS.match(text).group()
        number = _cn_number(re.sub(r"[（()）、.．]", "", mark)) if level in (1, 2) else int(
            unicodedata.normalize("NFKC", re.sub(r"[（()）、.．]", "", mark)))
        canonical = MARKS[level - 1].replace("一", "{}").replace("1", "{}")
        shown = _cn(number) if level in (1, 2) else str(number)
        if mark != canonical.format(shown) and not (level == 3 and mark == f"{number}．"):
            reasons.append(f"序号应写作“{canonical.format(shown)}”")
        if level > self.last + 1 and not self.last:
            reasons.append("第一个标题应为一级标题“一、”")
        elif level > self.last + 1:
            reasons.append(f"在{LEVEL_NAMES[self.last]}之后直接使用了{LEVEL_NAMES[level]}"
                           "（各级标题依次为“一、”“（一）”“1.”“（1）”）")
        expected = self.counts[level] + 1
        if number is not None and number != expected:
            reasons.append(f"序号不连续（此处应为“{canonical.format(_cn(expected) if level in (1, 2) else expected)}”）")
        self.counts[level] = number or expected
        for lower in range(level + 1, 5):
            self.counts[lower] = 0
        self.last = level
        return "；".join(reasons) or None


def _cn(n: int | None) -> str:
    if n is None:
        return ""
    if n <= 10:
        return (" " + _CN)[n] if n < 10 else "十"
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens - 1]) + "十" + (_CN[ones - 1] if ones else "")

