"""A warning on an enterprise-list row (an enterprise also listed by another park) is explained by that row's
情况说明, as on the form's rows; "核实无误" is not a reason."""

import random

from consolidator.pipeline import run_check
from consolidator.samples import clean_return
from consolidator.write.template import filled_workbook_bytes


def _write(folder, name, form, seed, note=None, shared=None):
    s = clean_return(form, random.Random(seed))
    if shared is not None:
        s.enterprises[0] = dict(shared)
    def edit(wb, layout):
        if note is not None:
            sheet, _ = layout.list_columns[next(iter(layout.list_columns))]
            ws = wb[sheet]
            col = wb.defined_names["lst_note"].attr_text.split("!")[1].split(":")[0].replace("$", "")
            letters = "".join(ch for ch in col if ch.isalpha())
            ws[f"{letters}{layout.list_first_row}"].value = note
    (folder / name).write_bytes(filled_workbook_bytes(form, s.values, s.enterprises, edit=edit))
    return s


def test_a_list_row_note_explains_its_warning(tmp_path, forms):
    form = forms["green_safety"]
    first = _write(tmp_path, "a.xlsx", form, 11)
    row = first.enterprises[0]
    _write(tmp_path, "b.xlsx", form, 12, note="该企业在两个园区均有生产基地，分别统计各自产值。", shared=row)
    _write(tmp_path, "c.xlsx", form, 13, note="核实无误", shared=row)
    result = run_check(tmp_path, forms)
    by_file = {r.file: r for r in result.returns}
    two = lambda r: [f for f in r.findings if f.code == "enterprise_in_two_parks"]  # noqa: E731
    assert [f.severity for f in two(by_file["b.xlsx"])] == ["explained"]
    assert "（已说明：该企业在两个园区" in two(by_file["b.xlsx"])[0].message
    assert [f.severity for f in two(by_file["c.xlsx"])] == ["warning"]
    assert [f.severity for f in two(by_file["a.xlsx"])] == ["warning"]
