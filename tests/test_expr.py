import math

import numpy as np
import pandas as pd
import pytest

from consolidator.expr import ExprError, parse


def frame(**cols):
    return pd.DataFrame(cols)


def test_names_and_guard_leave_out_functions_and_empty_aware_arguments():
    e = parse("count_filled(a, b) >= 1 and one_of(x, c, d) and y / (z * 15) > 0")
    assert e.names == ["a", "b", "x", "c", "d", "y", "z"]
    assert e.guard_names == ["x", "y", "z"]


@pytest.mark.parametrize("text, fragment", [
    ("a <", "语法错误"),
    ("a < b < c", "每次只能比较两个值"),
    ("__import__('os')", "不支持的函数"),
    ("a ** 2", "不支持的写法"),
    ("a.b", "不支持的写法"),
    ("list_count(a)", "带引号的清单类别编号"),
    ("abs(a, b)", "参数个数不对"),
    ("True", "只能使用数字或带引号的文字常量"),
])
def test_invalid_expressions_are_rejected_in_chinese(text, fragment):
    with pytest.raises(ExprError, match=fragment):
        parse(text)


def test_unknown_field_is_named():
    with pytest.raises(ExprError, match="不存在的字段：nope"):
        parse("revenue <= nope", allowed_names={"revenue"})


def test_value_is_guarded_against_missing_parts_and_zero_divisors():
    e = parse("a / b * 100")
    df = frame(a=[1.0, 1.0, np.nan, 3.0], b=[4.0, 0.0, 2.0, np.nan])
    got = e.value(df).tolist()
    assert got[0] == 25.0
    assert all(math.isnan(x) for x in got[1:])


def test_violations_only_where_guard_holds():
    e = parse("lead <= total")
    df = frame(lead=[5.0, 11.0, 11.0, np.nan], total=[10.0, 10.0, np.nan, 10.0])
    assert e.violations(df).tolist() == [False, True, False, False]


def test_one_of_compares_trimmed_text_and_ignores_empty_options():
    e = parse("one_of(focus, a, b, c)")
    df = frame(focus=["集成电路 ", "光伏", "", None], a=["集成电路", "集成电路", "", None],
               b=["", "", "", None], c=[None, None, None, None])
    assert e.violations(df).tolist() == [False, True, False, False]


def test_filled_counts_text_and_numbers():
    e = parse("count_filled(a, b, c) >= 2")
    df = frame(a=["x", " ", None], b=[1.0, np.nan, 2.0], c=[None, None, "y"])
    assert e.evaluate(df).tolist() == [True, False, True]


def test_list_count_reads_its_column():
    e = parse('n == list_count("listed")')
    df = frame(n=[2.0, 3.0], list_count__listed=[2, 1])
    assert e.violations(df).tolist() == [False, True]


def test_excel_formulas_nest_divisor_tests_inside_the_filled_test():
    # Excel's AND() evaluates every argument: a divisor test beside the filled test would be #VALUE!
    e = parse("t / (d * 15)")
    formula = e.excel_value_formula(lambda n: f"fld_{n}", lambda n: False)
    assert formula == ('=IF(AND(ISNUMBER(fld_t),ISNUMBER(fld_d)),'
                       'IF((fld_d*15)<>0,(fld_t/(fld_d*15)),""),"")')


def test_excel_violation_of_text_rule():
    e = parse('accepted == "是"')
    squeezed = ('SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(ACCEPTED,CHAR(9)," "),CHAR(10)," "),'
                'CHAR(13)," "),"\u3000"," "),"\u00a0"," ")')
    # filled when not blank; text compared as expr.text.text_key compares it (the constant's key made in Python)
    assert e.excel_violation_formula(lambda n: n.upper(), lambda n: True) == \
        f'IF(NOT(LEN(TRIM({squeezed}))=0),NOT(EXACT(LOWER(TRIM({squeezed})),"是")),FALSE)'


def test_excel_string_constants_escape_quotes():
    e = parse("a == 'x\"y'")
    assert '"x""y"' in e.to_excel(lambda n: n, lambda n: True)


def test_a_constant_divisor_and_missing_values_of_any_kind():
    e = parse("a / 4 + a / (b * 2)")
    df = frame(a=[8.0, 8.0, np.nan], b=[1.0, 0.0, 1.0])
    got = e.value(df).tolist()
    assert got[0] == 6.0 and math.isnan(got[1]) and math.isnan(got[2])
    assert parse("a / 0 > 1").guard(frame(a=[1.0])).tolist() == [False]
    texts = pd.DataFrame({"t": pd.array(["x", None, pd.NA, np.nan], dtype=object)})
    assert parse("filled(t)").evaluate(texts).tolist() == [True, False, False, False]
