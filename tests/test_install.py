"""The program as the office installs it: a wheel in a fresh virtual environment, run from a folder that
has nothing to do with the clone, must find its rules, mail templates and workbook templates and give
the same findings as a run from the clone. The sdist carries what the wheel is built from."""

import subprocess
import sys
import sysconfig
import tarfile
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, encoding="utf-8", **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from the clone, installed into a new venv (dependencies from this interpreter)."""
    base = tmp_path_factory.mktemp("install")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                  "-w", str(base / "wheel"), str(ROOT)])
    assert built.returncode == 0, built.stderr
    wheel = next((base / "wheel").glob("consolidator-*.whl"))
    venv.EnvBuilder(with_pip=False).create(base / "venv")
    bindir = base / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / ("python.exe" if sys.platform == "win32" else "python")
    # the dependencies are this environment's: its site-packages as a plain path (its own .pth files, among
    # them the clone's editable install, are not run), after the venv's own
    inner = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(inner, "_dependencies.pth").write_text("\n".join(sorted(outer)) + "\n", encoding="utf-8")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)])
    assert done.returncode == 0, done.stderr
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return python, bindir / "consolidator", elsewhere, wheel


def test_the_wheel_carries_the_rules_and_templates(installed):
    import zipfile

    names = zipfile.ZipFile(installed[3]).namelist()
    for part in ("rules/common.yaml", "rules/reference/gbt4754_2017.yaml", "mail_templates/distribute.txt.j2",
                 "write/report.html.j2"):
        assert any(n.endswith(part) for n in names), part
    assert sum("workbook_templates/" in n and n.endswith(".xlsx") for n in names) == 2


def test_the_installed_program_is_the_wheel_not_the_clone(installed):
    python, _, elsewhere, _ = installed
    out = _run([str(python), "-c", "import consolidator; print(consolidator.__file__)"], cwd=elsewhere)
    assert str(ROOT) not in out.stdout and "venv" in out.stdout, out


def test_check_from_an_unrelated_folder_finds_what_the_clone_finds(installed, tmp_path):
    _, command, elsewhere, _ = installed
    args = ["check", str(SAMPLE / "returns"), "--roster", str(SAMPLE / "roster.csv")]
    wheel_run = _run([str(command), *args, "--out", str(tmp_path / "wheel")], cwd=elsewhere)
    clone_run = _run([sys.executable, "-m", "consolidator.cli", *args, "--out", str(tmp_path / "clone")], cwd=ROOT)
    assert wheel_run.returncode == clone_run.returncode == 1, (wheel_run.stderr, clone_run.stderr)
    assert "Traceback" not in wheel_run.stderr
    wheel_findings = (tmp_path / "wheel" / "findings.csv").read_text(encoding="utf-8-sig")
    clone_findings = (tmp_path / "clone" / "findings.csv").read_text(encoding="utf-8-sig")
    assert wheel_findings == clone_findings
    assert wheel_findings.count("format_industry") == clone_findings.count("format_industry") > 0


def test_templates_and_mail_from_the_installed_program(installed, tmp_path):
    _, command, elsewhere, _ = installed
    made = _run([str(command), "template", "--out", str(tmp_path / "t")], cwd=elsewhere)
    assert made.returncode == 0, made.stderr
    assert len(list((tmp_path / "t").glob("*.xlsx"))) == 2
    sent = _run([str(command), "distribute", "--roster", str(SAMPLE / "roster.csv"), "--out", str(tmp_path / "o"),
                 "--from", "gyc@example.gov.cn", "--office-name", "省工业和信息化厅"], cwd=elsewhere)
    assert sent.returncode == 0, sent.stderr
    assert list((tmp_path / "o" / "邮件").glob("*_填报通知.eml"))


def test_the_sdist_carries_rules_templates_and_sample_data(tmp_path):
    built = _run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path)], cwd=ROOT)
    assert built.returncode == 0, built.stderr
    names = tarfile.open(next(tmp_path.glob("*.tar.gz"))).getnames()
    for part in ("rules/common.yaml", "rules/reference/gbt4754_2017.yaml", "mail_templates/distribute.txt.j2",
                 "sample_data/roster.csv", "setup.py", "MANIFEST.in"):
        assert any(n.endswith(part) for n in names), part
    assert not any("_检查结果" in n for n in names)
