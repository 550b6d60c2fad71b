"""What python-docx does not do, done on its own element objects with as little lxml as possible:
East-Asian fonts, real footnotes (the footnotes part), the page-number field, rows that do not break
across pages, outline levels and the document defaults. Everything else goes through python-docx.
"""

from __future__ import annotations

from docx.enum.text import WD_LINE_SPACING
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run


def set_fonts(target, name: str, size: float | None = None, *, bold: bool | None = None) -> None:
    """Set the font of a run or a style (its .font) for Latin and East-Asian text alike. python-docx's
    font.name sets only w:ascii and w:hAnsi: Word and WPS would show Chinese text in the Latin font's
    fallback, so w:eastAsia is set on the same w:rFonts (and the theme attributes that would win over
    the names are removed)."""
    font = target.font
    font.name = name
    rpr = (target._r if isinstance(target, Run) else target.element).get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), name)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold


def exact_spacing(fmt, line_pt: float | None) -> None:
    """No space before or after; lines exactly `line_pt` apart (None: single)."""
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if line_pt is None:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        fmt.line_spacing = Pt(line_pt)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY


def outline_level(style, level: int) -> None:
    """The heading level Word's navigation pane and WPS's outline show (0 = 一级); python-docx has no
    property for w:outlineLvl."""
    ppr = style.element.get_or_add_pPr()
    el = ppr.find(qn("w:outlineLvl"))
    if el is None:
        el = OxmlElement("w:outlineLvl")
        ppr.append(el)
    el.set(qn("w:val"), str(level))


def document_defaults(document, font: str, size: float, lang: str = "zh-CN") -> None:
    """The defaults every paragraph falls back to: `font` as Latin and East-Asian font (instead of the
    template's theme fonts), `size`, Chinese as the East-Asian language (line breaking, punctuation),
    and no paragraph spacing (the template's default adds 10 pt after each paragraph). python-docx
    exposes the Normal style but not w:docDefaults."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    rfonts = rpr.find(qn("w:rFonts"))
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), font)
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), str(int(size * 2)))
    rpr.find(qn("w:lang")).set(qn("w:eastAsia"), lang)
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")


def page_number(paragraph: Paragraph, font: str, size: float) -> None:
    """"— N —" with N Word's PAGE field (python-docx writes no fields)."""
    def run(text: str = ""):
        r = paragraph.add_run(text)
        set_fonts(r, font, size)
        return r

    run("— ")
    begin, instr, sep, end = (OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar"),
                              OxmlElement("w:fldChar"))
    begin.set(qn("w:fldCharType"), "begin")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    sep.set(qn("w:fldCharType"), "separate")
    end.set(qn("w:fldCharType"), "end")
    run()._r.append(begin)
    run()._r.append(instr)
    run()._r.append(sep)
    run("1")
    run()._r.append(end)
    run(" —")


def keep_row_together(row) -> None:
    """A row that does not break across pages (w:cantSplit; python-docx sets only a row's height)."""
    trpr = row._tr.get_or_add_trPr()
    if trpr.find(qn("w:cantSplit")) is None:
        trpr.append(OxmlElement("w:cantSplit"))


def repeat_as_header(row) -> None:
    """A row repeated at the top of each page the table runs over (w:tblHeader)."""
    trpr = row._tr.get_or_add_trPr()
    if trpr.find(qn("w:tblHeader")) is None:
        trpr.append(OxmlElement("w:tblHeader"))


# The footnotes part as Word writes it: the separator and continuation separator (ids -1 and 0) that
# draw the line above the footnotes; the footnotes proper follow from id 1.
_FOOTNOTES = (
    f"<w:footnotes {nsdecls('w', 'r')}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
    'w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
    'w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
    "</w:footnotes>"
)


class Footnotes:
    """Real Word footnotes (word/footnotes.xml), which python-docx does not write: Word and WPS number
    them, print them at the foot of the page that references them, and a reader finds each by its id.
    The footnote's paragraph and runs are made through python-docx once the w:footnote exists."""

    def __init__(self, document, font: str, size: float, style: str | None = None):
        self.document, self.font, self.size, self.style = document, font, size, style
        self.part = XmlPart(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, parse_xml(_FOOTNOTES),
                            document.part.package)
        document.part.relate_to(self.part, RT.FOOTNOTES)
        self._settings()
        self.next_id = 1

    def _settings(self) -> None:
        """settings.xml names the separators (Word writes w:footnotePr before w:compat)."""
        settings = self.document.settings.element
        pr = parse_xml(f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>')
        compat = settings.find(qn("w:compat"))
        if compat is not None:
            compat.addprevious(pr)
        else:
            settings.append(pr)

    def add(self, paragraph: Paragraph, text: str) -> int:
        """A footnote with `text`, referenced at the end of `paragraph`; returns its id."""
        fid = self.next_id
        self.next_id += 1
        ref = paragraph.add_run()
        ref.font.superscript = True
        el = OxmlElement("w:footnoteReference")
        el.set(qn("w:id"), str(fid))
        ref._r.append(el)
        note = OxmlElement("w:footnote")
        note.set(qn("w:id"), str(fid))
        note.append(OxmlElement("w:p"))
        self.part.element.append(note)
        p = Paragraph(note[0], paragraph._parent)
        if self.style:
            p._p.style = self.style
        exact_spacing(p.paragraph_format, None)
        mark = p.add_run()
        mark.font.superscript = True
        mark._r.append(OxmlElement("w:footnoteRef"))
        set_fonts(mark, self.font, self.size)
        set_fonts(p.add_run(" " + text), self.font, self.size)
        return fid
