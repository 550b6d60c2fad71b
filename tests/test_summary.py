import io
import math
import zipfile
from collections import defaultdict

import openpyxl
import pytest

from consolidator.check.batch import check_batch
from consolidator.write.evaluation import REDACTED, build_evaluation
from consolidator.write.summary import PROVINCE, build_summary, included
from consolidator.write.xlsx import MAX_CELL_CHARS, TextGuard, workbook_to_bytes

from .conftest import libreoffice_resave, load_formulas, load_values, raw_return, sample

CITIES = ["江苏省苏州市", "江苏省苏州市", "江苏省无锡市", "江苏省南京市", "江苏省无锡市", "江苏省苏州市"]


@pytest.fixture(scope="module")
def batch(forms):
    g, o = forms["green_safety"], forms["open_cooperation"]
    returns = []
    for i, city in enumerate(CITIES):
        form = g if i % 2 == 0 else o
        s = sample(form, 200 + i, park_name=f"汇总园区{i}", province_city=city)
        if i == 3:  # an error: left out of the totals by default
            s.values["declaration_accepted"] = "否"
        if i == 5:
            s.values["report_text"] = f"【摘要】{s.values['park_name']}由{s.values['contact_name']}负责。" + s.values["report_text"]
        if i == 4:
            s.values["practice_name"] = '=HYPERLINK("http://evil","点我")'
            s.values["park_intro"] = "简介\x07含有控制字符\x1b。"
            s.values["report_text"] = "【摘要】" + "很长的报告。" * 7000
        returns.append(raw_return(form, s.values, s.enterprises, file=f"园区{i}.xlsx"))
    return check_batch(returns, forms)


def summary_book(batch, forms, **kw):
    wb, extra = build_summary(batch, forms, **kw)
    return openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(wb))), extra


def table(ws, header_row):
    headers = [c.value for c in ws[header_row]]
    rows = []
    for r in ws.iter_rows(min_row=header_row + 1, values_only=True):
        rows.append(dict(zip(headers, r)))
    return rows


def header_row(ws, first_header):
    for r in range(1, 6):
        if ws.cell(row=r, column=1).value == first_header:
            return r
    raise AssertionError("no header")


def independent_totals(rets, years):
    """Plain Python, no pandas and no rule expressions: what the province and each city add up to."""
    out = defaultdict(lambda: defaultdict(float))
    for r in rets:
        for key in (r.city, PROVINCE):
            t = out[key]
            t["parks"] += 1
            for y in years:
                for fam in ("revenue", "lead_revenue", "profit", "value_added", "tax_paid"):
                    t[f"{fam}_{y}"] += r.values[f"{fam}_{y}"]
                t[f"developed_area_{y}"] += r.values[f"developed_area_{y}"]
            for fid in ("managed_area", "developed_area_total", "industrial_floor_area", "industrial_land_area",
                        "total_enterprises", "hitech_count", "srdi_count"):
                t[fid] += r.values[fid]
    for t in out.values():
        for y in years:
            t[f"tax_per_mu_{y}"] = t[f"tax_paid_{y}"] / (t[f"developed_area_{y}"] * 15)
        t["floor_area_ratio"] = t["industrial_floor_area"] / t["industrial_land_area"]
    return out


def test_city_and_province_totals_match_an_independent_sum(batch, forms):
    wb, _ = summary_book(batch, forms)
    ws = wb["分市统计"]
    rows = table(ws, header_row(ws, "城市"))
    form = forms["green_safety"]
    rets = included(batch, False)
    assert len(rets) == len(CITIES) - 1
    want = independent_totals(rets, form.years)
    got = {row["城市"]: row for row in rows}
    # 南京's only return has errors: the city is listed all the same, with nothing counted
    assert set(got) == set(want) | {"江苏省南京市"}
    assert (got["江苏省南京市"]["园区数"], got["江苏省南京市"]["未计入园区数"], got["江苏省南京市"]["未计入原因"]) == (0, 1, "有错误 1")
    assert got["江苏省南京市"][form.fields["revenue_2025"].display_label] is None
    assert got[PROVINCE]["未计入园区数"] == 1
    checked = 0
    for city, t in want.items():
        row = got[city]
        assert row["园区数"] == t["parks"]
        for fid, value in t.items():
            if fid == "parks":
                continue
            label = form.fields[fid].display_label
            assert label in row, label
            assert math.isclose(row[label], value, rel_tol=1e-9), (city, fid, row[label], value)
            checked += 1
        # a city's GDP cannot be added up across parks, so neither can the share of it
        assert row[form.fields["city_gdp_2025"].display_label] is None
        assert row[form.fields["value_added_share_2025"].display_label] is None
    assert checked == sum(len(t) - 1 for t in want.values())
    assert list(got)[-1] == PROVINCE


def test_category_block_totals(batch, forms):
    wb, _ = summary_book(batch, forms)
    ws = wb["分市统计"]
    rows = {r["城市"]: r for r in table(ws, header_row(ws, "城市"))}
    green = [r for r in included(batch, False) if r.form.category_id == "green_safety"]
    carbon = sum(r.values["carbon_emissions"] for r in green)
    energy = sum(r.values["energy_consumption"] for r in green)
    label = forms["green_safety"].fields["carbon_intensity"].display_label
    assert math.isclose(rows[PROVINCE][label], carbon / energy, rel_tol=1e-9)
    assert rows[PROVINCE]["推动绿色安全发展类园区数"] == len(green)


def test_errors_are_listed_but_left_out_unless_asked(batch, forms):
    wb, _ = summary_book(batch, forms)
    ws = wb["汇总"]
    rows = table(ws, header_row(ws, "序号"))
    status = {r["园区名称"]: (r["状态"], r["计入合计"]) for r in rows}
    assert status["汇总园区3"] == ("有错误", "否")
    assert sum(1 for s, c in status.values() if c == "是") == len(CITIES) - 1
    wb, _ = summary_book(batch, forms, include_errors=True)
    rows = table(wb["汇总"], header_row(wb["汇总"], "序号"))
    assert {r["园区名称"]: r["计入合计"] for r in rows}["汇总园区3"] == "是"
    city = {r["城市"]: r for r in table(wb["分市统计"], header_row(wb["分市统计"], "城市"))}
    assert city[PROVINCE]["园区数"] == len(CITIES)


def test_park_text_stays_text_and_problems_are_reported(batch, forms):
    wb, extra = summary_book(batch, forms)
    ws = wb["汇总"]
    hr = header_row(ws, "序号")
    headers = [c.value for c in ws[hr]]
    col = headers.index("创新实践名称（二、创新实践概述）") + 1
    row = next(r for r in range(hr + 1, ws.max_row + 1) if ws.cell(row=r, column=2).value == "汇总园区4")
    c = ws.cell(row=row, column=col)
    assert c.value == '=HYPERLINK("http://evil","点我")' and c.data_type == "s" and c.hyperlink is None
    intro = ws.cell(row=row, column=headers.index("工业园区简介") + 1).value
    assert intro == "简介含有控制字符。"
    report = ws.cell(row=row, column=headers.index("创新实践经验总结报告") + 1).value
    assert len(report) == MAX_CELL_CHARS
    codes = sorted((f.code, f.park) for f in extra)
    assert codes == [("text_cleaned", "汇总园区4"), ("text_too_long", "汇总园区4")]
    listed = [tuple(c.value for c in r[:1]) for r in wb["问题清单"].iter_rows(min_row=2)]
    assert ("text_too_long",) in listed and ("text_cleaned",) in listed


def test_summary_sheets_are_readable(batch, forms):
    data = workbook_to_bytes(build_summary(batch, forms)[0])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "推动绿色安全发展类", "提高开放合作水平类", "分市统计", "企业清单汇总", "多园区填报企业",
                             "报送情况", "图表", "问题清单"]
    for name in ("汇总", "分市统计", "企业清单汇总", "报送情况", "问题清单"):
        ws = wb[name]
        assert ws.freeze_panes and ws.auto_filter.ref, name
        assert all((ws.column_dimensions[c].width or 0) >= 6 for c in "ABC"), name
    charts = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 3
    ws = wb["汇总"]
    hr = header_row(ws, "序号")
    revenue_col = [c.value for c in ws[hr]].index("2025年营业收入（亿元）") + 1
    assert ws.cell(row=hr + 1, column=revenue_col).number_format == "#,##0.00"


def test_enterprise_claimed_by_two_parks_is_marked(forms):
    g = forms["green_safety"]
    a, b = sample(g, 301, park_name="甲"), sample(g, 302, park_name="乙")
    shared = dict(next(e for e in a.enterprises if e["category"] == "国家高新技术企业"))
    b.enterprises.append(shared)
    b.values["hitech_count"] += 1
    result = check_batch([raw_return(g, a.values, a.enterprises, file="a.xlsx"),
                          raw_return(g, b.values, b.enterprises, file="b.xlsx")], forms)
    wb, _ = summary_book(result, forms)
    rows = table(wb["企业清单汇总"], 1)
    marked = {(r["园区名称"], r["另有几个园区填报"]) for r in rows if r["统一社会信用代码"] == shared["credit_code"]}
    assert marked == {("甲", 1), ("乙", 1)}  # the other parks are named once, in 多园区填报企业
    assert len(rows) == len(a.enterprises) + len(b.enterprises)
    both = table(wb["多园区填报企业"], 2)
    assert [(r["统一社会信用代码"], r["园区名称"], r["填报园区数"]) for r in both] == \
        [(shared["credit_code"], "甲", 2), (shared["credit_code"], "乙", 2)]


def all_text(wb):
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str))


def test_blind_evaluation_hides_names_and_keeps_the_key(batch, forms):
    rets = included(batch, False)
    wb, key = build_evaluation(rets, forms, blind=True)
    text = all_text(openpyxl.load_workbook(io.BytesIO(wb)))
    for r in rets:
        for fid in ("park_name", "filler_name", "head_name", "contact_name", "head_phone", "contact_email"):
            assert str(r.values[fid]) not in text, fid
    assert REDACTED in text  # the report texts name the park; it was hidden there too
    keys = [tuple(c.value for c in row[:2]) for row in key.active.iter_rows(min_row=2)]
    assert sorted(n for n, _ in keys) == [f"E{i:02d}" for i in range(1, len(rets) + 1)]
    assert {p for _, p in keys} == {r.park_name for r in rets}
    assert "交给专家" not in text and "对照表" not in text  # the experts' workbook says nothing of the key
    ks = key.active  # the key prints: A4 upright, one page across, its header on every page, bordered, 保密
    assert (ks.page_setup.orientation, ks.page_setup.fitToWidth, ks.print_title_rows) == ("portrait", 1, "$1:$1")
    assert "保密" in ks.oddFooter.center.text and "&P" in ks.oddFooter.center.text
    assert all(c.border.left.style for row in ks.iter_rows() for c in row)
    wb, key = build_evaluation(rets, forms)
    text = all_text(openpyxl.load_workbook(io.BytesIO(wb)))
    assert key is None and all(r.park_name in text for r in rets)


def test_both_workbooks_open_in_libreoffice_and_scores_add_up(batch, forms, soffice, tmp_path):
    rets = included(batch, False)
    built, _ = build_evaluation(rets, forms)  # scored as an expert would, after opening the file
    ev = openpyxl.load_workbook(io.BytesIO(built))
    crits = forms["green_safety"].evaluation.criteria
    sheet = ev.worksheets[1]
    score_rows = [r for r in range(1, sheet.max_row + 1) if sheet.cell(row=r, column=1).value in
                  {c.label for c in crits}]
    for r, c in zip(score_rows, crits):
        sheet.cell(row=r, column=5, value=c.weight - 1)
    (tmp_path / "evaluation.xlsx").write_bytes(workbook_to_bytes(ev))
    (tmp_path / "summary.xlsx").write_bytes(workbook_to_bytes(build_summary(batch, forms)[0]))
    out = tmp_path / "lo"
    saved = load_values(libreoffice_resave(soffice, tmp_path / "evaluation.xlsx", out))
    overview = saved["评分汇总"]
    headers = [c.value for c in overview[1]]
    first = dict(zip(headers, [c.value for c in overview[2]]))
    assert first["总分"] == sum(c.weight for c in crits) - len(crits)
    assert first["排名"] == 1
    assert all(dict(zip(headers, [c.value for c in row]))["总分"] in (None, "") for row in overview.iter_rows(min_row=3))
    summary = load_formulas(libreoffice_resave(soffice, tmp_path / "summary.xlsx", out))
    assert summary.sheetnames[:4] == ["汇总", "推动绿色安全发展类", "提高开放合作水平类", "分市统计"]


def test_park_sheets_keep_their_layout_protection_and_score_checks(batch, forms):
    """The park sheets are written as XML text (write/sheetxml.py); what the panel relies on must all be
    in the saved file: merged text rows with heights, locked sheet with open score cells, score limits,
    the over-the-maximum warning, print area and footer, and the overview's formulas."""
    rets = included(batch, False)
    book = openpyxl.load_workbook(io.BytesIO(build_evaluation(rets, forms)[0]))
    crits = forms["green_safety"].evaluation.criteria
    overview, sheet = book["评分汇总"], book.worksheets[1]
    assert overview.freeze_panes == "B2" and len(book.worksheets) == len(rets) + 1
    assert overview.cell(row=2, column=5).value == f"=IF('{sheet.title}'!E{_score_rows(sheet, crits)[0]}=\"\",\"\"," \
                                                   f"'{sheet.title}'!E{_score_rows(sheet, crits)[0]})"
    assert sheet.protection.sheet and sheet.sheet_view.showGridLines is False
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert "$A$1:$F$" in str(sheet.print_area) and "第 &P 页" in sheet.oddFooter.center.text
    assert "A1:F1" in {str(r) for r in sheet.merged_cells.ranges}  # the title row
    assert sheet.row_dimensions[1].height == 28
    rows = _score_rows(sheet, crits)
    for r, c in zip(rows, crits):
        score = sheet.cell(row=r, column=5)
        assert score.protection.locked is False and sheet.cell(row=r, column=4).value == c.weight
        assert any(f"E{r}" in str(dv.sqref) and dv.formula2 == str(c.weight) for dv in sheet.data_validations.dataValidation)
    assert any(f"E{rows[0]}:E{rows[-1]}" in str(cf.sqref) for cf in sheet.conditional_formatting)
    text = all_text(book)
    assert all(r.park_name in text for r in rets)


def _score_rows(sheet, crits):
    labels = {c.label for c in crits}
    return [r for r in range(1, sheet.max_row + 1) if sheet.cell(row=r, column=1).value in labels]


def test_an_enterprise_list_longer_than_a_sheet_goes_on_over_further_sheets(forms, monkeypatch):
    import consolidator.write.summary as summary

    g = forms["green_safety"]
    a, b = sample(g, 301, park_name="甲"), sample(g, 302, park_name="乙")
    result = check_batch([raw_return(g, a.values, a.enterprises, file="a.xlsx"),
                          raw_return(g, b.values, b.enterprises, file="b.xlsx")], forms)
    total = len(a.enterprises) + len(b.enterprises)
    monkeypatch.setattr(summary, "MAX_SHEET_ROWS", 11)  # ten rows a sheet under the header
    wb, _ = summary_book(result, forms)
    names = [n for n in wb.sheetnames if n.startswith("企业清单汇总")]
    assert names == ["企业清单汇总"] + [f"企业清单汇总（{k}）" for k in range(2, len(names) + 1)]
    assert len(names) == -(-total // 10)
    rows = [r for n in names for r in table(wb[n], 1)]
    assert len(rows) == total and {r["园区名称"] for r in rows} == {"甲", "乙"}


def test_park_sheets_have_the_sections_of_the_rules_in_order(batch, forms):
    rets = included(batch, False)
    book = openpyxl.load_workbook(io.BytesIO(build_evaluation(rets, forms)[0]))
    for sheet, ret in zip(book.worksheets[1:], sorted(rets, key=lambda r: (r.form.order, r.park_name))):
        column_a = [c.value for c in sheet["A"]]
        noted = any(f.explains and ret.values.get(f.id) for f in ret.form.fields.values())
        titles = [s.title for s in ret.form.evaluation.sections if s.show != "notes" or noted]  # (none: left out)
        assert [t for t in column_a if t in titles] == titles
        assert f"四、{ret.form.sheets[4].blocks[-1].title}" in titles  # the category's own block
        head = column_a.index("指标", column_a.index("二、主要指标（近三年）")) + 1  # the years as the forms give them
        years = ret.form.years
        assert [sheet.cell(row=head, column=c).value for c in range(2, 6)] == \
            [f"{y}年" for y in years] + [f"{max(years)}年比{min(years)}年"]
        leads = [ret.values[f"lead_industry_{i}"] for i in (1, 2, 3) if ret.values.get(f"lead_industry_{i}")]
        row = column_a.index("主导产业及细分领域") + 1
        assert sheet.cell(row=row, column=2).value.count("；") == len(leads) - 1


def test_column_groups_are_titled_as_the_rules_say(batch, forms):
    wb, _ = summary_book(batch, forms)
    ws = wb["汇总"]
    groups = {c.value for c in ws[header_row(ws, "序号") - 1] if c.value}
    assert {"一、基本信息", "三、发展情况：整体规模情况", "三、发展情况：土地利用情况（截至2025年12月31日）"} <= groups
    assert not any(g.startswith("一、基本信息：") for g in groups)


@pytest.mark.parametrize("bad", ["\x01", "\x07", "\x0e", "\x1b", "\ufffe", "\uffff"])
def test_a_park_name_with_characters_no_workbook_holds(forms, bad):
    """Control characters and U+FFFE/U+FFFF in park text: both workbooks are written and open, the
    characters are gone and the removal is reported (summarize used to stop on the evaluation sheet's name)."""
    g = forms["green_safety"]
    s = sample(g, 320, park_name=f"坏{bad}名园区", practice_name=f"《实践{bad}名称》")
    result = check_batch([raw_return(g, s.values, s.enterprises, file="a.xlsx")], forms)
    guard = TextGuard()
    evaluation, _ = build_evaluation(included(result, True), forms, guard=guard)
    result.findings.extend(guard.findings)
    summary, extra = build_summary(result, forms)
    books = [openpyxl.load_workbook(io.BytesIO(data)) for data in (workbook_to_bytes(summary), evaluation)]
    for back in books:
        text = "".join(str(c.value) for ws in back.worksheets for row in ws.iter_rows() for c in row if c.value)
        assert bad not in text and bad not in "".join(back.sheetnames)
    assert "坏名园区" in books[1].sheetnames[1]
    assert "text_cleaned" in [f.code for f in guard.findings + extra]


def test_a_roster_city_with_nothing_counted_is_listed_and_a_park_outside_the_roster_left_out(forms):
    """With a roster: the city whose park sent nothing is in 分市统计 with its 未计入; the park outside the
    roster is listed but not counted (nor given to the experts) unless the office asks for it."""
    from consolidator.read.roster import Park
    from consolidator.write.summary import counted_returns

    g = forms["green_safety"]
    samples = [sample(g, 400 + i, park_name=f"名单园区{i}", province_city="江苏省苏州市") for i in range(2)]
    outside = sample(g, 410, park_name="名单外园区", province_city="江苏省宿迁市")
    roster = [Park(f"P{i}", f"名单园区{i}", "江苏省苏州市", "工业园区", "green_safety", "", "", i + 2) for i in range(2)]
    roster.append(Park("P9", "未报园区", "江苏省扬州市", "邗江区", "green_safety", "", "", 9))
    raws = [raw_return(g, s.values, s.enterprises, file=f"{s.values['park_name']}.xlsx") for s in [*samples, outside]]
    result = check_batch(raws, forms, roster)
    assert [r.park_name for r in counted_returns(result)] == ["名单园区0", "名单园区1"]
    assert len(counted_returns(result, include_unlisted=True)) == 3
    wb, _ = summary_book(result, forms)
    city = {r["城市"]: r for r in table(wb["分市统计"], header_row(wb["分市统计"], "城市"))}
    assert (city["江苏省苏州市"]["园区数"], city["江苏省苏州市"]["未计入园区数"]) == (2, 0)
    assert (city["江苏省扬州市"]["园区数"], city["江苏省扬州市"]["未计入原因"]) == (0, "未提交 1")
    assert (city["江苏省宿迁市"]["园区数"], city["江苏省宿迁市"]["未计入原因"]) == (0, "不在名单中 1")
    assert city[PROVINCE]["园区数"] == 2 and city[PROVINCE]["未计入园区数"] == 2
    status = {r["园区名称"]: r for r in table(wb["报送情况"], header_row(wb["报送情况"], "园区名称"))}
    assert (status["名单外园区"]["计入合计"], status["名单外园区"]["未计入原因"]) == ("否", "不在名单中")
    assert "名单外园区（名单外园区.xlsx）" in wb["报送情况"]["A1"].value
    wb, _ = summary_book(result, forms, include_unlisted=True)
    city = {r["城市"]: r for r in table(wb["分市统计"], header_row(wb["分市统计"], "城市"))}
    assert city[PROVINCE]["园区数"] == 3 and city["江苏省宿迁市"]["园区数"] == 1


def test_page_breaks_keep_a_heading_with_what_follows():
    from consolidator.write.evaluation import page_breaks

    assert page_breaks([100.0] * 10, set(), 350) == [3, 6, 9]
    # row 3 is a heading: it goes to the next page with row 4
    assert page_breaks([100.0] * 10, {3}, 350) == [2, 5, 8]
    # a run of kept rows longer than a page is broken all the same
    assert page_breaks([100.0] * 6, {1, 2, 3, 4, 5}, 350) == [3]


def test_a_park_sheet_shows_the_parks_explanations_beside_their_indicators(forms):
    """The 情况说明 a park wrote are on its sheet, each beside the indicator it explains (the experts see why profit
    rose 350 %); a park that wrote none gets no such section."""
    form = forms["green_safety"]
    explained = sample(form, 31, park_name="说明园区")
    explained.values["profit_note"] = "2025年园区龙头企业一次性处置闲置资产，收益计入利润总额。"
    silent = sample(form, 32, park_name="无说明园区")
    for s in (explained, silent):
        for f in form.fields.values():
            if f.explains and f.id != "profit_note":
                s.values[f.id] = None
    batch = check_batch([raw_return(form, s.values, s.enterprises, file=f"{s.values['park_name']}.xlsx")
                         for s in (explained, silent)], forms)
    wb = openpyxl.load_workbook(io.BytesIO(build_evaluation(list(batch.returns), forms)[0]))
    title = next(sec.title for sec in form.evaluation.sections if sec.show == "notes")
    sheets = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets[1:]}
    (mine,) = [rows for name, rows in sheets.items() if "说明园区" in name and "无" not in name]
    (other,) = [rows for name, rows in sheets.items() if "无说明园区" in name]
    at = next(i for i, row in enumerate(mine) if row[0] == title)
    assert mine[at + 1][:2] == ["指标", "情况说明"]
    assert mine[at + 2][:2] == ["利润总额（亿元）", explained.values["profit_note"]]
    years = next(i for i, row in enumerate(mine) if row[0] == "二、主要指标（近三年）")
    assert years < at < next(i for i, row in enumerate(mine) if str(row[0]).startswith("三、"))
    assert not any(row[0] == title for row in other)


def test_blind_workbook_hides_the_region_unless_asked(batch, forms):
    rets = included(batch, False)
    region = f"所在地区：{rets[0].city}"

    def texts(data):
        return all_text(openpyxl.load_workbook(io.BytesIO(data)))

    assert region in texts(build_evaluation(rets, forms)[0])
    hidden = texts(build_evaluation(rets, forms, blind=True)[0])
    assert "所在地区：" not in hidden and "所在地区也未显示" in hidden
    shown = texts(build_evaluation(rets, forms, blind=True, show_region=True)[0])
    assert region in shown and "所在地区仍然显示" in shown


def test_park_sheets_from_workers_of_their_own_memory_are_the_same(batch, forms, monkeypatch):
    """A national round's park sheets are written by workers forked from a server (they share nothing of the
    batch); the workbook is the one forked workers make."""
    import consolidator.write.evaluation as evaluation

    rets = included(batch, False) * 10  # enough park sheets for two workers

    def parts(data):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {i.filename: z.read(i) for i in z.infolist() if i.filename != "docProps/core.xml"}

    forked = parts(evaluation.build_evaluation(rets, forms)[0])
    monkeypatch.setattr(evaluation, "FRESH_WORKERS_FROM", 1)
    assert parts(evaluation.build_evaluation(rets, forms)[0]) == forked


def _workbook_parts(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist() if i.filename != "docProps/core.xml"}


@pytest.mark.parametrize("blind", [False, True])
def test_what_every_park_sheet_shares_made_once_is_what_each_sheet_made_afresh(batch, forms, monkeypatch, blind):
    """A park sheet's labels, headings and criteria are made into XML once (_Sheet.fixed); the workbook is the
    same bytes as when every cell of every sheet is made as it comes (put), on a cold cache and a warm one."""
    import consolidator.write.evaluation as evaluation

    rets = included(batch, True)
    evaluation._FIXED.clear()
    cold = _workbook_parts(build_evaluation(rets, forms, blind=blind)[0])
    assert evaluation._FIXED  # the cache was used
    warm = _workbook_parts(build_evaluation(rets, forms, blind=blind)[0])
    monkeypatch.setattr(evaluation._Sheet, "fixed", evaluation._Sheet.put)
    afresh = _workbook_parts(build_evaluation(rets, forms, blind=blind)[0])
    assert cold == afresh and warm == afresh


def _park_sheet(park: str, secrets=()):
    """A park sheet being written, for a park of this name whose texts hide `secrets`."""
    from types import SimpleNamespace

    import consolidator.write.evaluation as evaluation
    from consolidator.write.sheetxml import SheetFrame

    def redact(text):
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text

    styles = {name: k + 1 for k, name in enumerate(evaluation.STYLES)}
    ret = SimpleNamespace(file=f"{park}.xlsx", park_name=park)
    return evaluation._Sheet(SheetFrame.of(evaluation._frame_setup), styles, TextGuard(), ret, redact)


def _rows(sheet) -> str:
    sheet.flush()
    return "".join(sheet.out.rows)


def test_a_shared_text_is_redacted_on_a_blind_sheet_after_a_sheet_that_shows_it():
    """The blind sheet's text is redacted before its XML is looked up: the plain text another park's sheet
    made first does not come back on it."""
    import consolidator.write.evaluation as evaluation

    evaluation._FIXED.clear()
    plain, blind = _park_sheet("甲园区"), _park_sheet("乙园区", secrets=["乙园区"])
    plain.fixed(1, "乙园区以外的园区", "label")
    blind.fixed(1, "乙园区以外的园区", "label")
    assert "乙园区以外的园区" in _rows(plain)
    assert "乙园区" not in _rows(blind) and f"{REDACTED}以外的园区" in _rows(blind)


def test_a_shared_text_the_guard_cleans_is_cleaned_and_reported_on_every_sheet():
    """What the text guard has to change is never kept: each sheet cleans it and reports it for its own park."""
    import consolidator.write.evaluation as evaluation

    evaluation._FIXED.clear()
    sheets = [_park_sheet("甲园区"), _park_sheet("乙园区")]
    for s in sheets:
        assert s.fixed(1, "标签\x07文字", "label", label="评分项") == "标签文字"
    for s, park in zip(sheets, ["甲园区", "乙园区"]):
        assert "标签文字" in _rows(s) and "\x07" not in _rows(s)
        assert [(f.code, f.park) for f in s.guard.findings] == [("text_cleaned", park)]


def test_shared_values_equal_in_python_keep_their_own_types():
    """1, 1.0 and True are equal (and hash alike) in Python; their cells are not all alike."""
    import consolidator.write.evaluation as evaluation
    from consolidator.write.xlsx import Formula

    evaluation._FIXED.clear()
    s = _park_sheet("甲园区")
    s.fixed(1, 1, "weight")
    s.fixed(2, True, "weight")
    s.fixed(3, 1.5, "weight")
    row = _rows(s)
    assert '<c r="A1" s="11"><v>1</v></c>' in row and '<c r="B1" s="11" t="b"><v>1</v></c>' in row
    with pytest.raises(TypeError):
        s.fixed(4, Formula("SUM(E1:E2)"))


def test_an_enterprise_name_no_workbook_holds_is_cleaned_in_the_list_and_reported(forms):
    """The list's texts are looked at a column at a time (most need nothing done); one that does is cleaned
    and reported like any other text."""
    g = forms["green_safety"]
    s = sample(g, 330, park_name="清单园区")
    s.enterprises[0]["name"] = "坏\x07企业\r名称"
    result = check_batch([raw_return(g, s.values, s.enterprises, file="a.xlsx")], forms)
    wb, extra = build_summary(result, forms)
    book = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(wb)))
    names = [c.value for row in book["企业清单汇总"].iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("坏")]
    assert names == ["坏企业\n名称"]
    assert ("text_cleaned", "企业清单") in {(f.code, f.label) for f in extra}


def test_the_summary_is_the_same_bytes_whatever_the_hash_seed():
    """The same returns give the same summary.xlsx, part for part (its styles were registered in the order of
    a set of texts: Python's hash seed changed the styles' numbering from run to run)."""
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    script = (
        "import datetime as dt, hashlib, io, zipfile\n"
        "from consolidator.check.batch import check_batch\n"
        "from consolidator.rules import load_forms\n"
        "from consolidator.write.summary import build_summary\n"
        "from consolidator.write.xlsx import workbook_to_bytes\n"
        "from tests.conftest import raw_return, sample\n"
        "forms = load_forms()\n"
        "rets = [raw_return(f, s.values, s.enterprises, file=f'{i}.xlsx')\n"
        "        for i, f in enumerate([forms['green_safety'], forms['open_cooperation']] * 2)\n"
        "        for s in [sample(f, 40 + i)]]\n"
        "wb, _ = build_summary(check_batch(rets, forms), forms, generated=dt.datetime(2026, 11, 30, 12, 0))\n"
        "z = zipfile.ZipFile(io.BytesIO(workbook_to_bytes(wb)))\n"
        "print(hashlib.sha256(b''.join(z.read(n) for n in sorted(z.namelist()) if n != 'docProps/core.xml')).hexdigest())\n"
    )
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True,
                              env=dict(os.environ, PYTHONHASHSEED=seed)).stdout for seed in ("1", "2", "3")}
    assert len(digests) == 1, digests  # (a digest of every part but the creation time)
