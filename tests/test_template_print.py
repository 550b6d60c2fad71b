"""The printed template: rendered to PDF by headless LibreOffice and read back with pdftotext (poppler).

The province receives the stamped printout, so it must be the form: the cover first (the workbook's manual
last), the seal line with room for the stamp, options as ☑/☐, no fill colours, notes not shrunk below
9 pt, labels not broken inside their unit's brackets, and no text cut by a page break: every word lies
inside its page's body (a row straddling a break leaves words in the header or footer band), the long
report is printed completely, line by line, and a label stands on the page of its value.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from consolidator.samples import clean_return
from consolidator.write.template import filled_workbook_bytes, workbook_bytes

from .conftest import require

pytestmark = pytest.mark.libreoffice

HEADER_BAND = 52.0  # pt from the top and the bottom of a page: the header and the footer (page numbers)


def long_report() -> str:
    """About 2,500 characters in the report's structure, every sentence different, so that a lost or
    doubled line shows."""
    paras = ["【摘要】" + "".join(f"摘要第{i:03d}句说明园区做法。" for i in range(1, 12))]
    for head, n in (("一、背景介绍", 4), ("二、创新举措", 6), ("三、实践成效", 5)):
        paras.append(head)
        paras += ["".join(f"{head[:2]}第{k:02d}段{i:02d}句介绍做法与成效。" for i in range(9)) for k in range(n)]
    return "\n".join(paras)


def to_pdf(soffice, paths: list[Path], out: Path) -> list[Path]:
    exe, profile = soffice
    result = subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "pdf",
                             "--outdir", str(out), *map(str, paths)], capture_output=True, text=True, timeout=600)
    pdfs = [out / (p.stem + ".pdf") for p in paths]
    assert result.returncode == 0 and all(p.exists() for p in pdfs), result.stderr
    return pdfs


class Pdf:
    """A PDF's pages: their size and words (text, x0, y0, x1, y1 in pt from the top left)."""

    def __init__(self, path: Path):
        out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
        self.pages = []
        for page in out.split("<page ")[1:]:
            height = float(re.search(r'height="([\d.]+)"', page).group(1))
            words = [(t, float(a), float(b), float(c), float(d)) for a, b, c, d, t in re.findall(
                r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', page)]
            self.pages.append((height, words))

    def text(self, i: int) -> str:
        return "".join(w[0] for w in self.pages[i][1])

    def body(self, i: int) -> list[tuple]:
        """The words of page i but the running header (the form's title) and the footer (第 n 页，共 m 页)."""
        height, words = self.pages[i]
        footer = [w for w in words if w[0] == "第" and w[2] > height - HEADER_BAND]
        top = footer[0][2] - 1 if footer else height - HEADER_BAND
        return [w for w in words if not (w[4] < HEADER_BAND and w[0].startswith("2026年工业园区") and "（" in w[0])
                and not (w[2] >= top)]


@pytest.fixture(scope="module")
def printed(soffice, forms, tmp_path_factory):
    require(shutil.which("pdftotext") is not None, "poppler's pdftotext", "apt-get install poppler-utils")
    src = tmp_path_factory.mktemp("print-src")
    form = forms["green_safety"]
    sample = clean_return(form, random.Random(5))
    sample.values["report_text"] = long_report()
    filled = src / "filled.xlsx"
    filled.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises))
    blank = src / "blank.xlsx"
    blank.write_bytes(workbook_bytes(forms["open_cooperation"]))
    reference = src / "reference.xlsx"
    wb = Workbook()
    for row, size in ((1, 10), (2, 11)):  # text of a known size at 100 %, to measure the template's
        wb.active.cell(row=row, column=1, value="注：参照文字").font = Font(name="宋体", size=size)
    wb.save(reference)
    pdfs = to_pdf(soffice, [filled, blank, reference], tmp_path_factory.mktemp("print-pdf"))
    return {"filled": Pdf(pdfs[0]), "blank": Pdf(pdfs[1]), "reference": Pdf(pdfs[2]), "sample": sample,
            "filled_pdf": pdfs[0], "form": form}


def test_the_cover_comes_first_and_the_manual_last(printed):
    for key in ("filled", "blank"):
        pdf = printed[key]
        first = pdf.text(0)
        assert "经验总结材料" in first and "创新实践名称" in first and "填写日期" in first, first
        assert "电子表格使用说明" not in first
        assert "电子表格使用说明" in pdf.text(len(pdf.pages) - 1)
        assert "承诺声明" in pdf.text(1) and "填写说明" in pdf.text(1)


def test_page_count_is_sane(printed):
    assert 10 <= len(printed["filled"].pages) <= 20, len(printed["filled"].pages)
    assert 10 <= len(printed["blank"].pages) <= 18, len(printed["blank"].pages)


def test_no_text_straddles_a_page_break(printed):
    """Every word lies in its page's body: a row cut by a page break draws its text into the header band
    of the next page (or the footer band of this one), where no cell belongs."""
    for key in ("filled", "blank"):
        pdf = printed[key]
        for i, (height, _) in enumerate(pdf.pages):
            outside = [w for w in pdf.body(i) if w[2] < HEADER_BAND or w[4] > height - HEADER_BAND + 8]
            assert outside == [], (key, i + 1, outside[:5])


def test_the_long_report_is_printed_whole_line_by_line(printed):
    pdf, report = printed["filled"], printed["sample"].values["report_text"]
    body = "".join("".join(w[0] for w in pdf.body(i)) for i in range(len(pdf.pages)))
    for sentence in re.findall(r"[^。\n]+。", report):
        assert body.count(sentence) == 1, sentence  # each line printed once, none lost to a page break
    caption = [i for i in range(len(pdf.pages)) if "创新实践经验总结报告（全文）" in pdf.text(i)]
    assert len(caption) == 1
    assert "摘要第001句" in pdf.text(caption[0])  # the caption stands with the first line


def test_no_page_points_at_a_cell_that_is_not_printed(printed):
    """The report's input cell is not printed (its printed copy is): neither is the row above it, whose hint says
    to paste below (it stood alone on a page of its own before the copy)."""
    for key in ("filled", "blank"):
        pdf = printed[key]
        assert not any("粘贴到下方单元格" in pdf.text(i) for i in range(len(pdf.pages))), key


def test_a_label_stands_on_the_page_of_its_value(printed):
    pdf, values = printed["filled"], printed["sample"].values
    for fid in ("park_name", "filler_name", "head_name", "head_email", "contact_phone", "practice_name"):
        label = printed["form"].fields[fid].label
        pages = [i for i in range(len(pdf.pages)) if str(values[fid]) in pdf.text(i)]
        assert pages and any(label in pdf.text(i) for i in pages), fid


def test_options_print_as_boxes_and_the_seal_has_room(printed):
    pdf, values = printed["filled"], printed["sample"].values
    text = "".join(pdf.text(i) for i in range(len(pdf.pages)))
    assert f"☑{values['filler_type']}" in text and "☐" in text
    assert "☑是☐否" in text.replace("　", "") or "☐是☑否" in text.replace("　", "")
    page = next(i for i in range(len(pdf.pages)) if "填写单位（盖章）" in pdf.text(i))
    words = pdf.body(page)
    seal = next(w for w in words if "盖章" in w[0])
    date = next(w for w in words if w[0].startswith("年") or w[0] == "年")
    assert date[2] - seal[4] >= 80, (seal, date)  # room for the seal between the unit and the date


def test_notes_print_at_nine_points_or_more(printed):
    ref = printed["reference"].body(0)
    ten = next(w for w in ref if w[0].startswith("注："))
    size = lambda w: (w[4] - w[2]) / (ten[4] - ten[2]) * 10  # noqa: E731 (the word's height against 10 pt)
    pdf = printed["filled"]
    notes = [w for i in range(len(pdf.pages)) for w in pdf.body(i) if w[0].startswith("注：")]
    assert notes and min(size(w) for w in notes) >= 9.0, min(size(w) for w in notes)


def test_labels_do_not_break_inside_their_unit(printed):
    pdf = printed["filled"]
    for i in range(len(pdf.pages)):
        stray = [w for w in pdf.body(i) if re.fullmatch(r"[%）)]+", w[0])]
        assert stray == [], (i + 1, stray)


def test_a_complete_return_prints_without_fill_colours(printed, tmp_path):
    """Rendered to pixels: nothing yellow, grey or blue (input, computed, header) on any page."""
    require(shutil.which("pdftoppm") is not None, "poppler's pdftoppm", "apt-get install poppler-utils")
    subprocess.run(["pdftoppm", "-r", "30", printed["filled_pdf"], str(tmp_path / "p")], check=True)
    coloured = {}
    for ppm in sorted(tmp_path.glob("p-*.ppm")):
        data = ppm.read_bytes()
        parts = data.split(b"\n", 3)  # P6, width height, maxval, pixels
        pixels = parts[3]
        n = sum(1 for k in range(0, len(pixels) - 2, 3)
                if _fill(pixels[k], pixels[k + 1], pixels[k + 2]))
        if n:
            coloured[ppm.name] = n
    assert coloured == {}


def _fill(r: int, g: int, b: int) -> bool:
    """A light tint (fill colours are light: FFF2CC, E7E6E6, D9E1F2), not white, black or grey text."""
    light = min(r, g, b) >= 190 and max(r, g, b) < 250
    tinted = max(r, g, b) - min(r, g, b) >= 12
    return light and tinted
