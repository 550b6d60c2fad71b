"""Load the rules: each category of a rules folder as a compiled Form.

Compiling (compile.py: the YAML read, validated by pydantic and expanded) costs a command's start-up some
0.2-0.35 s of one core before the first return can be read, about a tenth of checking 1,000 returns. So a
compilation is kept in the user's cache folder, pickled, under a key made of every rule file's bytes, the
folder's name as given, the source of the code that compiles and defines a Form (rules/ and expr/) and the
Python version: a later start with the same files and code unpickles it (~5 ms) and imports neither pydantic
nor PyYAML for it. A rule file changed by a byte, or another version of the program, is another key, and
compiles again. A cache that cannot be read or written is passed over and the rules are compiled as before;
a rules folder with a mistake is never cached (its RuleFileError comes from compiling, every time).

The cache folder is the user's own (platformdirs: %LOCALAPPDATA%\\consolidator\\Cache on Windows); whoever can
write there can change the installed program too. CONSOLIDATOR_CACHE names another folder, or "off".
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..resources import industry_reference, shipped_dir
from .model import Form

COMMON_FILE = "common.yaml"
DEFAULT_RULES_DIR = shipped_dir("rules")  # installed with the package, or the clone's rules/
CACHE_ENV = "CONSOLIDATOR_CACHE"  # a folder for the compiled rules, or "off"
CACHE_KEEP = 20  # compilations kept in the cache folder; the oldest are removed
_CODE = ("rules", "expr")  # the packages whose code compiles and defines a Form


class RuleFileError(Exception):
    """A rule file is wrong. The message (Chinese) names the file, the key path and the problem."""

    def __init__(self, file: Path | str, path: str, problem: str, line: int | None = None):
        self.file, self.path, self.problem, self.line = str(file), path, problem, line
        where = f"{self.file}" + (f" 第{line}行" if line else "") + (f"，{path}" if path else "")
        super().__init__(f"规则文件错误：{where}：{problem}")


def yaml_loader():
    """PyYAML's safe loader: libyaml's when PyYAML has it. Imported when asked for, not at start-up."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ---- loading -----------------------------------------------------------------------------------
def rule_files(rules_dir: Path) -> list[Path]:
    return sorted(p for p in Path(rules_dir).glob("*.yaml") if p.name != COMMON_FILE and not p.name.startswith("_"))


def load_forms(rules_dir: Path | str = DEFAULT_RULES_DIR) -> dict[str, Form]:
    """Every category in rules_dir, compiled, in the order the category files give: from the cache when
    it holds this compilation, else compiled (and then cached)."""
    rules_dir = Path(rules_dir)
    cache = cache_dir() if _code_digest() is not None else None
    key = _cache_key(rules_dir) if cache is not None else None
    forms = _cached(cache, key) if key is not None else None
    if forms is None:
        from .compile import compile_forms  # pydantic and PyYAML: only when compiling

        forms = compile_forms(rules_dir)
        if key is not None:
            _store(cache, key, forms)
    _require_references(rules_dir, forms.values())  # the table is a file beside the rules: looked for every time
    return forms


_IN_PROCESS: dict[tuple[str, str], Form] = {}


def share_forms(forms: Iterable[Form]) -> None:
    """Keep `forms` for form_in: worker processes forked after this have them without loading them again."""
    _IN_PROCESS.update(((f.rules_dir, f.category_id), f) for f in forms)


def form_in(rules_dir: str, category_id: str) -> Form:
    """A category's form in a worker process: the one the parent shared (forked workers), else loaded once per
    process (spawned workers)."""
    key = (rules_dir, category_id)
    if key not in _IN_PROCESS:
        share_forms(load_forms(rules_dir).values())
    return _IN_PROCESS[key]


def _require_references(rules_dir: Path, forms: Iterable[Form]) -> None:
    """A rules folder whose fields or list columns are industry codes must carry the code table."""
    uses = any(f.format == "industry" for form in forms for f in form.fields.values()) or any(
        c.format == "industry" for form in forms if form.enterprise_list for c in form.enterprise_list.columns)
    table = industry_reference(rules_dir)
    if uses and not table.is_file():
        raise RuleFileError(table, "", "缺少国民经济行业分类代码表（行业代码字段要用它核对）："
                            "请把程序自带规则目录中的 reference 文件夹复制到这里")


# ---- the cache of compiled rules -----------------------------------------------------------------
def cache_dir() -> Path | None:
    """The folder of the compiled rules' cache; None when CONSOLIDATOR_CACHE is "off"."""
    named = os.environ.get(CACHE_ENV, "").strip()
    if named.lower() in ("off", "0", "no", "false"):
        return None
    if named:
        return Path(named)
    import platformdirs

    return Path(platformdirs.user_cache_dir("consolidator", appauthor=False))


@lru_cache(maxsize=1)
def _code_digest() -> bytes | None:
    """The source of the code that compiles and defines a Form, the program's version and the Python that
    pickles it; None where the source is not there to read (a frozen or bytecode-only install): the cache
    could not tell one version's compilation from another's there, so it is not used."""
    from .. import __version__

    h = hashlib.sha256(f"{__version__}\0{sys.version}\0{pickle.HIGHEST_PROTOCOL}\0".encode())
    package = Path(__file__).resolve().parent.parent
    for name in _CODE:
        sources = sorted((package / name).glob("*.py"))
        if not sources:
            return None
        try:
            for path in sources:
                h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            return None
    return h.digest()


def _cache_key(rules_dir: Path) -> str | None:
    """The key of rules_dir's compilation as it is now; None when a rule file cannot be read (compiling
    then says which and why)."""
    h = hashlib.sha256(_code_digest())
    h.update(str(rules_dir).encode("utf-8", "surrogatepass") + b"\0")  # a Form records its folder as given
    try:
        for path in (rules_dir / COMMON_FILE, *rule_files(rules_dir)):
            data = path.read_bytes()
            h.update(path.name.encode("utf-8", "surrogatepass") + b"\0" + len(data).to_bytes(8, "little") + data)
    except OSError:
        return None
    return h.hexdigest()


def _entry(cache: Path, key: str) -> Path:
    return cache / f"rules-{key[:40]}.pickle"


def _cached(cache: Path, key: str) -> dict[str, Form] | None:
    """The compilation cached under key; None when there is none, or it cannot be read or is not one."""
    try:
        data = _entry(cache, key).read_bytes()
    except OSError:
        return None
    try:
        stored, forms = pickle.loads(data)
    except Exception:  # a truncated or foreign file may fail in any way unpickling can: compile instead
        return None
    if stored != key or not isinstance(forms, dict) or not all(isinstance(f, Form) for f in forms.values()):
        return None
    return forms


def _store(cache: Path, key: str, forms: dict[str, Form]) -> None:
    """Cache a compilation, written whole or not at all; a cache that cannot be written is passed over."""
    tmp = None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=".rules-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((key, forms), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _entry(cache, key))
        tmp = None
        _prune(cache)
    except Exception:  # full disk, no permission, a folder in the way, an object pickle refuses: compile next time
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _prune(cache: Path) -> None:
    """Keep the CACHE_KEEP newest compilations, and no half-written file older than an hour."""
    entries = sorted(cache.glob("rules-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    stale = [p for p in cache.glob(".rules-*.tmp") if p.stat().st_mtime < time.time() - 3600]
    for path in entries[CACHE_KEEP:] + stale:
        try:
            path.unlink()
        except OSError:
            pass
