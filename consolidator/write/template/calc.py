"""The helper cells of the in-sheet checks, on the very hidden sheet _calc: every cell read as the checker
reads it, so that the 校验提示 and the colours agree with `check`.

One row per field, its cells filled left to right by formulas over the field's cell (`fld_<id>`); what the
checks use has a defined name:

  num_<id>   a number or date as read/normalize.py reads it: "1,709.6", "１２３", "约100", "12.5亿元" (in a
             亿元 cell) are numbers, "—", "无", "/" are nothing ("" when empty or unreadable);
  st_<id>    0 empty, 1 read, 2 not a number / date / choice, 3 not a whole number;
  txt_<id>   a text as read ("" for "—", "无" and the like; a choice as its option, "" when it is none);
  calc_<id>  a computed indicator recomputed from its parts (check/derive.py), eff_<id> the value the
             checker judges: the recomputed one, or what the cell holds where the parts are missing;
  fmt_<id>   the phone number or e-mail address is well formed (rules/formats.py), or empty;
  ok_<id>    a 情况说明 gives a reason (check/explain.py: "核实无误" and the like are none);
  started_<sheet id>  something has been typed on the sheet (only then do empty required cells show).

The data of the checker's rules is taken from the checker's own modules (the empty markers, approximate
prefixes and unit factors of read/normalize.py, the phrases of check/explain.py, the numbering plan of
phonenumbers as rules/formats.py uses it), so the two cannot drift apart silently.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from pathlib import Path

from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName

from ...check.explain import MIN_REASON_CHARS, NON_EXPLANATION_GROUPS
from ...expr.excel import number_literal, string_literal
from ...expr.text import WHITESPACE
from ...read.normalize import APPROX_PREFIXES, COUNT_UNITS, EMPTY_MARKERS, UNIT_FACTORS
from ...rules import Field
from ...rules.load import cache_dir
from ..files import atomic_write_bytes
from .common import Build, field_name

CALC_SHEET = "_calc"
MAX_CHARS = 40  # the characters of a number, phone number or address the checks look at one by one
EXPLAIN_ROUNDS = 8  # how often "核实无误" may repeat before a text counts as a reason anyway
TABLE_COL = 80  # the column of the phone numbering table
_FULL = {chr(0xFF10 + i): str(i) for i in range(10)} | {"．": ".", "，": ",", "－": "-", "＋": "+", "％": "%",
                                                        "ｅ": "e", "Ｅ": "E", "＠": "@", "／": "/"}
# what the explanation rule drops before it counts (check/explain.py: white space and everything not a
# letter or digit): the punctuation parks type
_PUNCT = ("，。、；：？！“”‘’（）《》〈〉【】〔〕「」『』—…·～￥％＃＠＆＊＋－＝／＼｜＿．！？,.;:!?()[]{}<>\"'`~@#$%^&*+=/\\|_-")


def seq(n: int, start: int = 1) -> str:
    """The array constant {start, ..., start + n - 1}."""
    return "{" + ",".join(str(i) for i in range(start, start + n)) + "}"


def subst(ref: str, pairs) -> str:
    out = ref
    for a, b in pairs:
        out = f"SUBSTITUTE({out},{string_literal(a)},{string_literal(b)})"
    return out


def no_space(ref: str) -> str:
    """`ref` with every white-space character (expr/text.py's WHITESPACE) removed."""
    assert set(WHITESPACE) == set(" \t\n\r\u3000\u00a0")
    out = ref
    for code in (9, 10, 13):
        out = f'SUBSTITUTE({out},CHAR({code}),"")'
    return subst(out, [(" ", ""), ("\u3000", ""), ("\u00a0", "")])


def only(ref: str, allowed: str, n: int = MAX_CHARS) -> str:
    """TRUE when every character of `ref` (at most n) is one of `allowed`."""
    each = f"MID({ref},{seq(n)},1)"  # (LibreOffice's FIND finds no empty text, Excel's finds it at 1)
    return f'AND(LEN({ref})<={n},SUMPRODUCT(({each}<>"")*ISERROR(FIND({each},{string_literal(allowed)})))=0)'


def count(ref: str, ch: str) -> str:
    return f"(LEN({ref})-LEN(SUBSTITUTE({ref},{string_literal(ch)},\"\")))"


def one_of(ref: str, options) -> str:
    return f"SUMPRODUCT(--({ref}={{{','.join(string_literal(o) for o in options)}}}))>0"


_TEXT = 'IFERROR({raw}&"","#N/A")'  # the cell as text (an error value as its name)
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Calc:
    """The _calc sheet being written: a row per field, a column per step."""

    def __init__(self, b: Build):
        self.b = b
        self.ws = b.wb.create_sheet(CALC_SHEET)
        self.ws.sheet_state = "veryHidden"
        self.ws.protection.sheet = True
        self.row = 0

    def add(self, fid: str, steps: list[tuple[str, str]], names: dict[str, str]) -> dict[str, str]:
        """A row of steps (key, formula with {key} for an earlier step of the row and {raw} for the
        field's cell); `names` gives a defined name to steps (name -> key). Returns key -> reference."""
        self.row += 1
        r = self.row
        self.ws.cell(row=r, column=1, value=fid)
        refs = {"raw": field_name(fid.split("#")[0])}
        for i, (key, formula) in enumerate(steps, start=2):
            for k, ref in refs.items():  # (str.format would take the array constants {1,2,...} for fields)
                formula = formula.replace("{" + k + "}", ref)
            refs[key] = f"${get_column_letter(i)}${r}"
            self.ws.cell(row=r, column=i, value="=" + formula)
        for name, key in names.items():
            self.name(name, refs[key])
        return refs

    def name(self, name: str, ref: str) -> None:
        self.b.wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(CALC_SHEET)}!{ref}")


def helper(b: Build, name: str, formula: str) -> str:
    """A helper cell of its own on _calc, under a defined name (for a check whose formula would be too long)."""
    b.calc.add(name, [("v", formula)], {name: "v"})
    return name


def build_calc(b: Build) -> None:
    """Every field's helper row, the phone numbering table and each sheet's started flag."""
    calc = b.calc = Calc(b)
    phone_table(calc)
    for f in b.form.fields.values():
        if f.is_numeric:
            number_row(calc, f)
        elif f.type == "date":
            date_row(calc, f)
        else:
            text_row(calc, f)
    for f in b.form.fields.values():
        if f.is_derived and f.is_numeric:
            derived_row(calc, f)
        if f.explains:
            explanation_row(calc, f)
    for sheet in b.form.sheets:
        inputs = [field_name(f.id) for f in b.form.fields.values() if f.sheet == sheet.id and b.is_input(f)]
        started = f"COUNTA({','.join(inputs)})>0" if inputs else "FALSE"
        calc.add(f"started_{sheet.id}", [("v", started)], {f"started_{sheet.id}": "v"})
    required = [f"st_{f.id}<>0" for f in b.form.fields.values() if f.required and b.is_input(f)]
    calc.add("complete", [("v", f"AND({','.join(required)})" if required else "TRUE")], {"complete": "v"})


# ---- numbers -----------------------------------------------------------------------------------------
def _marker(ref: str) -> str:
    """The text is one of read/normalize.py's words for nothing ("—", "无", "/", "不适用" ...)."""
    return one_of(f"LOWER({ref})", sorted(EMPTY_MARKERS))


def _units(f: Field) -> tuple[list[tuple[str, float]], bool]:
    """The unit words the checker takes off a number in this cell, each with its factor (the converting
    ones first, longest first), and whether a "%" is taken off (in a % cell; elsewhere it makes the text
    no number)."""
    unit = f.unit or ""
    if unit == "%":
        return [("%", 1.0)], True
    words = [(w, k) for (w, cell_unit), k in sorted(UNIT_FACTORS.items(), key=lambda kv: -len(kv[0][0]))
             if cell_unit == unit]
    if not words and unit and unit != "无":
        words = [(unit, 1.0)]
    if f.type == "integer":
        words += [(u, 1.0) for u in COUNT_UNITS if u not in dict(words)]
    return words, False


def _thousands(s: str) -> str:
    """TRUE when `s` is written with thousands separators ("1,234,567.5"), as read/normalize.py's
    _THOUSANDS: digits in groups of three, one to three before the first comma, digits after a point."""
    body = f'IF(OR(LEFT({s},1)="+",LEFT({s},1)="-"),MID({s},2,99),{s})'
    whole = f'IFERROR(LEFT({body},FIND(".",{body})-1),{body})'
    frac = f'IFERROR(MID({body},FIND(".",{body})+1,99),"0")'
    commas = count(whole, ",")
    return (f'AND({commas}>0,{only(whole, DIGITS + ",", 30)},'
            f'SUMPRODUCT((MID({whole},{seq(30)},1)=",")*(MOD(LEN({whole})-{seq(30)},4)<>3))=0,'
            f'LEN({whole})-4*{commas}>=1,LEN({whole})-4*{commas}<=3,LEN({frac})>0,{only(frac, DIGITS, 30)})')


def _number_syntax(t: str) -> str:
    """TRUE when `t` is a number as read/normalize.py's _NUMBER reads one: [+-]digits[.digits][e[+-]digits]."""
    n = MAX_CHARS
    epos = f'IFERROR(SEARCH("e",{t}),LEN({t})+1)'
    mant = f"LEFT({t},{epos}-1)"
    exp = f"MID({t},{epos}+1,99)"
    exp_body = f'IF(OR(LEFT({exp},1)="+",LEFT({exp},1)="-"),MID({exp},2,99),{exp})'
    signs = (f'SUMPRODUCT(ISNUMBER(FIND(MID({t},{seq(n - 1, 2)},1),"+-"))*(MID({t},{seq(n - 1, 2)},1)<>"")'
             f'*ISERROR(FIND(MID({t},{seq(n - 1)},1),"eE")))=0')
    digit = f'SUMPRODUCT(ISNUMBER(FIND(MID({mant},{seq(n)},1),"0123456789"))*(MID({mant},{seq(n)},1)<>""))>0'
    return (f'AND(LEN({t})>0,{only(t, DIGITS + ".+-eE")},{signs},{count(t, ".")}<=1,'
            f'{count(f"LOWER({t})", "e")}<=1,ISERROR(FIND(".",{exp})),{digit},'
            f'OR({epos}>LEN({t}),LEN({exp_body})>0))')


def number_row(calc: Calc, f: Field) -> None:
    """num_ and st_ of a number cell, step by step as read/normalize.py's _number: full-width folded and
    white space dropped, "—" and the like are nothing, an approximate prefix ("约") and a unit taken off
    (converted: 万元 in a 亿元 cell), thousands separators dropped, then a plain number or nothing."""
    words, percent = _units(f)
    approx = "{t0}"
    for p in reversed(APPROX_PREFIXES):
        approx = (f'IF(AND(LEFT({{t0}},{len(p)})={string_literal(p)},LEN({{t0}})>{len(p)}),'
                  f'MID({{t0}},{len(p) + 1},99),{approx})')
    strip, factor = "{t1}", "1"
    for w, k in reversed(words):
        strip = f'IF(RIGHT({{t1}},{len(w)})={string_literal(w)},LEFT({{t1}},LEN({{t1}})-{len(w)}),{strip})'
        factor = f'IF(RIGHT({{t1}},{len(w)})={string_literal(w)},{number_literal(k)},{factor})'
    bad_percent = "FALSE" if percent else 'RIGHT({t1},1)="%"'
    whole = "{value}=INT({value})" if f.type == "integer" else "TRUE"
    steps = [
        ("t0", f'IF(ISNUMBER({{raw}}),"",{no_space(subst(_TEXT, _FULL.items()))})'),
        ("empty", f'AND(NOT(ISNUMBER({{raw}})),{_marker("{t0}")})'),
        ("t1", approx),
        ("t2", strip),
        ("factor", factor),
        ("t3", f'IF({_thousands("{t2}")},SUBSTITUTE({{t2}},",",""),{{t2}})'),
        ("ok", f'IF(ISNUMBER({{raw}}),TRUE,AND(NOT({bad_percent}),{_number_syntax("{t3}")},'
               f'IFERROR(ABS(VALUE({{t3}}))<1E+308,FALSE)))'),  # (1e999 is no number: not finite)
        ("value", 'IF(ISNUMBER({raw}),{raw},IF({ok},VALUE({t3})*{factor},""))'),
        ("st", f'IF({{empty}},0,IF(NOT({{ok}}),2,IF({whole},1,3)))'),
        ("num", 'IF({st}=1,{value},"")'),
    ]
    calc.add(f.id, steps, {f"num_{f.id}": "num", f"st_{f.id}": "st"})


def date_row(calc: Calc, f: Field) -> None:
    """num_ and st_ of a date cell: a date, or a text such as 2026年11月30日 / 2026-11-30 (read/normalize.py)."""
    t = "{t}"
    dash = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(IF(RIGHT({t},1)="日",LEFT({t},LEN({t})-1),{t}),"年","-"),"月","-"),"/","-"),".","-")'
    steps = [
        ("t", f'IF(ISNUMBER({{raw}}),"",{no_space(subst(_TEXT, _FULL.items()))})'),
        ("empty", f'AND(NOT(ISNUMBER({{raw}})),{_marker("{t}")})'),
        ("u", dash),
        ("rest", 'MID({u},6,99)'),
        ("ok", f'IFERROR(AND(LEN({{u}})>=8,MID({{u}},5,1)="-",{count("{u}", "-")}=2,{only(subst("{u}", [("-", "")]), DIGITS)},'
               f'ISNUMBER(FIND("-",{{rest}})),FIND("-",{{rest}})>=2,FIND("-",{{rest}})<=3,'
               f'LEN({{rest}})-FIND("-",{{rest}})>=1,LEN({{rest}})-FIND("-",{{rest}})<=2),FALSE)'),
        ("date", 'IF(ISNUMBER({raw}),INT({raw}),IF({ok},IFERROR(DATE(VALUE(LEFT({u},4)),VALUE(LEFT({rest},FIND("-",{rest})-1)),'
                 'VALUE(MID({rest},FIND("-",{rest})+1,2))),""),""))'),
        ("valid", 'IF(ISNUMBER({raw}),TRUE,IF(ISNUMBER({date}),AND(MONTH({date})=VALUE(LEFT({rest},FIND("-",{rest})-1)),'
                  'DAY({date})=VALUE(MID({rest},FIND("-",{rest})+1,2))),FALSE))'),
        ("st", 'IF({empty},0,IF({valid},1,2))'),
        ("num", 'IF({st}=1,{date},"")'),
    ]
    calc.add(f.id, steps, {f"num_{f.id}": "num", f"st_{f.id}": "st"})


def derived_row(calc: Calc, f: Field) -> None:
    """calc_ (the footnote formula over the parts as read) and eff_ (what the checker judges)."""
    formula = f.formula.excel_value_formula(calc.b.ref_calc, calc.b.is_text, calc.b.list_count)[1:]
    calc.add(f"{f.id}#derived", [("calc", formula), ("eff", f'IF(ISNUMBER({{calc}}),{{calc}},num_{f.id})')],
             {f"calc_{f.id}": "calc", f"eff_{f.id}": "eff"})


# ---- texts ------------------------------------------------------------------------------------------
def text_row(calc: Calc, f: Field) -> None:
    """txt_ and st_ of a text or choice cell (read/normalize.py's _text), and fmt_ of a phone or e-mail."""
    raw = _TEXT
    blank = f"LEN(TRIM({no_space_to_space(raw)}))=0"
    if f.type == "longtext":
        steps = [("txt", f'IF({blank},"",{raw})'), ("st", 'IF({txt}="",0,1)')]
    else:
        key = f"LOWER(TRIM({no_space_to_space(raw)}))"
        steps = [("empty", f"OR({blank},{one_of(key, sorted(EMPTY_MARKERS))})")]
        if f.type == "choice" and f.choices:
            folded = f'LOWER({subst(no_space(raw), _FULL.items())})'
            pick = '""'
            for c in reversed(f.choices):
                pick = f"IF({{folded}}={string_literal(_fold(c))},{string_literal(c)},{pick})"
            steps += [("folded", folded), ("txt", f'IF({{empty}},"",{pick})'),
                      ("st", 'IF({empty},0,IF({txt}="",2,1))')]
        else:
            steps += [("txt", f'IF({{empty}},"",{raw})'), ("st", 'IF({txt}="",0,1)')]
    names = {f"txt_{f.id}": "txt", f"st_{f.id}": "st"}
    if f.format == "phone":
        steps += _phone_steps()
        names[f"fmt_{f.id}"] = "fmt"
    elif f.format == "email":
        steps += _email_steps()
        names[f"fmt_{f.id}"] = "fmt"
    calc.add(f.id, steps, names)


def no_space_to_space(ref: str) -> str:
    out = ref
    for code in (9, 10, 13):
        out = f'SUBSTITUTE({out},CHAR({code})," ")'
    return subst(out, [("\u3000", " "), ("\u00a0", " ")])


def _fold(choice: str) -> str:
    return unicodedata.normalize("NFKC", choice).replace(" ", "").casefold()


def _phone_steps() -> list[tuple[str, str]]:
    """rules/formats.py's phone_ok: digits, "-" and "+" (7 to 20), an extension after 转; then valid in the
    national numbering plan, as phonenumbers says (the table: national number length and first digits)."""
    clean = subst(no_space("{txt}"), [*_FULL.items(), ("(", ""), (")", ""), ("（", ""), ("）", "")])
    valid = "ISNUMBER(MATCH(LEN({n})&\"|\"&LEFT({n},3),phone_plan,0))"
    return [
        ("p", clean),
        ("ext", 'IFERROR(MID({p},FIND("转",{p})+1,99),"")'),
        ("main", 'IFERROR(LEFT({p},FIND("转",{p})-1),{p})'),
        ("shape", f'AND(LEN({{main}})>=7,LEN({{main}})<=20,{only("{main}", DIGITS + "+-")},'
                  f'OR(ISERROR(FIND("转",{{p}})),AND(LEN({{ext}})>=1,LEN({{ext}})<=6,{only("{ext}", DIGITS)})),'
                  f'ISERROR(FIND("+",MID({{main}},2,99))))'),
        ("d", 'SUBSTITUTE(SUBSTITUTE({main},"-",""),"+","")'),
        ("n86", 'IF(LEFT({d},2)="86",MID({d},3,99),"x")'),
        ("v86", valid.replace("{n}", '{n86}')),
        ("vd", valid.replace("{n}", 'IF(LEFT({d},1)="0",MID({d},2,99),{d})')),
        ("n", 'IF(LEFT({main},1)="+",IF(LEFT({d},2)="86",MID({d},3,99),"x"),IF(LEFT({d},4)="0086",MID({d},5,99),'
              'IF(AND({v86},NOT({vd})),{n86},{d})))'),
        ("n0", 'IF(LEFT({n},1)="0",MID({n},2,99),{n})'),
        ("fmt", f'OR({{txt}}="",AND({{shape}},{valid.replace("{n}", "{n0}")}))'),
    ]


def _email_steps() -> list[tuple[str, str]]:
    """rules/formats.py's email_ok: one @, a local part of letters, digits and ._%+-, a domain of labels
    of letters, digits and - separated by single dots, ending in two or more letters."""
    local, domain = LETTERS + DIGITS + "._%+-", LETTERS + DIGITS + ".-"
    return [
        ("e", f'TRIM({subst("{txt}", [("＠", "@"), ("．", ".")])})'),
        ("at", 'IFERROR(FIND("@",{e}),0)'),
        ("loc", 'IF({at}>0,LEFT({e},{at}-1),"")'),
        ("dom", 'IF({at}>0,MID({e},{at}+1,99),"")'),
        ("tld", 'IFERROR(MID({dom},FIND("|",SUBSTITUTE({dom},".","|",' + count("{dom}", ".") + '))+1,99),"")'),
        ("fmt", f'OR({{txt}}="",AND({count("{e}", "@")}=1,LEN({{loc}})>=1,{only("{loc}", local, 64)},'
                f'{only("{dom}", domain, 64)},ISNUMBER(FIND(".",{{dom}})),LEFT({{dom}},1)<>".",'
                f'ISERROR(FIND("..",{{dom}})),LEN({{tld}})>=2,{only("{tld}", LETTERS, 64)}))'),
    ]


@lru_cache(maxsize=1)
def phone_numbering() -> tuple[str, ...]:
    """"length|first three digits" of the national numbers phonenumbers takes as valid Chinese numbers
    (mobile 1xx, landlines with their area codes, 400/800). Probing takes ~0.7 s, a third of building the
    templates, and its answer changes only with phonenumbers and this file: it is kept in the cache folder of
    the compiled rules under both."""
    import phonenumbers

    try:
        source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    except OSError:  # no source to tell this probe from another: probed every time
        return _probe_numbering()
    return _kept("phone-numbering", f"phonenumbers {phonenumbers.__version__}, calc.py {source}", _probe_numbering)


def _probe_numbering() -> tuple[str, ...]:
    """phone_numbering probed: three endings a prefix, two of them valid."""
    import phonenumbers

    out = []
    for length in range(7, 13):
        for prefix in range(100, 1000):
            tails = [("2345678901" * 2)[:length - 3], ("8765432109" * 2)[:length - 3], ("5555555555" * 2)[:length - 3]]
            votes = 0
            for tail in tails:
                try:
                    votes += phonenumbers.is_valid_number(phonenumbers.parse(f"{prefix}{tail}", "CN"))
                except phonenumbers.NumberParseException:
                    pass
            if votes >= 2:
                out.append(f"{length}|{prefix}")
    return tuple(out)


def _kept(name: str, key: str, make) -> tuple[str, ...]:
    """make()'s lines, kept in the cache folder under key (the only file of `name` there): read back only whole
    and under the same key ("end <count>" last), written whole or not at all; a cache that cannot be read or
    written is passed over."""
    folder = cache_dir()
    if folder is None:
        return make()
    path = folder / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.txt"
    try:
        head, *lines, tail = path.read_text("utf-8").split("\n")
        if head == key and tail == f"end {len(lines)}":
            return tuple(lines)
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    lines = make()
    try:
        atomic_write_bytes(path, "\n".join([key, *lines, f"end {len(lines)}"]).encode("utf-8"), sync=False)
        for earlier in folder.glob(f"{name}-*.txt"):  # another version's
            if earlier != path:
                earlier.unlink()
    except OSError:
        pass
    return lines


def phone_table(calc: Calc) -> None:
    plan = phone_numbering()
    col = get_column_letter(TABLE_COL)
    for i, entry in enumerate(plan, start=1):
        calc.ws.cell(row=i, column=TABLE_COL, value=entry)
    calc.name("phone_plan", f"${col}$1:${col}${len(plan)}")


# ---- 情况说明 -----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def explanation_rule() -> tuple[tuple[tuple[str, ...], ...], int]:
    """check/explain.py's rule as data: the groups of words that say only "the data is right" (a text is
    stripped of them from its start, group by group, again and again) and how many characters must be left."""
    for g in NON_EXPLANATION_GROUPS:  # the emitted test takes the one word that matches: no word may start another
        if any(a != b and b.startswith(a) for a in g for b in g):
            raise ValueError(f"check/explain.py: in the group {g} one word starts another")
    return NON_EXPLANATION_GROUPS, MIN_REASON_CHARS


def explanation_row(calc: Calc, f: Field) -> None:
    """ok_ of a 情况说明: its text without white space and punctuation, stripped of the words that say
    only "verified" (as check/explain.py's loop), must keep enough characters."""
    groups, least = explanation_rule()
    raw = _TEXT
    half = len(_PUNCT) // 2
    steps = [("c0", no_space(raw)), ("c1", subst("{c0}", [(ch, "") for ch in _PUNCT[:half]])),
             ("s0", subst("{c1}", [(ch, "") for ch in _PUNCT[half:]]))]
    k = 0
    for _ in range(EXPLAIN_ROUNDS):
        for g in groups:
            lens = "{" + ",".join(str(len(w)) for w in g) + "}"
            words = "{" + ",".join(string_literal(w) for w in g) + "}"
            prev = f"{{s{k}}}"
            steps.append((f"s{k + 1}", f"MID({prev},1+SUMPRODUCT((LEFT({prev},{lens})={words})*{lens}),999)"))
            k += 1
    steps.append(("ok", f"LEN({{s{k}}})>={least}"))
    calc.add(f.id, steps, {f"ok_{f.id}": "ok"})
