"""A run's outputs change as one set: the folder is claimed first, temporaries never outlive a run."""

import os
import signal
import subprocess
import sys

import pytest

from consolidator.cli import main
from consolidator.write.files import LOCK_NAME, MARKER_NAME, OutputBusyError, OutputSet


def test_outputs_replace_the_old_ones_only_when_all_are_written(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    with pytest.raises(RuntimeError):
        with OutputSet(tmp_path) as out:
            out.add("a.txt", b"new a")
            raise RuntimeError("the second output could not be made")
    assert (tmp_path / "a.txt").read_text() == "old a" and (tmp_path / "b.txt").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER_NAME, "a.txt", "b.txt"]  # no temporary, no claim
    with OutputSet(tmp_path) as out:
        out.add("a.txt", b"new a")
        out.add("b.txt", b"new b")
        assert (tmp_path / "a.txt").read_text() == "old a"  # nothing replaced before commit
        out.commit()
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "b.txt").read_text() == "new b"


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(tmp_path):
    with OutputSet(tmp_path):
        with pytest.raises(OutputBusyError) as err:
            OutputSet(tmp_path).__enter__()
        assert str(os.getpid()) in str(err.value) and "正被另一次运行" in str(err.value)


def test_the_claim_and_temporaries_of_a_killed_run_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = dead.stdout.strip()
    (tmp_path / LOCK_NAME).write_text(pid)
    (tmp_path / f".~tmp-{pid}-abc.html").write_bytes(b"x" * 1000)
    (tmp_path / ".~tmp-oldstyle.csv").write_bytes(b"x")
    with OutputSet(tmp_path) as out:
        out.add("report.html", b"new")
        out.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER_NAME, "report.html"]


def test_sigterm_while_writing_leaves_no_temporary(tmp_path):
    script = (
        "import sys, time\n"
        "from consolidator.write.files import OutputSet, terminate_gracefully\n"
        "terminate_gracefully()\n"
        f"with OutputSet({str(tmp_path)!r}) as out:\n"
        "    out.add('report.html', b'x' * 100000)\n"
        "    print('written', flush=True)\n"
        "    time.sleep(30)\n")
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "written"
    assert any(n.name.startswith(".~tmp-") for n in tmp_path.iterdir())
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)
    assert [p.name for p in tmp_path.iterdir()] == [MARKER_NAME]


def test_an_output_folder_that_cannot_be_made_is_reported_before_reading(tmp_path, monkeypatch, capsys):
    import consolidator.pipeline as pipeline

    def must_not_read(*args, **kwargs):
        raise AssertionError("the returns were read before the output folder was claimed")

    monkeypatch.setattr(pipeline, "run_check", must_not_read)
    returns = tmp_path / "报送"
    returns.mkdir()
    blocker = tmp_path / "结果"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(SystemExit) as exc:
        main(["check", str(returns), "--out", str(blocker / "子目录")])
    err = capsys.readouterr().err
    assert exc.value.code == 4 and "结果" in err and "无法完成" in err


def test_check_twice_into_one_folder_gives_one_set(tmp_path, capsys):
    from .conftest import ROOT

    returns = ROOT / "sample_data" / "returns"
    out = tmp_path / "o"
    for _ in range(2):
        with pytest.raises(SystemExit):
            main(["check", str(returns), "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == [MARKER_NAME, "findings.csv", "findings.json", "report.html"]
