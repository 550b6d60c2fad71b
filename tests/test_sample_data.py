"""The bundled sample data holds what sample_data/README.md says is planted, and nothing else.

When rules/ change and this fails, rerun `python scripts/make_sample_data.py`."""

import json
from collections import defaultdict

import pytest

from consolidator.check.cascade import common_fields
from consolidator.findings import CATALOGUE
from consolidator.pipeline import run_check
from consolidator.read.roster import read_roster

from .conftest import ROOT

SAMPLES = ROOT / "sample_data"


@pytest.fixture(scope="module")
def checked(forms):
    return run_check(SAMPLES / "returns", forms, read_roster(SAMPLES / "roster.csv", forms))


def _codes(f, forms) -> set[str]:
    """The rules a finding reports: its code, and the rules whose failures joined it (check/cascade.py puts a
    rule failing for several fields against one common field, and similar rules, into one finding)."""
    out = {f.code}
    for form in forms.values():
        for (rule_id, target), (rule, common) in common_fields(form).items():
            if f.field == common and form.fields[target].display_label in f.message and rule.message in f.message:
                out.add(rule_id)
    return out


def test_every_planted_problem_is_found_and_nothing_else(checked, forms):
    manifest = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    found = defaultdict(set)
    for f in [*checked.findings, *checked.skipped]:
        found[f.file].update((c, f.severity) for c in _codes(f, forms))
    assert set(manifest) == {f for f in found if f} | {r.file for r in checked.returns}
    for file, m in manifest.items():
        codes = {c for c, _ in found[file]}
        for item in m["expected"]:
            code, _, severity = item.partition(":")
            assert code in codes, (file, code)
            if severity:
                assert (code, severity) in found[file], (file, item)
        unexpected = {(c, s) for c, s in found[file] if s in ("error", "warning")} - {
            (i.partition(":")[0], s) for i in m["expected"] for s in ("error", "warning")}
        assert not unexpected, (file, unexpected)
        if m["clean"]:
            assert not {s for _, s in found[file]} & {"error", "warning"}, file


def test_the_samples_plant_every_rule_and_finding_kind(checked, forms):
    codes = {c for f in [*checked.findings, *checked.skipped] for c in _codes(f, forms)}
    rule_ids = {r.id for f in forms.values() for r in f.rules}
    assert rule_ids - codes == set()
    not_in_samples = {"file_unreadable", "file_encrypted", "file_legacy_format", "not_template", "field_not_found",
                      "formula_not_calculated",  # covered by tests/test_reader.py and tests/test_checker.py
                      "text_cleaned", "text_too_long",  # made while writing the summary: tests/test_summary.py
                      "file_unsafe", "file_too_large", "file_timeout", "file_crashed", "file_archive",
                      "file_name_encoding", "access_denied",  # tests/test_hostile.py
                      "word_unreadable", "file_word_legacy", "file_pdf", "read_from_word", "word_fields_missing",
                      "report_line_spacing", "report_paragraph_spacing", "report_font_size", "report_font",
                      "report_heading"}  # tests/test_word_read.py
    assert set(CATALOGUE) - codes == not_in_samples
    assert {f.severity for f in checked.findings} == {"error", "warning", "explained", "info"}


def test_released_batch_keeps_everything_the_outputs_use(checked, forms):
    """summarize drops the cells and list rows as read once the batch is checked: the findings, the
    values and the list frame must come out the same."""
    released = run_check(SAMPLES / "returns", forms, read_roster(SAMPLES / "roster.csv", forms), release=True)
    assert all(not r.raw.cells and not len(r.raw.enterprises) for r in released.returns)
    assert [f.as_dict() for f in released.findings] == [f.as_dict() for f in checked.findings]
    assert [r.values for r in released.returns] == [r.values for r in checked.returns]
    assert released.lists.equals(checked.lists)
