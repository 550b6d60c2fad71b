"""The compiled model every other step works from: a Form with its fields (one per input or computed
cell, families of years and repeated rows expanded), its rules (repetitions expanded), its sheets and
blocks in the order of the official form, and its enterprise list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .. import expr as expr_mod
from .interval import Interval


# ---- the compiled model ------------------------------------------------------------------------
# Parts of a rule file the Form keeps as written (validated by the pydantic models of schema.py, then
# copied into these: a Form needs no pydantic to be used or unpickled from the cache of compiled rules).
@dataclass(frozen=True)
class Footnote:
    number: int
    text: str


@dataclass(frozen=True)
class Trap:
    """A known mistake: a computed value entered as `factor` times the value its parts give."""

    factor: float
    message: str


@dataclass(frozen=True)
class TextParagraph:
    text: str
    style: str = "normal"  # normal, heading or note


@dataclass(frozen=True)
class ListColumn:
    """A column of the enterprise list (rules: enterprise_list.columns[])."""

    id: str
    label: str
    type: str  # text or choice
    required: bool = False
    format: str | None = None  # uscc, industry
    source: str = "form"  # form, added
    hint: str | None = None
    role: str | None = None  # category, name or key: what the checker and the summary know the column as


@dataclass(frozen=True)
class Criterion:
    """A criterion of the expert panel's sheet."""

    id: str
    label: str
    weight: float
    description: str


@dataclass(frozen=True)
class Field:
    id: str
    family: str
    label: str
    type: str
    sheet: str
    block: str
    unit: str | None = None
    year: int | None = None
    index: int | None = None
    required: bool = False
    source: str = "form"
    choices: tuple[str, ...] | None = None
    choices_from: tuple[str, ...] | None = None
    format: str | None = None
    range: Interval | None = None
    plausible: Interval | None = None
    plausible_hints: tuple[tuple[str, str], ...] = ()
    traps: tuple[Trap, ...] = ()
    formula: expr_mod.Expr | None = None
    tolerance: float | None = None
    part_of: str | None = None
    footnote: Footnote | None = None
    hint: str | None = None
    max_chars: int | None = None
    headings: tuple[str, ...] | None = None
    decimals: int | None = None
    aggregate: str | None = None
    explains: str | None = None  # for 情况说明 fields: the family they explain
    note_field: str | None = None  # the 情况说明 field of this field's row, if any

    @property
    def is_derived(self) -> bool:
        return self.formula is not None

    @property
    def is_numeric(self) -> bool:
        return self.type in ("number", "integer")

    @property
    def is_text(self) -> bool:
        return self.type in ("text", "longtext", "choice")

    @property
    def display_label(self) -> str:
        """The label with its year or row number, as used in messages: "2025年营业收入（亿元）"."""
        if self.year is not None:
            return f"{self.year}年{self.label}"
        if self.index is not None:
            return f"第{self.index}个{self.label}"
        return self.label


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: expr_mod.Expr
    target: str
    message: str
    bindings: tuple[tuple[str, Any], ...] = ()
    source: str = ""  # "file: rules[i]", to trace a rule back to where it is written

    @property
    def key(self) -> str:
        if not self.bindings:
            return self.id
        return self.id + "[" + ",".join(f"{k}={v}" for k, v in self.bindings) + "]"


@dataclass(frozen=True)
class Block:
    id: str
    kind: str
    title: str | None
    intro: str | None
    outro: str | None
    footnote: Footnote | None
    paragraphs: tuple[TextParagraph, ...]
    families: tuple[str, ...]  # family ids in display order
    count: int | None = None
    number_label: str | None = None


@dataclass(frozen=True)
class Sheet:
    id: str
    title: str
    heading: str | None
    blocks: tuple[Block, ...]
    summary_group: str = "sheet"  # the summary's column groups: "sheet" title, or sheet and "block" title


@dataclass(frozen=True)
class ListCategory:
    id: str
    label: str
    count_field: str


@dataclass(frozen=True)
class EnterpriseList:
    sheet_title: str
    title: str
    rows: int
    columns: tuple[ListColumn, ...]
    categories: tuple[ListCategory, ...]
    exclusive: tuple[tuple[str, str], ...]
    expected_subset: tuple[tuple[str, str], ...]

    def category(self, cid: str) -> ListCategory:
        return next(c for c in self.categories if c.id == cid)

    def column(self, role: str) -> str | None:
        """The id of the column that plays `role` (rules: enterprise_list.columns[].role)."""
        return next((c.id for c in self.columns if c.role == role), None)


@dataclass(frozen=True)
class EvaluationRow:
    """A label | value row of the panel's sheet: a field, or the filled rows of a repeated block."""

    label: str
    field: str | None = None
    families: tuple[str, ...] = ()  # a repeated block's families; a row counts when its first is filled
    format: str = ""  # with {family} placeholders, per repeated row
    join: str = ""


@dataclass(frozen=True)
class EvaluationSection:
    """A section of the panel's sheet. show: rows | years | blocks | text | notes | scoring (category_blocks is
    compiled to blocks, the category's own)."""

    title: str
    show: str
    rows: tuple[EvaluationRow, ...] = ()
    blocks: tuple[str, ...] = ()  # block ids, in the form's order
    field: str | None = None


@dataclass(frozen=True)
class Evaluation:
    title: str
    instructions: str
    criteria: tuple[Criterion, ...]
    identifying: tuple[str, ...]  # field ids hidden in blind mode
    sections: tuple[EvaluationSection, ...]
    region: tuple[str, ...] = ()  # field ids also hidden in blind mode unless the region is asked for
    list_identifying: tuple[str, ...] = ()  # enterprise list column ids hidden in blind mode


@dataclass(frozen=True)
class Chart:
    field: str  # the concrete field charted
    title: str


@dataclass(frozen=True)
class Summary:
    charts: tuple[Chart, ...] = ()


@dataclass(eq=False)
class Form:
    category_id: str
    category_name: str
    order: int
    title: str
    subtitle: str
    template_version: str
    years: tuple[int, ...]
    created: Any
    sheets: tuple[Sheet, ...]
    fields: dict[str, Field]
    families: dict[str, tuple[str, ...]]  # family id -> concrete field ids
    rules: tuple[Rule, ...]
    enterprise_list: EnterpriseList
    fingerprint: str
    rules_dir: str = ""
    evaluation: Evaluation | None = None
    texts: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # role (park_name, city, ...) -> field id
    summary: Summary = field(default_factory=Summary)

    def block(self, bid: str) -> Block:
        return next(b for s in self.sheets for b in s.blocks if b.id == bid)

    def input_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if not f.is_derived]

    def derived_fields(self) -> list[Field]:
        return list(self._derived)

    @cached_property
    def _derived(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields.values() if f.is_derived)

    @cached_property
    def derived_order(self) -> tuple[str, ...]:
        """Derived field ids, each after every derived field its formula uses."""
        done: dict[str, None] = {}

        def visit(fid: str) -> None:
            if fid in done:
                return
            for n in self.fields[fid].formula.names:
                if self.fields[n].is_derived:
                    visit(n)
            done[fid] = None

        for f in self.derived_fields():
            visit(f.id)
        return tuple(done)

    def is_additive(self, fid: str) -> bool:
        """Whether the summary may add this field up across parks."""
        f = self.fields[fid]
        return f.is_numeric and not f.is_derived and f.aggregate != "none" and not f.explains



