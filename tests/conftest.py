import os
import random
import shutil
import subprocess
import uuid
from pathlib import Path

import openpyxl
import pytest

from consolidator.form import DEFAULT_RULES_DIR, load_forms

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


@pytest.fixture(scope="session")
def soffice(tmp_path_factory):
    """Headless LibreOffice. Skips on a laptop without it; under CI=true its absence is a failure."""
    path = _find_soffice()
    if path is None:
        if IN_CI:
            pytest.fail("CI=true but LibreOffice (soffice) is not installed; .ci/run must install it")
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc")
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
