import datetime as dt
import io
import random
import re
import zipfile

import openpyxl
import pytest

from consolidator.read.package import sniff
from consolidator.read.sources import Source, discover
from consolidator.read.workbook import read_return
from consolidator.samples import clean_return, paste_into_new_workbook
from consolidator.write.template import filled_workbook_bytes

from .conftest import ROOT, computed_values, libreoffice_resave

GREEN = "green_safety"


@pytest.fixture(scope="module")
def green_sample(forms):
    return clean_return(forms[GREEN], random.Random(31))


@pytest.fixture(scope="module")
def green_file(forms, green_sample, tmp_path_factory):
    path = tmp_path_factory.mktemp("green") / "园区.xlsx"
    path.write_bytes(filled_workbook_bytes(forms[GREEN], green_sample.values, green_sample.enterprises))
    return path


def read(path, forms, display=None):
    return read_return(Source(display or path.name, dt.datetime(2026, 11, 20), path), forms)


def values_of(raw):
    return {fid: c.raw for fid, c in raw.cells.items()}


def assert_same_values(raw, sample, form, *, with_derived):
    want = dict(sample.values)
    if with_derived:
        want.update(computed_values(form, sample.values))
    got = values_of(raw)
    for fid, value in want.items():
        if isinstance(value, float):
            assert got[fid] == pytest.approx(value, rel=1e-12), fid
        else:
            assert got[fid] == value, fid
    listed = raw.enterprises.records()
    assert listed == sample.enterprises


def test_our_workbook_is_read_by_its_defined_names(forms, green_file, green_sample):
    raw = read(green_file, forms)
    assert (raw.category, raw.template_version, raw.located_by, raw.findings) == (GREEN, "2026.1", "names", [])
    assert_same_values(raw, green_sample, forms[GREEN], with_derived=False)
    assert raw.cells["revenue_2024"].sheet == "三、发展情况"


def test_a_return_saved_by_libreoffice_carries_its_cached_values(forms, green_file, green_sample, soffice, tmp_path):
    saved = libreoffice_resave(soffice, green_file, tmp_path / "lo")
    raw = read(saved, forms)
    assert raw.located_by == "names"
    assert_same_values(raw, green_sample, forms[GREEN], with_derived=True)


def test_inserted_rows_renamed_and_reordered_sheets(forms, green_file, green_sample, lo_edit, tmp_path):
    edited = lo_edit(green_file, tmp_path / "edited.xlsx", [
        {"op": "insert_rows", "sheet": "三、发展情况", "before": 5, "count": 3},
        {"op": "insert_rows", "sheet": "一、基本信息", "before": 2, "count": 1},
        {"op": "rename", "sheet": "三、发展情况", "to": "发展情况"},
        {"op": "move", "sheet": "企业清单", "to": 0},
        {"op": "insert_rows", "sheet": "企业清单", "before": 6, "count": 2},
        {"op": "delete_rows", "sheet": "二、创新实践概述", "row": 3, "count": 1},
    ])
    raw = read(edited, forms)
    assert raw.located_by == "names" and raw.category == GREEN
    assert_same_values(raw, green_sample, forms[GREEN], with_derived=True)
    # the cell is where the park will find it today
    assert (raw.cells["revenue_2024"].sheet, raw.cells["revenue_2024"].coord) == ("发展情况", "D3")
    assert raw.cells["tax_per_mu_2025"].coord == "C13"
    assert raw.cells["head_name"].coord == "C18"


def test_form_pasted_into_a_fresh_workbook_is_read_by_its_labels(forms, green_file, green_sample, soffice, tmp_path):
    saved = libreoffice_resave(soffice, green_file, tmp_path / "lo")
    pasted = tmp_path / "pasted.xlsx"
    paste_into_new_workbook(saved, pasted, rows_down=2, cols_right=1)  # pasted lower and to the right
    raw = read(pasted, forms)
    assert raw.located_by == "labels"
    assert [f.code for f in raw.findings] == ["located_by_label"]
    assert_same_values(raw, green_sample, forms[GREEN], with_derived=True)
    assert raw.cells["revenue_2024"].coord == "E5"


def test_reading_a_return_by_its_labels_loads_neither_openpyxl_nor_the_writer(green_file, tmp_path):
    """The offsets from each label come from the form's layout (rules/layout.py), not from building
    the template: the check's worker processes stay light."""
    import subprocess
    import sys

    pasted = tmp_path / "pasted.xlsx"
    paste_into_new_workbook(green_file, pasted)
    code = ("import datetime as dt, pathlib, sys\n"
            "from consolidator.read.sources import Source\n"
            "from consolidator.read.workbook import read_return\n"
            "from consolidator.rules import load_forms\n"
            f"path = pathlib.Path({str(pasted)!r})\n"
            "raw = read_return(Source(path.name, dt.datetime(2026, 11, 20), path), load_forms())\n"
            "print(raw.located_by, len(raw.cells), 'openpyxl' in sys.modules,\n"
            "      any(m.startswith('consolidator.write') for m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    located, cells, openpyxl_loaded, writer_loaded = out.stdout.split()
    assert (located, openpyxl_loaded, writer_loaded) == ("labels", "False", "False")
    assert int(cells) > 0


@pytest.mark.parametrize("fmt, suffix, kind", [("ods", ".ods", "OpenDocument"), ("xls:MS Excel 97", ".xls", "97-2003")])
def test_ods_and_xls_are_read_by_their_labels(forms, green_file, green_sample, soffice, tmp_path, fmt, suffix, kind):
    import subprocess

    exe, profile = soffice
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt, "--outdir",
                    str(tmp_path), str(green_file)], check=True, capture_output=True, timeout=180)
    path = tmp_path / (green_file.stem + suffix)
    raw = read(path, forms)
    assert raw.readable and raw.category == GREEN
    assert raw.findings[0].code == "file_legacy_format" and kind in raw.findings[0].message
    got = values_of(raw)
    for fid in ("park_name", "revenue_2025", "lead_industry_1", "hitech_count", "report_text"):
        want = green_sample.values[fid]
        assert got[fid] == (pytest.approx(want) if isinstance(want, float) else want), fid
    assert len(raw.enterprises) == len(green_sample.enterprises)


def test_discover_skips_lock_and_hidden_files_and_opens_zips(tmp_path, green_file):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "园区A.xlsx").write_bytes(green_file.read_bytes())
    (tmp_path / "~$园区A.xlsx").write_bytes(b"lock")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.xlsx").write_bytes(b"x")

    class GbkInfo(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # noqa: N802
            return self.filename.encode("gbk"), self.flag_bits & ~0x800

    with zipfile.ZipFile(tmp_path / "打包.zip", "w") as zf:
        zf.writestr(GbkInfo("苏州工业园区.xlsx", date_time=(2026, 11, 3, 8, 0, 0)), green_file.read_bytes())
        zf.writestr(zipfile.ZipInfo("__MACOSX/._苏州工业园区.xlsx"), b"x")
        zf.writestr("说明/中文名.xlsx", green_file.read_bytes())  # UTF-8 flagged
    sources, skipped = discover(tmp_path)
    assert sorted(s.display for s in sources) == ["sub/园区A.xlsx", "打包.zip!苏州工业园区.xlsx", "打包.zip!说明/中文名.xlsx"]
    assert sorted(f.file for f in skipped) == [".DS_Store", ".hidden", "~$园区A.xlsx", "打包.zip!__MACOSX/._苏州工业园区.xlsx"]
    member = next(s for s in sources if s.member == "苏州工业园区.xlsx")
    assert member.mtime == dt.datetime(2026, 11, 3, 8, 0, 0)


def test_zip_members_are_expanded_by_the_reader_not_when_listed(tmp_path, green_file, forms):
    """Discovery lists an archive's members without expanding them (a national round sent as
    archives would not fit in memory); reading expands one member, and an encrypted, damaged or
    since replaced member becomes a finding of its own."""
    good = green_file.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("好.xlsx", good)
        zf.writestr(zipfile.ZipInfo("加密.xlsx"), b"PK" * 100, compress_type=zipfile.ZIP_STORED)
        zf.writestr("损坏.xlsx", good)
    data = bytearray(buf.getvalue())
    # mark 加密.xlsx as encrypted (flag bit 0 in its local and central headers); garble 损坏.xlsx's data
    name = "加密.xlsx".encode()
    local = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("加密.xlsx").header_offset
    central = next(at for at in range(len(data))
                   if data[at:at + 4] == b"PK\x01\x02" and data[at + 46:at + 46 + len(name)] == name)
    data[local + 6] |= 1
    data[central + 8] |= 1
    broken = data.index("损坏.xlsx".encode()) + len("损坏.xlsx".encode()) + 200
    data[broken:broken + 400] = bytes(400)
    (tmp_path / "打包.zip").write_bytes(bytes(data))
    sources, skipped = discover(tmp_path)
    assert not skipped and all(s.data is None and s.entry is not None for s in sources)
    got = {s.member: read_return(s, forms) for s in sources}
    assert got["好.xlsx"].readable and got["好.xlsx"].category == GREEN
    assert [f.code for f in got["加密.xlsx"].findings] == ["file_encrypted"]
    assert [f.code for f in got["损坏.xlsx"].findings] == ["file_unreadable"]
    assert "压缩包中的文件已损坏" in got["损坏.xlsx"].findings[0].message
    # the archive replaced between listing and reading: the member is not read from the new one
    with zipfile.ZipFile(tmp_path / "打包.zip", "w") as zf:
        zf.writestr("别的.xlsx", good)
    again = read_return(sources[0], forms)
    assert not again.readable and "被改动" in again.findings[0].message


@pytest.mark.parametrize("data, kind", [
    (b"", "other"),
    (b"<html><body><table></table></body></html>", "other"),
    ("园区名称,营业收入\n苏州,1".encode("gbk"), "other"),
    (b"%PDF-1.7\n", "other"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptionInfo".encode("utf-16-le"), "encrypted"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "Workbook".encode("utf-16-le"), "xls"),
    (b"PK\x03\x04broken", "broken"),
])
def test_sniff(data, kind):
    assert sniff(data, ".xlsx")[0] == kind


def test_not_a_workbook_gets_one_finding(forms, tmp_path):
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    cases = {"a.xlsx": (b"", "file_not_workbook"), "b.docx": (docx.getvalue(), "file_not_workbook"),
             "c.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le"),
                        "file_encrypted")}
    for name, (data, code) in cases.items():
        (tmp_path / name).write_bytes(data)
        raw = read(tmp_path / name, forms)
        assert not raw.readable and [f.code for f in raw.findings] == [code], name
        assert raw.findings[0].file == name


def test_a_workbook_that_is_not_our_template(forms, tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "2025年度统计报表"
    wb.save(tmp_path / "other.xlsx")
    raw = read(tmp_path / "other.xlsx", forms)
    assert not raw.readable and [f.code for f in raw.findings] == ["not_template"]


def test_an_encrypted_xls_is_known_by_its_filepass_record():
    """BIFF8: an encrypted workbook stream has FILEPASS (0x002F) right after its first BOF (0x0809)."""
    import struct

    from consolidator.read.package import _biff_encrypted

    def record(kind, body=b""):
        return struct.pack("<HH", kind, len(body)) + body

    bof = record(0x0809, b"\x00\x06\x05\x00" + b"\x00" * 12)
    assert _biff_encrypted(bof + record(0x002F, b"\x01\x00" + b"\x00" * 52) + record(0x00E1, b"\x00\x00"))
    assert not _biff_encrypted(bof + record(0x00E1, b"\x00\x00") + record(0x0042, b"\xb0\x04"))
    assert not _biff_encrypted(bof + record(0x0042, b"\xb0\x04") + bof + record(0x002F))  # past the globals


def test_a_return_travels_from_its_worker_with_each_number_once(forms, green_file):
    """Pickle writes a float each time it meets it: a number read as it was travels once, and after the
    journey the cell's value and the typed value are one object again (as they were in the worker)."""
    import pickle

    from consolidator.read.workers import read_one

    raw = read_one(Source(green_file.name, dt.datetime(2026, 11, 20), green_file), forms)
    before = {fid: c.raw for fid, c in raw.cells.items()}
    shared = [fid for fid, v in before.items() if isinstance(v, float) and raw.values.get(fid) is v]
    assert len(shared) > 10
    back = pickle.loads(pickle.dumps(raw))
    assert {fid: c.raw for fid, c in back.cells.items()} == before and back.values == raw.values
    assert all(back.cells[fid].raw is back.values[fid] for fid in shared)
    text = next(fid for fid, v in before.items() if isinstance(v, str))
    assert back.cells[text].raw == before[text]  # what is not a number read as it was travels as it is


def test_a_worker_sends_a_layout_of_cells_once_over_its_connection(forms, green_file, tmp_path):
    """Under a connection's Layouts the second return of a layout carries its number, not the field ids,
    sheets and cells; the receiving side puts the same tuples back. A send that fails teaches nothing."""
    import pickle

    from consolidator.read.workers import read_one
    from consolidator.returns import Layouts

    other = tmp_path / "other.xlsx"
    other.write_bytes(green_file.read_bytes())
    shared: dict = {}
    raws = [read_one(Source(p.name, dt.datetime(2026, 11, 20), p), forms).share(shared, coded=False)
            for p in (green_file, other)]
    assert raws[0].cells.fids is raws[1].cells.fids
    sender, receiver = Layouts(), Layouts()
    with sender.over():
        blobs = [pickle.dumps(r) for r in raws]
    assert len(blobs[1]) < len(blobs[0]) - 2000  # no tuples of texts the second time
    with receiver.over():
        back = [pickle.loads(b) for b in blobs]
    for raw, got in zip(raws, back):
        assert {f: (c.sheet, c.coord, c.raw) for f, c in got.cells.items()} == \
               {f: (c.sheet, c.coord, c.raw) for f, c in raw.cells.items()}
    assert back[0].cells.fids is back[1].cells.fids and back[0].cells.coords is back[1].cells.coords
    assert pickle.loads(pickle.dumps(raws[0])).cells.fids == raws[0].cells.fids  # outside a connection: whole

    class Unpicklable:
        def __reduce__(self):
            raise MemoryError

    from consolidator.returns import Cell, RawReturn

    by_label = RawReturn(raws[0].source, cells={"x": Cell("表", "B2", 1.5)}, values={"x": 1.5})
    with sender.over():
        known = len(sender.known)
        blob = pickle.dumps(by_label)
        assert len(sender.known) == known  # cells found by their labels are the return's own: sent whole
    with receiver.over():
        assert pickle.loads(blob).cells["x"] == Cell("表", "B2", 1.5)

    import threading

    seen = []
    with sender.over():  # another thread sending or receiving meanwhile has its own (here: none)
        worker = threading.Thread(target=lambda: seen.append(Layouts.current()))
        worker.start()
        worker.join()
    assert seen == [None] and Layouts.current() is None
    with pytest.raises(ValueError):  # a number read outside its connection
        pickle.loads(blobs[1])

    fresh = Layouts()
    raws[0].findings.append(Unpicklable())
    with pytest.raises(MemoryError), fresh.over():
        pickle.dumps(raws[0])
    raws[0].findings.pop()
    assert not fresh.known and not fresh.numbers  # so the next send carries the layout whole
    with fresh.over():
        assert len(pickle.dumps(raws[0])) > len(blobs[1]) + 2000


def test_typed_values_travel_as_a_column_beside_the_cells(forms, green_file):
    """A return's typed values travel keyed by its cells' field ids (no id written or made again), those that
    could not be read left out as they were; values the check has added beside them travel as they are."""
    import pickle

    from consolidator.read.workers import read_one

    raw = read_one(Source(green_file.name, dt.datetime(2026, 11, 20), green_file), forms)
    fid = next(f for f, v in raw.values.items() if isinstance(v, float))
    del raw.values[fid]  # as a cell that could not be read as its type
    back = pickle.loads(pickle.dumps(raw))
    assert back.values == raw.values and list(back.values) == list(raw.values) and fid not in back.values
    assert all(k is f for k, f in zip(back.values, (f for f in back.cells.fids if f != fid)))
    assert {f: c.raw for f, c in back.cells.items()} == {f: c.raw for f, c in raw.cells.items()}
    raw.values["recomputed_total"] = 1.5  # the check's own
    again = pickle.loads(pickle.dumps(raw))
    assert again.values == raw.values and {f: c.raw for f, c in again.cells.items()} == \
           {f: c.raw for f, c in raw.cells.items()}


def test_typed_values_arrive_as_a_column_that_behaves_as_the_dict(forms, green_file, tmp_path):
    """In the main process a return's typed values are a list beside its layout's index, which every return of
    the layout shares: get, [], in, len, iteration, setting (the check's recomputed values, a field outside
    the layout), deleting and pickling as the dict they were; the check's frame (returns.value_rows) picks them as get() does."""
    import pickle

    from consolidator.read.workers import read_one
    from consolidator.returns import Values, value_rows

    other = tmp_path / "other.xlsx"
    other.write_bytes(green_file.read_bytes())
    raws = [read_one(Source(p.name, dt.datetime(2026, 11, 20), p), forms) for p in (green_file, other)]
    missing = next(f for f, v in raws[0].values.items() if isinstance(v, float))
    del raws[0].values[missing]  # as a cell that could not be read as its type
    as_dicts = [dict(r.values) for r in raws]
    pool: dict = {}
    back = [pickle.loads(pickle.dumps(r)).share(pool) for r in raws]
    v, w = (b.values for b in back)
    assert isinstance(v, Values) and v.index is w.index  # one index for the layout, after share()
    assert v == as_dicts[0] and w == as_dicts[1] and dict(v) == as_dicts[0] and list(v) == list(as_dicts[0])
    assert len(v) == len(as_dicts[0]) and missing not in v and v.get(missing) is None and v.get(missing, 7) == 7
    with pytest.raises(KeyError):
        v[missing]
    fields = list(next(iter(forms.values())).fields) + ["not_a_field"]
    assert value_rows([v], fields)[0] == [as_dicts[0].get(f) for f in fields]
    some = [f for f in fields if f in v.index][:30]
    assert value_rows([v], some)[0] == [as_dicts[0].get(f) for f in some]

    v[missing] = 2.5  # the check sets a value of the layout's
    v["recomputed_elsewhere"] = 1.0  # and one outside it
    as_dicts[0][missing], as_dicts[0]["recomputed_elsewhere"] = 2.5, 1.0
    assert v == as_dicts[0] and "recomputed_elsewhere" in v and w == as_dicts[1]  # the other return untouched
    assert value_rows([v, w], some + ["recomputed_elsewhere"])[0] == [as_dicts[0].get(f) for f in some + ["recomputed_elsewhere"]]
    del v["recomputed_elsewhere"], v[missing]
    del as_dicts[0]["recomputed_elsewhere"], as_dicts[0][missing]
    assert v == as_dicts[0] and len(v) == len(as_dicts[0])
    with pytest.raises(KeyError):
        del v[missing]
    again = pickle.loads(pickle.dumps(v))
    assert type(again) is dict and again == as_dicts[0]
    assert pickle.loads(pickle.dumps(back[0])).values == as_dicts[0]  # the ledger's pickle of a reading


def test_the_list_is_read_column_by_column_as_row_by_row(forms, green_file, tmp_path):
    """A blank row, a row of spaces only and a row whose one value is the number 0 in the middle of the list:
    the blank ones are not entries, the 0 is; an empty cell is None, a cell of spaces stays as typed; a row's
    情况说明 goes with its row."""
    wb = openpyxl.load_workbook(green_file)
    names = {n: d.attr_text for n, d in wb.defined_names.items()}
    sheet, ref = names["lst_name"].rsplit("!", 1)
    ws = wb[sheet.strip("'")]
    first = int(ref.replace("$", "").split(":")[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    def column(name):  # the letters of the first cell of a name's range
        return re.match(r"[A-Z]+", names[name].rsplit("!", 1)[1].replace("$", "")).group(0)

    cols = {cid: column(f"lst_{cid}") for cid in ("category", "name", "credit_code", "industry")}
    for cid, col in cols.items():
        ws[f"{col}{first + 1}"] = None  # the second row blank
        ws[f"{col}{first + 2}"] = "  " if cid != "industry" else "\u3000"  # the third spaces only
        ws[f"{col}{first + 3}"] = 0 if cid == "credit_code" else None  # the fourth a 0 only
    ws[f"{cols['name']}{first + 4}"] = " 名称前后有空格 "
    ws[f"{column('lst_note')}{first + 4}"] = "  已核实  "  # (the template names its 情况说明 column)
    path = tmp_path / "list.xlsx"
    wb.save(path)
    raw = read(path, forms)
    rows = list(raw.enterprises.rows)
    assert first + 1 not in rows and first + 2 not in rows and {first, first + 3, first + 4} <= set(rows)
    at = {r: k for k, r in enumerate(rows)}
    columns = raw.enterprises.columns
    assert columns["credit_code"][at[first + 3]] == 0 and columns["name"][at[first + 3]] is None
    assert columns["name"][at[first + 4]] == " 名称前后有空格 "
    assert raw.enterprises.notes == {first + 4: "已核实"}


def test_short_texts_are_one_object_across_the_batch(forms, green_file, tmp_path):
    """In the main process the cells' short texts (a choice, a region) of every return are one object each,
    in the cells and the typed values alike; long texts and what differs stay each return's own."""
    import pickle

    from consolidator.read.workers import read_one

    other = tmp_path / "other.xlsx"
    other.write_bytes(green_file.read_bytes())
    raws = [read_one(Source(p.name, dt.datetime(2026, 11, 20), p), forms) for p in (green_file, other)]
    before = [{f: c.raw for f, c in r.cells.items()} for r in raws]
    pool: dict = {}
    back = [pickle.loads(pickle.dumps(r)).share(pool) for r in raws]
    short = [f for f, v in before[0].items() if isinstance(v, str) and len(v) <= 10]
    assert short
    for f in short:
        assert back[0].cells[f].raw is back[1].cells[f].raw
        if isinstance(back[0].values.get(f), str) and back[0].values.get(f) == back[0].cells[f].raw:
            assert back[0].values[f] is back[1].values[f] is back[0].cells[f].raw
    assert back[0].category is back[1].category
    long = [f for f, v in before[0].items() if isinstance(v, str) and len(v) > 10]
    assert long and all(back[0].cells[f].raw is not back[1].cells[f].raw for f in long)
    assert [{f: c.raw for f, c in r.cells.items()} for r in back] == before
    assert [dict(b.values) for b in back] == [dict(r.values) for r in raws]


def test_sheet_parts_are_named_by_each_workbook_s_own_parts():
    """sheet_files is kept by the bytes of the workbook and its relationships: a workbook whose sheets were
    renamed or reordered is read as it is, not as the copy before it."""
    from consolidator.read.package import sheet_files

    def book(*titles):
        wb = openpyxl.Workbook()
        wb.active.title = titles[0]
        for t in titles[1:]:
            wb.create_sheet(t)
        buf = io.BytesIO()
        wb.save(buf)
        return zipfile.ZipFile(io.BytesIO(buf.getvalue()))

    first = sheet_files(book("封面", "一、基本信息"))
    assert first == {"xl/worksheets/sheet1.xml": "封面", "xl/worksheets/sheet2.xml": "一、基本信息"}
    assert sheet_files(book("封面", "一、基本信息")) == first
    assert sheet_files(book("封面", "基本信息（改）")) == {"xl/worksheets/sheet1.xml": "封面",
                                                           "xl/worksheets/sheet2.xml": "基本信息（改）"}
    first["xl/worksheets/sheet1.xml"] = "changed by a caller"
    assert sheet_files(book("封面", "一、基本信息"))["xl/worksheets/sheet1.xml"] == "封面"
