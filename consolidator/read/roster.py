"""The office's roster of parks: a CSV (UTF-8 or GBK, as Excel on Chinese Windows saves it) or .xlsx."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import python_calamine as calamine

from ..errors import os_error_zh
from ..rules.formats import email_ok
from ..rules.model import Form

# column -> accepted header spellings
COLUMNS = {
    "name": ("园区名称", "工业园区名称", "园区"),
    "city": ("所在城市", "所在省市", "所在市", "城市", "地市"),
    "county": ("所在区县", "区县"),
    "category": ("类别", "申报类别", "报送类别"),
    "contact": ("联系人", "联系人姓名"),
    "email": ("电子邮箱", "联系邮箱", "邮箱", "联系人邮箱"),
    "park_id": ("园区编号", "编号"),
}
REQUIRED = ("name", "city", "county", "category", "email")  # the column; a row's address only when mail is sent


class RosterError(ValueError):
    """The roster cannot be used; the message lists every problem, each naming its row."""


@dataclass(frozen=True)
class Park:
    park_id: str
    name: str
    city: str
    county: str
    category: str  # category id
    contact: str
    email: str
    row: int


def park_key(name: str) -> str:
    """Names compared as the office means them: full-width/half-width and spaces do not matter."""
    text = unicodedata.normalize("NFKC", name or "")
    return re.sub(r"\s+", "", text).replace("(", "（").replace(")", "）")


def _rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        wb = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = wb.get_sheet_by_index(0).to_python()
        return [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                 for v in r] for r in rows]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError(f"名单文件 {path.name} 的编码无法识别，请另存为 UTF-8 或 Excel 格式")
    return list(csv.reader(io.StringIO(text)))


def read_roster(path: Path | str, forms: dict[str, Form], *, mail: bool = True) -> list[Park]:
    """The parks of the roster. `mail`: the command sends mail, so every park needs a valid address (a
    command that sends nothing does not refuse a roster for a missing one)."""
    path = Path(path)
    try:
        rows = _rows(path)
    except OSError as exc:
        raise RosterError(f"无法打开名单文件 {os_error_zh(exc)}") from None
    except calamine.CalamineError as exc:
        raise RosterError(f"名单文件 {path.name} 无法读取：{exc}") from None
    # row numbers are the file's own (blank lines count), so that the office finds the row named
    numbered = [(n, r) for n, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise RosterError(f"名单文件 {path.name} 是空的")
    header_row, header = numbered[0][0], [unicodedata.normalize("NFKC", c).strip() for c in numbered[0][1]]
    where: dict[str, int] = {}
    for key, spellings in COLUMNS.items():
        for i, h in enumerate(header):
            if h in spellings:
                where[key] = i
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in where]
    if missing:
        raise RosterError(f"名单文件 {path.name} 缺少列：{'、'.join(missing)}（第{header_row}行应为列名，如："
                          "园区名称,所在城市,所在区县,类别,联系人,电子邮箱）")
    by_name = {f.category_name: cid for cid, f in forms.items()}
    problems: list[str] = []
    parks: list[Park] = []
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for n, r in numbered[1:]:
        def get(key: str) -> str:
            i = where.get(key)
            return r[i].strip() if i is not None and i < len(r) else ""

        name = get("name")
        if not name:
            problems.append(f"第{n}行：园区名称为空")
            continue
        cat_text = get("category")
        category = cat_text if cat_text in forms else by_name.get(cat_text.strip("（）()"))
        if category is None:
            problems.append(f"第{n}行：类别“{cat_text}”不认识，应为{'或'.join(f.category_name for f in forms.values())}")
        email = get("email")
        if mail and not email_ok(email):
            problems.append(f"第{n}行：电子邮箱“{email}”格式不对" if email else f"第{n}行：没有电子邮箱（发送邮件需要）")
        key = park_key(name)
        if key in seen_names:
            problems.append(f"第{n}行：园区“{name}”与第{seen_names[key]}行重复")
        seen_names.setdefault(key, n)
        park_id = get("park_id") or f"P{n - 1:04d}"
        if park_id in seen_ids:
            problems.append(f"第{n}行：园区编号“{park_id}”与第{seen_ids[park_id]}行重复")
        seen_ids.setdefault(park_id, n)
        parks.append(Park(park_id, name, get("city"), get("county"), category or "", get("contact"), email, n))
    if problems:
        raise RosterError(f"名单文件 {path.name} 有以下问题：\n" + "\n".join(problems))
    return parks
