"""A park's corrected return: each version, what changed, and which problems were fixed, remain or are new —
in the check's summary line, the report and the feedback mail."""

import datetime as dt
import json
import re

from consolidator.check.batch import check_batch
from consolidator.check.history import histories
from consolidator.mail.compose import DEFAULT_TEMPLATES
from consolidator.mail.plan import plan_feedback
from consolidator.read.roster import Park
from consolidator.write.report import report_data

from .conftest import raw_return, sample

PARK = Park("P1", "苏州工业园区", "江苏省苏州市", "工业园区", "green_safety", "王伟", "w@sipac.gov.cn", 2)


def two_versions(forms):
    form = forms["green_safety"]
    year = form.years[-1]
    first = sample(form, 1)
    revenue = first.values[f"revenue_{year}"]
    first.values[f"lead_revenue_{year}"] = revenue * 2  # an error, fixed in the second
    first.values["contact_phone"] = "1391234567"  # 10 digits: an error, left in the second
    second = sample(form, 1)
    second.values["contact_phone"] = "1391234567"
    second.values["total_enterprises"] = 0  # a new error
    old = raw_return(form, first.values, first.enterprises, file="园区.xlsx", mtime=dt.datetime(2026, 11, 20, 9),
                     park_id="P1")
    new = raw_return(form, second.values, second.enterprises, file="园区(修改).xlsx",
                     mtime=dt.datetime(2026, 11, 25, 9), park_id="P1")
    from consolidator.write.template import workbook_bytes

    old.source.data = new.source.data = workbook_bytes(form)  # what the feedback annotates
    return check_batch([old, new], forms, [PARK]), year


def test_the_history_says_what_changed_and_what_was_fixed(forms):
    result, year = two_versions(forms)
    (h,) = histories(result).values()
    assert [v.file for v in h.versions] == ["园区.xlsx", "园区(修改).xlsx"]
    changed = {c.field for c in h.changes[0]}
    assert {f"lead_revenue_{year}", "total_enterprises"} <= changed and "contact_phone" not in changed
    assert {f.code for f in h.fixed} >= {"lead_revenue_le_revenue"}
    assert {f.field for f in h.still} == {"contact_phone"}
    assert "total_enterprises" in {f.field for f in h.new} or any(f.code == "count_le_total" for f in h.new)
    # the superseded return still reports only that it was superseded
    old = next(r for r in result.returns if r.file == "园区.xlsx")
    assert [f.code for f in old.findings] == ["superseded"]


def test_a_park_with_one_return_has_no_history(forms):
    form = forms["green_safety"]
    s = sample(form, 2)
    result = check_batch([raw_return(form, s.values, s.enterprises, park_id="P1")], forms, [PARK])
    assert histories(result) == {}


def test_the_report_and_the_mail_carry_the_history(forms):
    result, _ = two_versions(forms)
    data = report_data(result, title="t", source="s", generated=dt.datetime(2026, 12, 1))
    (park,) = [p for p in data["parks"] if p["history"]]
    assert len(park["history"]["versions"]) == 2 and park["history"]["fixed"]
    json.dumps(data, ensure_ascii=False)
    outgoing, _ = plan_feedback(result, forms, DEFAULT_TEMPLATES, {"office": "省工信厅"})
    (mail,) = [o for o in outgoing if o.kind == "problems"]
    assert "与上次报送的“园区.xlsx”相比：已改正" in mail.body
    assert re.search(r"仍未解决 1 项", mail.body)
