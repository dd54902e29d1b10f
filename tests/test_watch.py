"""``shapecheck check --watch``: a run, a re-run after an edit, a clean exit on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from _cli_support import BAD, CLEAN, REPO

pytest.importorskip("watchfiles")


def _env():
    e = dict(os.environ)
    e["PYTHONPATH"] = REPO + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("SHAPECHECK_CACHE_DIR", None)
    return e


def _ctrl_c_reaches_it():
    """In the child before it starts: SIGINT back to its default action. A test run started in the
    background by a shell (``.ci/run &``, nohup) ignores SIGINT, the child would inherit that, and
    Python leaves an ignored SIGINT ignored: Ctrl-C could not reach the watch at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(path, needle: str, timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = path.read_text()
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared in:\n{path.read_text()}")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is a POSIX affair")
def test_watch_rechecks_after_an_edit_and_exits_cleanly_on_ctrl_c(tmp_path):
    (tmp_path / "m.py").write_text(CLEAN)
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen([sys.executable, "-m", "shapecheck", "check", "--watch", "-j", "1",
                                 "--output-format", "concise", "."],
                                cwd=tmp_path, stdout=fo, stderr=fe, env=_env(), preexec_fn=_ctrl_c_reaches_it)
        try:
            _wait_for(out, "All checks passed")
            time.sleep(0.5)  # the watcher is set up once the first check is done; give it a moment
            (tmp_path / "m.py").write_text(BAD)
            text = _wait_for(out, "SHP001")
            assert text.index("All checks passed") < text.index("m.py:5")
            _wait_for(err, "1 file changed, checking again")
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == 0
    assert "Traceback" not in err.read_text()


def test_watch_without_watchfiles_says_how_to_install(tmp_path):
    (tmp_path / "m.py").write_text(CLEAN)
    # a module named watchfiles that cannot be imported stands for a missing package
    (tmp_path / "shadow").mkdir()
    (tmp_path / "shadow" / "watchfiles.py").write_text("raise ImportError('no watchfiles here')\n")
    env = _env()
    env["PYTHONPATH"] = str(tmp_path / "shadow") + os.pathsep + env["PYTHONPATH"]
    r = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--watch", "m.py"], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert "pip install 'shapecheck[watch]'" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_watch_refuses_stdin(tmp_path):
    r = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--watch", "-"], cwd=tmp_path,
                       capture_output=True, text=True, env=_env(), input="", timeout=60)
    assert r.returncode == 2 and "--watch checks files" in r.stderr
