"""report.html for the clerk who must act on it: the parks to chase first, statuses that filter, rules in
Chinese, and a page that works at a phone's width. The sample data (every kind of return an office gets)
in real Chromium, with the selenium set-up of tests/test_report.py."""

import json
import re

import pytest

from consolidator.findings import EXPLAINED, WARNING
from consolidator.pipeline import run_check
from consolidator.read.roster import read_roster
from consolidator.write.report import render_html, report_data

from .conftest import ROOT
from .test_report import browser  # noqa: F401 (the fixture)

SAMPLES = ROOT / "sample_data"


@pytest.fixture(scope="module")
def checked(forms):
    return run_check(SAMPLES / "returns", forms, read_roster(SAMPLES / "roster.csv", forms))


@pytest.fixture(scope="module")
def data(checked):
    import datetime as dt

    return report_data(checked, title="t", source="s", generated=dt.datetime(2026, 12, 1))


@pytest.fixture(scope="module")
def page(checked, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(checked, source="报送"), encoding="utf-8")
    return path.as_uri()


# ---- the data the page is made from -------------------------------------------------------------
def test_parks_are_counted_by_the_roster(data, checked):
    kinds = [p["kind"] for p in data["parks"]]
    assert kinds.count("roster") == 14  # the roster's 14 parks, 报送说明.xlsx and 宿迁 are not among them
    assert kinds.count("outside") == 1 and kinds.count("unknown") == 1
    assert sum(n for s, n in data["statuses"] if s != "已被替代") == 14


def test_every_park_to_act_on_has_its_contact(data):
    todo = [p for p in data["parks"] if p["todo"]]
    assert {p["status"] for p in todo if p["kind"] == "roster"} == {"有错误", "有警告", "无法读取", "未提交"}
    assert all(p["status"] == "通过" for p in data["parks"] if not p["todo"])
    jiangyin = next(p for p in data["parks"] if p["name"] == "江阴高新技术产业开发区")
    assert jiangyin["contact"][0] == "周杰" and jiangyin["contact"][2] == "zhoujie@jy.gov.cn"  # the roster's
    assert re.fullmatch(r"1\d{10}", jiangyin["contact"][1])  # the roster has no phone: the return's contact's


def test_rules_have_chinese_titles_for_all_years_and_count_each_severity(data, checked, forms):
    titles = data["titles"]
    for form in forms.values():
        for rule in form.rules:
            title = titles.get(rule.id)
            if title is None:
                continue
            for key, value in rule.bindings:
                if key in ("year", "prev_year"):
                    assert str(value) not in title, (rule.id, title)
    assert not any(re.fullmatch(r"[a-z_]+", t) for t in titles.values())
    counts = {r[0]: r[2] for r in data["rules"]}
    for code, row in counts.items():
        assert row == [sum(f.code == code and f.severity == s for f in checked.findings)
                       for s in ("error", "warning", "explained", "info")]
    assert counts["profit_margin"][1] >= 1 and counts["profit_margin"][2] >= 1  # an open and an explained one


def test_expected_values_are_words_with_numbers(checked):
    yoy = next(f for f in checked.findings if f.code == "revenue_yoy")
    assert re.fullmatch(r"不大于[\d.]+（3×\d{4}年营业收入（亿元））且不小于[\d.]+（\d{4}年营业收入（亿元）÷3）", yoy.expected)
    for f in checked.findings:
        assert not re.search(r"[≤≥＝]", f.expected), f  # no operator signs: words


def test_a_pasted_return_names_the_forms_sheets(data):
    park = next(p for p in data["parks"] if p["name"] == "连云港经济技术开发区")
    sheets = {f[2] for file in park["files"] for f in file["findings"] if f[2]}
    assert sheets and all(re.fullmatch(r"Sheet\d（[一二三]、.+）", s) for s in sheets), sheets


# ---- the page in Chromium -------------------------------------------------------------------------
def _open(browser, page, width, height=900):  # noqa: F811
    browser.set_window_size(width, height)
    browser.get(page)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_the_first_screen_shows_the_parks_to_act_on(browser, page, data):  # noqa: F811
    from selenium.webdriver.common.by import By

    _open(browser, page, 1440)
    top = browser.execute_script("return document.getElementById('todo').getBoundingClientRect().top")
    height = browser.execute_script("return innerHeight")
    assert top < height / 2
    rows = browser.find_elements(By.CSS_SELECTOR, "#todo tbody tr")
    assert len(rows) == sum(1 for p in data["parks"] if p["todo"])
    assert rows[0].is_displayed()
    assert "名单园区 14 个" in browser.find_element(By.ID, "counts").text
    # the rules are named in Chinese; a code is small print
    assert "count_le_total" not in browser.find_element(By.ID, "todo").text
    # a park's link lands on its section, below the pinned filter bar
    link = next(r for r in rows if "连云港" in r.text).find_element(By.TAG_NAME, "a")
    link.click()
    box = browser.find_element(By.CSS_SELECTOR, "#parks .park[data-park='连云港经济技术开发区']")
    title_top = browser.execute_script("return arguments[0].querySelector('h3').getBoundingClientRect().top", box)
    bar_bottom = browser.execute_script("return document.getElementById('filters').getBoundingClientRect().bottom")
    assert bar_bottom <= title_top < height


def test_every_status_card_filters_visibly(browser, page, data):  # noqa: F811
    from selenium.webdriver.common.by import By

    _open(browser, page, 1440)
    cards = browser.find_elements(By.CSS_SELECTOR, "#cards .card")
    assert len(cards) >= 7
    for k in range(len(cards)):
        card = browser.find_elements(By.CSS_SELECTOR, "#cards .card")[k]
        status, scope = card.get_attribute("data-status"), card.get_attribute("data-scope")
        number = int(card.find_element(By.TAG_NAME, "b").text)
        colour = browser.execute_script("return getComputedStyle(arguments[0]).borderLeftColor", card)
        card.click()
        if status == "__skipped":
            continue
        assert "active" in card.get_attribute("class")
        parks = browser.find_elements(By.CSS_SELECTOR, "#parks .park")
        if status and status != "已被替代":
            assert {p.get_attribute("data-status") for p in parks} <= {status}, status
            assert len(parks) == number, status  # the card's number is what the list shows
        if scope == "other":
            assert len(parks) == number
        if status:
            assert status in browser.find_element(By.ID, "f-active").text
        # the list is in view after the click
        first = parks[0] if parks else browser.find_element(By.CSS_SELECTOR, "#parks .empty")
        assert browser.execute_script("return arguments[0].getBoundingClientRect().top < innerHeight", first)
        assert colour
    # the palette: error red, warning orange, passed green
    rgb = {c.get_attribute("data-status"): browser.execute_script(
        "return getComputedStyle(arguments[0]).borderLeftColor", c)
        for c in browser.find_elements(By.CSS_SELECTOR, "#cards .card")}
    assert rgb["有错误"] == "rgb(192, 0, 0)" and rgb["有警告"] == "rgb(198, 89, 17)" and rgb["通过"] == "rgb(55, 86, 35)"


def test_a_phone_gets_cards_and_no_sideways_scroll(browser, page):  # noqa: F811
    from selenium.webdriver.common.by import By

    _open(browser, page, 390)
    width = browser.execute_script("return [document.scrollingElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], width
    browser.execute_script("document.getElementById('rules-box').open = true")
    browser.find_element(By.CSS_SELECTOR, ".card.c-有错误").click()
    width = browser.execute_script("return [document.scrollingElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], width
    assert browser.execute_script("return getComputedStyle(document.querySelector('#todo thead')).display") == "none"
    assert browser.execute_script("return getComputedStyle(document.getElementById('filters')).position") == "static"


@pytest.mark.parametrize("width", [800, 1024])
def test_a_narrow_window_shows_every_findings_column_inside_its_park(browser, page, width):  # noqa: F811
    """A laptop's half screen: no sideways scroll, and each park's findings table (its 说明 last) fits in the park's
    box rather than running past it (the columns' least widths gave way first: before, ~950 px at 800)."""
    _open(browser, page, width)
    size = browser.execute_script("return [document.scrollingElement.scrollWidth, innerWidth]")
    assert size[0] <= size[1], size
    over = browser.execute_script("""return Array.from(document.querySelectorAll('#parks .park')).map(function (p) {
        var t = p.querySelector('table.findings'); if (!t) return 0;
        return t.getBoundingClientRect().right - p.getBoundingClientRect().right; })""")
    assert over and max(over) <= 0, over


def test_the_rules_line_counts_rules_and_findings_apart(browser, page, data):  # noqa: F811
    """The rules' heading: how many rules found something, and how many errors and warnings (findings, not rules)."""
    from selenium.webdriver.common.by import By

    _open(browser, page, 1440)
    note = browser.find_element(By.ID, "rules-note").text
    errors = sum(r[2][0] for r in data["rules"])
    warnings = sum(r[2][1] for r in data["rules"])
    assert f"{len(data['rules'])} 条规则发现问题，共有错误 {errors} 处、警告 {warnings} 处" in note, note


def test_numbers_never_break(browser, page):  # noqa: F811
    _open(browser, page, 1440)
    spans = browser.execute_script(
        "return Array.from(document.querySelectorAll('#parks td .n')).map(s => getComputedStyle(s).whiteSpace)")
    assert spans and set(spans) == {"nowrap"}
    cells = browser.execute_script(
        "return Array.from(document.querySelectorAll('td.num')).map(s => getComputedStyle(s).whiteSpace)")
    assert cells and set(cells) == {"nowrap"}


def test_the_report_data_is_json(page, data):
    assert json.dumps(data, ensure_ascii=False)
    assert {WARNING, EXPLAINED} <= {f[0] for p in data["parks"] for file in p["files"] for f in file["findings"]}
