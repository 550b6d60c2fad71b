"""情况说明: when a warning counts as explained ("核实无误" is no reason).
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..findings import EXPLAINED, WARNING, make_finding
from ..rules.formats import nfkc
from ..rules.model import Form
from .results import CheckedReturn

# words that say only "the data is right", group by group in the order they are written ("经核实该数据无误"): a
# 情况说明 made of nothing else explains nothing. The workbook's in-sheet check is built from the same data
# (write/template/calc.py), so the sheet and the checker agree.
NON_EXPLANATION_GROUPS: tuple[tuple[str, ...], ...] = (
    ("经", "已", "再次", "重新", "认真", "反复"),
    ("核实", "核查", "核对", "确认", "复核", "检查"),
    ("过",),
    ("该", "此", "以上", "上述", "本项"),
    ("数据", "数值", "情况", "填报", "填写"),
    ("无误", "无问题", "没有问题", "准确", "正确", "属实", "真实", "无差错", "无错误", "可靠"),
)
MIN_REASON_CHARS = 4  # what must be left of a reason, white space and punctuation not counted
_NON_EXPLANATION = re.compile("".join(f"({'|'.join(g)})?" for g in NON_EXPLANATION_GROUPS))


def is_explanation(text: str | None) -> bool:
    """True when the 情况说明 gives a reason, not just "核实无误"."""
    if text is None:
        return False
    core = re.sub(r"[\s\W_]+", "", nfkc(str(text)))
    if len(core) < MIN_REASON_CHARS:
        return False
    rest = core
    while rest:
        m = _NON_EXPLANATION.match(rest)
        if not m or m.end() == 0:
            break
        rest = rest[m.end():]
    return len(rest) >= MIN_REASON_CHARS



def explain(ret: CheckedReturn, form: Form) -> None:
    """A warning on a row whose 情况说明 gives a reason is explained; "核实无误" is not a reason."""
    out, invalid = [], set()
    for f in ret.findings:
        note_field = form.fields[f.field].note_field if f.field in form.fields else None
        if f.severity == WARNING and note_field:
            note = ret.values.get(note_field)
            if is_explanation(note):
                f = replace(f, severity=EXPLAINED, message=f.message + f"（已说明：{note}）")
            elif note and note_field not in invalid:
                invalid.add(note_field)
                nf = form.fields[note_field]
                out.append(make_finding("explanation_invalid", value=str(note), **ret.locate(nf)))
        out.append(f)
    ret.findings = out




def explain_list(ret: CheckedReturn) -> None:
    """A warning on an enterprise-list row whose 情况说明 gives a reason is explained, as on the form's rows."""
    notes = ret.raw.enterprises.notes
    if not notes:
        return
    sheet = ret.raw.enterprises.sheet
    out = []
    for f in ret.findings:
        m = re.fullmatch(r"[A-Z]+(\d+)", f.cell or "") if f.severity == WARNING and f.sheet == sheet else None
        note = notes.get(int(m.group(1))) if m else None
        if note and is_explanation(note):
            f = replace(f, severity=EXPLAINED, message=f.message + f"（已说明：{note}）")
        out.append(f)
    ret.findings = out
