import csv
import io
import json
import shutil

import pytest

from consolidator.check.batch import check_batch
from consolidator.write.report import (
    findings_csv,
    findings_json,
    render_html,
    safe_cell,
)

from .conftest import raw_return, require, sample

EVIL = '<img src=x onerror="window.__pwned=1">园区</script><!--'


@pytest.fixture(scope="module")
def result(forms):
    g, o = forms["green_safety"], forms["open_cooperation"]
    returns = []
    for i in range(30):  # more parks than one page of the report
        form = g if i % 2 else o
        s = sample(form, 100 + i, park_name=f"测试园区{i:02d}")
        if i % 3 == 0:
            s.values["lead_revenue_2025"] = s.values["revenue_2025"] * 2
        if i % 5 == 0:
            s.values["revenue_2025"] = s.values["revenue_2024"] * 4
        if i == 7:
            s.values["park_name"] = EVIL
            s.values["contact_email"] = "=HYPERLINK(\"http://x\")"
        returns.append(raw_return(form, s.values, s.enterprises, file=f"园区{i:02d}.xlsx"))
    return check_batch(returns, forms)


def test_park_text_is_data_not_markup(result):
    html = render_html(result, source="报送")
    assert EVIL not in html and "<img" not in html.split("<script")[0]
    payload = html.split('id="report-data">')[1].split("</script>")[0]
    assert "<" not in payload and ">" not in payload
    assert json.loads(payload)["parks"]
    assert "https://" not in html and "http://cdn" not in html  # self-contained, works offline


def test_csv_opens_in_excel_as_chinese_and_never_as_a_formula(result):
    data = findings_csv(result)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["规则编号", "类型", "问题说明"]
    assert len(rows) == 1 + len(result.findings) + len(result.skipped)
    cells = [c for r in rows for c in r]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert any(c.startswith("'=HYPERLINK") for c in cells)


@pytest.mark.parametrize("value, out", [("=1+1", "'=1+1"), ("-5", "-5"), ("-1e3", "-1e3"), ("@x", "'@x"),
                                        ("+86 139", "'+86 139"), ("普通文字", "普通文字"), ("", "")])
def test_safe_cell(value, out):
    assert safe_cell(value) == out


def test_json_has_every_finding(result):
    data = json.loads(findings_json(result))
    assert len(data["findings"]) == len(result.findings)
    assert {r["status"] for r in data["returns"]} <= {"通过", "有警告", "有错误"}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_exe = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
    except ImportError:
        webdriver = None
    require(bool(chromium and driver_exe and webdriver), "headless Chromium, chromedriver or selenium",
            "apt-get install chromium chromium-driver; pip install selenium")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver_exe))
    yield driver
    driver.quit()


def test_report_in_chromium(result, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path = tmp_path / "report.html"
    path.write_text(render_html(result, source="报送"), encoding="utf-8")
    browser.get(path.as_uri())
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    assert EVIL in browser.find_element(By.ID, "parks").text or EVIL in browser.page_source.replace("&lt;", "<") \
        .replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", '"')

    def rows():
        return browser.find_elements(By.CSS_SELECTOR, "#parks tr.f-row")

    def parks_shown():
        return len(browser.find_elements(By.CSS_SELECTOR, "#parks .park"))

    assert parks_shown() == 20  # the first page of 30 parks
    errors_total = sum(1 for f in result.findings if f.severity == "error")
    # severity filter: only errors
    for sev in ("warning", "explained", "info"):
        browser.find_element(By.ID, f"sev-{sev}").click()
    assert {r.get_attribute("data-sev") for r in rows()} == {"error"}
    assert "sev=error" in browser.current_url
    shown = len(rows())
    Select(browser.find_element(By.ID, "f-rule")).select_by_value("lead_revenue_le_revenue")
    assert {r.get_attribute("data-rule") for r in rows()} == {"lead_revenue_le_revenue"}
    assert len(rows()) == sum(1 for f in result.findings if f.code == "lead_revenue_le_revenue")
    assert shown <= errors_total
    # search by park
    browser.find_element(By.ID, "f-reset").click()
    browser.find_element(By.ID, "f-q").send_keys("测试园区03")
    assert [p.get_attribute("data-park") for p in browser.find_elements(By.CSS_SELECTOR, "#parks .park")] == ["测试园区03"]
    # a filtered view can be bookmarked: the hash restores it
    browser.get(path.as_uri() + "#sev=warning&rule=revenue_yoy")
    assert {r.get_attribute("data-rule") for r in rows()} == {"revenue_yoy"}
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.parametrize("value", [
    {}, [], {"a": []}, {"a": {}}, [1, [2, [3, {}]], {"x": None}], (1, 2), {"k": (1, {"z": []})}, [[]], [{}],
    {"a": {"b": [1.5, float("nan"), True, None, "中\n\"文\u2028", -0.0, 10**20]}}, {1: 2}, {"a": {1: [1, {}]}},
    {"": ""}, "x", 3, None, {"file": "苏州/园区.xlsx", "counts": {"error": 1, "warning": 0}},
])
def test_indented_json_is_what_json_dumps_with_an_indent_writes(value):
    from consolidator.write.report import indented_json

    for level in (0, 1, 2):
        assert indented_json(value, level) == json.dumps(value, ensure_ascii=False, indent=1).replace(
            "\n", "\n" + " " * level)


@pytest.mark.parametrize("value", [
    {}, {"a": []}, {"a": [1]}, {"parks": [{"name": "园区</script>", "x": "a&b<c>\u2028\u2029"}, None, [1, 2]],
                                "n": 3, "z": []},
    {"<k>&": [["</script>"]], "b": {"c": ["<!--"]}}, {1: [2]}, [1, {"a": "<"}], "x<", None,
    {"s": "\ud800", "l": ["\udfff", "中"]}, {"a": [float("nan"), 1e300, -0.0, True, 10**20]},
])
def test_the_report_data_in_pieces_is_its_json_for_the_script(value):
    """The page's data made an item at a time gives the bytes of the whole made at once, escaped for <script>."""
    from consolidator.write.report import _json_for_script, _json_pieces

    assert b"".join(_json_pieces(value)) == _json_for_script(value).encode("utf-8", "replace")


def test_an_output_is_staged_from_its_pieces(tmp_path):
    from consolidator.write.files import OutputSet

    with OutputSet(tmp_path / "out") as out:
        out.add("report.html", (p for p in [b"<html>", "中文".encode(), b"</html>"]))
        out.add("findings.csv", b"a,b\r\n")
        out.commit()
    assert (tmp_path / "out" / "report.html").read_bytes() == "<html>中文</html>".encode()
    assert (tmp_path / "out" / "findings.csv").read_bytes() == b"a,b\r\n"


def test_findings_files_are_made_in_pieces_of_about_a_megabyte(result, monkeypatch):
    """findings.csv and findings.json come in pieces (a national round's whole text was the command's peak): cut
    small, the pieces are many and together the same bytes as made in one piece."""
    from consolidator.write import report

    whole_csv, whole_json = report.findings_csv(result), report.findings_json(result)
    monkeypatch.setattr(report, "_PIECE", 200)
    csv_pieces, json_pieces = list(report.findings_csv_pieces(result)), list(report.findings_json_pieces(result))
    assert len(csv_pieces) > 3 and len(json_pieces) > 3
    assert b"".join(csv_pieces) == whole_csv and b"".join(json_pieces) == whole_json
    assert whole_csv.startswith(b"\xef\xbb\xbf") and json.loads(whole_json)["findings"]
