"""Compile the rule files into Forms: read the YAML, validate it against the rule files' schema (pydantic)
and expand each category (the common part and its own file) into a Form, checking every reference.

Every mistake is a RuleFileError naming the file, the key path and, where it can, the line. Only
`load.load_forms` calls this, and only when its cache of compiled rules has no Form for the files as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError

from .. import expr as expr_mod
from .load import COMMON_FILE, RuleFileError, rule_files, yaml_loader
from .model import (
    Block,
    Chart,
    Criterion,
    EnterpriseList,
    Evaluation,
    EvaluationRow,
    EvaluationSection,
    Field,
    Footnote,
    Form,
    ListCategory,
    ListColumn,
    Rule,
    Sheet,
    Summary,
    TextParagraph,
    Trap,
)
from .schema import (
    BlockSpec,
    CategoryFile,
    CommonFile,
    EnterpriseListSpec,
    EvaluationRowSpec,
    EvaluationSectionSpec,
    FieldSpec,
    RuleSpec,
)

# the field types each role (rules/common.yaml, roles:) may have: the code reads the date as a date
ROLE_TYPES = {"fill_date": ("date",)}
TEXT_TYPES = ("text", "longtext", "choice")


def compile_forms(rules_dir: Path) -> dict[str, Form]:
    """Every category in rules_dir, compiled, in the order the category files give."""
    common_path = rules_dir / COMMON_FILE
    if not common_path.is_file():
        raise RuleFileError(common_path, "", "找不到共用规则文件 common.yaml")
    common_raw, common_lines = _read_yaml(common_path)
    common = _validate_model(CommonFile, common_raw, common_path, common_lines)
    forms: dict[str, Form] = {}
    files = rule_files(rules_dir)
    if not files:
        raise RuleFileError(rules_dir, "", "没有任何类别规则文件（*.yaml）")
    for path in files:
        raw, lines = _read_yaml(path)
        cat = _validate_model(CategoryFile, raw, path, lines)
        if cat.category.id in forms:
            raise RuleFileError(path, "category.id", f"类别编号“{cat.category.id}”与其他规则文件重复", lines.get("category.id"))
        fingerprint = hashlib.sha256(
            json.dumps([common_raw, raw], ensure_ascii=False, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        forms[cat.category.id] = _Compiler(common, common_path, common_lines, cat, path, lines, fingerprint).compile()
    return dict(sorted(forms.items(), key=lambda kv: (kv[1].order, kv[0])))


def _plain(cls, spec: BaseModel | None):
    """A validated part of a rule file (a pydantic model) as the Form keeps it: a plain dataclass of the
    same fields, so that a compiled Form needs no pydantic (nor its start-up) to be used or unpickled."""
    if spec is None:
        return None
    return cls(**{f.name: getattr(spec, f.name) for f in dataclass_fields(cls)})


YAML_LOADER = yaml_loader()


def _read_yaml(path: Path) -> tuple[Any, _Lines]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RuleFileError(path, "", "文件不是 UTF-8 编码") from None
    try:
        data = yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleFileError(path, "", f"YAML 格式错误：{getattr(exc, 'problem', exc)}",
                            mark.line + 1 if mark else None) from None
    return data, _Lines(text)


class _Lines:
    """The line of each key path of a rule file ("a.b[2].c" -> 1-based line), for the errors that name one:
    the file is composed a second time (some 40 % of reading it) only when an error asks."""

    def __init__(self, text: str):
        self._text, self._lines = text, None

    def get(self, path: str, default=None):
        if self._lines is None:
            self._lines = {}
            node = yaml.compose(self._text, Loader=YAML_LOADER)
            if node is not None:
                _index_lines(node, "", self._lines)
        return self._lines.get(path, default)


def _index_lines(node, path: str, out: dict[str, int]) -> None:
    """Map "a.b[2].c" key paths to 1-based line numbers, so errors can point at the line."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            sub = f"{path}.{k.value}" if path else str(k.value)
            out[sub] = k.start_mark.line + 1
            _index_lines(v, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _index_lines(v, f"{path}[{i}]", out)


def _loc_to_path(loc: Iterable) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union")) or part in ("list[...]",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


_PYDANTIC_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的键（拼写错误？）",
    "literal_error": "取值不在允许范围内",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为键值对",
    "model_type": "应为键值对",
    "string_pattern_mismatch": "编号只能由小写字母、数字和下划线组成，且以字母开头",
    "too_short": "内容太少",
    "too_long": "内容太多",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "string_too_long": "文字太长",
}


def _validate_model(model, raw, path: Path, lines: _Lines):
    if not isinstance(raw, dict):
        raise RuleFileError(path, "", "文件内容应为键值对（YAML 映射）")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # a misspelt key is also a missing one: name the misspelling, which says what to fix
        err = next((e for e in exc.errors() if e["type"] == "extra_forbidden"), exc.errors()[0])
        key = _loc_to_path(err["loc"])
        if err["type"] in ("value_error", "assertion_error"):
            problem = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            problem = _PYDANTIC_ZH.get(err["type"], err["msg"])
            if err["type"] == "literal_error":
                problem += f"（可选：{err.get('ctx', {}).get('expected', '')}）"
        more = len(exc.errors()) - 1
        if more:
            problem += f"（另有{more}处错误）"
        line = lines.get(key)
        probe = key
        while line is None and probe:  # the nearest enclosing key that has a line
            shorter = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
            probe = shorter if shorter != probe else ""
            line = lines.get(probe) if probe else None
        raise RuleFileError(path, key, problem, line) from None


class _Compiler:
    """Expands one category (common part + category file) into a Form, checking references."""

    def __init__(self, common: CommonFile, common_path: Path, common_lines, cat: CategoryFile, cat_path: Path,
                 cat_lines, fingerprint: str):
        self.common, self.cat = common, cat
        self.paths = {"common": common_path, "cat": cat_path}
        self.lines = {"common": common_lines, "cat": cat_lines}
        self.fingerprint = fingerprint
        self.years = tuple(common.form.years)
        self.fields: dict[str, Field] = {}
        self.families: dict[str, tuple[str, ...]] = {}
        self.family_origin: dict[str, tuple[str, str]] = {}
        self.texts = {
            "category_name": cat.category.name,
            "form_title": common.form.title,
            "form_subtitle": common.form.subtitle,
            **cat.texts,
        }

    def fail(self, which: str, path: str, problem: str):
        raise RuleFileError(self.paths[which], path, problem, self.lines[which].get(path))

    def text(self, value: str | None, which: str, path: str, **extra: str) -> str | None:
        """`value` with its {placeholders} filled from texts: (and `extra`, where a text has its own)."""
        if value is None:
            return None
        texts = {**self.texts, **extra}
        try:
            names = {n for _, n, _, _ in string.Formatter().parse(value) if n}
        except ValueError:
            self.fail(which, path, "文字中的花括号不成对")
        missing = sorted(names - set(texts))
        if missing:
            used = f"{self.paths[which].name} 第{self.lines[which].get(path, '?')}行 {path}"
            self.fail("cat", "texts", f"texts 中缺少占位符 {{{'}、{'.join(missing)}}} 的文字（在 {used} 中使用）")
        return value.format_map(texts)

    # -- fields
    def compile(self) -> Form:
        sheets = []
        extra = {}
        for i, b in enumerate(self.cat.blocks):
            extra.setdefault(b.sheet, []).append((i, b))
        sheet_ids = {s.id for s in self.common.sheets}
        for sid in extra:
            if sid not in sheet_ids:
                i = extra[sid][0][0]
                self.fail("cat", f"blocks[{i}].sheet", f"没有编号为“{sid}”的工作表；可用：{'、'.join(sheet_ids)}")
        block_ids: set[str] = set()
        for si, s in enumerate(self.common.sheets):
            blocks = []
            located = [("common", f"sheets[{si}].blocks[{bi}]", b) for bi, b in enumerate(s.blocks)]
            located += [("cat", f"blocks[{i}]", b) for i, b in extra.get(s.id, [])]
            for which, path, b in located:
                if b.id in block_ids:
                    self.fail(which, f"{path}.id", f"块编号“{b.id}”重复")
                block_ids.add(b.id)
                blocks.append(self.block(b, s.id, which, path))
            sheets.append(Sheet(s.id, s.title, self.text(s.heading, "common", f"sheets[{si}].heading"), tuple(blocks),
                                s.summary_group))
        self.check_fields()
        enterprise_list = self.enterprise_list()
        rules = self.rules(enterprise_list)
        self.add_notes(rules)
        return Form(
            category_id=self.cat.category.id,
            category_name=self.cat.category.name,
            order=self.cat.category.order,
            title=self.common.form.title,
            subtitle=self.common.form.subtitle,
            template_version=self.common.form.template_version,
            years=self.years,
            created=self.common.form.created,
            sheets=tuple(sheets),
            fields=self.fields,
            families=self.families,
            rules=tuple(rules),
            enterprise_list=enterprise_list,
            fingerprint=self.fingerprint,
            rules_dir=str(self.paths["common"].parent),
            evaluation=self.evaluation({b.id: b for s in sheets for b in s.blocks}, enterprise_list),
            texts=dict(self.texts),
            roles=self.roles(),
            summary=self.summary(),
        )

    def block(self, b: BlockSpec, sheet: str, which: str, path: str) -> Block:
        families = []
        for fi, f in enumerate(b.fields):
            fpath = f"{path}.fields[{fi}]"
            self.add_family(f, b, sheet, which, fpath)
            families.append(f.id)
        paragraphs = tuple(
            TextParagraph(text=self.text(p.text, which, f"{path}.paragraphs[{i}].text"), style=p.style)
            for i, p in enumerate(b.paragraphs)
        )
        return Block(
            id=b.id, kind=b.kind, title=self.text(b.title, which, f"{path}.title"),
            intro=self.text(b.intro, which, f"{path}.intro"), outro=self.text(b.outro, which, f"{path}.outro"),
            footnote=_plain(Footnote, b.footnote), paragraphs=paragraphs, families=tuple(families), count=b.count,
            number_label=b.number_label,
        )

    def add_family(self, f: FieldSpec, b: BlockSpec, sheet: str, which: str, path: str) -> None:
        if f.id in self.families:
            self.fail(which, f"{path}.id", f"字段编号“{f.id}”重复")
        if f.formula_by_year and b.kind != "years":
            self.fail(which, f"{path}.formula_by_year", "formula_by_year 只用于年度表（kind: years）")
        if f.formula_by_year and set(f.formula_by_year) - set(self.years):
            self.fail(which, f"{path}.formula_by_year", f"年份应为 {list(self.years)} 之一")
        common = dict(
            family=f.id, label=f.label, type=f.type, sheet=sheet, block=b.id, unit=f.unit, required=f.required,
            source=f.source, choices=tuple(f.choices) if f.choices else None,
            choices_from=tuple(f.choices_from) if f.choices_from else None, format=f.format, range=f.range,
            plausible=f.plausible, tolerance=f.tolerance,
            plausible_hints=tuple((f.plausible_hints or {}).items()), traps=tuple(_plain(Trap, t) for t in f.traps), part_of=f.part_of,
            footnote=_plain(Footnote, f.footnote),
            hint=self.text(f.hint, which, f"{path}.hint"), max_chars=f.max_chars,
            headings=tuple(f.headings) if f.headings else None, decimals=f.decimals, aggregate=f.aggregate,
        )
        concrete: list[Field] = []
        if b.kind == "years":
            for y in self.years:
                formula = (f.formula_by_year or {}).get(y, f.formula)
                concrete.append(Field(id=f"{f.id}_{y}", year=y, formula=self.formula(formula, y=y), **common))
        elif b.kind == "repeat":
            for i in range(1, b.count + 1):
                # In a repeated block, `required` applies to the first min_rows rows only.
                row = dict(common, required=f.required and i <= b.min_rows)
                concrete.append(Field(id=f"{f.id}_{i}", index=i, formula=self.formula(f.formula, i=i), **row))
        else:
            concrete.append(Field(id=f.id, formula=self.formula(f.formula), **common))
        for c in concrete:
            if c.id in self.fields:
                self.fail(which, f"{path}.id", f"字段编号“{c.id}”与其他字段重复")
            self.fields[c.id] = c
        self.families[f.id] = tuple(c.id for c in concrete)
        self.family_origin[f.id] = (which, path)

    @staticmethod
    def formula(text: str | None, y: int | None = None, i: int | None = None):
        if text is None:
            return None
        return text.replace("{year}", str(y)) if y is not None else text.replace("{index}", str(i or ""))

    def check_fields(self) -> None:
        names = set(self.fields)
        parsed: dict[str, expr_mod.Expr] = {}
        for fid, f in list(self.fields.items()):
            which, path = self.family_origin[f.family]
            if f.formula is not None:
                try:
                    e = expr_mod.parse(f.formula, allowed_names=names)  # type: ignore[arg-type]
                except expr_mod.ExprError as exc:
                    self.fail(which, f"{path}.formula", str(exc))
                parsed[fid] = e
                self.fields[fid] = _replace(f, formula=e)
            if f.part_of is not None:
                fam = self.families.get(f.part_of)
                if fam is None or not any(f2 in parsed or self.fields[f2].formula for f2 in fam):
                    self.fail(which, f"{path}.part_of", f"part_of 应指向本表中的计算字段，“{f.part_of}”不是")
            if f.choices_from:
                unknown = [c for c in f.choices_from if c not in names]
                if unknown:
                    self.fail(which, f"{path}.choices_from", f"引用了不存在的字段：{'、'.join(unknown)}")
        # Formulas may refer to other computed fields, but never in a circle.
        state: dict[str, int] = {}

        def visit(fid: str, trail: list[str]):
            if state.get(fid) == 2:
                return
            if state.get(fid) == 1:
                which, path = self.family_origin[self.fields[fid].family]
                self.fail(which, f"{path}.formula", f"计算公式循环引用：{' → '.join(trail + [fid])}")
            state[fid] = 1
            if fid in parsed:
                for n in parsed[fid].names:
                    visit(n, trail + [fid])
            state[fid] = 2

        for fid in parsed:
            visit(fid, [])

    def enterprise_list(self) -> EnterpriseList:
        spec: EnterpriseListSpec = self.common.enterprise_list
        cats = [("common", f"enterprise_list.categories[{i}]", c) for i, c in enumerate(spec.categories)]
        cats += [("cat", f"list_categories[{i}]", c) for i, c in enumerate(self.cat.list_categories)]
        seen: dict[str, str] = {}
        out = []
        for which, path, c in cats:
            if c.id in seen:
                self.fail(which, f"{path}.id", f"清单类别编号“{c.id}”重复")
            if c.label in seen.values():
                self.fail(which, f"{path}.label", f"清单类别名称“{c.label}”重复")
            seen[c.id] = c.label
            f = self.fields.get(c.count_field)
            if f is None or f.type != "integer":
                self.fail(which, f"{path}.count_field", f"count_field 应指向整数字段，“{c.count_field}”不是")
            out.append(ListCategory(c.id, c.label, c.count_field))
        for role in ("category", "name", "key"):
            having = [i for i, c in enumerate(spec.columns) if c.role == role]
            if len(having) > 1:
                self.fail("common", f"enterprise_list.columns[{having[1]}].role", f"只能有一列 role: {role}")
            if not having and role != "key":
                self.fail("common", "enterprise_list.columns", f"企业清单需要一列 role: {role}")
        for key in ("exclusive", "expected_subset"):
            for i, pair in enumerate(getattr(spec, key)):
                for cid in pair:
                    if cid not in seen:
                        self.fail("common", f"enterprise_list.{key}[{i}]", f"没有清单类别“{cid}”")
        return EnterpriseList(spec.sheet_title, self.text(spec.title, "common", "enterprise_list.title"),
                              spec.rows, tuple(_plain(ListColumn, c) for c in spec.columns), tuple(out), tuple(spec.exclusive),
                              tuple(spec.expected_subset))

    # -- what the code reads by role, the panel's sheet, the summary's charts (all in common.yaml)
    def known_field(self, fid: str, path: str) -> Field:
        if fid not in self.fields:
            self.fail("common", path, f"没有编号为“{fid}”的字段")
        return self.fields[fid]

    def roles(self) -> dict[str, str]:
        out = {}
        for role, fid in self.common.roles.model_dump().items():
            f = self.known_field(fid, f"roles.{role}")
            want = ROLE_TYPES.get(role, TEXT_TYPES)
            if f.type not in want:
                self.fail("common", f"roles.{role}", f"“{fid}”是 {f.type} 字段，{role} 应为 {' / '.join(want)} 字段")
            out[role] = fid
        return out

    def evaluation(self, blocks: dict[str, Block], enterprise_list: EnterpriseList) -> Evaluation:
        spec = self.common.evaluation
        for key in ("identifying", "region"):
            for i, fid in enumerate(getattr(spec, key)):
                self.known_field(fid, f"evaluation.{key}[{i}]")
        columns = {c.id: c for c in enterprise_list.columns}
        for i, cid in enumerate(spec.list_identifying):
            if cid not in columns:
                self.fail("common", f"evaluation.list_identifying[{i}]", f"企业清单没有编号为“{cid}”的列")
            if columns[cid].role == "category":
                self.fail("common", f"evaluation.list_identifying[{i}]", "企业类别列不能隐去（隐去后按类别统计企业数量）")
        sections = tuple(self.section(sec, f"evaluation.sections[{i}]", blocks) for i, sec in enumerate(spec.sections))
        return Evaluation(self.text(spec.title, "common", "evaluation.title"),
                          self.text(spec.instructions, "common", "evaluation.instructions"),
                          tuple(_plain(Criterion, c) for c in spec.criteria), tuple(spec.identifying), sections,
                          tuple(spec.region), tuple(spec.list_identifying))

    def section(self, sec: EvaluationSectionSpec, path: str, blocks: dict[str, Block]) -> EvaluationSection:
        rows, ids, show = (), (), sec.show
        if sec.show == "rows":
            rows = tuple(self.evaluation_row(r, f"{path}.rows[{i}]", blocks) for i, r in enumerate(sec.rows))
        elif sec.show == "text":
            self.known_field(sec.field, f"{path}.field")
        elif sec.show == "category_blocks":  # the blocks this category's file adds, in the form's order
            own = {b.id for b in self.cat.blocks}
            ids, show = tuple(bid for bid, b in blocks.items() if bid in own and b.kind in ("fields", "repeat")), "blocks"
        elif sec.show in ("blocks", "years"):
            for j, bid in enumerate(sec.blocks):
                if bid not in blocks:
                    self.fail("common", f"{path}.blocks[{j}]", f"没有编号为“{bid}”的块；可用：{'、'.join(blocks)}")
                if sec.show == "years" and blocks[bid].kind != "years":
                    self.fail("common", f"{path}.blocks[{j}]", "show: years 只能列出年度块（kind: years）")
            ids = tuple(sec.blocks) or tuple(bid for bid, b in blocks.items() if b.kind == "years")
        first = blocks[ids[0]].title if ids else None
        title = self.text(sec.title, "common", f"{path}.title", block_title=first or self.cat.category.name)
        return EvaluationSection(title, show, rows=rows, blocks=ids, field=sec.field)

    def evaluation_row(self, r: EvaluationRowSpec, path: str, blocks: dict[str, Block]) -> EvaluationRow:
        label = self.text(r.label, "common", f"{path}.label")
        if r.field is not None:
            return EvaluationRow(label or self.known_field(r.field, f"{path}.field").label, field=r.field)
        b = blocks.get(r.block)
        if b is None or b.kind != "repeat":
            self.fail("common", f"{path}.block", f"“{r.block}”不是重复块（kind: repeat）的编号")
        try:
            names = [n for _, n, _, _ in string.Formatter().parse(r.format) if n]
        except ValueError:
            self.fail("common", f"{path}.format", "文字中的花括号不成对")
        unknown = [n for n in names if n not in b.families]
        if unknown:
            self.fail("common", f"{path}.format", f"{{{'}、{'.join(unknown)}}} 不是块“{b.id}”的字段；可用：{'、'.join(b.families)}")
        return EvaluationRow(label or b.title or "", families=b.families, format=r.format, join=r.join)

    def summary(self) -> Summary:
        charts = []
        for i, c in enumerate(self.common.summary.charts):
            path = f"summary.charts[{i}]"
            if c.family not in self.families:
                self.fail("common", f"{path}.family", f"没有编号为“{c.family}”的字段")
            members = [self.fields[fid] for fid in self.families[c.family]]
            if not members[0].is_numeric or members[0].index is not None:
                self.fail("common", f"{path}.family", "图表只能用于数字字段或年度数字字段")
            if members[0].year is None and c.year is not None:
                self.fail("common", f"{path}.year", "year 只用于年度字段（kind: years 块中的字段）")
            year = self.years[0] if c.year is None else c.year
            f = next((m for m in members if m.year in (None, year)), None)
            if f is None:
                self.fail("common", f"{path}.year", f"年份应为 {list(self.years)} 之一")
            charts.append(Chart(f.id, self.text(c.title, "common", f"{path}.title") or f.display_label))
        return Summary(tuple(charts))

    # -- rules
    def rules(self, enterprise_list: EnterpriseList) -> list[Rule]:
        located = [("common", f"rules[{i}]", r) for i, r in enumerate(self.common.rules)]
        located += [("cat", f"rules[{i}]", r) for i, r in enumerate(self.cat.rules)]
        out: list[Rule] = []
        ids: set[str] = set()
        names = set(self.fields)
        categories = {c.id for c in enterprise_list.categories}
        for which, path, r in located:
            if r.id in ids:
                self.fail(which, f"{path}.id", f"规则编号“{r.id}”重复")
            ids.add(r.id)
            for bindings in self.expand(r):
                sub = dict(bindings)
                try:
                    check = expr_mod.parse(_subst(r.check, sub), allowed_names=names)
                except expr_mod.ExprError as exc:
                    self.fail(which, f"{path}.check", str(exc))
                except KeyError as exc:
                    self.fail(which, f"{path}.check", f"占位符 {{{exc.args[0]}}} 没有定义")
                unknown = [c for c in check.list_categories if c not in categories]
                if unknown:
                    self.fail(which, f"{path}.check", f"list_count 引用了不存在的清单类别：{'、'.join(unknown)}")
                try:
                    target = _subst(r.target, sub)
                except KeyError as exc:
                    self.fail(which, f"{path}.target", f"占位符 {{{exc.args[0]}}} 没有定义")
                if target not in names:
                    self.fail(which, f"{path}.target", f"target“{target}”不是字段编号")
                message = self.text(_subst(r.message, sub, strict=False), which, f"{path}.message")
                out.append(Rule(r.id, r.severity, check, target, message, tuple(bindings),
                                f"{self.paths[which].name}: {path}"))
        # Footnote 5: every list category must match the count the park entered.
        for c in enterprise_list.categories:
            out.append(Rule(
                "list_count_matches", "error",
                expr_mod.parse(f'{c.count_field} == list_count("{c.id}")'),
                c.count_field,
                f"“企业清单”中{c.label}的数量与填写的数量不一致。",
                (("category", c.id),),
                f"{self.paths['common'].name}: enterprise_list",
            ))
        return out

    def expand(self, r: RuleSpec) -> list[list[tuple[str, Any]]]:
        if r.per_year:
            uses_prev = "{prev_year}" in r.check or "{prev_year}" in r.target
            out = []
            for i, y in enumerate(self.years):
                if uses_prev:
                    if i + 1 >= len(self.years):
                        continue
                    out.append([("year", y), ("prev_year", self.years[i + 1])])
                else:
                    out.append([("year", y)])
            return out
        if r.for_each:
            (name, values), = r.for_each.items()
            return [[(name, v)] for v in values]
        return [[]]

    # -- 情况说明: one per row whose values have a plausibility rule
    def add_notes(self, rules: list[Rule]) -> None:
        explained: dict[str, None] = {}
        for f in self.fields.values():
            if f.plausible is not None or f.max_chars is not None:
                explained.setdefault(f.family, None)
        for r in rules:
            if r.severity == "warning":
                explained.setdefault(self.fields[r.target].family, None)
        for family in explained:
            members = self.families[family]
            first = self.fields[members[0]]
            note_id = f"{family}_note"
            if note_id in self.fields:
                which, path = self.family_origin[family]
                self.fail(which, f"{path}.id", f"字段编号“{note_id}”与自动生成的情况说明字段重复")
            self.fields[note_id] = Field(
                id=note_id, family=note_id, label="情况说明", type="longtext", sheet=first.sheet, block=first.block,
                source="added", explains=family,
                hint=f"{first.label}超出常见范围或与其他数据不够协调时，请说明具体原因。",
            )
            self.families[note_id] = (note_id,)
            for m in members:
                self.fields[m] = _replace(self.fields[m], note_field=note_id)


def _subst(text: str, bindings: dict[str, Any], strict: bool = True) -> str:
    out = text
    for k, v in bindings.items():
        out = out.replace("{" + k + "}", str(v))
    left = re.search(r"\{([a-z_]+)\}", out)
    if strict and left:
        raise KeyError(left.group(1))
    return out


def _replace(f: Field, **changes) -> Field:
    from dataclasses import replace

    return replace(f, **changes)
