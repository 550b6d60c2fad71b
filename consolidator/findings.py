"""Findings are data: one row per problem, with a stable code from one catalogue.

Cross-field rules of rules/ use their own rule id as code and their own message; every other code
is listed in CATALOGUE with its severity and its Chinese message template. Tests build the
expected findings from this catalogue, so a reworded message does not silently break them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

ERROR, WARNING, EXPLAINED, INFO = "error", "warning", "explained", "info"
SEVERITY_ZH = {ERROR: "错误（强制性）", WARNING: "警告（核实性）", EXPLAINED: "已说明", INFO: "提示"}
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, EXPLAINED: 2, INFO: 3}


PARK, OFFICE = "园区", "省厅"  # who must act on a finding: the park that sent the return, or the office itself


@dataclass(frozen=True)
class Code:
    code: str
    severity: str
    title: str  # short Chinese name, for the report's rule list
    template: str  # Chinese message; {placeholders} filled by make_finding()
    who: str  # who must act: PARK or OFFICE
    action: str  # what they should do, one short Chinese sentence


_CODES = [
    # reading
    Code("file_unreadable", ERROR, "文件无法读取", "文件无法读取（{reason}）。请用 Excel 或 WPS 打开后另存为 .xlsx 重新发送。",
         PARK, "用 Excel 或 WPS 打开文件并另存为 .xlsx 后重新发送；文件打不开的，用下发的模板重新填写。"),
    Code("file_encrypted", ERROR, "文件已加密", "文件已加密，请取消密码后重新发送。",
         PARK, "取消文件密码后重新发送。"),
    Code("file_not_workbook", ERROR, "不是 Excel 工作簿", "文件不是可以读取的 Excel 工作簿（{kind}），请用下发的模板填写，用 Excel 或 WPS 另存为 .xlsx 格式后发送。",
         PARK, "在下发的模板中填写，用 Excel 或 WPS 另存为 .xlsx 后发送；只改文件扩展名不能转换格式。"),
    Code("file_archive", ERROR, "压缩包中的压缩包", "文件是{kind}，无法直接检查。请解压后把其中的 .xlsx 填报表直接发送（或放入报送文件夹）。",
         PARK, "解压后直接发送其中填好的 .xlsx 填报表，不要再压缩。"),
    Code("file_unsafe", ERROR, "不安全的文件", "文件含有不安全的内容（{reason}），已拒绝读取。请用 Excel 或 WPS 打开后另存为 .xlsx 重新发送。",
         PARK, "用 Excel 或 WPS 打开后另存为 .xlsx 重新发送；仍被拒绝的，把所填内容复制到新下载的模板中再发送。"),
    Code("file_too_large", ERROR, "文件过大", "文件过大（{reason}），为保护系统已拒绝读取。请检查文件，删除多余内容后另存为 .xlsx 重新发送。",
         PARK, "删除表单以外的单元格内容、图片和多余的工作表，另存为 .xlsx 后重新发送；压缩包中只放报送文件。"),
    Code("file_timeout", ERROR, "读取超时", "读取文件超过{seconds}秒仍未完成，文件可能已损坏。请用 Excel 或 WPS 打开后另存为 .xlsx 重新发送。",
         PARK, "用 Excel 或 WPS 打开确认内容完好，删除表单以外的多余内容，另存为 .xlsx 后重新发送。"),
    Code("file_crashed", ERROR, "读取出错", "读取文件时出错（{reason}），已跳过该文件。请用 Excel 或 WPS 打开后另存为 .xlsx 重新发送。",
         PARK, "用 Excel 或 WPS 打开确认内容完好，另存为 .xlsx 后重新发送；仍出错的，把所填内容复制到新下载的模板中。"),
    Code("file_legacy_format", INFO, "旧格式文件", "文件为 {kind} 格式，已尽量读取；请以后另存为 .xlsx 发送。",
         PARK, "本次无需重报；核对问题报告中读取的数值，以后报送时另存为 .xlsx 格式。"),
    Code("not_template", ERROR, "不是填报模板", "工作簿不是本次下发的填报模板（{reason}），请使用下发的模板填写。",
         PARK, "把内容填入本次下发的模板后重新发送，不要使用自制表格或往年的表格。"),
    Code("word_unreadable", ERROR, "Word 文件无法读取", "Word 文件无法读取（{reason}）。请用 Word 或 WPS 打开确认内容完好，另存为 .docx 后重新发送，或改用下发的 Excel 填报表。",
         PARK, "用 Word 或 WPS 打开文件，另存为 .docx 后重新发送；打不开的，在下发的 Excel 填报表中重新填写。"),
    Code("file_word_legacy", ERROR, "旧版 Word 文档", "文件是{kind}，无法读取其中填写的数据。请发送填好的 Excel 填报表（.xlsx），或用 Word 或 WPS 把表单另存为 .docx 格式后发送。",
         PARK, "用 Word 或 WPS 打开文件，“另存为”Word 文档（.docx）后重新发送；也可以改用下发的 Excel 填报表填写。"),
    Code("file_pdf", ERROR, "PDF 文件", "文件是 PDF，无法读取其中填写的数据。请发送填好的 Excel 填报表（.xlsx）或 Word 表单（.docx）；盖章扫描件请与填报表一并发送，不能代替填报表。",
         PARK, "发送填好的 Excel 填报表（.xlsx）或 Word 表单（.docx）；盖章的 PDF 扫描件作为附件一并发送。"),
    Code("read_from_word", INFO, "Word 表单", "报送的是 Word 表单（.docx），已按表单中的栏目名称读取数据；问题所在位置以表单中的栏目名称标出。",
         PARK, "核对问题报告中读取的数值与所填是否一致；数据以表单中的栏目为准。"),
    Code("word_fields_missing", ERROR, "Word 表单缺少栏目", "Word 表单中没有以下栏目：{value}。这些是本次填报增设的栏目（按脚注公式计算比重等指标所需的“计算用”数据、承诺声明确认等），请使用本次下发的 Word 表单或 Excel 填报表填写后重新发送。",
         PARK, "改用本次下发的 Excel 填报表或 Word 表单（含“计算用”栏目），补填这些栏目后重新发送。"),
    Code("template_version", WARNING, "模板版本不同", "模板版本为“{found}”，当前版本为“{expected}”；已按当前规则检查，请核对栏目是否齐全。",
         PARK, "核对栏目是否齐全；缺少栏目或有错误的，改用当前下发的模板重新填写后发送。"),
    Code("located_by_label", INFO, "按栏目名称定位", "未找到模板的单元格名称（可能把表格复制到了新工作簿），已按栏目名称定位数据，请核对。",
         PARK, "核对问题报告中读取的数值与所填是否一致；以后直接在下发的模板中填写，不要复制到新工作簿。"),
    Code("field_not_found", ERROR, "找不到栏目", "找不到栏目“{label}”，请勿删除或改写模板中的栏目名称。",
         PARK, "恢复被删除或改写的栏目名称和填写栏，或在下发的模板中重新填写后发送。"),
    Code("formula_not_calculated", WARNING, "公式没有计算结果",
         "文件中的公式没有保存计算结果（可能不是用 Excel 或 WPS 保存的），已按组成数据重新计算；请用 Excel 或 WPS 打开后保存再发送。",
         PARK, "用 Excel 或 WPS 打开文件，确认灰色计算栏显示了结果，保存后重新发送。"),
    Code("file_name_encoding", INFO, "文件名编码", "文件名不是 UTF-8 编码（常见于 Windows 上压缩、在其他系统上解压的文件），已按 GBK 显示为“{file}”。",
         OFFICE, "无需处理；文件已照常读取。需要改名的，可用支持 GBK 的解压软件重新解压。"),
    Code("access_denied", WARNING, "无法读取：没有权限", "无法读取（{reason}），该文件或文件夹未检查。",
         OFFICE, "检查该文件或文件夹的访问权限（或是否被其他程序独占），改正后重新运行检查。"),
    Code("skipped", INFO, "已跳过的文件", "已跳过：{reason}。",
         OFFICE, "无需处理；确认被跳过的确实不是报送文件即可。"),
    Code("park_attachment", INFO, "园区的附件", "{park_name}的附件（{kind}），不是报送表格，已收到备查。",
         OFFICE, "无需处理；盖章扫描件等请归档备查。"),
    Code("superseded", INFO, "已被替代", "已被同一园区较新的报送文件“{newer}”替代，不再检查。",
         OFFICE, "无需处理，以较新的文件为准；园区说明应以本文件为准的，请其重新发送本文件。"),
    # values
    Code("value_normalised", INFO, "已转换的填写内容", "“{label}”填写的“{value}”已按“{read}”读取（{how}）。",
         PARK, "核对读取结果是否为本意；不是的，按栏目要求改填后重新发送。"),
    Code("required", ERROR, "必填项未填写", "“{label}”未填写。",
         PARK, "补填该栏目后重新发送；数值为零的填 0，不要留空。"),
    Code("type_number", ERROR, "应为数字", "“{label}”应填写数字，实际填写为“{value}”。",
         PARK, "只填一个数字，不带单位、文字或区间；单位以栏目中注明的为准。"),
    Code("type_integer", ERROR, "应为整数", "“{label}”应填写整数，实际填写为“{value}”。",
         PARK, "填写企业个数等整数，不带小数、单位或文字。"),
    Code("type_date", ERROR, "应为日期", "“{label}”应填写日期（如2026年11月30日），实际填写为“{value}”。",
         PARK, "填写完整的年月日，如2026年11月30日。"),
    Code("choice", ERROR, "不在可选范围", "“{label}”应从下拉列表中选择（{expected}），实际填写为“{value}”。",
         PARK, "点击单元格，从下拉列表中选择一项，不要自行输入。"),
    Code("format_phone", ERROR, "电话号码格式", "“{label}”不是有效的手机号或座机号码（如13912345678或0512-66681234）：“{value}”。",
         PARK, "填写11位手机号，或带区号的座机号码（如0512-66681234），只填一个号码。"),
    Code("format_email", ERROR, "电子邮箱格式", "“{label}”不是有效的电子邮箱：“{value}”。",
         PARK, "填写一个完整的电子邮箱地址，如name@example.com，不带空格或其他文字。"),
    Code("format_uscc", ERROR, "统一社会信用代码", "统一社会信用代码“{value}”有误：{reason}。",
         PARK, "对照营业执照或国家企业信用信息公示系统核对18位代码后改正。"),
    Code("format_industry", ERROR, "行业分类", "行业分类“{value}”不是国民经济行业分类（GB/T 4754-2017）的代码或名称，如C39或“计算机、通信和其他电子设备制造业”。",
         PARK, "按 GB/T 4754-2017 改填行业代码（如C39）或门类、大类的完整名称。"),
    Code("range", ERROR, "超出允许范围", "“{label}”应{expected}，实际为{value}。",
         PARK, "核对数值、单位和年份后改正；这是强制要求，填写情况说明不能代替改正。"),
    Code("plausible", WARNING, "超出常见范围", "“{label}”为{value}，通常{expected}。请核实{hint}；确认无误的，请在情况说明中写明原因。",
         PARK, "核实数值和单位；确认无误的，在该行“情况说明”中写明具体原因。"),
    Code("formula_mismatch", ERROR, "与脚注公式不一致",
         "“{label}”为{value}，按脚注公式由组成数据计算应为{expected}。{trap}请检查组成数据或恢复该单元格的公式。",
         PARK, "核对“计算用”栏目中的组成数据，不要在灰色计算栏中手工填数；公式被覆盖的，改用下发的模板。"),
    Code("max_chars", WARNING, "字数超出", "“{label}”共{count}字，原则上不超过{limit}字。",
         PARK, "把文字精简到规定字数以内；确需超出的，在“情况说明”中写明原因。"),
    Code("report_headings", WARNING, "报告结构", "报告缺少以下部分的标题：{missing}（应按“问题导向—解决路径—实践成效”组织）。",
         PARK, "按模板提示的原文补上所缺的标题（如“一、背景介绍”），并在各标题下写明相应内容。"),
    # the report's format in a Word form (填写要求 5. 报告格式)
    Code("report_line_spacing", INFO, "报告行间距", "报告{paragraphs}的行间距为{found}，格式要求为固定值22磅。",
         PARK, "选中报告全文，在“段落”中把行距设为“固定值”“22磅”。"),
    Code("report_paragraph_spacing", INFO, "报告段间距", "报告{paragraphs}有段间距（{found}），格式要求为无段间距。",
         PARK, "选中报告全文，在“段落”中把段前、段后间距都设为0。"),
    Code("report_font_size", INFO, "报告字号", "报告{paragraphs}的字号为{found}，格式要求为小四（12磅）。",
         PARK, "选中报告全文，把字号设为“小四”。"),
    Code("report_font", INFO, "报告字体", "报告{paragraphs}（{kind}）的中文字体为{found}，格式要求为{expected}。",
         PARK, "按格式要求设置字体：一级标题黑体，二级标题楷体_GB2312，三、四级标题和正文仿宋_GB2312（设置为中文字体）。"),
    Code("report_heading", INFO, "报告标题序号", "报告{paragraphs}的标题“{value}”：{reason}。",
         PARK, "各级标题依次使用“一、”“（一）”“1.”“（1）”标注，按顺序编号，不要跳级。"),
    Code("explanation_invalid", WARNING, "情况说明无效", "情况说明“{value}”没有说明具体原因，不能作为核实说明。",
         PARK, "写明数值偏离常见范围的具体原因（如统计口径变化、重大项目投产），不要只写“核实无误”。"),
    # enterprise lists
    Code("list_category", ERROR, "清单企业类别", "企业清单第{row}行的企业类别“{value}”不在下拉列表中。",
         PARK, "从该行“企业类别”的下拉列表中选择，不要自行输入或改写类别名称。"),
    Code("list_incomplete", ERROR, "清单信息不全", "企业清单第{row}行缺少{missing}。",
         PARK, "补全该行所缺的信息；不是清单企业的行，整行清空。"),
    Code("list_duplicate", ERROR, "清单重复", "企业清单第{row}行与第{other}行重复（同一类别、同一企业）。",
         PARK, "删除重复的一行，并核对该类企业数量；同一企业属于不同类别的，每个类别各列一行。"),
    Code("list_exclusive", ERROR, "上市与独角兽重复", "“{value}”同时列为{a}和{b}，{b}应为未上市企业。",
         PARK, "核实该企业是否已上市：已上市的从独角兽企业中删除，未上市的从上市企业中删除，并相应修改企业数量。"),
    Code("list_expected_subset", WARNING, "小巨人不在省级清单",
         "“{value}”列为{a}，但不在{b}清单中（{a}一般从{b}中产生，称号过期的请说明）。",
         PARK, "把该企业补列入省级专精特新企业清单并修改数量；称号已过期的，在“小巨人”企业数量的“情况说明”中说明。"),
    # writing the summary
    Code("text_cleaned", INFO, "已删除非法字符", "“{label}”含有表格中不允许的控制字符，写入汇总表时已删除。",
         OFFICE, "无需处理；需要引用原文的，以园区报送的原文件为准。"),
    Code("text_too_long", WARNING, "文字超出单元格容量",
         "“{label}”共{count}字，超过表格单元格的容量（{limit}字），汇总表中只写入前{limit}字，全文见原报送文件。",
         OFFICE, "评审和引用时打开园区报送的原文件阅读全文。"),
    # across returns
    Code("enterprise_in_two_parks", WARNING, "企业被多个园区填报", "“{value}”（{credit_code}）：另有 {count} 个园区也填报了该企业，请核实是否在本园区范围内。",
         PARK, "核实该企业是否注册或主要经营在本园区范围内；不在的，从清单中删除并修改相应数量。"),
    Code("park_not_in_roster", WARNING, "名单外园区", "园区“{value}”不在报送名单中，请核对园区名称。",
         OFFICE, "核对报送名单：园区名称写法不同的，请园区按名单改正；确属应报园区的，将其补入名单。"),
    Code("category_mismatch", WARNING, "类别与名单不符", "名单中该园区的类别为“{expected}”，报送的是“{value}”模板。",
         OFFICE, "与园区确认类别：名单有误的改正名单，用错模板的请园区用名单类别的模板重新填报。"),
    Code("not_submitted", WARNING, "未提交", "名单中的园区“{name}”尚未报送。",
         OFFICE, "催报：联系园区尽快报送。"),
]
CATALOGUE: dict[str, Code] = {c.code: c for c in _CODES}

# One root cause (check/cascade.py): a rule failing for several fields against one common field is one
# finding on the common field, under the rule's own code; its message lists the fields it contradicts.
CASCADE_MESSAGE = ("“{label}”为{value}，与以下{count}项不符：{items}。{message}"
                   "请先核对“{label}”，再核对以上各项。")


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    message: str
    file: str = ""
    park: str = ""
    city: str = ""
    category: str = ""
    sheet: str = ""
    cell: str = ""
    field: str = ""
    label: str = ""
    value: str = ""
    expected: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FINDING_COLUMNS}  # all str: no deep copy needed


FINDING_COLUMNS = [f.name for f in fields(Finding)]
COLUMNS_ZH = {
    "code": "规则编号", "severity": "类型", "message": "问题说明", "file": "文件", "park": "园区", "city": "所在省市",
    "category": "类别", "sheet": "工作表", "cell": "单元格", "field": "字段编号", "label": "栏目", "value": "填写内容",
    "expected": "应为",
}


def make_finding(code: str, *, severity: str | None = None, **kw) -> Finding:
    """A finding of a catalogue code; keyword arguments fill both the message and the columns."""
    entry = CATALOGUE[code]
    text_args = {k: ("" if v is None else v) for k, v in kw.items()}
    message = entry.template.format_map(_Default(text_args))
    cols = {k: ("" if kw.get(k) is None else str(kw[k])) for k in FINDING_COLUMNS if k in kw}
    return Finding(code=code, severity=severity or entry.severity, message=message, **cols)


def locate(file: str = "", *, park: str = "", city: str = "", category: str = "", field=None,
           cell=None) -> dict[str, str]:
    """Where a finding is, as the columns of a Finding: the file and whose it is, and, for a field, its id
    and label and the sheet and cell the value was read from (`field` is a rules Field, `cell` a returns
    Cell; either may be None). Every stage locates its findings through this one function."""
    out = dict(file=file, park=park, city=city, category=category)
    if field is not None:
        out.update(field=field.id, label=field.display_label)
        out.update(sheet=cell.sheet if cell else "", cell=cell.coord if cell else "")
    return out


class _Default(dict):
    def __missing__(self, key):
        return ""


def display(value: Any) -> str:
    """A cell value as the park sees it: 1234.5 not 1234.5000001, dates as 2026-11-30."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 1e15 or abs(value) < 1e-6:
            return f"{value:.6g}"
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value)
