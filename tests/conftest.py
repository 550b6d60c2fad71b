import os
import random
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

# The compiled rules' cache of this test run (and of the commands it starts): a folder of its own, not the
# user's, set before anything loads rules. Tests of the cache itself give each test a folder of its own.
os.environ["CONSOLIDATOR_CACHE"] = tempfile.mkdtemp(prefix="consolidator-test-cache-")

import openpyxl  # noqa: E402
import pytest  # noqa: E402

from consolidator.rules import DEFAULT_RULES_DIR, load_forms  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def forms():
    return load_forms()


@pytest.fixture
def rules_copy(tmp_path):
    """A writable copy of rules/ for tests that break or extend the rule files."""
    dst = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, dst)
    return dst


@pytest.fixture
def rng():
    return random.Random(20261124)


def _find_soffice():
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require(available: bool, what: str, install: str) -> None:
    """A real component a test needs: skip on a laptop without it, fail under CI=true (.ci/run installs it)."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {what} is missing; .ci/run must install it ({install})")
    pytest.skip(f"{what} is not installed: {install}")


@pytest.fixture(scope="session")
def soffice(tmp_path_factory):
    """Headless LibreOffice."""
    path = _find_soffice()
    require(path is not None, "LibreOffice (soffice)", "apt-get install libreoffice-calc")
    profile = tmp_path_factory.mktemp("lo-profile")
    return path, profile.as_uri()


def libreoffice_resave(soffice, src: Path, out_dir: Path) -> Path:
    """Open `src` in headless LibreOffice, recalculate, and save it as .xlsx in out_dir."""
    exe, profile = soffice
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to",
         "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), str(src)],
        capture_output=True, text=True, timeout=180,
    )
    out = out_dir / (src.stem + ".xlsx")
    assert result.returncode == 0 and out.exists(), f"LibreOffice failed: {result.stdout}\n{result.stderr}"
    return out


def load_values(path: Path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl cannot represent the formula print area; harmless here
        return openpyxl.load_workbook(path, data_only=True)


def load_formulas(path: Path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)


def unique(prefix="x"):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# ---- returns built in memory, for the pure checker ------------------------------------------------
import datetime as _dt  # noqa: E402
from functools import lru_cache as _lru_cache  # noqa: E402

from consolidator.read.normalize import normalise_return  # noqa: E402
from consolidator.read.sources import Source  # noqa: E402
from consolidator.returns import Cell, EnterpriseRows, RawReturn  # noqa: E402
from consolidator.samples import clean_return  # noqa: E402
from consolidator.write.template import build_workbook  # noqa: E402


@_lru_cache(maxsize=8)
def layout_of(form):
    return build_workbook(form)[1]


def computed_values(form, values):
    import numpy as np
    import pandas as pd

    from consolidator.check.derive import recompute

    row = {}
    for f in form.fields.values():
        v = values.get(f.id)
        row[f.id] = (float(v) if isinstance(v, (int, float)) else np.nan) if f.is_numeric else v
    frame = recompute(form, pd.DataFrame([row]))
    out = {}
    for f in form.derived_fields():
        v = frame[f.id].iloc[0]
        out[f.id] = None if v is None or (isinstance(v, float) and np.isnan(v)) else v
    return out


def raw_return(form, values, enterprises=(), *, file="园区.xlsx", mtime=None, park_id=None, cached_formulas=True):
    """A RawReturn as the reader would make it from a workbook holding `values` and `enterprises`."""
    layout = layout_of(form)
    cached = dict(values)
    if cached_formulas:  # what Excel stores beside each formula
        cached = {**computed_values(form, values), **values}
    cells = {}
    for fid in form.fields:
        sheet, coord = layout.cells[fid]
        cells[fid] = Cell(sheet, coord, cached.get(fid))
    first = layout.list_first_row
    letters = {cid: rng.split(":")[0].rstrip("0123456789") for cid, (_, rng) in layout.list_columns.items()}
    rows = EnterpriseRows(form.enterprise_list.sheet_title, letters, [first + i for i in range(len(enterprises))],
                          {cid: [e.get(cid) for e in enterprises] for cid in letters})
    source = Source(file, mtime or _dt.datetime(2026, 11, 20, 9, 0), None)
    raw = RawReturn(source, category=form.category_id, template_version=form.template_version,
                    fingerprint=form.fingerprint, park_id=park_id, cells=cells, enterprises=rows)
    normalise_return(raw, form)  # as the reading worker does (read.workers.read_one)
    return raw


def sample(form, seed=1, **changes):
    s = clean_return(form, random.Random(seed))
    s.values.update(changes)
    return s


def _uno_python():
    import subprocess as sp

    for exe in ("/usr/bin/python3", shutil.which("python3")):
        if exe and Path(exe).exists():
            if sp.run([exe, "-c", "import uno"], capture_output=True).returncode == 0:
                return exe
    return None


@pytest.fixture(scope="session")
def lo_edit(soffice):
    """Edit a workbook in real LibreOffice (rows inserted, sheets renamed...), through UNO."""
    exe = _uno_python()
    require(exe is not None, "LibreOffice's Python bridge (python3-uno)", "apt-get install python3-uno")

    def edit(src: Path, dst: Path, ops: list) -> Path:
        import json
        import subprocess as sp

        result = sp.run([exe, str(ROOT / "tests" / "lo_edit.py"), str(src), str(dst), json.dumps(ops, ensure_ascii=False)],
                        capture_output=True, text=True, timeout=180)
        assert result.returncode == 0 and dst.exists(), result.stderr
        return dst

    return edit
