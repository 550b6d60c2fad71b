"""The cache of compiled rules (rules/load.py): a hit gives the Forms compiling gives, without pydantic or
PyYAML; any change of a rule file, a broken or unwritable cache, or "off" compiles instead."""

import ast
import dataclasses
import os
import pickle
import subprocess
import sys

import pytest

from consolidator.rules import RuleFileError, load, load_forms
from consolidator.rules import compile as compile_mod


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CONSOLIDATOR_CACHE", str(folder))
    return folder


@pytest.fixture
def compiles(monkeypatch):
    """How many times the rules were compiled."""
    calls = []
    real = compile_mod.compile_forms

    def counted(rules_dir):
        calls.append(rules_dir)
        return real(rules_dir)

    monkeypatch.setattr(compile_mod, "compile_forms", counted)
    return calls


def _shape(obj):
    """Everything a Form holds, as plain values to compare: dataclasses field by field, syntax trees dumped."""
    if isinstance(obj, ast.AST):
        return ast.dump(obj, include_attributes=True)
    if dataclasses.is_dataclass(obj):
        return type(obj).__qualname__, tuple((f.name, _shape(getattr(obj, f.name))) for f in dataclasses.fields(obj))
    if isinstance(obj, dict):
        return tuple((k, _shape(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj).__name__, tuple(_shape(v) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(map(repr, obj))
    assert isinstance(obj, (str, int, float, bool, type(None), __import__("datetime").date)), type(obj)
    return type(obj).__name__, obj


def _entries(cache):
    return sorted(cache.glob("rules-*.pickle"))


def test_a_second_load_comes_from_the_cache_and_gives_what_compiling_gives(cache, compiles, rules_copy):
    first = load_forms(rules_copy)
    assert len(compiles) == 1 and len(_entries(cache)) == 1
    second = load_forms(rules_copy)
    assert len(compiles) == 1  # not compiled again
    assert second is not first and _shape(second) == _shape(first)
    assert [f.rules_dir for f in second.values()] == [str(rules_copy)] * 2
    assert b"consolidator.rules.schema" not in _entries(cache)[0].read_bytes()  # nothing of pydantic's is kept


def test_a_rule_file_changed_by_one_character_is_compiled_again(cache, compiles, rules_copy):
    load_forms(rules_copy)
    path = rules_copy / "green_safety.yaml"
    text = path.read_text(encoding="utf-8")
    label = load_forms(rules_copy)["green_safety"].title
    assert len(compiles) == 1
    common = rules_copy / "common.yaml"
    common.write_text(common.read_text(encoding="utf-8").replace(label, label + "（修订）", 1), encoding="utf-8")
    assert load_forms(rules_copy)["green_safety"].title == label + "（修订）"
    assert len(compiles) == 2 and len(_entries(cache)) == 2
    path.write_text(text + "\n", encoding="utf-8")  # one byte more, nothing else: still another key
    load_forms(rules_copy)
    assert len(compiles) == 3


def test_the_same_files_under_another_name_are_their_own_entry(cache, compiles, rules_copy, tmp_path, monkeypatch):
    load_forms(rules_copy)
    monkeypatch.chdir(rules_copy.parent)
    forms = load_forms("rules")  # the same folder, named relatively: a Form records its folder as given
    assert [f.rules_dir for f in forms.values()] == ["rules", "rules"]
    assert len(compiles) == 2


@pytest.mark.parametrize("damage", ["truncated", "foreign", "empty"])
def test_a_broken_cache_entry_is_compiled_over(cache, compiles, rules_copy, damage):
    good = _shape(load_forms(rules_copy))
    entry, = _entries(cache)
    data = entry.read_bytes()
    entry.write_bytes({"truncated": data[: len(data) // 2], "foreign": pickle.dumps(("x", {"a": 1})),
                       "empty": b""}[damage])
    assert _shape(load_forms(rules_copy)) == good
    assert len(compiles) == 2
    assert entry.read_bytes() == data  # written again, whole
    assert _shape(load_forms(rules_copy)) == good and len(compiles) == 2


def test_a_cache_that_cannot_be_made_is_passed_over(tmp_path, monkeypatch, compiles, rules_copy):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CONSOLIDATOR_CACHE", str(blocker / "cache"))
    good = _shape(load_forms(rules_copy))
    assert _shape(load_forms(rules_copy)) == good and len(compiles) == 2


def test_an_entry_that_cannot_be_replaced_leaves_no_half_written_file(cache, compiles, rules_copy):
    entry = load._entry(cache, load._cache_key(rules_copy))
    entry.mkdir(parents=True)  # a folder where the entry goes: the written file cannot take its place
    good = _shape(load_forms(rules_copy))
    assert _shape(load_forms(rules_copy)) == good and len(compiles) == 2
    assert sorted(p.name for p in cache.iterdir()) == [entry.name]


def test_without_the_source_to_key_it_by_the_cache_is_not_used(cache, compiles, rules_copy, monkeypatch):
    monkeypatch.setattr(load, "_code_digest", lambda: None)  # a frozen or bytecode-only install
    load_forms(rules_copy)
    load_forms(rules_copy)
    assert len(compiles) == 2 and not cache.exists()


def test_another_version_of_the_program_is_another_key(cache, rules_copy, monkeypatch):
    import consolidator

    key = load._cache_key(rules_copy)
    monkeypatch.setattr(consolidator, "__version__", consolidator.__version__ + ".1")
    load._code_digest.cache_clear()
    try:
        assert load._cache_key(rules_copy) != key
    finally:
        monkeypatch.undo()
        load._code_digest.cache_clear()
    assert load._cache_key(rules_copy) == key


def test_off_compiles_every_time_and_writes_nothing(tmp_path, monkeypatch, compiles, rules_copy):
    monkeypatch.setenv("CONSOLIDATOR_CACHE", "off")
    monkeypatch.setattr(load, "_store", lambda *a: pytest.fail("stored with the cache off"))
    load_forms(rules_copy)
    load_forms(rules_copy)
    assert len(compiles) == 2


def test_rules_with_a_mistake_are_never_cached(cache, compiles, rules_copy):
    path = rules_copy / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nno_such_key: 1\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(RuleFileError, match="no_such_key"):
            load_forms(rules_copy)
    assert len(compiles) == 2 and not _entries(cache)


def test_a_missing_code_table_is_reported_on_a_hit_too(cache, compiles, rules_copy):
    load_forms(rules_copy)
    table = rules_copy / "reference" / "gbt4754_2017.yaml"
    table.unlink()
    with pytest.raises(RuleFileError, match="国民经济行业分类代码表"):
        load_forms(rules_copy)
    assert len(compiles) == 1  # from the cache, and still looked for


def test_only_the_newest_compilations_are_kept(cache, compiles, rules_copy, monkeypatch):
    monkeypatch.setattr(load, "CACHE_KEEP", 2)
    common = rules_copy / "common.yaml"
    text = common.read_text(encoding="utf-8")
    for i in range(4):
        common.write_text(text + f"\n# revision {i}\n", encoding="utf-8")
        load_forms(rules_copy)
    assert len(_entries(cache)) == 2
    assert len(compiles) == 4
    load_forms(rules_copy)  # the newest is one of those kept
    assert len(compiles) == 4


def test_a_start_that_finds_its_rules_in_the_cache_imports_neither_pydantic_nor_yaml(cache, rules_copy):
    load_forms(rules_copy)
    code = ("import sys\nfrom consolidator.rules import load_forms\n"
            f"forms = load_forms({str(rules_copy)!r})\n"
            "print(sorted(forms), 'pydantic' in sys.modules, 'yaml' in sys.modules)\n")
    env = {**os.environ, "CONSOLIDATOR_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['green_safety',", "'open_cooperation']", "False", "False"]
