"""The package's shape: no module imports a later stage of the pipeline, and no function is long
without a reason written above it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "consolidator"
# the pipeline's stages, lowest first: a module may import its own stage and the ones below
STAGES = {"expr": 0, "findings": 0, "resources": 0, "errors": 0, "cores": 0, "rules": 1, "returns": 1, "read": 2, "ledger": 2, "samples": 2, "check": 3, "write": 4,
          "mail": 5, "pipeline": 6, "workspace": 6, "cli": 7, "clitext": 7}
LONG = 60


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        yield path, rel.parts[0].removesuffix(".py"), ast.parse(path.read_text(encoding="utf-8"))


def _imported_stages(path: Path, tree: ast.AST):
    """The first part below consolidator/ of every module `path` imports (relative imports resolved)."""
    here = path.relative_to(PACKAGE).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("consolidator."):
                parts = node.module.split(".")[1:]
            else:
                continue
            names = parts[:1] or [a.name for a in node.names]
            yield from ((n, node.lineno) for n in names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("consolidator."):
                    yield a.name.split(".")[1], node.lineno


def test_no_module_imports_a_later_stage():
    wrong = []
    for path, stage, tree in _modules():
        if stage == "__init__":
            continue
        for target, line in _imported_stages(path, tree):
            if target in STAGES and STAGES[target] > STAGES[stage]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}/")
    assert wrong == []


def test_check_imports_nothing_of_write_or_mail_and_read_nothing_of_check():
    for path, stage, tree in _modules():
        targets = {t for t, _ in _imported_stages(path, tree)}
        if stage == "check":
            assert not targets & {"write", "mail", "pipeline", "cli"}, path
        if stage == "read":
            assert not targets & {"check", "write", "mail", "pipeline", "cli"}, path


def test_no_long_function_without_a_reason():
    """A function over 60 lines needs a comment right above it (or its decorators) saying why."""
    long = []
    for path, _, tree in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= LONG:
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if not lines[first - 2].strip().startswith("#"):
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} "
                                f"({node.end_lineno - node.lineno + 1} lines)")
    assert long == []


def test_reading_a_return_loads_neither_openpyxl_nor_pandas():
    import subprocess
    import sys

    code = ("import sys, consolidator.read.workers, consolidator.read.workbook;"
            "print(sorted(m for m in ('openpyxl', 'pandas', 'pandera') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_block_title_breaks_neither_a_number_nor_leaves_a_character_alone():
    """Column A's block titles are broken by hand: "2025年" and "31日" stay whole on a line ("日、20" / "25年" was
    printed), and no line holds one character alone ("承诺声" / "明")."""
    import re

    from consolidator.rules import load_forms
    from consolidator.rules.layout import COL_BLOCK, WIDTHS, text_width, wrapped

    titles = {b.title for f in load_forms().values() for s in f.sheets for b in s.blocks if b.title}
    titles |= {"企业培育情况（截至2025年12月31日、2025年）", "承诺声明", "所在地区"}
    for title in titles:
        lines = wrapped(title, WIDTHS[COL_BLOCK]).split("\n")
        assert "".join(lines) == title
        assert not any(a[-1].isdigit() and b[0].isdigit() for a, b in zip(lines, lines[1:])), lines
        assert not any(a[-1].isdigit() and b[0] in "年月日" for a, b in zip(lines, lines[1:])), lines
        assert len(lines) == 1 or len(lines[-1]) > 1, lines
        assert all(text_width(line) <= WIDTHS[COL_BLOCK] - 2 or re.fullmatch(r"\d+[年月日）]*", line)
                   for line in lines[:-1]), lines
    assert wrapped("承诺声明", WIDTHS[COL_BLOCK]) == "承诺\n声明"
