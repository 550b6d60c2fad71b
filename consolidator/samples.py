"""Realistic returns made from the templates, for the sample data, the tests and the benchmark.

`clean_return` gives the values a careful park would enter: every rule of the form holds, the
numbers lie in the plausible ranges of DOMAIN.md, and the enterprise lists match the counts. Tests
and the sample-data script then plant problems on top of it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from .rules import Form
from .rules.formats import USCC_ALPHABET, uscc_check_char

CITIES = [
    ("江苏省苏州市", ["工业园区", "昆山市", "吴江区"]),
    ("江苏省无锡市", ["新吴区", "江阴市", "宜兴市"]),
    ("江苏省南京市", ["江宁区", "浦口区", "六合区"]),
    ("江苏省常州市", ["武进区", "新北区", "溧阳市"]),
    ("江苏省南通市", ["崇川区", "海门区", "如皋市"]),
]
INDUSTRIES = [
    ("新能源汽车", "动力电池及关键零部件", "C36"),
    ("集成电路", "芯片设计与封装测试", "C39"),
    ("生物医药", "创新药与高端医疗器械", "C27"),
    ("高端装备", "工业机器人与数控机床", "C34"),
    ("新材料", "先进高分子材料", "C26"),
    ("光伏", "高效光伏组件", "C38"),
    ("软件和信息服务", "工业软件", "I65"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞"]
WORDS = ["华芯", "恒瑞", "博远", "中科", "新源", "天合", "金诺", "瑞丰", "精工", "鼎盛", "联创", "海优",
         "智航", "宏达", "晶科", "领航", "众诚", "星宇", "康泰", "凯博"]
KINDS = ["科技", "电子", "材料", "装备", "新能源", "生物", "智能", "精密"]


@dataclass
class SampleReturn:
    category: str
    values: dict[str, object]
    enterprises: list[dict[str, str]] = field(default_factory=list)


def credit_code(rng: random.Random, region: str = "320594") -> str:
    body = "91" + region + "".join(rng.choice(USCC_ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc_check_char(body)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def mobile(rng: random.Random) -> str:
    return rng.choice(["139", "138", "136", "158", "187", "189", "133"]) + f"{rng.randrange(10**8):08d}"


def _paragraph(rng: random.Random, subject: str, n: int) -> str:
    parts = [
        f"园区围绕{subject}持续发力，",
        "聚焦企业需求完善公共服务平台，",
        "建立“一企一策”精准服务机制，",
        "推动龙头企业带动上下游协同发展，",
        "引进和培育一批专精特新企业，",
        "累计实施重点项目数十个，",
        "形成了可复制可推广的经验做法。",
    ]
    text = ""
    while len(text) < n:
        text += rng.choice(parts)
    return text[:n].rstrip("，") + "。"


def clean_return(form: Form, rng: random.Random, *, park_name: str | None = None,
                 city: tuple[str, str] | None = None) -> SampleReturn:
    """Values for every input field of `form` that satisfy every rule, with matching lists. (The
    sample data and the benchmark corpus are made from fixed seeds: the draws keep their order.)"""
    v: dict[str, object] = {}
    province_city, counties = city and (city[0], [city[1]]) or rng.choice(CITIES)
    leads = _identity(v, rng, province_city, rng.choice(counties), park_name)
    _development(v, rng, sorted(form.years))
    enterprises = _enterprise_lists(v, rng, form, province_city, leads)
    _category_block(v, rng, form)
    unknown = set(v) - set(form.fields)
    assert not unknown, f"sample values for unknown fields: {unknown}"
    return SampleReturn(form.category_id, v, enterprises)


def _identity(v: dict, rng: random.Random, province_city: str, county: str, park_name: str | None) -> list:
    """Sections 一 and 二 and the cover: who the park is, its leading industries, its practice."""
    leads = rng.sample(INDUSTRIES, rng.randint(1, 3))
    name = park_name or f"{province_city[3:-1]}{county[:-1] if county.endswith(('区', '市')) else county}{rng.choice(['高新技术产业开发区', '经济技术开发区', '工业园'])}"
    v.update(park_name=name, province_city=province_city, county=county,
             filler_name=f"{name}管理委员会", filler_type="政府/事业单位")
    for i, (ind, sub, _) in enumerate(leads, start=1):
        v[f"lead_industry_{i}"] = ind
        v[f"lead_subfield_{i}"] = sub
    for role in ("head", "contact"):
        v[f"{role}_name"] = person(rng)
        v[f"{role}_position"] = rng.choice(["经济发展局局长", "办公室主任", "产业促进处副处长", "科员"])
        v[f"{role}_phone"] = mobile(rng)
        v[f"{role}_email"] = f"{role}{rng.randrange(1000)}@park{rng.randrange(100)}.gov.cn"
    v["park_intro"] = _paragraph(rng, leads[0][0], rng.randint(150, 280))
    v["focus_industry"] = leads[0][0]
    v["practice_name"] = f"《{rng.choice(['平台赋能', '链主带动', '数智引领'])}助力{leads[0][0]}产业高质量发展》"
    v["report_text"] = (
        "【摘要】" + _paragraph(rng, leads[0][0], 120) + "\n一、背景介绍\n" + _paragraph(rng, leads[0][0], 500)
        + "\n二、创新举措\n" + _paragraph(rng, leads[0][0], 700) + "\n三、实践成效\n" + _paragraph(rng, leads[0][0], 500)
    )
    v["fill_date"] = dt.date(2026, 11, rng.randint(1, 20))
    v["declaration_accepted"] = "是"
    return leads


def _development(v: dict, rng: random.Random, years: list[int]) -> None:
    """Section 三's figures for each year (oldest first), within the plausible ranges of DOMAIN.md."""
    revenue = rng.uniform(200, 3000)
    managed = round(rng.uniform(500, 5000), 2)
    developed = {years[-1]: round(managed * rng.uniform(0.6, 0.95), 2)}
    for y in reversed(years[:-1]):
        developed[y] = round(developed[y + 1] * rng.uniform(0.93, 1.0), 2)
    for y in years:
        revenue *= rng.uniform(1.02, 1.18)
        rv = round(revenue, 2)
        v[f"revenue_{y}"] = rv
        v[f"lead_revenue_{y}"] = round(rv * rng.uniform(0.4, 0.8), 2)
        v[f"profit_{y}"] = round(rv * rng.uniform(0.04, 0.10), 2)
        va = round(rv * rng.uniform(0.2, 0.3), 2)
        v[f"value_added_{y}"] = va
        v[f"city_gdp_{y}"] = round(va / rng.uniform(0.05, 0.3), 2)
        v[f"tax_paid_{y}"] = round(rng.uniform(20, 80) * developed[y] * 15, 1)
        if y != years[-1]:
            v[f"developed_area_{y}"] = developed[y]
    v["managed_area"] = managed
    v["developed_area_total"] = developed[years[-1]]
    land = round(developed[years[-1]] * rng.uniform(0.4, 0.6), 2)
    v["industrial_land_area"] = land
    v["industrial_floor_area"] = round(land * rng.uniform(0.8, 1.6), 2)


def _enterprise_lists(v: dict, rng: random.Random, form: Form, province_city: str, leads: list) -> list[dict]:
    """The counts of section 三 and the lists behind them (小巨人 also listed as 省级专精特新)."""
    counts = {
        "listed": rng.randint(0, 4), "unicorn": rng.randint(0, 2), "hitech": rng.randint(5, 25),
        "champion": rng.randint(0, 3), "little_giant": rng.randint(1, 5), "new": rng.randint(3, 12),
    }
    counts["srdi"] = counts["little_giant"] + rng.randint(2, 8)
    if "green_factory" in {c.id for c in form.enterprise_list.categories}:
        counts["green_factory"] = rng.randint(0, 4)
        counts["green_supply_chain"] = rng.randint(0, 2)
    enterprises: list[dict[str, str]] = []
    used: set[str] = set()

    def company(ind_code: str) -> dict[str, str]:
        while True:
            nm = f"{province_city[3:-1]}{rng.choice(WORDS)}{rng.choice(KINDS)}有限公司"
            if nm not in used:
                used.add(nm)
                return {"name": nm, "credit_code": credit_code(rng), "industry": ind_code}

    little_giants = []
    for cat in form.enterprise_list.categories:
        if cat.id == "srdi":
            continue
        for _ in range(counts[cat.id]):
            e = company(rng.choice(leads)[2])
            enterprises.append({"category": cat.label, **e})
            if cat.id == "little_giant":
                little_giants.append(e)
    srdi = form.enterprise_list.category("srdi")
    for e in little_giants:  # 小巨人 are selected from provincial 专精特新
        enterprises.append({"category": srdi.label, **e})
    for _ in range(counts["srdi"] - len(little_giants)):
        enterprises.append({"category": srdi.label, **company(rng.choice(leads)[2])})
    for cat in form.enterprise_list.categories:
        v[cat.count_field] = counts[cat.id]
    v["total_enterprises"] = rng.randint(800, 5000)
    return enterprises


def _category_block(v: dict, rng: random.Random, form: Form) -> None:
    """The block of section 三 that only the category has."""
    years = sorted(form.years)
    if form.category_id == "green_safety":
        energy = round(rng.uniform(50, 500), 2)
        v["energy_consumption"] = energy
        v["carbon_emissions"] = round(energy * rng.uniform(1.6, 2.8), 2)
        gen = round(rng.uniform(10, 200), 2)
        stock = round(rng.uniform(0, 20), 2)
        v.update(solid_waste_generated=gen, solid_waste_stock_utilized=stock,
                 solid_waste_utilized=round((gen + stock) * rng.uniform(0.6, 0.95), 2))
        va = round(v[f"revenue_{years[-1]}"] * 0.2, 2)
        v.update(above_scale_value_added=va, new_water=round(va * rng.uniform(5, 30), 2))
        v["green_park_title"] = rng.choice(["是", "否"])
        v["zero_carbon_title"] = "否"
        v["safety_system"] = _paragraph(rng, "安全生产体系建设", 200)
        v["safety_technology"] = _paragraph(rng, "安全科技支撑", 200)
    elif form.category_id == "open_cooperation":
        v["import_export"] = round(v[f"revenue_{years[-1]}"] * 10000 * rng.uniform(0.05, 0.4), 1)
        v["benefit_sharing"] = _paragraph(rng, "产业转移利益分享", 200)
        v["cross_park_cooperation"] = _paragraph(rng, "跨园区联动", 200)
        v["international_cooperation"] = _paragraph(rng, "国际产业合作", 200)


def paste_into_new_workbook(src, dst, *, rows_down: int = 0, cols_right: int = 0) -> None:
    """What a park does when it copies the form into a fresh workbook: the visible sheets' values
    only (no defined names, no hidden identity, no formulas), optionally pasted lower and further right."""
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(src, data_only=True)
    out = openpyxl.Workbook()
    out.remove(out.active)
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        new = out.create_sheet(f"Sheet{len(out.sheetnames) + 1}")
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    new.cell(row=c.row + rows_down, column=c.column + cols_right, value=c.value)
    out.save(dst)
