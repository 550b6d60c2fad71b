"""Make sample_data/: a roster and a folder of returns as the office would receive them.

    python scripts/make_sample_data.py            (needs LibreOffice: returns are saved by a real
                                                    spreadsheet program, with cached formula values)

Every return is made from the current templates, so the samples follow rules/ as they change.
What is planted in which file is written to sample_data/README.md and sample_data/expected.json;
tests/test_sample_data.py checks that `consolidator check` finds exactly that.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consolidator.rules import load_forms  # noqa: E402
from consolidator.samples import SampleReturn, clean_return, credit_code, paste_into_new_workbook  # noqa: E402
from consolidator.write.template import filled_workbook_bytes  # noqa: E402

OUT = ROOT / "sample_data"
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@dataclass
class Park:
    park_id: str
    name: str
    city: str
    county: str
    category: str
    contact: str
    email: str


@dataclass
class Planned:
    file: str
    park: Park | None
    category: str
    description: str
    expected: list[str]  # findings that must appear for this file: "code" or "code:severity"
    clean: bool = False  # no error and no warning may appear
    fill_date: dt.date = dt.date(2026, 11, 15)
    plant: Callable[[SampleReturn], None] | None = None
    edit: Callable | None = None
    seed: int = 0
    name_override: str | None = None
    in_zip: str | None = None
    paste: bool = False
    data: bytes | None = field(default=None, repr=False)


PARKS = [
    Park("JS001", "苏州工业园区", "江苏省苏州市", "工业园区", "green_safety", "王伟", "wangwei@sipac.gov.cn"),
    Park("JS002", "无锡高新技术产业开发区", "江苏省无锡市", "新吴区", "green_safety", "李敏", "limin@wnd.gov.cn"),
    Park("JS003", "常州武进国家高新技术产业开发区", "江苏省常州市", "武进区", "green_safety", "张磊", "zhanglei@wj.gov.cn"),
    Park("JS004", "南通经济技术开发区", "江苏省南通市", "崇川区", "green_safety", "陈静", "chenjing@netda.gov.cn"),
    Park("JS005", "南京江宁经济技术开发区", "江苏省南京市", "江宁区", "green_safety", "杨洋", "yangyang@jndz.gov.cn"),
    Park("JS006", "泰州医药高新技术产业开发区", "江苏省泰州市", "医药高新区", "green_safety", "黄艳", "huangyan@cmc.gov.cn"),
    Park("JS007", "扬州经济技术开发区", "江苏省扬州市", "邗江区", "green_safety", "赵勇", "zhaoyong@yz.gov.cn"),
    Park("JS008", "昆山经济技术开发区", "江苏省苏州市", "昆山市", "open_cooperation", "吴军", "wujun@ks.gov.cn"),
    Park("JS009", "江阴高新技术产业开发区", "江苏省无锡市", "江阴市", "open_cooperation", "周杰", "zhoujie@jy.gov.cn"),
    Park("JS010", "宜兴经济技术开发区", "江苏省无锡市", "宜兴市", "open_cooperation", "徐娟", "xujuan@yx.gov.cn"),
    Park("JS011", "连云港经济技术开发区", "江苏省连云港市", "连云区", "open_cooperation", "孙涛", "suntao@lyg.gov.cn"),
    Park("JS012", "徐州高新技术产业开发区", "江苏省徐州市", "铜山区", "open_cooperation", "马明", "maming@xz.gov.cn"),
    Park("JS013", "盐城经济技术开发区", "江苏省盐城市", "亭湖区", "green_safety", "朱超", "zhuchao@yc.gov.cn"),
    Park("JS014", "淮安经济技术开发区", "江苏省淮安市", "清江浦区", "open_cooperation", "胡霞", "huxia@ha.gov.cn"),
]
P = {p.name: p for p in PARKS}


def set_cell(fid):
    """An edit that overwrites a computed cell with a number, as parks do."""
    def edit(value):
        def apply(wb, layout):
            sheet, coord = layout.cells[fid]
            wb[sheet][coord].value = value
        return apply
    return edit


def chain(*edits):
    def apply(wb, layout):
        for e in edits:
            e(wb, layout)
    return apply


# ---- what is planted where ----------------------------------------------------------------------
def plant_traps(r: SampleReturn):
    v = r.values
    v["carbon_emissions"] = round(v["carbon_emissions"] * 12 / 44, 2)
    v["lead_revenue_2023"] = round(v["revenue_2023"] * 0.2, 2)
    for i in range(2):
        r.enterprises.append({"category": "国家级绿色工厂", "name": f"常州绿能{i + 1}号新材料有限公司",
                              "credit_code": credit_code(random.Random(300 + i)), "industry": "C26"})
    v["green_factory_count"] += 2
    v["total_enterprises"] = 1


def plant_explained(r: SampleReturn):
    v = r.values
    v["profit_2025"] = round(v["revenue_2025"] * 0.35, 2)
    v["profit_note"] = "2025年园区龙头企业一次性处置闲置资产，收益计入利润总额，扣除后利润率约为8%。"
    v["managed_area"] = round(v["developed_area_total"] / 0.25, 2)
    v["developed_area_total_note"] = "经核实，数据无误。"


def plant_resubmitted_original(r: SampleReturn):
    v = r.values
    v["total_enterprises"] = 3  # fewer than the green factories and every other count
    v["lead_revenue_2023"] = round(v["revenue_2023"] * 1.1, 2)


def plant_lists(r: SampleReturn):
    v, rows = r.values, r.enterprises
    giants = [e for e in rows if e["category"] == "国家级专精特新“小巨人”企业"]
    while len(giants) < 3:
        e = {"category": "国家级专精特新“小巨人”企业", "name": f"南京精工{len(giants)}号智能装备有限公司",
             "credit_code": credit_code(random.Random(len(giants))), "industry": "C34"}
        rows.append(e)
        giants.append(e)
    rows[:] = [e for e in rows if e["category"] != "省级专精特新企业"]
    rows += [{**g, "category": "省级专精特新企业"} for g in giants[:2]]  # the third 小巨人 is missing
    v["little_giant_count"], v["srdi_count"] = len(giants), 2
    hitech = [e for e in rows if e["category"] == "国家高新技术企业"]
    rows.append(dict(hitech[0]))  # a duplicate row
    hitech[1]["credit_code"] = hitech[1]["credit_code"][:17] + ("0" if hitech[1]["credit_code"][17] != "0" else "1")
    hitech[2]["credit_code"] = 9.13201157898765e17  # an 18-digit code stored as a number
    hitech[3]["industry"] = "C99"
    hitech[4]["industry"] = "光伏设备及元器件制造"
    rows.append({"category": "高新技术企业", "name": "南京某某科技有限公司", "credit_code": credit_code(random.Random(5)),
                 "industry": "C39"})
    rows.append({"category": "国家高新技术企业", "name": "", "credit_code": credit_code(random.Random(6)),
                 "industry": "C39"})
    v["hitech_count"] = sum(e["category"] == "国家高新技术企业" for e in rows)
    unicorn = {"category": "独角兽企业", "name": "南京星宇智能科技有限公司", "credit_code": credit_code(random.Random(9)),
               "industry": "I65"}
    rows += [unicorn, {**unicorn, "category": "上市企业"}]
    v["unicorn_count"] = sum(e["category"] == "独角兽企业" for e in rows)
    v["listed_count"] = sum(e["category"] == "上市企业" for e in rows)


def plant_cross_field(r: SampleReturn):
    v = r.values
    v["lead_revenue_2025"] = round(v["revenue_2025"] * 1.08, 2)
    v["profit_2024"] = round(v["revenue_2024"] * 1.2, 2)
    v["managed_area"] = round(v["developed_area_total"] * 0.9, 2)
    v["developed_area_2023"] = round(v["developed_area_total"] * 1.1, 2)
    v["total_enterprises"] = max(v["hitech_count"] - 1, 1)
    v["focus_industry"] = "人工智能"
    v["lead_industry_2"], v["lead_subfield_2"] = "智能制造", None
    v["lead_industry_3"], v["lead_subfield_3"] = None, "工业互联网"
    v["declaration_accepted"] = "否"
    v["srdi_count"] += 1  # the list does not have it


def plant_normalisation(r: SampleReturn):
    v = r.values
    v["revenue_2025"] = f"{v['revenue_2025']:,.2f}"
    v["lead_revenue_2024"] = str(v["lead_revenue_2024"]).translate(FULL_WIDTH)
    v["profit_2023"] = f"{v['profit_2023']}亿元"
    v["managed_area"] = f"约{v['managed_area']}"
    v["import_export"] = f"{v['import_export']}万元"
    v["fill_date"] = "2026年11月18日"
    v["lead_industry_3"] = v["lead_subfield_3"] = "—"
    v["head_phone"] = "0510-87981234"
    v["contact_phone"] = "1391234567"
    v["contact_email"] = "contact#yxedz.gov.cn"


def plant_pasted(r: SampleReturn):
    v = r.values
    v["revenue_2025"] = round(v["revenue_2024"] * 3.6, 2)
    v["lead_revenue_2025"] = round(v["revenue_2025"] * 0.5, 2)
    v["profit_2025"] = round(v["revenue_2025"] * 0.06, 2)
    v["park_intro"] = ("连云港经济技术开发区始建于1984年，是首批国家级经济技术开发区之一。" * 12)[:350]
    v["report_text"] = v["report_text"].split("三、实践成效")[0]
    v["import_export"] = 2.1e8


def plant_bad_types(r: SampleReturn):
    v = r.values
    v["revenue_2023"] = "待统计"
    v["listed_count"] = 2.5
    v["fill_date"] = "11月"
    v["filler_type"] = "国企"
    v["county"] = None
    v["head_name"] = None
    v["total_enterprises"] = 0


def plant_shared_enterprise(r: SampleReturn):
    shared = {"category": "国家高新技术企业", "name": "苏州博远精密装备有限公司", "credit_code": SHARED_CODE, "industry": "C34"}
    r.enterprises.append(shared)
    r.values["hitech_count"] += 1


SHARED_CODE = credit_code(random.Random(424242))


def plant_shared_in_suzhou(r: SampleReturn):
    plant_shared_enterprise(r)


def plan(forms):
    """The planned returns, and the two edits that need the form: formula overwrites, old version."""
    def computed(form, values, fid):
        import pandas as pd

        from consolidator.check.derive import recompute
        frame = pd.DataFrame([{k: (float(x) if form.fields[k].is_numeric and x is not None else x)
                               for k, x in values.items()}])
        for f in form.fields.values():
            if f.id not in frame:
                frame[f.id] = None
        return float(recompute(form, frame)[fid].iloc[0])

    def trap_edit(r: SampleReturn):
        g = forms["green_safety"]
        c = lambda fid: computed(g, r.values, fid)  # noqa: E731
        return chain(set_cell("tax_per_mu_2025")(round(c("tax_per_mu_2025") * 15, 2)),
                     set_cell("water_intensity")(round(c("water_intensity") * 100, 2)),
                     set_cell("solid_waste_utilization_rate")(round(c("solid_waste_utilization_rate") / 100, 4)),
                     set_cell("value_added_share_2024")(round(c("value_added_share_2024") / 100, 4)))

    def old_version(wb, layout):
        wb["_meta"]["B3"] = "2025.1"

    return [
        Planned("苏州工业园区-推动绿色安全发展类.xlsx", P["苏州工业园区"], "green_safety",
                "正确填写（与徐州高新区的清单有一家相同企业）", ["enterprise_in_two_parks"], seed=1,
                plant=plant_shared_in_suzhou),
        Planned("无锡高新区经验总结材料.xlsx", P["无锡高新技术产业开发区"], "green_safety",
                "利润率偏高并写了具体说明（已说明）；开发率偏低但情况说明只写“经核实，数据无误”",
                ["profit_margin:explained", "development_rate:warning", "explanation_invalid"], seed=2,
                plant=plant_explained),
        Planned("常州武进高新区.xlsx", P["常州武进国家高新技术产业开发区"], "green_safety",
                "改写了公式单元格：亩均税收未换算公顷（15倍）、水耗乘了100%、固废利用率和增加值占比填成小数；碳排放按碳计；"
                "2023年主导产业营业收入占比不足30%；全部企业数量（1个）少于绿色工厂等各类企业数",
                ["formula_mismatch", "plausible", "lead_revenue_share", "green_count_le_total", "count_le_total"],
                seed=3, plant=plant_traps, edit="traps"),
        Planned("南通经开区.xlsx", P["南通经济技术开发区"], "green_safety",
                "第一次报送：全部企业数量小于各类企业数、主导产业营业收入大于营业收入（已被修改版替代）",
                ["superseded"], seed=4, fill_date=dt.date(2026, 11, 10), plant=plant_resubmitted_original),
        Planned("南通经开区(修改版).xlsx", P["南通经济技术开发区"], "green_safety", "修改后重新报送，正确", [],
                clean=True, seed=4, fill_date=dt.date(2026, 11, 20)),
        Planned("江宁开发区.xlsx", P["南京江宁经济技术开发区"], "green_safety",
                "企业清单问题：重复行、信用代码校验位错误、代码存成数字、类别不在列表、缺企业名称、行业代码错误、"
                "行业名称无法识别、同一企业既是上市又是独角兽、小巨人不在省级清单、小巨人多于省级专精特新",
                ["list_duplicate", "format_uscc", "list_category", "list_incomplete", "format_industry",
                 "list_exclusive", "list_expected_subset", "little_giant_le_srdi"], seed=5, plant=plant_lists),
        Planned("泰州医药高新区.xlsx", P["泰州医药高新技术产业开发区"], "green_safety", "正确填写（在压缩包中）", [],
                clean=True, seed=6, in_zip="第二批报送材料.zip"),
        Planned("昆山开发区_提高开放合作水平类.xlsx", P["昆山经济技术开发区"], "open_cooperation", "正确填写", [],
                clean=True, seed=8),
        Planned("江阴高新区.xlsx", P["江阴高新技术产业开发区"], "open_cooperation",
                "跨栏目错误：主导产业营业收入大于营业收入、利润大于营业收入、开发面积大于管理面积、2023年开发面积大于2025年、"
                "企业数大于全部企业数、聚焦产业不在主导产业中、主导产业与细分领域不配套、未确认承诺声明、清单数量不符",
                ["lead_revenue_le_revenue", "profit_le_revenue", "profit_margin", "developed_le_managed",
                 "developed_area_by_year", "count_le_total", "focus_is_lead_industry", "lead_subfield_required",
                 "lead_industry_order", "declaration_accepted", "list_count_matches"], seed=9, plant=plant_cross_field),
        Planned("宜兴经开区.xlsx", P["宜兴经济技术开发区"], "open_cooperation",
                "数字写成文本（千位分隔符、全角数字、带单位、“约”）、日期写成文本、“—”表示无；手机号位数不对、邮箱格式错误",
                ["value_normalised", "format_phone", "format_email"], seed=10, plant=plant_normalisation),
        Planned("连云港经开区.xlsx", P["连云港经济技术开发区"], "open_cooperation",
                "把表格复制到新工作簿（没有单元格名称，按栏目名称定位）；营业收入同比增长超过3倍；简介超过300字；"
                "报告缺少“三、实践成效”；进出口额超出常见范围",
                ["located_by_label", "revenue_yoy", "max_chars", "report_headings", "plausible"], seed=11,
                plant=plant_pasted, paste=True),
        Planned("徐州高新区.xlsx", P["徐州高新技术产业开发区"], "open_cooperation",
                "清单中有一家企业与苏州工业园区相同（在压缩包中）", ["enterprise_in_two_parks"], seed=12,
                plant=plant_shared_enterprise, in_zip="第二批报送材料.zip"),
        Planned("盐城经开区.xlsx", P["盐城经济技术开发区"], "open_cooperation",
                "旧版模板；用了与名单不同类别的模板；必填项未填；“待统计”、2.5个、“11月”、单位类别“国企”；全部企业数量为0",
                ["template_version", "category_mismatch", "required", "type_number", "type_integer", "type_date",
                 "choice", "range", "count_le_total"], seed=13, plant=plant_bad_types, edit="old_version"),
        Planned("宿迁高新区.xlsx", None, "open_cooperation", "名单外的园区", ["park_not_in_roster"], seed=14,
                name_override="宿迁高新技术产业开发区"),
    ], trap_edit, old_version


def write_roster(path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["园区编号", "园区名称", "所在城市", "所在区县", "类别", "联系人", "电子邮箱"])
    forms = load_forms()
    for p in PARKS:
        w.writerow([p.park_id, p.name, p.city, p.county, forms[p.category].category_name, p.contact, p.email])
    path.write_text(buf.getvalue(), encoding="utf-8-sig")


SCAN = "苏州工业园区-承诺声明盖章页.pdf"
SCAN_BYTES = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
              b"trailer<</Root 1 0 R>>\n%%EOF\n")


def gbk_zip(path: Path, members: dict[str, bytes]) -> None:
    """A zip as Windows' built-in compression writes it: GBK names without the UTF-8 flag."""

    class GbkInfo(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's own hook
            return self.filename.encode("gbk"), self.flag_bits & ~0x800

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = GbkInfo(name, date_time=(2026, 11, 16, 9, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def libreoffice_resave(files: list[Path], out_dir: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is needed: apt-get install libreoffice-calc")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), *map(str, files)],
                       check=True, capture_output=True, timeout=600)


def main() -> None:
    forms = load_forms()
    planned, trap_edit, old_version = plan(forms)
    returns = OUT / "returns"
    if returns.exists():
        shutil.rmtree(returns)
    returns.mkdir(parents=True)
    write_roster(OUT / "roster.csv")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw_dir, saved_dir = tmp / "raw", tmp / "saved"
        raw_dir.mkdir()
        names = {}
        for i, item in enumerate(planned):
            form = forms[item.category]
            park = item.park
            city = (park.city, park.county) if park else ("江苏省宿迁市", "宿城区")
            r = clean_return(form, random.Random(item.seed), park_name=park.name if park else item.name_override,
                             city=city)
            r.values["fill_date"] = item.fill_date
            if item.plant:
                item.plant(r)
            edit = {"traps": trap_edit(r) if item.edit == "traps" else None, "old_version": old_version}.get(item.edit) \
                if isinstance(item.edit, str) else item.edit
            data = filled_workbook_bytes(form, r.values, r.enterprises, edit=edit,
                                         park={"park_id": park.park_id} if park else None)
            stem = f"r{i:02d}"
            names[stem] = item
            (raw_dir / f"{stem}.xlsx").write_bytes(data)
        saved_dir.mkdir()
        libreoffice_resave(sorted(raw_dir.glob("*.xlsx")), saved_dir)
        zips: dict[str, dict[str, bytes]] = {}
        for n, (stem, item) in enumerate(names.items()):
            saved = saved_dir / f"{stem}.xlsx"
            if item.paste:
                paste_into_new_workbook(saved, tmp / "pasted.xlsx", rows_down=1)
                saved = tmp / "pasted.xlsx"
            if item.in_zip:
                zips.setdefault(item.in_zip, {})[item.file] = saved.read_bytes()
                continue
            target = returns / item.file
            shutil.copyfile(saved, target)
            stamp = dt.datetime.combine(item.fill_date, dt.time(9, 0)).timestamp() + n
            os.utime(target, (stamp, stamp))
        for zip_name, members in zips.items():
            gbk_zip(returns / zip_name, members)
    # what else arrives in an office's mailbox folder
    (returns / "~$苏州工业园区-推动绿色安全发展类.xlsx").write_bytes(b"\x06office-lock\x00" + "王伟".encode("utf-16-le"))
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    (returns / "淮安经济技术开发区-经验材料.docx").write_bytes(docx.getvalue())
    (returns / SCAN).write_bytes(SCAN_BYTES)  # the stamped declaration the distribute mail asks for
    (returns / "报送说明.xlsx").write_text("<html><body><table><tr><td>请查收</td></tr></table></body></html>",
                                         encoding="utf-8")
    extra = [
        ("~$苏州工业园区-推动绿色安全发展类.xlsx", "Excel 临时锁定文件", ["skipped"], False),
        ("淮安经济技术开发区-经验材料.docx", "发来的是 Word 文档而不是表格（名单中的淮安经开区因此为“无法读取”）",
         ["file_not_workbook"], False),
        ("报送说明.xlsx", "扩展名是 .xlsx 的网页文件", ["file_not_workbook"], False),
        (SCAN, "盖章页扫描件（名称中有园区名称：列为该园区的附件，不当作报送表格）", ["park_attachment"], False),
    ]
    manifest = {}
    for item in planned:
        key = f"{item.in_zip}!{item.file}" if item.in_zip else item.file
        manifest[key] = {"expected": item.expected, "clean": item.clean, "description": item.description}
    for name, desc, codes, clean in extra:
        manifest[name] = {"expected": codes, "clean": clean, "description": desc}
    (OUT / "expected.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Sample data",
        "",
        "Made by `python scripts/make_sample_data.py` from the current templates (each return filled in, then saved by",
        "headless LibreOffice so that it carries cached formula values like a return saved in Excel or WPS).",
        "`tests/test_sample_data.py` checks that `consolidator check` finds what is planted; rerun the script when",
        "rules/ changes and that test fails.",
        "",
        "- `roster.csv`: 14 parks of both categories (UTF-8 with BOM, as Excel writes it). 扬州经济技术开发区 sends",
        "  nothing (未提交).",
        "- `returns/`: what the office saved from the parks' e-mails:",
        "",
        "| file | planted | finding codes expected |",
        "| --- | --- | --- |",
    ]
    for key, m in manifest.items():
        codes = "none (clean)" if m["clean"] else ", ".join(f"`{c}`" for c in m["expected"])
        codes = codes.replace(":explained", "` (explained) `").replace(":warning", "` (warning) `").replace("``", "")
        lines.append(f"| `{key}` | {m['description']} | {codes} |")
    lines += ["", "`expected.json` holds the same table for the tests.", ""]
    (OUT / "README.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {len(manifest)} files into {returns}")


if __name__ == "__main__":
    main()
