"""The personal workbooks made from each category's package with the park's texts put in (write/personal.py)
are byte for byte what building them afresh gives."""

import pytest

from consolidator.read.roster import Park, read_roster
from consolidator.write.personal import personal_bytes
from consolidator.write.template import workbook_bytes

from .conftest import ROOT


def afresh(form, p):
    r = form.roles
    prefill = {"park_id": p.park_id, "park_name": p.name, r["park_name"]: p.name, r["city"]: p.city,
               r["county"]: p.county}
    return workbook_bytes(form, park={k: v for k, v in prefill.items() if v})


ODD = [
    Park("P9001", "A&B<园区>\"'🏭 科技园", "江苏省苏州市", "姑苏区", "green_safety", "x", "a@b.cn", 90),
    Park("P9002", "Q7PARKNAMEQ7 园区", "Q7CITYQ7", "县", "open_cooperation", "x", "a@b.cn", 91),  # the tokens themselves
    Park("P9003", "无区县园区", "江苏省南京市", "", "open_cooperation", "x", "a@b.cn", 92),  # built afresh
    Park("P9004", "控制\x01字符园区", "江苏省南京市", "江宁区", "green_safety", "x", "a@b.cn", 93),
]


def test_a_control_character_in_the_roster_is_dropped_not_fatal(forms):
    import io

    import openpyxl

    form = forms["green_safety"]
    data = personal_bytes(form, park_id="P9004", park_name="控制\x01字符园区", city="江苏省南京市", county="江宁区")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert any(c.value == "控制字符园区" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_every_sample_park_and_odd_names_byte_for_byte(forms):
    parks = read_roster(ROOT / "sample_data" / "roster.csv", forms) + ODD[:3]
    for p in parks:
        form = forms[p.category]
        fast = personal_bytes(form, park_id=p.park_id, park_name=p.name, city=p.city, county=p.county)
        assert fast == afresh(form, p), p.name


@pytest.mark.parametrize("category", ["green_safety", "open_cooperation"])
def test_the_copy_is_read_back_as_the_park(forms, category, tmp_path):
    from consolidator.read.sources import Source
    from consolidator.read.workers import read_one

    form = forms[category]
    data = personal_bytes(form, park_id="P0042", park_name="测试&园区", city="江苏省无锡市", county="新吴区")
    path = tmp_path / "p.xlsx"
    path.write_bytes(data)
    import datetime as dt

    raw = read_one(Source("p.xlsx", dt.datetime.now(), path), forms)
    assert raw.park_id == "P0042" and raw.values[form.roles["park_name"]] == "测试&园区"
