import pytest

from consolidator.read.roster import RosterError, park_key, read_roster

HEADER = "园区编号,园区名称,所在城市,所在区县,类别,联系人,电子邮箱\n"


def write(tmp_path, text, encoding="utf-8-sig", name="名单.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_utf8_and_gbk_csv(forms, tmp_path):
    text = HEADER + "JS001,苏州工业园区,江苏省苏州市,工业园区,推动绿色安全发展类,王伟,wang@sipac.gov.cn\n"
    for enc in ("utf-8-sig", "gbk"):
        parks = read_roster(write(tmp_path, text, enc), forms)
        assert [(p.park_id, p.name, p.category, p.row) for p in parks] == [("JS001", "苏州工业园区", "green_safety", 2)]


def test_reads_xlsx_and_makes_ids(forms, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["园区名称", "所在城市", "所在区县", "类别", "联系人", "电子邮箱"])
    wb.active.append(["昆山经济技术开发区", "江苏省苏州市", "昆山市", "open_cooperation", "吴军", "wujun@ks.gov.cn"])
    wb.save(tmp_path / "名单.xlsx")
    parks = read_roster(tmp_path / "名单.xlsx", forms)
    assert [(p.park_id, p.category) for p in parks] == [("P0001", "open_cooperation")]


def test_every_problem_is_named_with_its_row(forms, tmp_path):
    text = HEADER + "\n".join([
        "JS001,苏州工业园区,江苏省苏州市,工业园区,推动绿色安全发展类,王伟,wang@sipac.gov.cn",
        "JS002,苏州工业园区 ,江苏省苏州市,工业园区,推动绿色安全发展类,王伟,wang2@sipac.gov.cn",
        "JS003,无锡园区,江苏省无锡市,新吴区,数字化类,李敏,limin@wnd.gov.cn",
        "JS004,常州园区,江苏省常州市,武进区,推动绿色安全发展类,张磊,zhanglei#wj.gov.cn",
        "JS004,南通园区,江苏省南通市,崇川区,推动绿色安全发展类,陈静,chen@nt.gov.cn",
        ",,,,,,",
        "JS006,,江苏省南通市,崇川区,推动绿色安全发展类,陈静,chen@nt.gov.cn",
    ])
    with pytest.raises(RosterError) as err:
        read_roster(write(tmp_path, text), forms)
    msg = str(err.value)
    assert "名单.csv" in msg
    assert "第3行：园区“苏州工业园区”与第2行重复" in msg
    assert "第4行：类别“数字化类”不认识" in msg
    assert "第5行：电子邮箱“zhanglei#wj.gov.cn”格式不对" in msg
    assert "第6行：园区编号“JS004”与第5行重复" in msg
    assert "第8行：园区名称为空" in msg  # the blank line 7 counts


def test_missing_columns(forms, tmp_path):
    with pytest.raises(RosterError, match="缺少列：所在区县、类别、电子邮箱"):
        read_roster(write(tmp_path, "园区名称,所在城市\n苏州,苏州\n"), forms)


def test_park_key_ignores_width_and_spaces():
    assert park_key("苏州 工业园区(一期)") == park_key("苏州工业园区（一期）")


def test_a_missing_address_blocks_only_the_commands_that_send_mail(tmp_path, forms):
    path = tmp_path / "名单.csv"
    path.write_text("园区名称,所在城市,所在区县,类别,联系人,电子邮箱\n"
                    "甲园区,苏州市,工业园区,推动绿色安全发展类,王,a@b.cn\n"
                    "乙园区,无锡市,新吴区,推动绿色安全发展类,李,\n", encoding="utf-8")
    assert [p.name for p in read_roster(path, forms, mail=False)] == ["甲园区", "乙园区"]
    with pytest.raises(RosterError, match="第3行：没有电子邮箱"):
        read_roster(path, forms)
