"""The base document every form starts from: A4 with its margins, page numbers in the footer, the
default fonts, and the paragraph styles of the tables and of the report (made once per process)."""

from __future__ import annotations

import io
from functools import lru_cache

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from . import report as rpt
from .ooxml import (
    document_defaults,
    exact_spacing,
    outline_level,
    page_number,
    set_fonts,
)

HEI, KAI, FANG, SONG = "黑体", "楷体_GB2312", "仿宋_GB2312", "宋体"
SYMBOL_FONT = "Segoe UI Symbol"  # ☑ and ☐ are not in the GB2312 fonts; Windows has this one
TABLE_PT = 10.5  # 五号
SMALL_PT = 9.0  # 小五
SECTION_PT = 14.0  # 四号
TITLE_PT = 22.0  # 二号
COVER_PT = 16.0  # 三号
GREY = RGBColor(0x59, 0x59, 0x59)
MARGINS_MM = (25, 25, 25, 25)  # top, right, bottom, left: the tables' 160 mm fit between

# the tables' paragraph styles: id -> (name, font, size, centred, grey)
TABLE_STYLES = {
    "FormText": ("表格文字", FANG, TABLE_PT, False, False),
    "FormValue": ("表格数值", FANG, TABLE_PT, True, False),
    "FormHead": ("表格标题", HEI, TABLE_PT, True, False),
    "FormSection": ("表格栏目", HEI, SECTION_PT, False, False),
    "FormHint": ("表格提示", FANG, SMALL_PT, False, True),
    "FormLong": ("表格长文字", FANG, TABLE_PT, False, False),
    "FormNote": ("脚注文字", FANG, SMALL_PT, False, False),
}
REPORT_STYLES = {0: "ReportBody", 1: "ReportHeading1", 2: "ReportHeading2", 3: "ReportHeading3", 4: "ReportHeading4"}
REPORT_NAMES = {0: "报告正文", 1: "报告一级标题", 2: "报告二级标题", 3: "报告三级标题", 4: "报告四级标题"}
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


@lru_cache(maxsize=1)
def base_document() -> bytes:
    """The base document as .docx bytes."""
    doc = Document()
    # parts of python-docx's template that a form does not use and every saved form would carry
    for rel in list(doc.part.rels.values()):
        if rel.reltype in (RT.CUSTOM_XML, STYLES_WITH_EFFECTS):
            doc.part.drop_rel(rel.rId)
    document_defaults(doc, FANG, rpt.SIZE_PT)
    normal = doc.styles["Normal"]
    set_fonts(normal, FANG, rpt.SIZE_PT)
    exact_spacing(normal.paragraph_format, None)
    for sid, (name, font, size, centred, grey) in TABLE_STYLES.items():
        style = _add_style(doc, sid, name, font, size)
        exact_spacing(style.paragraph_format, None)
        if centred:
            style.paragraph_format.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
        if grey:
            style.font.color.rgb = GREY
    long = doc.styles["表格长文字"].paragraph_format
    long.first_line_indent = Pt(TABLE_PT * 2)
    long.alignment = WD_PARAGRAPH_ALIGNMENT.JUSTIFY
    section = doc.styles["表格栏目"].paragraph_format
    section.space_before = section.space_after = Pt(3)
    for level, sid in REPORT_STYLES.items():
        style = _add_style(doc, sid, REPORT_NAMES[level], rpt.LEVEL_FONTS[level], rpt.SIZE_PT)
        report_format(style.paragraph_format)
        if level:
            outline_level(style, level - 1)
            # 一、 and （一）, which stand on lines of their own: never last on a page, apart from their text
            style.paragraph_format.keep_with_next = level <= 2
    _page_setup(doc)
    _drop_unused_styles(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _drop_unused_styles(doc) -> None:
    """python-docx's template defines some 170 styles (a hundred table styles among them): 350 KB that every
    form would carry and every reader parse. Kept: the defaults, ours and what they are based on, the table
    grid, header and footer."""
    keep = {"TableGrid", "Header", "Footer", "HeaderChar", "FooterChar", *TABLE_STYLES, *REPORT_STYLES.values()}
    by_id = {s.style_id: s for s in doc.styles}
    bases = set()
    for sid in keep:
        base = by_id[sid].base_style if sid in by_id else None
        while base is not None:
            bases.add(base.style_id)
            base = base.base_style
    keep |= bases
    for s in list(doc.styles):
        if s.style_id not in keep and not s.element.default:
            s.delete()


def _add_style(doc, sid: str, name: str, font: str, size: float):
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = sid  # an ASCII id; the name (Chinese) is what Word and WPS show
    style.base_style = doc.styles["Normal"]
    style.quick_style = True
    set_fonts(style, font, size)
    return style


def report_format(fmt) -> None:
    """The report's standard: exactly 22 pt, no paragraph spacing, first line indented two characters."""
    exact_spacing(fmt, rpt.LINE_PT)
    fmt.first_line_indent = Pt(rpt.SIZE_PT * rpt.FIRST_LINE_CHARS)
    fmt.alignment = WD_PARAGRAPH_ALIGNMENT.JUSTIFY


def _page_setup(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    top, right, bottom, left = MARGINS_MM
    section.top_margin, section.right_margin = Mm(top), Mm(right)
    section.bottom_margin, section.left_margin = Mm(bottom), Mm(left)
    section.header_distance = section.footer_distance = Mm(12)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    page_number(footer, SONG, TABLE_PT)


def style(p: Paragraph, sid: str) -> None:
    """Give a paragraph a style by its id: python-docx's Paragraph.style looks the style up through the
    document part on every call, which is most of the cost of a table cell."""
    p._p.style = sid
