"""The official Word form read when a park fills it (read/word/): the same findings as the same data sent as a
workbook, located by the form's own words; .doc and PDF refused with one finding; the report's format
checked; damaged and hostile .docx files one finding each while the batch goes on."""

import datetime as dt
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from consolidator.check.batch import check_batch
from consolidator.findings import CATALOGUE
from consolidator.pipeline import run_check
from consolidator.read.sources import Source
from consolidator.read.word.form import chosen
from consolidator.read.workers import read_one
from consolidator.rules.wordlayout import LEVEL_FONTS, heading_level
from consolidator.write.word import form_document

from .conftest import ROOT, computed_values, raw_return, sample

CHANNEL = {"read_from_word"}  # what only a Word return says: that it came as a Word form
FORMAT = {c for c in CATALOGUE if c.startswith("report_") and c != "report_headings"}


# ---- the data: a return with problems of every kind a park makes ------------------------------------------
def planted(form, seed=3):
    """Values and a list with problems of every kind: typed text, a wrong phone and e-mail, a blank, a choice
    that is no option, a broken rule, an implausible value with and without 情况说明, an overwritten formula,
    full-width digits, "——", a missing heading, list rows that are wrong."""
    s = sample(form, seed)
    v = s.values
    v.update(revenue_2025="约2500", head_phone="1391234567", contact_email="abc@", county=None,
             filler_type="事业单位", profit_2024=v["revenue_2024"] + 1, managed_area=60000.0,
             tax_per_mu_2025=551.03, hitech_count="１２", new_enterprises="——",
             revenue_2024=round(v["revenue_2023"] * 4, 2), revenue_note="因统计口径调整，2024年起纳入新托管片区。",
             focus_industry="人工智能")
    v["report_text"] = v["report_text"].replace("\n三、实践成效", "\n三、成效")
    if form.category_id == "green_safety":
        v["green_park_title"] = "是"
    rows = [dict(e) for e in s.enterprises]
    rows[0]["credit_code"] = "91320594ABC"
    rows.append(dict(rows[1]))
    rows.append({"category": "国家级瞪羚企业", "name": "某某科技有限公司", "credit_code": "", "industry": "C39"})
    return v, rows


def flat(findings, drop=CHANNEL | FORMAT):
    """What must agree between the channels; where a finding is located differs by design."""
    return sorted((f.code, f.field, f.severity, f.value) for f in findings if f.code not in drop)


def as_workbook(forms, form, values, rows):
    return check_batch([raw_return(form, values, rows)], forms)


def read_bytes(forms, data: bytes, name="园区.docx"):
    return read_one(Source(name, dt.datetime(2026, 11, 20, 9), Path(name), data=data), forms)


def checked(forms, data: bytes, name="园区.docx"):
    return check_batch([read_bytes(forms, data, name)], forms)


def resaved(soffice, src: Path, out_dir: Path, fmt="docx:MS Word 2007 XML") -> Path:
    """`src` opened in headless LibreOffice and saved again (as .docx unless `fmt` says otherwise)."""
    exe, profile = soffice
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to",
                             fmt, "--outdir", str(out_dir), str(src)], capture_output=True, text=True, timeout=180)
    out = out_dir / f"{src.stem}.{fmt.split(':')[0]}"
    assert result.returncode == 0 and out.exists(), f"LibreOffice failed: {result.stdout}\n{result.stderr}"
    return out


# ---- (a) our own form, filled ------------------------------------------------------------------------------
@pytest.mark.parametrize("cid", ["green_safety", "open_cooperation"])
def test_our_form_filled_gives_the_findings_of_the_workbook(forms, cid):
    form = forms[cid]
    values, rows = planted(form)
    workbook = as_workbook(forms, form, values, rows)
    data = form_document(form, {**computed_values(form, values), **values}, enterprises=rows)
    word = checked(forms, data)
    ret = word.returns[0]
    assert ret.raw.located_by == "word" and ret.raw.readable
    assert flat(word.findings) == flat(workbook.findings)
    assert len(flat(word.findings)) >= 18 and ret.status == workbook.returns[0].status == "有错误"
    assert [f.code for f in word.findings if f.code in CHANNEL] == ["read_from_word"]
    assert [f for f in word.findings if f.code in FORMAT] == []  # our writer sets the report as the standard asks


def test_findings_are_located_by_the_forms_words(forms):
    form = forms["green_safety"]
    values, rows = planted(form)
    data = form_document(form, {**computed_values(form, values), **values}, enterprises=rows)
    word = checked(forms, data)
    at = {(f.code, f.field): (f.sheet, f.cell) for f in word.findings}
    assert at["revenue_yoy", "revenue_2024"] == ("三、工业园区发展情况", "营业收入（亿元） · 2024年")
    assert at["formula_mismatch", "tax_per_mu_2025"] == ("三、工业园区发展情况", "亩均税收（万元/亩） · 2025年")
    assert at["format_phone", "head_phone"] == ("一、基本信息", "负责人信息 · 手机号")
    assert at["required", "county"] == ("一、基本信息", "所在区县")
    assert at["focus_is_lead_industry", "focus_industry"] == ("二、推动绿色安全发展类创新实践概述", "创新实践聚焦主导产业")
    assert at["format_uscc", "list.credit_code"] == ("企业清单", "统一社会信用代码 · 1")
    n = len(rows)
    assert at["list_category", "list.category"] == ("企业清单", f"优质企业类别 · {n}")
    message = next(f.message for f in word.findings if f.code == "list_category")
    assert f"企业清单第{n}行" in message


# ---- (b) a form built the way the seed is, saved again by LibreOffice ---------------------------------------
def number_text(v) -> str:
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return "" if v is None else str(v)


class SeedForm:
    """A Word form made from scratch the way the official form (../shared/seeds) is laid out: the cover lines,
    the declaration, one table per section on five grid columns with block titles merged down the first column,
    labels broken over lines and carrying their footnote numbers as superscript digits, options with boxes,
    the report after section 二's table; the 计算用 rows right under their indicator (not where our writer puts
    them), the 情况说明 and the enterprise list (its columns in another order) after the tables."""

    def __init__(self, form, values, rows, *, parts=True, headings_above=False):
        self.form, self.v, self.rows, self.parts = form, {**computed_values(form, values), **values}, rows, parts
        self.headings_above = headings_above  # each section's heading a paragraph above its table
        self.doc = docx.Document()
        self.footnote = 0

    def build(self) -> bytes:
        f, v = self.form, self.v
        for line in ("2026年工业园区高质量发展创新实践", "经验总结材料", f"（{f.category_name}）"):
            self.doc.add_paragraph(line)
        d = v["fill_date"]
        for line in (f"创新实践名称：{v['cover_practice_name']}", f"工业园区名称：{v['cover_park_name']}",
                     f"填写单位名称：{v['cover_filler_name']}    （加盖单位公章）",
                     f"填写日期：{d.year} 年 {d.month} 月 {d.day} 日", "填写说明", "承诺声明",
                     f"本单位已阅读并同意以上承诺声明：{self.boxes(('是', '否'), v['declaration_accepted'])}",
                     "填写单位（盖章）：", "年    月    日"):
            self.doc.add_paragraph(line)
        self.section_one()
        self.section_two()
        self.section_three()
        self.notes()
        self.enterprise_list()
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()

    @staticmethod
    def boxes(options, value) -> str:
        if value not in options:  # the park typed its own answer over the options
            return value or ""
        return "　".join(("☑" if o == value else "☐") + o for o in options)

    def table(self, heading, nrows):
        if self.headings_above:
            self.doc.add_paragraph(heading)
        t = self.doc.add_table(rows=nrows, cols=5)
        t.style = "Table Grid"
        t.cell(0, 0).merge(t.cell(0, 4)).text = "" if self.headings_above else heading
        return t

    def label(self, cell, text, footnote=False):
        """A label broken over lines as the seed has them, the footnote number as a superscript digit."""
        p = cell.paragraphs[0]
        lines = text.replace("（", "\n（", 1).split("\n") if len(text) > 8 and "（" in text[2:] else [text]
        for i, line in enumerate(lines):
            p.add_run(line)
            if i + 1 < len(lines):
                p.add_run().add_break()
        if footnote:
            self.footnote += 1
            p.add_run(str(self.footnote)).font.superscript = True

    def put(self, cell, fid):
        field = self.form.fields[fid]
        value = self.v.get(fid)
        if field.type == "choice" and field.choices and value in field.choices:
            text = self.boxes(field.choices, value)
        else:
            text = number_text(value)
        cell.text = text
        if field.hint and field.type == "longtext":
            cell.paragraphs[0].insert_paragraph_before(field.hint)

    def pair(self, t, r, c0, fid, *, footnote=False, wide=False):
        f = self.form.fields[fid]
        self.label(t.cell(r, c0), f.label, footnote=footnote)
        value = t.cell(r, c0 + 1).merge(t.cell(r, 4)) if wide else t.cell(r, c0 + 1)
        self.put(value, fid)

    def down(self, t, first, last, title, footnote=False):
        cell = t.cell(first, 0).merge(t.cell(last, 0))
        self.label(cell, title, footnote=footnote)

    def section_one(self):
        t = self.table("一、基本信息", 13)
        t.cell(1, 0).merge(t.cell(1, 1))
        self.label(t.cell(1, 0), "工业园区名称", footnote=True)
        self.put(t.cell(1, 2).merge(t.cell(1, 4)), "park_name")
        self.down(t, 2, 5, "主导产业及细分领域", footnote=True)
        t.cell(2, 1).text, t.cell(2, 2).text = "序号", "主导产业"
        t.cell(2, 3).merge(t.cell(2, 4)).text = "对应细分领域"
        for i in (1, 2, 3):
            t.cell(2 + i, 1).text = str(i)
            self.put(t.cell(2 + i, 2), f"lead_industry_{i}")
            self.put(t.cell(2 + i, 3).merge(t.cell(2 + i, 4)), f"lead_subfield_{i}")
        t.cell(6, 0).text = "所在地区"
        self.pair(t, 6, 1, "province_city")
        self.pair(t, 6, 3, "county")
        self.down(t, 7, 8, "填写单位")
        self.pair(t, 7, 1, "filler_name", wide=True)
        self.pair(t, 8, 1, "filler_type", wide=True)
        for r, who in ((9, "head"), (11, "contact")):
            self.down(t, r, r + 1, "负责人信息" if who == "head" else "联系人信息")
            self.pair(t, r, 1, f"{who}_name")
            self.pair(t, r, 3, f"{who}_position")
            self.pair(t, r + 1, 1, f"{who}_phone")
            self.pair(t, r + 1, 3, f"{who}_email")
        self.doc.add_paragraph()
        t2 = self.doc.add_table(rows=1, cols=5)  # the park split the table before the last row
        t2.style = "Table Grid"
        t2.cell(0, 0).text = "工业园区简介"
        self.put(t2.cell(0, 1).merge(t2.cell(0, 4)), "park_intro")

    def section_two(self):
        form = self.form
        t = self.table(f"二、{form.category_name}创新实践概述", 5)
        for r, fid in ((1, "focus_industry"), (2, "practice_name")):
            t.cell(r, 0).merge(t.cell(r, 1))
            self.label(t.cell(r, 0), form.fields[fid].label)
            cell = t.cell(r, 2).merge(t.cell(r, 4))
            cell.text = number_text(self.v.get(fid))
            cell.add_paragraph(form.fields[fid].hint)
        t.cell(3, 0).merge(t.cell(3, 4)).text = "创新实践经验总结报告"
        intro = t.cell(4, 0).merge(t.cell(4, 4))
        intro.text = form.block("report").intro
        self.doc.add_paragraph()
        for line in self.v["report_text"].splitlines():
            self.report_paragraph(line)

    def report_paragraph(self, line):
        """A report paragraph set to the standard by hand: exactly 22 pt, no spacing, 小四, East-Asian fonts."""
        p = self.doc.add_paragraph()
        fmt = p.paragraph_format
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(22)
        fmt.space_before = fmt.space_after = Pt(0)
        run = p.add_run(line)
        run.font.size = Pt(12)
        font = LEVEL_FONTS[heading_level(line)]
        run.font.name = font
        run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)

    def section_three(self):
        form, years = self.form, self.form.years
        fams = [fam for fam in ("revenue", "lead_revenue", "value_added_share", "value_added", "city_gdp", "profit",
                                "tax_per_mu", "tax_paid", "developed_area")
                if self.parts or not form.fields[form.families[fam][0]].part_of]
        block_fields = [f for f in form.fields.values() if f.sheet == "development" and f.year is None
                        and not f.explains and (self.parts or not f.part_of)]
        t = self.table("三、工业园区发展情况", 2 + len(fams) + len(block_fields))
        self.down(t, 1, len(fams) + 1, "整体规模情况")
        for i, y in enumerate(years):
            t.cell(1, 2 + i).text = f"{y}年"
        for r, fam in enumerate(fams, start=2):
            first = form.fields[form.families[fam][0]]
            self.label(t.cell(r, 1), ("计算用：" if first.part_of else "") + first.label,
                       footnote=bool(first.footnote))
            for fid in form.families[fam]:
                self.put(t.cell(r, 2 + years.index(form.fields[fid].year)), fid)
        r = len(fams) + 2
        for f in block_fields:  # one field a row, each under its block's title
            t.cell(r, 0).text = form.block(f.block).title or ""
            self.label(t.cell(r, 1), ("计算用：" if f.part_of else "") + f.label, footnote=bool(f.footnote))
            self.put(t.cell(r, 2).merge(t.cell(r, 4)), f.id)
            r += 1

    def notes(self):
        filled = [f for f in self.form.fields.values() if f.explains and self.v.get(f.id)]
        if not filled:
            return
        self.doc.add_paragraph("附：数据情况说明")
        t = self.doc.add_table(rows=1 + len(filled), cols=2)
        t.cell(0, 0).text, t.cell(0, 1).text = "指标", "情况说明"
        for r, f in enumerate(filled, start=1):
            first = self.form.fields[self.form.families[f.explains][0]]
            t.cell(r, 0).text, t.cell(r, 1).text = first.label, self.v[f.id]

    def enterprise_list(self):
        self.doc.add_paragraph("企业清单")
        order = ("name", "category", "industry", "credit_code")
        labels = {c.id: c.label for c in self.form.enterprise_list.columns}
        t = self.doc.add_table(rows=1 + len(self.rows), cols=4)
        for c, cid in enumerate(order):
            t.cell(0, c).text = labels[cid]
        for r, row in enumerate(self.rows, start=1):
            for c, cid in enumerate(order):
                t.cell(r, c).text = row.get(cid) or ""


@pytest.mark.libreoffice
@pytest.mark.parametrize("cid", ["green_safety", "open_cooperation"])
def test_a_form_built_as_the_seed_and_resaved_by_libreoffice(forms, soffice, tmp_path, cid):
    form = forms[cid]
    values, rows = planted(form, seed=5)
    workbook = as_workbook(forms, form, values, rows)
    src = tmp_path / "自制表单.docx"
    src.write_bytes(SeedForm(form, values, rows).build())
    before = checked(forms, src.read_bytes())
    assert flat(before.findings) == flat(workbook.findings) and len(flat(workbook.findings)) >= 18
    again = resaved(soffice, src, tmp_path / "lo")
    word = checked(forms, again.read_bytes(), "自制表单.docx")
    assert flat(word.findings) == flat(workbook.findings)
    assert [f.code for f in word.findings if f.code in FORMAT] == []  # LibreOffice kept the report's format
    at = {(f.code, f.field): (f.sheet, f.cell) for f in word.findings}
    assert at["revenue_yoy", "revenue_2024"] == ("三、工业园区发展情况", "营业收入（亿元） · 2024年")


@pytest.mark.libreoffice
def test_our_form_resaved_by_libreoffice(forms, soffice, tmp_path):
    form = forms["green_safety"]
    values, rows = planted(form, seed=8)
    src = tmp_path / "表单.docx"
    src.write_bytes(form_document(form, {**computed_values(form, values), **values}, enterprises=rows))
    word = checked(forms, resaved(soffice, src, tmp_path / "lo").read_bytes())
    assert flat(word.findings, drop=CHANNEL) == flat(as_workbook(forms, form, values, rows).findings)


def test_section_headings_typed_above_their_tables(forms):
    form = forms["open_cooperation"]
    values, rows = planted(form, seed=11)
    data = SeedForm(form, values, rows, headings_above=True).build()
    word = checked(forms, data)
    assert flat(word.findings) == flat(as_workbook(forms, form, values, rows).findings)
    assert word.returns[0].raw.cells["report_text"].raw == values["report_text"]


def test_the_original_form_without_the_added_rows_says_so_once(forms):
    """A park that filled the official form itself (no 计算用 rows, no declaration tick): one finding lists
    what the form lacks, instead of one per row."""
    form = forms["green_safety"]
    s = sample(form, 2)
    doc = SeedForm(form, s.values, s.enterprises, parts=False)
    data = doc.build()
    raw = read_bytes(forms, data)
    codes = [f.code for f in raw.findings]
    assert codes.count("word_fields_missing") == 1 and "field_not_found" not in codes
    missing = next(f for f in raw.findings if f.code == "word_fields_missing").value
    assert "2025年园区全口径增加值" in missing and "工矿仓储用地面积" in missing
    assert raw.cells["revenue_2025"].raw == s.values["revenue_2025"]


# ---- what is refused: the legacy .doc, an RTF, a PDF ---------------------------------------------------------
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.mark.parametrize("name, data, code", [
    ("表单.doc", OLE + b"\x00" * 64 + "WordDocument".encode("utf-16-le"), "file_word_legacy"),
    ("表单.rtf", b"{\\rtf1\\ansi\\ansicpg936 \\f0 2026\\'c4\\'ea}", "file_word_legacy"),
    ("盖章扫描件.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "file_pdf"),
])
def test_doc_rtf_and_pdf_get_one_finding_saying_what_to_send(forms, name, data, code):
    raw = read_bytes(forms, data, name)
    assert not raw.readable and [f.code for f in raw.findings] == [code]
    message = raw.findings[0].message
    assert ".xlsx" in message and ".docx" in message


@pytest.mark.libreoffice
def test_a_real_doc_and_pdf_of_the_form(forms, soffice, tmp_path):
    form = forms["green_safety"]
    s = sample(form, 4)
    src = tmp_path / "表单.docx"
    src.write_bytes(form_document(form, {**computed_values(form, s.values), **s.values}, enterprises=s.enterprises))
    for fmt, code in (("doc:MS Word 97", "file_word_legacy"), ("pdf:writer_pdf_Export", "file_pdf")):
        out = resaved(soffice, src, tmp_path / fmt.split(":")[0], fmt)
        raw = read_bytes(forms, out.read_bytes(), out.name)
        assert [f.code for f in raw.findings] == [code], fmt


# ---- the report's format ----------------------------------------------------------------------------------
def report_of(document):
    """The report's paragraphs with text, in the order the checker counts them (第1段 …)."""
    ps = document.paragraphs
    start = next(i for i, p in enumerate(ps) if p.text.startswith("【摘要】"))
    end = next(i for i in range(start, len(ps)) if not ps[i].text.strip() and i > start + 1)
    return [p for p in ps[start:end] if p.text.strip()]


def test_a_report_off_the_standard_gets_hints_naming_its_paragraphs(forms):
    form = forms["green_safety"]
    s = sample(form, 6)
    v = {**computed_values(form, s.values), **s.values}
    v["report_text"] = "\n".join([
        "【摘要】本报告概述园区做法。", "一、背景介绍", "园区基础较好。", "1、具体做法", "园区加强服务。",
        "二、创新举措", "（一）搭建平台。园区建设平台。", "(三)完善机制", "三、实践成效", "成效明显。"])
    d = docx.Document(io.BytesIO(form_document(form, v, enterprises=s.enterprises)))
    rep = report_of(d)
    assert len(rep) == 10
    for p in rep[2:5]:  # 第3-5段 in 1.5 lines
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.ONE_POINT_FIVE
    rep[6].paragraph_format.space_after = Pt(6)  # 第7段 6 pt after
    for r in rep[9].runs:  # 第10段 in 四号
        r.font.size = Pt(14)
    for r in rep[1].runs:  # 第2段, a first-level heading, in 宋体
        r._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    for r in rep[4].runs:  # 第5段, body, in 楷体 (its East-Asian font: the Latin one is not what Chinese shows in)
        r._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "楷体_GB2312")
    out = io.BytesIO()
    d.save(out)
    raw = read_bytes(forms, out.getvalue())
    got = sorted((f.code, f.cell, f.severity) for f in raw.findings if f.code in FORMAT)
    assert got == sorted([
        ("report_line_spacing", "第3-5段", "info"),
        ("report_paragraph_spacing", "第7段", "info"),
        ("report_font_size", "第10段", "info"),
        ("report_font", "第2段", "info"),
        ("report_font", "第5段", "info"),
        ("report_heading", "第4段", "info"),  # 1、 instead of 1.
        ("report_heading", "第8段", "info"),  # (三) half-width, and after （一） comes （二）
    ])
    by = {(f.code, f.cell): f for f in raw.findings}
    assert "1.5倍行距" in by["report_line_spacing", "第3-5段"].message
    assert "段后6磅" in by["report_paragraph_spacing", "第7段"].message
    assert "14磅（四号）" in by["report_font_size", "第10段"].message
    assert "“宋体”" in by["report_font", "第2段"].message and "黑体" in by["report_font", "第2段"].message
    assert "序号应写作“1.”" in by["report_heading", "第4段"].message
    assert "（三）" in by["report_heading", "第8段"].message and "（二）" in by["report_heading", "第8段"].message
    assert all(f.sheet == "二、推动绿色安全发展类创新实践概述" and f.field == "report_text"
               for f in raw.findings if f.code in FORMAT)
    # the same text in a workbook: the rules' findings only (the format is the Word file's)
    assert flat(check_batch([raw], forms).findings) == flat(as_workbook(forms, form, s.values | {
        "report_text": v["report_text"]}, s.enterprises).findings)


# ---- choices, boxes and fields of Word ---------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("☑是　☐否", "是"), ("☐是\n☒否", "否"), ("☐政府/事业单位 ☐央国企 √民企 ☐其他", "民企"),
    ("☐是　☐否", None), ("☑是　☑否", "是、否"), ("☐新能源汽车　☐光伏（人工智能）", "人工智能"), ("民企", "民企"),
])
def test_the_ticked_option_is_the_value(text, value):
    assert chosen(text) == value


def test_boxes_as_word_draws_them(forms):
    """A legacy check-box field and a Wingdings box read as ticked, like ☑ typed."""
    from consolidator.read.word.document import paragraph_text

    d = docx.Document()
    p = d.add_paragraph()
    run = p.add_run()
    fld = OxmlElement("w:fldChar")
    fld.set(qn("w:fldCharType"), "begin")
    ff, box, checked_ = OxmlElement("w:ffData"), OxmlElement("w:checkBox"), OxmlElement("w:checked")
    box.append(checked_)
    ff.append(box)
    fld.append(ff)
    run._r.append(fld)
    p.add_run("是")
    sym = p.add_run()._r
    el = OxmlElement("w:sym")
    el.set(qn("w:font"), "Wingdings")
    el.set(qn("w:char"), "F0A8")
    sym.append(el)
    p.add_run("否")
    assert paragraph_text(p._p) == "☑是☐否"
    assert chosen(paragraph_text(p._p)) == "是"


def test_a_list_per_category_takes_its_category_from_its_heading(forms):
    form = forms["green_safety"]
    s = sample(form, 9)
    data = SeedForm(form, s.values, []).build()
    d = docx.Document(io.BytesIO(data))
    by_category: dict[str, list] = {}
    for e in s.enterprises:
        by_category.setdefault(e["category"], []).append(e)
    for label, entries in by_category.items():
        d.add_paragraph(f"{label}清单")
        t = d.add_table(rows=1 + len(entries), cols=3)
        for c, head in enumerate(("企业名称", "统一社会信用代码", "行业分类")):
            t.cell(0, c).text = head
        for r, e in enumerate(entries, start=1):
            for c, cid in enumerate(("name", "credit_code", "industry")):
                t.cell(r, c).text = e[cid]
    out = io.BytesIO()
    d.save(out)
    word = checked(forms, out.getvalue())
    assert flat(word.findings) == [] and word.returns[0].status == "通过"
    assert len(word.returns[0].raw.enterprises) == len(s.enterprises)


# ---- damaged and hostile files: one finding each, the batch goes on ----------------------------------------
def rezip(data: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def test_damaged_word_files_get_one_finding_and_the_batch_goes_on(forms, tmp_path):
    form = forms["green_safety"]
    s = sample(form, 1)
    good = form_document(form, {**computed_values(form, s.values), **s.values}, enterprises=s.enterprises)
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open("word/media/image9.xml", "w") as fh:
            for _ in range(40):
                fh.write(b"\0" * (1 << 20))
    doctype = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "xxxxxxxxxx">]>'
    folder = tmp_path / "报送"
    folder.mkdir()
    files = {
        "好的表单.docx": (good, None),
        "损坏的XML.docx": (rezip(good, lambda n, b: b[:len(b) // 2] if n == "word/document.xml" else b),
                           "word_unreadable"),
        "截断.docx": (good[: len(good) // 2], "word_unreadable"),
        "缺少部件.docx": (rezip(good, lambda n, b: None if n == "word/styles.xml" else b), "word_unreadable"),
        "实体.docx": (rezip(good, lambda n, b: doctype + b.split(b"?>", 1)[1] if n == "word/document.xml" else b),
                      "file_unsafe"),
        "压缩炸弹.docx": (bomb.getvalue(), "file_too_large"),
        "别的文档.docx": (_other_document(), "file_not_workbook"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    result = run_check(folder, forms, workers=2)
    by_file = {r.file: r for r in result.returns}
    assert set(by_file) == set(files)
    for name, (_, code) in files.items():
        ret = by_file[name]
        if code is None:
            assert ret.raw.readable and ret.raw.located_by == "word" and ret.status == "通过", name
        else:
            assert not ret.raw.readable and [f.code for f in ret.findings] == [code], name
    assert "XML" in by_file["损坏的XML.docx"].findings[0].message


def _other_document() -> bytes:
    d = docx.Document()
    d.add_paragraph("关于报送材料的说明")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def test_reading_a_word_form_loads_neither_openpyxl_nor_pandas_nor_the_writer(forms, tmp_path):
    form = forms["green_safety"]
    s = sample(form, 1)
    path = tmp_path / "表单.docx"
    path.write_bytes(form_document(form, {**computed_values(form, s.values), **s.values}, enterprises=s.enterprises))
    code = ("import datetime as dt, pathlib, sys\n"
            "from consolidator.read.sources import Source\n"
            "from consolidator.read.workers import read_one\n"
            "from consolidator.rules import load_forms\n"
            f"raw = read_one(Source('x.docx', dt.datetime(2026, 1, 1), pathlib.Path({str(path)!r})), load_forms())\n"
            "print(raw.located_by, len(raw.cells), sorted(m for m in ('openpyxl', 'pandas', 'consolidator.write')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split()[0] == "word" and out.strip().endswith("[]")
