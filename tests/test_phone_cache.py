"""The template's table of valid phone-number prefixes (write/template/calc.py): probed from phonenumbers once and
kept in the cache folder; what comes back from the cache is what probing gives, and a cache that is broken, of
another version, unwritable or "off" is probed again."""

import pytest

from consolidator.write.template import calc


@pytest.fixture(scope="module")
def probed():
    return calc._probe_numbering()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CONSOLIDATOR_CACHE", str(folder))
    calc.phone_numbering.cache_clear()
    yield folder
    calc.phone_numbering.cache_clear()


@pytest.fixture
def probes(monkeypatch, probed):
    calls = []

    def counted():
        calls.append(1)
        return probed

    monkeypatch.setattr(calc, "_probe_numbering", counted)
    return calls


def again():
    calc.phone_numbering.cache_clear()
    return calc.phone_numbering()


def test_probed_once_then_read_back_the_same(cache, probes, probed):
    assert len(probed) > 300 and "11|138" in probed and "11|100" not in probed
    assert calc.phone_numbering() == probed and len(probes) == 1
    (kept,) = cache.glob("phone-numbering-*.txt")
    assert again() == probed and again() == probed and len(probes) == 1
    assert kept.read_text("utf-8").splitlines()[-1] == f"end {len(probed)}"


@pytest.mark.parametrize("damage", ["truncated", "other key", "garbage", "empty", "binary"])
def test_a_damaged_or_foreign_file_is_probed_again_and_replaced(cache, probes, probed, damage):
    calc.phone_numbering()
    (kept,) = cache.glob("phone-numbering-*.txt")
    text = kept.read_text("utf-8")
    kept.write_bytes({"truncated": text[: len(text) // 2].encode(), "other key": ("x" + text).encode(),
                      "garbage": b"11|138\nend 1", "empty": b"", "binary": b"\xff\xfe\x00"}[damage])
    assert again() == probed and len(probes) == 2
    assert kept.read_text("utf-8") == text


def test_another_phonenumbers_version_is_probed_and_the_old_file_removed(cache, probes, probed, monkeypatch):
    import phonenumbers

    calc.phone_numbering()
    (old,) = cache.glob("phone-numbering-*.txt")
    monkeypatch.setattr(phonenumbers, "__version__", "0.0.1")
    assert again() == probed and len(probes) == 2
    (new,) = cache.glob("phone-numbering-*.txt")
    assert new != old and "phonenumbers 0.0.1" in new.read_text("utf-8")


def test_off_or_unwritable_still_gives_the_table(tmp_path, monkeypatch, probes, probed):
    calc.phone_numbering.cache_clear()
    monkeypatch.setenv("CONSOLIDATOR_CACHE", "off")
    assert calc.phone_numbering() == probed
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CONSOLIDATOR_CACHE", str(blocker / "cache"))
    assert again() == probed and len(probes) == 2
    assert not list(tmp_path.glob("**/phone-numbering-*"))
    calc.phone_numbering.cache_clear()
