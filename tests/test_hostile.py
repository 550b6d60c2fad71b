"""Broken, hostile and unusual files, generated here: each gets exactly one clear finding, the batch
finishes, every other file is checked as if it were not there, the inputs are unchanged and the
outputs are safe."""

import ast
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile

import pytest

from consolidator.findings import CATALOGUE, ERROR
from consolidator.pipeline import run_check
from consolidator.read.sources import Source, discover
from consolidator.read.workers import IsolatedReader
from consolidator.samples import clean_return
from consolidator.write.template import filled_workbook_bytes

from .conftest import ROOT

GOOD = ROOT / "sample_data" / "returns" / "昆山开发区_提高开放合作水平类.xlsx"


def rezip(data: bytes, change) -> bytes:
    """The package with its parts passed through change(name, body) -> body (None drops the part)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def with_extra(data: bytes, name: str, body: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as zf:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name" is the point
            zf.writestr(name, body)
    return out.getvalue()


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&xxe;</workbook>')


def zip_bomb_member() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet9.xml", "w") as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(40):
                fh.write(chunk)
    return out.getvalue()


def cases(tmp_path, soffice=None):
    """file name -> (bytes, expected finding code)."""
    good = GOOD.read_bytes()
    half = len(good) // 2
    corrupted = bytearray(good)
    for k in range(2000, 2400):
        corrupted[k] ^= 0xFF
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    xlsb = io.BytesIO()
    with zipfile.ZipFile(xlsb, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.bin", b"\x83\x01\x00")
    bomb = zip_bomb_member()
    bomb_package = rezip(good, lambda n, b: b)
    with zipfile.ZipFile(io.BytesIO(bomb)) as zb, zipfile.ZipFile(out := io.BytesIO(bomb_package), "a") as zf:
        info = zb.infolist()[0]
        zf.writestr(info, zb.read(info), compress_type=zipfile.ZIP_DEFLATED)
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(good)).encrypt("secret", encrypted)
    return {
        "空文件.xlsx": (b"", "file_not_workbook"),
        "文本.xlsx": ("这是一封邮件正文，不是表格。".encode("gbk"), "file_not_workbook"),
        "网页.xlsx": (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "file_not_workbook"),
        "表格.csv.xlsx": ("园区名称,营业收入\n苏州,100\n".encode("utf-8"), "file_not_workbook"),
        "截断.xlsx": (good[:half], "file_unreadable"),
        "损坏.xlsx": (bytes(corrupted), "file_unreadable"),
        "缺少部件.xlsx": (rezip(good, lambda n, b: None if n == "xl/workbook.xml" else b), "file_unreadable"),
        "重复部件.xlsx": (with_extra(good, "xl/workbook.xml", b"<workbook/>"), "file_unreadable"),
        "Word文档.docx": (docx.getvalue(), "file_not_workbook"),
        "二进制.xlsb": (xlsb.getvalue(), "file_not_workbook"),
        "加密.xlsx": (encrypted.getvalue(), "file_encrypted"),
        "实体炸弹.xlsx": (rezip(good, lambda n, b: BILLION_LAUGHS if n == "xl/sharedStrings.xml" else b), "file_unsafe"),
        "外部实体.xlsx": (rezip(good, lambda n, b: XXE if n == "docProps/custom.xml" else b), "file_unsafe"),
        "压缩炸弹.xlsx": (out.getvalue(), "file_too_large"),
    }


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "报送"
    folder.mkdir()
    expected = {}
    for name, (data, code) in cases(folder).items():
        (folder / name).write_bytes(data)
        expected[name] = code
    shutil.copy(GOOD, folder / GOOD.name)
    # the same bad files again, inside a zip archive with Windows (GBK) names
    with zipfile.ZipFile(folder / "打包.zip", "w") as zf:
        for name in ("实体炸弹.xlsx", "加密.xlsx"):
            zf.writestr(name, (folder / name).read_bytes())
            expected[f"打包.zip!{name}"] = expected[name]
        zf.writestr("../../../逃出去.xlsx", b"")
        expected["打包.zip!../../../逃出去.xlsx"] = "file_not_workbook"
        big = zipfile.ZipInfo("压缩炸弹成员.xlsx")
        zf.writestr(big, zip_bomb_member(), compress_type=zipfile.ZIP_STORED)
    expected["打包.zip!压缩炸弹成员.xlsx"] = "file_archive"  # a zip of a sheet, not a workbook package: unpack it
    with zipfile.ZipFile(folder / "大附件.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("六十兆.xlsx", "w") as fh:  # 60 MB of zeros: never expanded, its declared size says enough
            for _ in range(60):
                fh.write(b"\0" * (1 << 20))
    expected["大附件.zip!六十兆.xlsx"] = "file_too_large"
    return folder, expected


def test_every_bad_file_gets_exactly_one_clear_finding(corpus, forms):
    folder, expected = corpus
    before = digest(folder)
    result = run_check(folder, forms)
    by_file = {}
    for f in [*result.findings, *result.skipped]:
        by_file.setdefault(f.file, []).append(f)
    for name, code in expected.items():
        errors = [f for f in by_file.get(name, []) if f.severity == ERROR]
        assert [f.code for f in errors] == [code], (name, [(f.code, f.message) for f in by_file.get(name, [])])
        assert errors[0].message.startswith(CATALOGUE[code].template.split("{")[0])
        assert "请" in errors[0].message, "the park is told what to do"
    # the good return is checked as if the others were not there
    good = next(r for r in result.returns if r.file == GOOD.name)
    assert good.status == "通过" and [f.code for f in good.findings if f.severity != "info"] == []
    assert digest(folder) == before


def test_declared_sizes_stop_a_bomb_before_it_is_expanded(tmp_path):
    (tmp_path / "炸弹.zip").write_bytes(zip_bomb_member())
    with zipfile.ZipFile(tmp_path / "炸弹.zip") as zf:
        assert zf.infolist()[0].file_size == 40 << 20
    sources, skipped = discover(tmp_path)
    (source,) = sources
    assert source.data == b"" and source.problem[0] == "file_too_large"  # refused by its ratio, never expanded
    from consolidator.read.workbook import read_return

    assert [f.code for f in read_return(source, {}).findings] == ["file_too_large"]


def test_a_sheet_holding_a_far_cell_is_named_and_the_batch_goes_on(tmp_path, forms):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "三、发展情况"
    wb.active["A1"] = "营业收入"
    wb.active["XFD1048576"] = "远处"
    wb.save(tmp_path / "远处.xlsx")
    shutil.copy(GOOD, tmp_path / GOOD.name)
    result = run_check(tmp_path, forms)
    far = [f for f in result.findings if f.file == "远处.xlsx"]
    assert [f.code for f in far] == ["file_too_large"] and "XFD1048576" in far[0].message
    assert next(r for r in result.returns if r.file == GOOD.name).status == "通过"


def test_a_sheet_declaring_absurd_dimensions_is_read_normally(tmp_path, forms):
    data = rezip(GOOD.read_bytes(), lambda n, b: b.replace(b'<dimension ref="', b'<dimension ref="A1:XFD1048576" x="')
                 if n.startswith("xl/worksheets/") else b)
    (tmp_path / "范围.xlsx").write_bytes(data)
    result = run_check(tmp_path, forms)
    assert result.returns[0].status == "通过"


@pytest.fixture
def misbehaving(monkeypatch):
    """Workers inherit (fork) a reader that hangs, dies or eats memory on chosen files."""
    import consolidator.read.workers as iso

    real = iso.read_return

    def read(source, forms):
        name = source.display
        if name.startswith("hang"):
            import time

            time.sleep(3600)
        if name.startswith("crash"):
            os.abort()
        if name.startswith("memory"):
            hog = []
            while True:
                hog.append(bytearray(256 << 20))
        return real(source, forms)

    monkeypatch.setattr(iso, "read_return", read)


def test_a_hang_a_crash_and_a_memory_hog_affect_no_other_file(misbehaving, tmp_path, forms):
    for name in ("hang.xlsx", "crash.xlsx", "memory.xlsx"):
        shutil.copy(GOOD, tmp_path / name)
    shutil.copy(GOOD, tmp_path / "good.xlsx")
    sources, _ = discover(tmp_path)
    reader = IsolatedReader(forms, forms["green_safety"].rules_dir, workers=2, timeout=3, memory_mb=512)
    raws = {r.source.display: r for r in reader.read_all(sources)}
    assert [f.code for f in raws["hang.xlsx"].findings] == ["file_timeout"]
    assert [f.code for f in raws["crash.xlsx"].findings] == ["file_crashed"]
    assert [f.code for f in raws["memory.xlsx"].findings] == ["file_crashed"]
    assert raws["good.xlsx"].readable and raws["good.xlsx"].category == "open_cooperation"


def test_a_worker_under_its_memory_cap_reads_lists_whatever_allocator_arrow_was_given(tmp_path, forms):
    """The enterprise list's names and codes become Arrow arrays in the worker. Arrow's mimalloc reserves
    address space by the gigabyte, which the worker's cap (RLIMIT_AS) refuses: a command that had loaded
    pandas before starting its workers read every file as "out of memory". Run fresh, as the office's
    commands run, with mimalloc asked for."""
    for cid, form in forms.items():
        s = clean_return(form, random.Random(77))
        (tmp_path / f"{cid}.xlsx").write_bytes(filled_workbook_bytes(form, s.values, s.enterprises))
    script = (
        "import sys, pyarrow\n"
        "import consolidator.check.batch  # pandas and pandera loaded before the workers start\n"
        "from consolidator.rules import load_forms\n"
        "from consolidator.read.sources import discover\n"
        "from consolidator.read.workers import IsolatedReader\n"
        "forms = load_forms()\n"
        "sources, _ = discover(sys.argv[1])\n"
        "raws = IsolatedReader(forms, forms['green_safety'].rules_dir, workers=1).read_all(sources)\n"
        "print(pyarrow.default_memory_pool().backend_name, [(r.readable, len(r.enterprises)) for r in raws])\n"
    )
    env = dict(os.environ, ARROW_DEFAULT_MEMORY_POOL="mimalloc")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    pool, result = out.stdout.split(" ", 1)
    assert pool == "mimalloc"  # the main process kept what it was given
    read = ast.literal_eval(result)
    assert len(read) == len(forms) and all(readable and rows > 0 for readable, rows in read)


def test_the_workers_start_before_pandas_is_loaded(tmp_path):
    """pandas and pandera load while the workers read (a fifth of a second at start otherwise), also when a
    roster is given and attachments are looked for before reading (their helpers once loaded pandas)."""
    shutil.copy(GOOD, tmp_path / "good.xlsx")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from consolidator import pipeline\n"
        "from consolidator.read import workers\n"
        "from consolidator.read.roster import read_roster\n"
        "from consolidator.rules import load_forms\n"
        "seen = []\n"
        "start = workers.IsolatedReader._start\n"
        "def spy(self):\n"
        "    seen.append('pandas' in sys.modules)\n"
        "    return start(self)\n"
        "workers.IsolatedReader._start = spy\n"
        "forms = load_forms()\n"
        "roster = read_roster(Path(sys.argv[2]), forms)\n"
        "result = pipeline.run_check(Path(sys.argv[1]), forms, roster)\n"
        "print(seen[0], len(result.returns))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(ROOT / "sample_data" / "roster.csv")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "1"]


def test_xlsm_values_are_read_and_macros_never_copied(tmp_path, forms):
    from consolidator.check.batch import check_batch
    from consolidator.read.workers import read_one
    from consolidator.write.annotate import annotate

    form = forms["green_safety"]
    s = clean_return(form, random.Random(77))
    s.values["lead_revenue_2025"] = s.values["revenue_2025"] * 2
    data = filled_workbook_bytes(form, s.values, s.enterprises)
    macro = b"Attribute VB_Name = \"Module1\"\nSub AutoOpen()\nShell \"calc.exe\"\nEnd Sub\n"
    xlsm = rezip(data, lambda n, b: b.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                              b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                 if n == "[Content_Types].xml" else b)
    assert b"macroEnabled" in zipfile.ZipFile(io.BytesIO(xlsm)).read("[Content_Types].xml")
    xlsm = with_extra(xlsm, "xl/vbaProject.bin", macro)
    (tmp_path / "带宏.xlsm").write_bytes(xlsm)
    raw = read_one(Source("带宏.xlsm", None, tmp_path / "带宏.xlsm"), forms)
    assert raw.readable and raw.cells["revenue_2025"].raw == s.values["revenue_2025"]
    result = check_batch([raw], forms)
    copy = annotate(xlsm, result.returns[0].findings)
    assert copy is not None
    names = zipfile.ZipFile(io.BytesIO(copy)).namelist()
    assert "xl/vbaProject.bin" not in names
    assert b"macroEnabled" not in zipfile.ZipFile(io.BytesIO(copy)).read("[Content_Types].xml")


def test_legacy_and_wps_files_are_read(tmp_path, forms, soffice):
    exe, profile = soffice
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xls:MS Excel 97",
                    "--outdir", str(tmp_path), str(GOOD)], check=True, capture_output=True, timeout=180)
    xls = tmp_path / (GOOD.stem + ".xls")
    shutil.copy(xls, tmp_path / "WPS表格.et")
    result = run_check(tmp_path, forms)
    assert len(result.returns) == 2
    for r in result.returns:
        assert r.raw.readable and r.form.category_id == "open_cooperation", r.file
        assert "file_legacy_format" in [f.code for f in r.raw.findings]


def test_outputs_are_safe_for_hostile_text(tmp_path, forms):
    """Park text that would be a formula, a link or markup stays inert in every output."""
    from consolidator.check.batch import check_batch
    from consolidator.write.report import findings_csv, render_html
    from consolidator.write.summary import build_summary
    from consolidator.write.xlsx import workbook_to_bytes

    from .conftest import raw_return, sample

    form = forms["open_cooperation"]
    evil = "=cmd|' /C calc'!A0 <script>alert(1)</script> [链接](http://x) \x01"
    s = sample(form, 78, park_name=evil, practice_name="@SUM(1+1)", head_name="+1-2", declaration_accepted="否")
    result = check_batch([raw_return(form, s.values, s.enterprises, file="../../evil.xlsx")], forms)
    csv_text = findings_csv(result).decode("utf-8-sig")
    assert "\n=cmd" not in csv_text and ",=cmd" not in csv_text and ",'=cmd" in csv_text
    html = render_html(result)
    assert "<script>alert" not in html
    wb, extra = build_summary(result, forms)
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(wb)))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells if c.value.startswith(("=cmd", "@SUM", "+1-2")))
    assert any(c.value.startswith("=cmd") for c in cells)
    assert "text_cleaned" in {f.code for f in extra}


def test_a_locked_output_is_reported_and_the_old_one_kept(tmp_path, forms, monkeypatch, capsys):
    from consolidator.cli import main

    (tmp_path / "报送").mkdir()
    shutil.copy(GOOD, tmp_path / "报送" / GOOD.name)
    out = tmp_path / "结果"
    out.mkdir()
    (out / "findings.csv").write_bytes(b"old")
    real_replace = os.replace

    def locked(src, dst):
        if str(dst).endswith("findings.csv"):
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(SystemExit) as exc:
        main(["check", str(tmp_path / "报送"), "--out", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 4  # could not finish (exit codes: cli --help)
    assert "findings.csv" in err and "正在" in err and "原文件保持不变" in err
    assert (out / "findings.csv").read_bytes() == b"old"
    assert (out / "report.html").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".~tmp-")]


def test_an_interrupted_write_leaves_no_half_file(tmp_path, monkeypatch):
    from consolidator.write.files import atomic_write_bytes

    target = tmp_path / "summary.xlsx"
    target.write_bytes(b"previous")

    class Boom(Exception):
        pass

    real_fsync = os.fsync

    def fsync(fd):
        raise Boom

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(Boom):
        atomic_write_bytes(target, b"new contents")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.xlsx"]


def test_findings_json_of_the_corpus_is_valid(corpus, forms, tmp_path):
    from consolidator.write.report import findings_json

    folder, _ = corpus
    data = json.loads(findings_json(run_check(folder, forms)))
    assert all(f["message"] for f in data["findings"])


def test_files_queued_behind_a_bad_one_are_read_by_the_next_worker(misbehaving, tmp_path, forms):
    """One worker, files sent ahead of time: the files waiting behind a hang, a crash and a memory
    hog go to the replacement worker and are read, each once, in order."""
    names = ["a_good.xlsx", "crash.xlsx", "c_good.xlsx", "hang.xlsx", "i_good.xlsx", "memory.xlsx", "n_good.xlsx",
             "o_good.xlsx"]
    for name in names:
        shutil.copy(GOOD, tmp_path / name)
    sources, _ = discover(tmp_path)
    assert IsolatedReader.QUEUE > 1
    raws = IsolatedReader(forms, forms["green_safety"].rules_dir, workers=1, timeout=3, memory_mb=512).read_all(sources)
    assert [r.source.display for r in raws] == [s.display for s in sources] == sorted(names)
    for r in raws:
        bad = not r.source.display.endswith("_good.xlsx")
        assert r.readable is not bad, r.source.display
        assert len(r.findings) == (1 if bad else 0), (r.source.display, r.findings)


def test_part_heads_read_from_the_package_bytes_match_zipfile():
    """inspect_package reads the first 4 KB of each part from the package bytes itself; it must see
    exactly what zipfile's own reader sees, for stored and deflated parts, small and large."""
    import io
    import random
    import zipfile

    from consolidator.read.package import _head, part

    rng = random.Random(7)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, size in enumerate((0, 10, 4095, 4096, 4097, 70000)):
            text = "".join(rng.choice("<>abc中文 \n") for _ in range(size)).encode()
            zf.writestr(zipfile.ZipInfo(f"stored{k}.xml"), text, compress_type=zipfile.ZIP_STORED)
            zf.writestr(zipfile.ZipInfo(f"deflated{k}.xml"), text, compress_type=zipfile.ZIP_DEFLATED)
    zf = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    raw = zf.fp.getbuffer()
    for info in zf.infolist():
        with zf.open(info) as fh:
            assert _head(zf, info, raw) == fh.read(4096), info.filename
        assert part(zf, info.filename) == zf.read(info), info.filename  # whole parts too
    # a part that expands beyond the size its header declares is not expanded further
    lying = bytearray(buf.getvalue())
    name = b"deflated5.xml"
    central = next(at for at in range(len(lying))
                   if lying[at:at + 4] == b"PK\x01\x02" and lying[at + 46:at + 46 + len(name)] == name)
    lying[central + 24:central + 28] = (100).to_bytes(4, "little")  # declared uncompressed size: 100 bytes
    small = zipfile.ZipFile(io.BytesIO(bytes(lying)))
    with pytest.raises(zipfile.BadZipFile):
        part(small, "deflated5.xml")


def test_entity_declarations_are_found_in_the_prolog_only_where_they_can_be():
    """inspect_package first looks at a part's first 256 bytes: a DTD can only stand before the
    root element, so a part whose root starts first is safe; anything undecided there (a long
    comment, another encoding) is judged on the first 4 KB as a whole, as before."""
    import io
    import zipfile

    from consolidator.read.package import _declares_entities, inspect_package

    assert _declares_entities(b'<?xml version="1.0" encoding="UTF-8"?>\r\n<worksheet xmlns="x">') is False
    assert _declares_entities(b"\xef\xbb\xbf<?xml?><?mso x?><!-- c --><a/>") is False
    assert _declares_entities(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><r/>') is True
    assert _declares_entities(b"<!-- <a> --> <!DOCTYPE r><r/>") is True  # an element-like text in a comment
    for undecided in (b"", b"<?xml ", b"<!-- long", b"<!-", b"\xff\xfe<\x00r\x00"):
        assert _declares_entities(undecided) is None, undecided

    def package(part: bytes) -> zipfile.ZipFile:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", b"<Types/>")
            zf.writestr("xl/workbook.xml", part)
        return zipfile.ZipFile(io.BytesIO(buf.getvalue()))

    padded = b"<?xml version='1.0'?><!-- " + b"x" * 1000 + b" --><!DOCTYPE r [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><r/>"
    assert inspect_package(package(padded))[0] == "file_unsafe"
    assert inspect_package(package(b"<?xml version='1.0'?><!-- " + b"x" * 1000 + b" --><workbook/>")) is None
    assert inspect_package(package(XXE))[0] == "file_unsafe"


def test_large_zip_members_and_large_results_do_not_lock_the_pipes(tmp_path, forms):
    """A long list comes back inside a result, and a file given in memory travels inside its task:
    with both larger than what a pipe holds, the main process must never be stuck sending a task to
    a worker that is itself stuck sending a result (one worker, so tasks queue up). Zip members are
    expanded by the worker itself."""
    import io
    import random
    import threading
    import zipfile

    import openpyxl

    rng = random.Random(3)
    wb = openpyxl.load_workbook(GOOD)
    ws = wb["企业清单"]
    for r in range(4, 2004):  # the whole list, with long random names: ~1 MB of text that does not compress
        ws.cell(r, 1, "规上工业企业")
        ws.cell(r, 2, "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(160)))
        ws.cell(r, 4, "C39")
    buf = io.BytesIO()
    wb.save(buf)
    big = buf.getvalue()
    assert len(big) > 600_000
    with zipfile.ZipFile(tmp_path / "打包.zip", "w", zipfile.ZIP_STORED) as zf:
        for k in range(4):
            zf.writestr(f"园区{k}.xlsx", big)
    sources, _ = discover(tmp_path)
    sources += [Source(f"内存{k}.xlsx", sources[0].mtime, tmp_path / "打包.zip", data=big) for k in range(4)]
    out: list = []
    t = threading.Thread(target=lambda: out.append(IsolatedReader(
        forms, forms["green_safety"].rules_dir, workers=1, timeout=60).read_all(sources)), daemon=True)
    t.start()
    t.join(180)
    assert not t.is_alive(), "the reader is stuck"
    raws = out[0]
    assert [len(r.enterprises) for r in raws] == [2000] * 8


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    """Killed by the OOM killer or `kill -9`, the main process leaves no reading worker behind."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "main.py"
    script.write_text(
        "import sys, time\n"
        "from consolidator.rules import load_forms\n"
        "from consolidator.read.workers import IsolatedReader\n"
        "forms = load_forms()\n"
        "r = IsolatedReader(forms, 'rules', workers=2)\n"
        "ws = [r._start(), r._start()]\n"
        "print(' '.join(str(w.process.pid) for w in ws), flush=True)\n"
        "time.sleep(60)\n", encoding="utf-8")
    main = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in main.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    main.send_signal(signal.SIGKILL)
    main.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_file_name_that_is_not_utf8_costs_no_output(tmp_path, capsys):
    """GBK bytes in a file name (a Windows zip unpacked on Linux): read as usual, shown as GBK, named in a 提示."""
    from consolidator.cli import main

    from .conftest import ROOT

    returns = tmp_path / "报送"
    returns.mkdir()
    gbk = "南通经开区.xlsx".encode("gbk")
    data = (ROOT / "sample_data" / "returns" / "南通经开区.xlsx").read_bytes()
    with open(os.path.join(os.fsencode(returns), gbk), "wb") as fh:
        fh.write(data)
    with pytest.raises(SystemExit) as exc:
        main(["check", str(returns), "--out", str(tmp_path / "o"), "-v"])
    assert exc.value.code in (0, 1)
    found = json.loads((tmp_path / "o" / "findings.json").read_text(encoding="utf-8"))
    names = [f for f in found["findings"] if f["code"] == "file_name_encoding"]
    assert len(names) == 1 and names[0]["file"] == "南通经开区.xlsx" and names[0]["severity"] == "info"
    assert [r["file"] for r in found["returns"]] == ["南通经开区.xlsx"] and found["returns"][0]["category"]
    assert "南通经开区.xlsx" in (tmp_path / "o" / "report.html").read_text(encoding="utf-8")


def test_links_pipes_and_folders_that_cannot_be_entered_are_listed_and_the_batch_goes_on(tmp_path):
    """Run as an unprivileged user (root enters any folder): every entry that is not read says why."""
    import sys
    import tempfile
    from pathlib import Path

    from .conftest import ROOT

    base = Path(tempfile.mkdtemp(prefix="consolidator-perm-", dir="/tmp"))
    try:
        returns = base / "报送"
        (returns / "锁住的文件夹").mkdir(parents=True)
        shutil.copy(ROOT / "sample_data" / "returns" / "南通经开区.xlsx", returns / "南通经开区.xlsx")
        shutil.copy(ROOT / "sample_data" / "returns" / "宜兴经开区.xlsx", returns / "锁住的文件夹" / "宜兴经开区.xlsx")
        shutil.copy(ROOT / "sample_data" / "returns" / "江宁开发区.xlsx", returns / "不让读.xlsx")
        (returns / "外面.xlsx").symlink_to("/etc/passwd")
        (returns / "绕圈").symlink_to(returns, target_is_directory=True)
        (returns / "设备").symlink_to("/dev/zero")
        os.mkfifo(returns / "管道.xlsx")
        (returns / ".git").mkdir()
        for p in [base, returns, *returns.rglob("*")]:
            if not p.is_symlink() and not str(p).endswith("管道.xlsx"):
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
        os.chmod(returns / "锁住的文件夹", 0o744)  # listed, not entered
        os.chmod(returns / "不让读.xlsx", 0o600)
        # as root, everything is loaded first (the interpreter's own files may not be readable for others),
        # then the process becomes nobody for the reading
        code = ("import json, os, sys\n"
                "from consolidator.rules import load_forms\n"
                "from consolidator.pipeline import run_check\n"
                "from consolidator.check.batch import warm_up, check_batch\n"
                "import multiprocessing.popen_fork, multiprocessing.connection, consolidator.write.report\n"
                "import encodings.utf_16_le, encodings.utf_32_le, encodings.gb18030\n"
                "from consolidator.rules.formats import phone_ok, industry_problem\n"
                "forms = load_forms(sys.argv[2]); warm_up(forms); phone_ok('13912345678')\n"
                "industry_problem('C39', sys.argv[2])\n"
                "if os.geteuid() == 0: os.setgid(65534); os.setuid(65534)\n"
                "r = run_check(sys.argv[1], forms)\n"
                "print(json.dumps([[f.code, f.file, f.message] for f in r.skipped + r.findings"
                " if f.code in ('skipped', 'access_denied')] + [[x.file, x.status] for x in r.returns], ensure_ascii=False))\n")
        out = subprocess.run([sys.executable, "-c", code, str(returns), str(ROOT / "rules")], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        by_file = {row[1]: row for row in got if len(row) == 3}
        assert by_file["锁住的文件夹"][0] == "access_denied"  # listed, not entered: the folder is named
        assert by_file["不让读.xlsx"][0] == "access_denied" and "没有权限" in by_file["不让读.xlsx"][2]
        for name in ("外面.xlsx", "绕圈", "设备"):
            assert by_file[name][0] == "skipped" and "链接" in by_file[name][2]
        assert by_file["管道.xlsx"][0] == "skipped" and "不是普通文件" in by_file["管道.xlsx"][2]
        assert by_file[".git"][0] == "skipped"
        statuses = {row[0]: row[1] for row in got if len(row) == 2}
        assert statuses["南通经开区.xlsx"] in ("通过", "有警告", "有错误")  # the batch went on
    finally:
        for p in base.rglob("*"):
            if not p.is_symlink():
                os.chmod(p, 0o755) if p.is_dir() else None
        shutil.rmtree(base, ignore_errors=True)


def test_a_huge_sparse_file_is_too_large_without_being_read(tmp_path, forms):
    from consolidator.read.workbook import read_return

    path = tmp_path / "四个G.xlsx"
    with open(path, "wb") as fh:
        fh.truncate(4 * 2**30)  # sparse: 4 GiB that take no disk
    raw = read_return(Source(path.name, None, path), forms)
    assert [f.code for f in raw.findings] == ["file_too_large"] and "4,096 MB" in raw.findings[0].message


@pytest.mark.parametrize("head, kind", [(b"7z\xbc\xaf\x27\x1c\x00\x04", "7z 压缩包"), (b"Rar!\x1a\x07\x01\x00", "rar 压缩包")])
def test_an_archive_sent_as_the_return_is_to_be_unpacked(tmp_path, forms, head, kind):
    from consolidator.read.workbook import read_return

    path = tmp_path / "填报表.xlsx"
    path.write_bytes(head + b"\x00" * 200)
    raw = read_return(Source(path.name, None, path), forms)
    assert [f.code for f in raw.findings] == ["file_archive"] and kind in raw.findings[0].message
    assert "解压" in raw.findings[0].message


def _rar4_stored(files: dict) -> bytes:
    """A RAR 4 archive whose members are stored (WinRAR's -m0), built here: no rar tool is free to have."""
    import struct
    import zlib

    def block(head_type, flags, body):
        head = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0x0000, struct.pack("<HI", 0, 0))
    dos_time = ((2026 - 1980) << 25) | (11 << 21) | (20 << 16) | (9 << 11)
    for name, (data, declared) in files.items():
        raw = name.encode("ascii")
        body = struct.pack("<IIBIIBBHI", len(data), declared or len(data), 2, zlib.crc32(data), dos_time, 20, 0x30,
                           len(raw), 0x20) + raw
        out += block(0x74, 0x8000, body) + data
    return out + block(0x7B, 0x4000, b"")


def test_7z_and_rar_archives_are_opened_like_zip(tmp_path, forms):
    """Parks pack with 7-Zip and WinRAR: their members are read with the zip's limits; what cannot be
    opened (a password) says so."""
    import py7zr

    good = GOOD.read_bytes()
    folder = tmp_path / "报送"
    folder.mkdir()
    with py7zr.SevenZipFile(folder / "七z打包.7z", "w") as z:
        z.writestr(good, "园区/填报表.xlsx")
        z.writestr("一封信".encode("utf-8"), "说明.txt")
    with py7zr.SevenZipFile(folder / "加密.7z", "w", password="秘密") as z:
        z.writestr(good, "填报表.xlsx")
    (folder / "winrar.rar").write_bytes(_rar4_stored({"a.xlsx": (good, None), "big.xlsx": (b"x" * 100, 200 * 2**20)}))
    result = run_check(folder, forms)
    by_file = {r.file: r for r in result.returns}
    assert by_file["七z打包.7z!园区/填报表.xlsx"].raw.category and by_file["winrar.rar!a.xlsx"].raw.category
    assert [f.code for f in by_file["七z打包.7z!说明.txt"].findings] == ["file_not_workbook"]
    assert [f.code for f in by_file["winrar.rar!big.xlsx"].findings] == ["file_too_large"]  # never expanded
    assert [(f.code, f.file) for f in result.skipped] == [("file_encrypted", "加密.7z")]


@pytest.mark.libreoffice
@pytest.mark.parametrize("filter_, suffix", [("MS Excel 97", ".xls"), ("calc8", ".ods")])
def test_a_password_protected_xls_or_ods_is_encrypted_not_damaged(tmp_path, forms, lo_edit, filter_, suffix):
    """Saved with a password by a real LibreOffice: 文件已加密, not 内容已损坏."""
    from consolidator.read.workbook import read_return

    dst = lo_edit(GOOD, tmp_path / f"加密{suffix}", [{"op": "store", "filter": filter_, "password": "秘密123"}])
    raw = read_return(Source(dst.name, None, dst), forms)
    assert [f.code for f in raw.findings] == ["file_encrypted"]
    plain = lo_edit(GOOD, tmp_path / f"不加密{suffix}", [{"op": "store", "filter": filter_}])
    assert read_return(Source(plain.name, None, plain), forms).readable  # the same file without a password is read


@pytest.mark.libreoffice
def test_an_xls_with_a_cell_far_outside_the_form_names_the_cell(tmp_path, forms, lo_edit):
    """IV65536 is the last cell of an .xls: the sheet would be 16 million cells. The finding names it."""
    from consolidator.read.workbook import read_return

    dst = lo_edit(GOOD, tmp_path / "远处.xls", [{"op": "set", "sheet": "填写说明", "cell": "IV65536", "value": "x"},
                                              {"op": "store", "filter": "MS Excel 97"}])
    raw = read_return(Source(dst.name, None, dst), forms)
    assert [f.code for f in raw.findings] == ["file_too_large"]
    assert "填写说明" in raw.findings[0].message and "IV65536" in raw.findings[0].message


def test_an_xlsm_with_an_excel4_macro_sheet_is_read(tmp_path, forms):
    """A macro sheet (xl/macrosheets/) makes the workbook reader refuse the file; its form sheets are read."""
    import re

    from consolidator.read.workbook import read_return

    def edit(name, data):
        if name == "[Content_Types].xml":
            return data.replace(b"</Types>", b'<Override PartName="/xl/macrosheets/sheet1.xml" '
                                b'ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>')
        if name == "xl/workbook.xml":
            return re.sub(rb"</sheets>", b'<sheet name="Macro1" sheetId="99" r:id="rIdM1"/></sheets>', data)
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"</Relationships>", b'<Relationship Id="rIdM1" Type="http://schemas.microsoft.com/'
                                b'office/2006/relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/></Relationships>')
        return data

    macro = (b'<?xml version="1.0" encoding="UTF-8"?><xm:macrosheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
             b'<row r="1"><c r="A1" t="str"><f>HALT()</f><v>x</v></c></row></sheetData></xm:macrosheet>')
    data = with_extra(rezip(GOOD.read_bytes(), edit), "xl/macrosheets/sheet1.xml", macro)
    (tmp_path / "宏表.xlsm").write_bytes(data)
    raw = read_return(Source("宏表.xlsm", None, tmp_path / "宏表.xlsm"), forms)
    assert raw.readable and raw.category == "open_cooperation" and raw.findings == []


def test_a_package_with_backslash_part_names_is_read(tmp_path, forms):
    """Some generators write part names with backslashes: no longer called an archive; the reader reads it."""
    from consolidator.read.workbook import read_return

    src = zipfile.ZipFile(io.BytesIO(GOOD.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            zf.writestr(info.filename.replace("/", "\\"), src.read(info))
    (tmp_path / "反斜杠.xlsx").write_bytes(out.getvalue())
    raw = read_return(Source("反斜杠.xlsx", None, tmp_path / "反斜杠.xlsx"), forms)
    assert raw.readable and raw.category == "open_cooperation"
    assert [f.code for f in raw.findings] == ["located_by_label"]  # its defined names part is not where Excel puts it


def test_a_minimal_package_without_content_types_is_read(tmp_path, forms):
    from consolidator.read.workbook import read_return

    data = rezip(GOOD.read_bytes(), lambda n, b: None if n == "[Content_Types].xml" else b)
    (tmp_path / "最小.xlsx").write_bytes(data)
    raw = read_return(Source("最小.xlsx", None, tmp_path / "最小.xlsx"), forms)
    assert raw.readable and raw.category == "open_cooperation" and raw.findings == []
