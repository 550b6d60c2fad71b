"""The schema of the rule files in rules/, as pydantic models.

These models describe the YAML as written (families of fields, rules with repetitions); the loader
in compile.py expands them into the concrete fields and rules that everything else uses. Unknown
keys are rejected so that a typo in a rule file is reported instead of silently ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .interval import Interval, parse_interval

IntervalField = Annotated[Interval, BeforeValidator(parse_interval)]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Footnote(Strict):
    number: int
    text: str


class Trap(Strict):
    """A known mistake: a computed value entered as `factor` times the value its parts give."""

    factor: float = Field(gt=0)
    message: str


FieldType = Literal["text", "longtext", "number", "integer", "choice", "date"]


class FieldSpec(Strict):
    id: Id
    label: str
    type: FieldType
    unit: str | None = None
    required: bool = False
    source: Literal["form", "added"] = "form"
    choices: list[str] | None = None
    choices_from: list[Id] | None = None
    format: Literal["phone", "email", "uscc", "industry"] | None = None
    range: IntervalField | None = None
    plausible: IntervalField | None = None
    # what to check first when the value is below / above the plausible range
    plausible_hints: dict[Literal["low", "high"], str] | None = None
    traps: list[Trap] = []
    formula: str | None = None
    formula_by_year: dict[int, str] | None = None
    tolerance: float | None = Field(default=None, ge=0)
    part_of: Id | None = None
    footnote: Footnote | None = None
    hint: str | None = None
    max_chars: int | None = Field(default=None, gt=0)
    headings: list[str] | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)
    # how the summary adds this field up across parks: numbers are summed unless "none" (a city's
    # GDP is shared by the parks of that city); computed fields are recomputed from summed parts
    aggregate: Literal["sum", "none"] | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if self.aggregate is not None and self.type not in ("number", "integer"):
            raise ValueError("aggregate 只用于数字字段")
        if self.type == "choice" and not (self.choices or self.choices_from):
            raise ValueError("单选字段（type: choice）需要 choices 或 choices_from")
        if self.type != "choice" and (self.choices or self.choices_from):
            raise ValueError("只有单选字段（type: choice）可以有 choices / choices_from")
        if (self.range or self.plausible) and self.type not in ("number", "integer", "date"):
            raise ValueError("只有数字或日期字段可以有 range / plausible")
        if self.plausible_hints and not self.plausible:
            raise ValueError("plausible_hints 需要与 plausible 一起使用")
        if self.traps and not self.formula:
            raise ValueError("traps 只用于有 formula 的计算字段")
        if self.tolerance is not None and not (self.formula or self.formula_by_year):
            raise ValueError("tolerance 只用于有 formula 的计算字段")
        if (self.formula or self.formula_by_year) and self.type in ("number", "integer") and self.tolerance is None \
                and not self.formula_by_year:
            raise ValueError("数字计算字段需要 tolerance（复算允许误差）")
        if self.max_chars is not None and self.type not in ("text", "longtext"):
            raise ValueError("max_chars 只用于文字字段")
        return self


class TextParagraph(Strict):
    text: str
    style: Literal["normal", "heading", "note"] = "normal"


BlockKind = Literal["text", "fields", "years", "repeat"]


class BlockSpec(Strict):
    id: Id
    kind: BlockKind
    title: str | None = None
    sheet: Id | None = None  # only in category files: the sheet the block is appended to
    intro: str | None = None
    outro: str | None = None
    footnote: Footnote | None = None
    paragraphs: list[TextParagraph] = []
    fields: list[FieldSpec] = []
    count: int | None = Field(default=None, ge=1, le=50)
    min_rows: int = Field(default=0, ge=0)  # repeat blocks: rows whose required fields must be filled
    number_label: str | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if self.kind == "text" and self.fields:
            raise ValueError("文字块（kind: text）不能有 fields")
        if self.kind != "text" and not self.fields:
            raise ValueError("字段块需要至少一个 fields")
        if self.kind == "repeat" and self.count is None:
            raise ValueError("重复块（kind: repeat）需要 count")
        if self.kind != "repeat" and self.count is not None:
            raise ValueError("只有重复块（kind: repeat）可以有 count")
        if self.kind == "repeat" and self.min_rows > self.count:
            raise ValueError("min_rows 不能大于 count")
        return self


class SheetSpec(Strict):
    id: Id
    title: str = Field(max_length=31)
    heading: str | None = None  # shown at the top of the sheet; the sheet tab shows `title`
    # how the summary titles this sheet's columns: "sheet" (the sheet's title) or "block" (the sheet's
    # title and each block's, "三、发展情况：整体规模情况")
    summary_group: Literal["sheet", "block"] = "sheet"
    blocks: list[BlockSpec]

    @field_validator("title")
    @classmethod
    def _sheet_title(cls, v: str) -> str:
        bad = set(v) & set("[]:*?/\\")
        if bad:
            raise ValueError(f"工作表名称不能包含字符 {''.join(sorted(bad))}")
        return v


class RuleSpec(Strict):
    id: Id
    severity: Literal["error", "warning"]
    check: str
    target: str
    message: str
    per_year: bool = False
    for_each: dict[str, list[Union[int, str]]] | None = None

    @model_validator(mode="after")
    def _one_repetition(self):
        if self.per_year and self.for_each:
            raise ValueError("per_year 和 for_each 不能同时使用")
        if self.for_each is not None and len(self.for_each) != 1:
            raise ValueError("for_each 只能有一个变量，如 {index: [1, 2, 3]}")
        return self


class ListCategorySpec(Strict):
    id: Id
    label: str
    count_field: Id


class ListColumnSpec(Strict):
    id: Id
    label: str
    type: Literal["text", "choice"]
    required: bool = False
    format: Literal["uscc", "industry"] | None = None
    source: Literal["form", "added"] = "form"
    hint: str | None = None
    # what the checker and the summary know the column as: the enterprise's category (a choice among
    # the list's categories), its name, its key across parks (a format: uscc column)
    role: Literal["category", "name", "key"] | None = None

    @model_validator(mode="after")
    def _role_fits(self):
        if self.role == "category" and self.type != "choice":
            raise ValueError("role: category 的列应为 type: choice")
        if self.type == "choice" and self.role != "category":
            raise ValueError("type: choice 的列只能是 role: category（在清单类别中选择）")
        if self.role == "key" and self.format != "uscc":
            raise ValueError("role: key 的列应为 format: uscc（统一社会信用代码）")
        return self


class EnterpriseListSpec(Strict):
    sheet_title: str = Field(max_length=31)
    title: str
    rows: int = Field(ge=10, le=100_000)
    columns: list[ListColumnSpec]
    categories: list[ListCategorySpec]
    exclusive: list[tuple[Id, Id]] = []
    expected_subset: list[tuple[Id, Id]] = []


class FormMeta(Strict):
    title: str
    subtitle: str
    template_version: str
    years: list[int] = Field(min_length=1)
    created: dt.datetime


class Criterion(Strict):
    id: Id
    label: str
    weight: float = Field(gt=0)
    description: str


class EvaluationRowSpec(Strict):
    """A row of a `show: rows` section: a label and a value."""

    field: Id | None = None  # a field: its label and its value
    block: Id | None = None  # a repeated block (kind: repeat): its filled rows on one line
    format: str | None = None  # for a block, each row: "{lead_industry}（{lead_subfield}）"
    join: str = "；"  # for a block, between the rows
    label: str | None = None  # default: the field's label, the block's title

    @model_validator(mode="after")
    def _one_source(self):
        if (self.field is None) == (self.block is None):
            raise ValueError("每行需要 field 或 block（二者选一）")
        if self.block is not None and not self.format:
            raise ValueError("block 行需要 format（每个重复行的写法，如“{lead_industry}（{lead_subfield}）”）")
        if self.field is not None and self.format is not None:
            raise ValueError("format 只用于 block 行")
        return self


SectionShow = Literal["rows", "years", "blocks", "category_blocks", "text", "notes", "scoring"]


class EvaluationSectionSpec(Strict):
    """A section of a park's sheet in evaluation.xlsx: a heading and what is shown under it.

    rows: `rows` as label | value; years: every family of the year blocks (or of `blocks`) with its
    years and the change; blocks: the fields of `blocks` two to a row, then their long texts;
    category_blocks: the same for the blocks the category file adds; text: the long text `field`,
    paragraph by paragraph; notes: the 情况说明 the park wrote, beside the indicators they explain; scoring: the
    criteria with their score cells (exactly one section)."""

    title: str  # may use {block_title}: the title of the section's first block
    show: SectionShow
    rows: list[EvaluationRowSpec] = []
    blocks: list[Id] = []
    field: Id | None = None

    @model_validator(mode="after")
    def _what_it_shows(self):
        if (self.show == "rows") != bool(self.rows):
            raise ValueError("rows 用于且只用于 show: rows（至少一行）")
        if self.show == "blocks" and not self.blocks:
            raise ValueError("show: blocks 需要 blocks（块编号列表）")
        if self.blocks and self.show not in ("blocks", "years"):
            raise ValueError("blocks 只用于 show: blocks 或 show: years")
        if (self.show == "text") != (self.field is not None):
            raise ValueError("field 用于且只用于 show: text")
        return self


class EvaluationSpec(Strict):
    title: str
    criteria: list[Criterion] = Field(min_length=1)
    instructions: str = ""
    identifying: list[Id] = []  # the fields --blind hides (also wherever the texts repeat them)
    region: list[Id] = []  # the fields --blind also hides unless --show-region (in their own cells)
    list_identifying: list[Id] = []  # the enterprise list's columns --blind hides (the rest counted instead)
    sections: list[EvaluationSectionSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_scoring(self):
        if sum(s.show == "scoring" for s in self.sections) != 1:
            raise ValueError("sections 中应有且只有一个 show: scoring（专家评分）")
        return self


class RolesSpec(Strict):
    """Which field plays each part the code knows about (a field id, or a family of one field)."""

    park_name: Id  # names the park: roster matching, every output
    city: Id  # the park's city: 分市统计, the reports
    county: Id
    fill_date: Id  # the filling date: the newest return of a park wins
    practice_name: Id  # the practice's name: the panel's overview


class ChartSpec(Strict):
    family: Id  # a numeric field, or a family of years
    year: int | None = None  # for a family of years; default: the first of form.years
    title: str | None = None  # default: the field's label with its year, 2025年营业收入（亿元）


class SummarySpec(Strict):
    # the 图表 sheet: a bar chart per entry over the parks in the totals, the 30 largest by the first
    charts: list[ChartSpec] = []


class CommonFile(Strict):
    form: FormMeta
    roles: RolesSpec
    sheets: list[SheetSpec]
    enterprise_list: EnterpriseListSpec
    evaluation: EvaluationSpec
    summary: SummarySpec = SummarySpec()
    rules: list[RuleSpec] = []


class CategoryMeta(Strict):
    id: Id
    name: str
    order: int = 0


class CategoryFile(Strict):
    category: CategoryMeta
    texts: dict[str, str] = {}
    blocks: list[BlockSpec] = []
    list_categories: list[ListCategorySpec] = []
    rules: list[RuleSpec] = []

    @model_validator(mode="after")
    def _blocks_name_sheet(self):
        for i, b in enumerate(self.blocks):
            if b.sheet is None:
                raise ValueError(f"blocks[{i}] 需要 sheet（追加到哪个工作表）")
        return self
