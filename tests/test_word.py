"""The official Word form written from a return (write/word/): read back with python-docx and from the XML."""

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from copy import deepcopy

import docx
import pytest
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
from docx.oxml.ns import qn

from consolidator.check.batch import check_batch
from consolidator.read.sources import Source
from consolidator.read.workers import read_one
from consolidator.write.evaluation import REDACTED
from consolidator.write.word import (
    CHECKED,
    UNCHECKED,
    display,
    docx_name,
    form_document,
    form_plan,
    heading_level,
    return_document,
)
from consolidator.write.word.report import LEVEL_FONTS, LINE_PT, SIZE_PT

from .conftest import ROOT, SEEDS, raw_return, require, sample

RETURNS = ROOT / "sample_data" / "returns"
SAMPLE_FILES = {"green_safety": "苏州工业园区-推动绿色安全发展类.xlsx", "open_cooperation": "昆山开发区_提高开放合作水平类.xlsx"}
SEED_FILES = {"green_safety": "000_090372f2aa8451fd.txt", "open_cooperation": "001_1dc7d2c8f4f9f500.txt"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def sample_returns(forms):
    """The two clean sample returns (one per category), read and checked as `consolidator check` does."""
    raws = [read_one(Source(name, dt.datetime(2026, 11, 20), RETURNS / name), forms) for name in SAMPLE_FILES.values()]
    batch = check_batch(raws, forms)
    rets = {r.form.category_id: r for r in batch.returns}
    assert set(rets) == set(SAMPLE_FILES) and all(r.status == "通过" for r in rets.values())
    return rets


def long_report(contact: str) -> str:
    """A report of about 3,000 characters with every heading level of the standard."""
    body = "园区聚焦主导产业，坚持问题导向，完善公共服务平台，推动龙头企业带动上下游协同发展，形成了可复制可推广的经验做法。"
    parts = [f"【摘要】{body * 2}"]
    for n, title in enumerate(["一、背景介绍", "二、创新举措", "三、实践成效"]):
        parts.append(title)
        for k in "一二":
            parts.append(f"（{k}）第{k}方面的做法。{body * 3}")
            parts.append(f"1.具体措施。{body * 3}")
            parts.append(f"（1）细化安排。{body * 2}")
        if n == 2:
            parts.append(f"本项工作由{contact}同志具体负责。{body}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def long_return(forms):
    form = forms["green_safety"]
    s = sample(form, 7)
    s.values["report_text"] = long_report(s.values["contact_name"])
    s.values["report_text_note"] = "报告篇幅略超3000字，因包含较多量化数据。"
    batch = check_batch([raw_return(form, s.values, s.enterprises, file="长报告园区.xlsx")], forms)
    return batch.returns[0]


def opened(data: bytes):
    return docx.Document(io.BytesIO(data))


def cell_texts(document) -> list[list[str]]:
    """Every table row as its cells' texts (a merged cell once)."""
    rows = []
    for table in document.tables:
        for tr in table._tbl.tr_lst:
            rows.append(["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.tc_lst])
    return rows


def all_text(data: bytes) -> str:
    """Every text of the package's XML parts (document, footnotes, header, footer)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = [n for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")]
        return "".join("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", z.read(n).decode())) for n in parts)


def squeeze(text: str) -> str:
    return re.sub(r"[\s\u3000☑☐]", "", text)


def part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name).decode()


# ---- the structure -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cid", list(SAMPLE_FILES))
def test_every_text_of_the_seed_form_is_in_the_blank_form(forms, cid):
    """The seed (the official form as text) line by line: every label, unit, option, hint and instruction
    is in the blank document; its footnotes are the document's footnotes, in order."""
    seed = (SEEDS / SEED_FILES[cid]).read_text(encoding="utf-8")
    footnotes = [t.strip() for t in re.findall(r"\[\d+:\s*([^\]]*)\]", seed)]
    plain = re.sub(r"\[footnoteRef:\d+\]|\[\d+:[^\]]*\]|\[bookmark: [^\]]*\]", "", seed)
    data = form_document(forms[cid], {})
    text = squeeze(all_text(data))
    missing = [line.strip() for line in plain.splitlines() if squeeze(line) and squeeze(line) not in text]
    assert missing == []
    notes = opened_footnotes(data)
    assert [t for _, t in notes] == footnotes


def opened_footnotes(data: bytes) -> list[tuple[int, str]]:
    """(id, text) of the real footnotes of word/footnotes.xml (the separators left out)."""
    from lxml import etree

    root = etree.fromstring(part(data, "word/footnotes.xml").encode())
    out = []
    for fn in root.iter(f"{W}footnote"):
        if fn.get(f"{W}type"):
            continue
        out.append((int(fn.get(f"{W}id")), "".join(t.text or "" for t in fn.iter(f"{W}t")).strip()))
    return out


@pytest.mark.parametrize("cid", list(SAMPLE_FILES))
def test_footnotes_are_real_word_footnotes(forms, sample_returns, cid):
    form = forms[cid]
    data = return_document(sample_returns[cid])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "word/footnotes.xml" in z.namelist()
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("word/_rels/document.xml.rels").decode()
    assert 'PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.' \
           'wordprocessingml.footnotes+xml"' in types
    assert "relationships/footnotes" in rels
    expected = [fn.text for fn in form_plan(form).footnotes()]
    notes = opened_footnotes(data)
    assert [t for _, t in notes] == expected
    # the rule files' footnotes, all of them
    numbered = {f.footnote.number for f in form.fields.values() if f.footnote} | \
               {b.footnote.number for s in form.sheets for b in s.blocks if b.footnote}
    assert len(expected) == len(numbered)
    refs = [int(i) for i in re.findall(r'<w:footnoteReference w:id="(\d+)"/>', part(data, "word/document.xml"))]
    assert refs == [i for i, _ in notes]
    assert "<w:footnotePr>" in part(data, "word/settings.xml")


@pytest.mark.parametrize("cid", list(SAMPLE_FILES))
def test_a_table_per_section_with_a_row_for_every_field(forms, sample_returns, cid):
    form, ret = forms[cid], sample_returns[cid]
    document = opened(return_document(ret))
    sections = [s for s in form.sheets if s.heading and any(b.kind != "text" for b in s.blocks)
                and s.id != form.fields[form.roles["fill_date"]].sheet]
    headings = [t.rows[0].cells[0].text for t in document.tables[:len(sections)]]
    assert headings == [s.heading for s in sections]
    rows = cell_texts(document)
    checked_any = 0
    for sheet in sections:
        for block in sheet.blocks:
            for fam in block.families:
                f = form.fields[form.families[fam][0]]
                if block.kind == "repeat" or f.type == "longtext":
                    continue
                shown = [display(form.fields[fid], ret.values.get(fid)) for fid in form.families[fam]]
                label = squeeze(f.label)
                hits = [r for r in rows if any(label in squeeze(c) for c in r)]
                assert hits, f.label
                if f.type != "choice":
                    assert any(all(s in "".join(r) for s in shown) for r in hits), (f.label, shown)
                checked_any += 1
    assert checked_any > 20
    # the repeated rows: numbered, with their values
    for n in range(1, 4):
        lead = ret.values.get(f"lead_industry_{n}")
        row = next(r for r in rows if str(n) in r)
        if lead:
            assert lead in row


def test_block_titles_are_merged_down_their_rows_and_section_headings_across(forms, sample_returns):
    form = forms["green_safety"]
    document = opened(return_document(sample_returns["green_safety"]))
    tbl = next(t._tbl for t in document.tables if "三、工业园区发展情况" in t.rows[0].cells[0].text)
    first = tbl.tr_lst[0].tc_lst[0]
    assert first.grid_span == 5
    block = form.block("scale")
    start = next(i for i, tr in enumerate(tbl.tr_lst) if "".join(tr.tc_lst[0].itertext()).startswith(block.title))
    assert tbl.tr_lst[start].tc_lst[0].vMerge == "restart"
    continued = 0
    for tr in tbl.tr_lst[start + 1:]:
        if tr.tc_lst[0].vMerge != "continue":
            break
        continued += 1
    # the header row of years, then one row per family
    assert continued == len(block.families)


@pytest.mark.parametrize("cid", list(SAMPLE_FILES))
def test_choices_print_every_option_with_the_chosen_one_ticked(forms, sample_returns, cid):
    form, ret = forms[cid], sample_returns[cid]
    text = all_text(return_document(ret))
    choices = [f for f in form.fields.values() if f.type == "choice"]
    for f in choices:
        chosen = ret.values[f.id]
        options = f.choices or [ret.values[x] for x in f.choices_from if ret.values.get(x)]
        assert f"{CHECKED}{chosen}" in text, f.id
        for o in options:
            if o != chosen:
                assert f"{UNCHECKED}{o}" in text, (f.id, o)
    assert text.count(CHECKED) == len(choices)
    blank = all_text(form_document(form, {}))
    assert CHECKED not in blank and blank.count(UNCHECKED) == sum(len(f.choices or ()) for f in choices)


def test_computed_indicators_show_their_computed_values(forms, sample_returns):
    form, ret = forms["green_safety"], sample_returns["green_safety"]
    rows = cell_texts(opened(return_document(ret)))
    table_text = "".join("".join(r) for r in rows)
    cover = form.fields[form.roles["fill_date"]].sheet
    for f in form.derived_fields():
        if f.sheet == cover:
            continue
        value = ret.values[f.id]
        assert value is not None
        assert display(f, value) in table_text, f.id
    assert display(form.fields["tax_per_mu_2025"], 21.9475) == "21.95"


def test_the_cover_carries_the_names_and_the_date(forms, sample_returns):
    ret = sample_returns["green_safety"]
    document = opened(return_document(ret))
    cover = "".join(p.text for p in document.paragraphs[:12])
    assert ret.form.title in cover and ret.values["practice_name"] in cover
    assert f"工业园区名称：{ret.values['park_name']}" in cover
    assert f"填写单位名称：{ret.values['filler_name']}" in cover and "（加盖单位公章）" in cover
    d = ret.values["fill_date"]
    assert re.search(rf"填写日期：\s*{d.year}\s*年\s*{d.month}\s*月\s*{d.day}\s*日", cover)
    assert "填写单位（盖章）：" in "".join(p.text for p in document.paragraphs)


def test_page_setup_footer_and_fonts(forms, sample_returns):
    data = return_document(sample_returns["green_safety"])
    document = opened(data)
    s = document.sections[0]
    assert round(s.page_width.mm) == 210 and round(s.page_height.mm) == 297
    footer = "".join(s.footer._element.itertext())
    assert "PAGE" in footer
    styles = part(data, "word/styles.xml")
    defaults = re.search(r"<w:rPrDefault>.*?</w:rPrDefault>", styles, re.DOTALL).group(0)
    assert 'w:eastAsia="仿宋_GB2312"' in defaults and "Theme" not in defaults
    assert 'w:after="0"' in re.search(r"<w:pPrDefault>.*?</w:pPrDefault>", styles, re.DOTALL).group(0)
    normal = document.styles["Normal"].element
    assert normal.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    # the tables' text: 仿宋_GB2312 五号, block titles and headers 黑体, as Latin and East-Asian font
    for name, font, size in (("表格文字", "仿宋_GB2312", 10.5), ("表格标题", "黑体", 10.5), ("表格栏目", "黑体", 14)):
        rpr = document.styles[name].element.rPr
        assert rpr.rFonts.get(qn("w:eastAsia")) == rpr.rFonts.get(qn("w:ascii")) == font
        assert rpr.sz.val.pt == size
    used = set(re.findall(r'<w:pStyle w:val="([^"]+)"/>', part(data, "word/document.xml")))
    assert used <= {s.style_id for s in document.styles}


def _report_paragraphs(document):
    return [p for p in document.paragraphs if p._p.pPr is not None and p._p.pPr.pStyle is not None
            and p._p.pPr.pStyle.val.startswith("Report")]


def test_the_report_is_typeset_to_the_forms_standard(long_return):
    data = return_document(long_return)
    document = opened(data)
    paragraphs = _report_paragraphs(document)
    text = long_return.values["report_text"]
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) >= 20 and len(text) >= 2900
    written = [p for p in paragraphs if p.text]
    assert [p.text for p in written] == lines
    assert len(paragraphs) == len(written) + 1  # one empty line between the table and the report
    levels = {1: 0, 2: 0, 3: 0, 4: 0, 0: 0}
    for p in paragraphs:
        ppr = p._p.pPr
        spacing = ppr.find(qn("w:spacing"))
        # exactly 22 pt (440 twentieths of a point), nothing before or after
        assert spacing.get(qn("w:line")) == str(int(LINE_PT * 20)) and spacing.get(qn("w:lineRule")) == "exact"
        assert spacing.get(qn("w:before")) == "0" and spacing.get(qn("w:after")) == "0"
        if not p.text:
            continue
        level = heading_level(p.text)
        levels[level] += 1
        first = p.runs[0]._r.rPr
        # 【摘要】: its mark as a first-level heading, its text in the body font
        expected = LEVEL_FONTS[1] if p.text.startswith("【摘要】") else LEVEL_FONTS[level]
        assert first.rFonts.get(qn("w:eastAsia")) == expected
        assert first.rFonts.get(qn("w:ascii")) == expected
        for r in p.runs:
            assert r._r.rPr.sz.val.pt == SIZE_PT  # 小四
            assert r._r.rPr.rFonts.get(qn("w:eastAsia")) in ("黑体", "楷体_GB2312", "仿宋_GB2312")
        if level or len(p.runs) > 1:  # a heading runs on into its text: the text is in the body font
            assert p.runs[-1]._r.rPr.rFonts.get(qn("w:eastAsia")) == (
                "仿宋_GB2312" if len(p.runs) > 1 else LEVEL_FONTS[level])
    assert all(levels[k] for k in levels)
    # a heading of its own line stays on the page of what follows it (the styles': text a park adds takes them)
    keep = {s.name: s.paragraph_format.keep_with_next for s in document.styles if s.name.startswith("报告")}
    assert keep == {"报告正文": None, "报告一级标题": True, "报告二级标题": True, "报告三级标题": False,
                    "报告四级标题": False}
    # the styles say the same (Word's and WPS's style list; text a park adds takes it)
    styles = part(data, "word/styles.xml")
    for sid, font in (("ReportHeading1", "黑体"), ("ReportHeading2", "楷体_GB2312"), ("ReportBody", "仿宋_GB2312")):
        style = re.search(rf'<w:style [^>]*w:styleId="{sid}".*?</w:style>', styles, re.DOTALL).group(0)
        assert f'w:eastAsia="{font}"' in style and 'w:line="440" w:lineRule="exact"' in style
        assert '<w:sz w:val="24"/>' in style


@pytest.mark.parametrize(("text", "level"), [
    ("一、背景介绍", 1), ("十二、其他", 1), ("（一）搭建平台。园区……", 2), ("(二)机制", 2), ("1.建立机制", 3),
    ("2．完善服务", 3), ("3、强化保障", 3), ("（1）细化", 4), ("(12)安排", 4), ("2025年园区营业收入", 0),
    ("3.5亿元的投资", 0), ("【摘要】概述", 0), ("园区坚持……", 0),
])
def test_heading_levels_are_recognised_by_their_numbering(text, level):
    assert heading_level(text) == level


def test_notes_the_park_wrote_are_printed(long_return):
    rows = cell_texts(opened(return_document(long_return)))
    assert any(long_return.values["report_text_note"] in c for r in rows for c in r)


def test_the_documents_properties_name_the_form_not_the_library(forms, sample_returns):
    ret = sample_returns["green_safety"]
    for data, created in ((form_document(ret.form, {}), ret.form.created), (return_document(ret), None)):
        props = opened(data).core_properties
        assert (props.title, props.subject) == (f"{ret.form.title}{ret.form.subtitle}", ret.form.category_name)
        assert (props.author, props.comments) == ("", "")
        assert "python-docx" not in part(data, "docProps/core.xml")
        if created is not None:  # the blank form: its date; a filled one: when it was made
            assert props.created.replace(tzinfo=None) == created
        else:
            assert abs((dt.datetime.now(dt.timezone.utc) - props.created).total_seconds()) < 120


def test_the_enterprise_list_is_appended(forms, sample_returns):
    ret = sample_returns["green_safety"]
    spec = ret.form.enterprise_list
    document = opened(return_document(ret))
    table = document.tables[-1]
    assert [c.text for c in table.rows[0].cells] == [c.label for c in spec.columns]
    records = ret.raw.enterprises.records()
    assert len(table.rows) == len(records) + 1 and records
    labels = {c.label for c in spec.categories}
    assert {r.cells[0].text for r in table.rows[1:]} <= labels
    names = {r.cells[1].text for r in table.rows[1:]}
    assert names == {r[spec.column("name")] for r in records}


def test_a_blind_list_counts_the_enterprises_of_each_kind_and_names_none(forms, sample_returns):
    """Blind, the list's identifying columns (evaluation.list_identifying: name, credit code) are left out and the
    rows alike counted: one row per category and industry, in the order of the categories, summing to the list."""
    ret = sample_returns["green_safety"]
    spec, ev = ret.form.enterprise_list, ret.form.evaluation
    records = ret.raw.enterprises.records()
    document = opened(return_document(ret, blind=True, number="E01"))
    table = document.tables[-1]
    kept = [c for c in spec.columns if c.id not in ev.list_identifying]
    assert [c.text for c in table.rows[0].cells] == [c.label for c in kept] + ["企业数量"]
    body = [[c.text for c in r.cells] for r in table.rows[1:]]
    labels = {c.id: c.label for c in spec.categories}
    expected: dict[tuple, int] = {}
    for r in records:
        kind = tuple(labels.get(r[c.id], r[c.id]) if c.role == "category" else str(r[c.id] or "") for c in kept)
        expected[kind] = expected.get(kind, 0) + 1
    assert {tuple(row[:-1]): int(row[-1]) for row in body} == expected and len(body) == len(expected)
    order = [c.label for c in spec.categories]
    assert [order.index(row[0]) for row in body] == sorted(order.index(row[0]) for row in body)
    text = all_text(return_document(ret, blind=True, number="E01"))
    assert not any(r[c] and str(r[c]) in text for r in records for c in ev.list_identifying)
    assert f"共 {len(records)} 家" in text
    assert all(r[spec.column("name")] in all_text(return_document(ret)) for r in records)  # open: listed as they are


def test_a_blind_form_hides_the_region_in_its_cells_unless_asked(forms, sample_returns):
    ret = sample_returns["green_safety"]
    region = [str(ret.values[f]) for f in ret.form.evaluation.region]
    assert region and all(region)
    hidden = cell_texts(opened(return_document(ret, blind=True)))
    shown = cell_texts(opened(form_document(ret.form, ret.values, blind=True, show_region=True)))
    assert not any(v == c for row in hidden for c in row for v in region)  # (a county such as 工业园区 is in labels)
    assert all(any(v == c for row in shown for c in row) for v in region)


@pytest.mark.parametrize("text", ["", "华为技术有限公司", " 前有空格", "后有空格 ", "  ", "制表\t符", "换\n行", "回\r车",
                                  "\t", "a&b<c>", "91320000MA1XXXXX0Q"])
def test_a_run_made_directly_is_the_run_python_docx_makes(text):
    """write.word.document.text_run makes a run's text without python-docx's pass a character at a time; the XML
    is what p.add_run(text) makes, spaces to keep, tabs and line breaks included."""
    from lxml import etree

    from consolidator.write.word.document import text_run

    doc = docx.Document()
    theirs, ours = doc.add_paragraph(), doc.add_paragraph()
    theirs.add_run(text)
    assert text_run(ours, text).text == theirs.runs[0].text
    assert etree.tostring(ours._p) == etree.tostring(theirs._p)


def _simple_table_through_python_docx(self, heads, rows, widths_mm) -> None:
    """What Filler.simple_table made before it kept the framed table and made the rows as text: every table
    framed through python-docx, every row a copy of the blank one filled a cell at a time."""
    from docx.table import _Cell, _Row
    from docx.text.paragraph import Paragraph

    from consolidator.write.word.document import repeat_as_header, row_frame, style, table_frame, text_run

    table = self.doc.add_table(rows=2, cols=len(heads))
    table_frame(table, widths_mm)
    head, blank = table._tbl.tr_lst
    for tr, sid in ((head, "FormHead"), (blank, "FormText")):
        for tc in tr.tc_lst:
            style(_Cell(tc, table).paragraphs[0], sid)
        row_frame(_Row(tr, table), split=False)
    repeat_as_header(_Row(head, table))
    blank.getparent().remove(blank)
    for values in [heads, *rows]:
        tr = head if values is heads else deepcopy(blank)
        if tr is not head:
            table._tbl.append(tr)
        for tc, value in zip(tr.tc_lst, values):
            if value:
                text_run(Paragraph(tc.p_lst[0], None), value)


def test_the_lists_made_at_once_are_the_lists_python_docx_makes(forms, long_return, monkeypatch):
    """The 情况说明 and enterprise list tables are framed once a process and their body rows made as text and
    parsed at once (document._framed, document._filled_rows); the documents, cold and warm, open and blind, are
    the ones framed and filled a cell at a time through python-docx, for texts with spaces to keep, escapes,
    tabs, line breaks and empty cells."""
    from consolidator.write.word import document

    form = forms["green_safety"]
    s = sample(form, 3)
    odd = ["华为技术有限公司", " 前有空格", "后有空格 ", "  ", "制表\t符", "换\n行", "回\r车", "a&b<c>\"'>", "", "&amp;"]
    for e, name in zip(s.enterprises, odd * 3):
        e["name"] = name
        e["industry"] = name[::-1]
    assert len(s.enterprises) >= len(odd)
    s.values["report_text_note"] = "说明\t含制表符\n和换行 "

    def made() -> list[str]:
        return [part(form_document(form, s.values, enterprises=s.enterprises, **kw), "word/document.xml")
                for kw in ({}, {"blind": True, "number": "E01"})] + [part(return_document(long_return), "word/document.xml")]

    document._framed.cache_clear()
    cold, warm = made(), made()
    monkeypatch.setattr(document._Filler, "simple_table", _simple_table_through_python_docx)
    reference = made()
    assert cold == reference and warm == reference
    assert "a&amp;b&lt;c&gt;" in reference[0] and "附：数据情况说明" in reference[0] and "附：数据情况说明" in reference[2]


def test_a_short_list_row_leaves_its_last_cells_empty():
    from lxml import etree

    from consolidator.write.word import document

    doc = docx.Document()
    table = doc.add_table(rows=1, cols=3)
    for cell in table.rows[0].cells:  # a paragraph with properties, as a list's (an empty one is made the slow way)
        cell.paragraphs[0].alignment = WD_PARAGRAPH_ALIGNMENT.CENTER
    blank = table._tbl.tr_lst[0]
    rows = [("甲", "乙", "丙"), ("丁",), ()]
    assert "</w:p>" in etree.tostring(blank, encoding="unicode")
    def c14n(tr) -> bytes:
        return etree.tostring(tr, method="c14n", exclusive=True)

    assert [c14n(tr) for tr in document._filled_rows(blank, rows)] == [c14n(document._slow_row(blank, v)) for v in rows]
