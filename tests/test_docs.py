"""The README's generated and hand-kept developer parts stay true to the code.

The finding-code catalogue is rendered from findings.CATALOGUE (`consolidator docs` rewrites it), and the
layout tree of "How the code is laid out" lists exactly the folders and modules directly under consolidator/.
"""

import re
import shutil
from pathlib import Path

from consolidator.findings import CATALOGUE, SEVERITY_ZH
from consolidator.write.catalogue import (
    BEGIN,
    CODES_BEGIN,
    CODES_END,
    END,
    render,
    render_codes,
    update_readme,
)

from .conftest import ROOT

LAYOUT_HEADING = "## How the code is laid out"
ENTRY = re.compile(r"^  (\S+)\s{2,}(\S.*)$")


def readme_text() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def layout_entries(readme: str) -> dict[str, str]:
    """The entries of the layout tree (`  check/        what it does`), name to description."""
    section = readme[readme.index(LAYOUT_HEADING):]
    block = re.search(r"^```text\n(.*?)^```", section, re.S | re.M)
    assert block, "the layout section has no ```text block"
    lines = block.group(1).splitlines()
    assert lines[0] == "consolidator/", "the layout tree starts with the line consolidator/"
    entries = {}
    for line in lines[1:]:
        m = ENTRY.match(line)
        assert m, f"layout line not in the form `  name/   what it does`: {line!r}"
        entries[m.group(1)] = m.group(2)
    return entries


def package_entries(package: Path) -> set[str]:
    """Folders (as `name/`) and .py modules directly under the package, without __init__.py and caches."""
    out = set()
    for p in package.iterdir():
        if p.name in ("__init__.py", "__pycache__") or p.name.startswith("."):
            continue
        if p.is_dir():
            out.add(p.name + "/")
        elif p.suffix == ".py":
            out.add(p.name)
    return out


def layout_mismatch(readme: str, package: Path) -> tuple[set[str], set[str]]:
    """(in the package but not in the README, in the README but not in the package)."""
    listed, actual = set(layout_entries(readme)), package_entries(package)
    return actual - listed, listed - actual


def test_readme_codes_catalogue_is_up_to_date():
    readme = readme_text()
    current = readme[readme.index(CODES_BEGIN):readme.index(CODES_END) + len(CODES_END)]
    assert current == render_codes(), "README finding-code catalogue is stale: run `consolidator docs`"


def test_codes_section_comes_just_before_the_rule_catalogue():
    readme = readme_text()
    codes = readme.index("## Catalogue of finding codes")
    rules = readme.index("## Catalogue of fields and rules")
    assert codes < readme.index(CODES_BEGIN) < readme.index(CODES_END) < rules
    assert "\n## " not in readme[readme.index(CODES_END):rules].rstrip("\n")


def test_every_code_says_who_acts_and_what_to_do():
    for code, entry in CATALOGUE.items():
        assert entry.who in ("园区", "省厅"), code
        assert entry.action.strip(), code
        assert entry.action.endswith("。"), f"{code}: the action is one Chinese sentence ending in 。"


def test_every_code_is_in_the_rendered_table():
    table = render_codes()
    for code, entry in CATALOGUE.items():
        assert f"| `{code}` | {SEVERITY_ZH[entry.severity]} | {entry.title} | {entry.who} |" in table


def test_update_readme_rewrites_both_catalogues(tmp_path, forms):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{CODES_BEGIN}\nstale\n{CODES_END}\n\nmiddle\n\n{BEGIN}\nstale\n{END}\n", encoding="utf-8")
    assert update_readme(readme, forms) is True
    text = readme.read_text(encoding="utf-8")
    assert text == f"# x\n\n{render_codes()}\n\nmiddle\n\n{render(forms)}\n"
    assert update_readme(readme, forms) is False


def test_readme_layout_lists_every_folder_and_module():
    extra_in_package, gone_from_package = layout_mismatch(readme_text(), ROOT / "consolidator")
    assert not extra_in_package, f"add to the README's layout tree: {sorted(extra_in_package)}"
    assert not gone_from_package, f"remove from the README's layout tree: {sorted(gone_from_package)}"


def test_layout_check_notices_an_entry_added_or_removed(tmp_path):
    scratch = tmp_path / "consolidator"
    shutil.copytree(ROOT / "consolidator", scratch, ignore=shutil.ignore_patterns("__pycache__"))
    assert layout_mismatch(readme_text(), scratch) == (set(), set())
    (scratch / "dummy.py").write_text("", encoding="utf-8")
    (scratch / "extra").mkdir()
    shutil.rmtree(scratch / "mail")
    assert layout_mismatch(readme_text(), scratch) == ({"dummy.py", "extra/"}, {"mail/"})
