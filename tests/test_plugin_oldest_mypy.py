"""The plugin on the oldest supported mypy (1.18): the same cases, in an environment where
mypy 1.18.2 shadows the newest one (everything else — torch, jaxtyping, shapecheck — is shared)."""

from __future__ import annotations

import subprocess
import sys
import venv

import pytest

pytest.importorskip("torch")
pytest.importorskip("jaxtyping")

import _mypy_harness as H

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves these to CI

OLDEST = "1.18.2"


@pytest.fixture(scope="module")
def old_python(tmp_path_factory):
    where = tmp_path_factory.mktemp("mypy-oldest")
    venv.create(where, with_pip=True, system_site_packages=True, clear=True)
    py = str(where / "bin" / "python")
    done = subprocess.run([py, "-m", "pip", "install", "-q", f"mypy=={OLDEST}"], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run([py, "-c", "import mypy.version; print(mypy.version.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith(OLDEST), version
    return py


def test_oldest_supported_mypy_reports_the_cases(old_python, tmp_path):
    files = H.case_files()
    cfg = H.write_config(tmp_path)
    out = H.run_mypy(files, tmp_path / "cache", cfg, python=old_python)
    expected = H.expectations(files, post_pass=False)  # the post-pass needs mypy >= 2.4
    problems = H.compare(expected, H.parse(out))
    assert not problems, "\n".join(problems) + "\n--- mypy output ---\n" + out


def test_older_mypy_is_refused_with_a_clear_message(tmp_path_factory, tmp_path):
    where = tmp_path_factory.mktemp("mypy-too-old")
    venv.create(where, with_pip=True, system_site_packages=True, clear=True)
    py = str(where / "bin" / "python")
    done = subprocess.run([py, "-m", "pip", "install", "-q", "mypy==1.17.1"], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    case = tmp_path / "m.py"
    case.write_text("x: int = 1\n")
    cfg = H.write_config(tmp_path)
    proc = subprocess.run([py, "-m", "mypy", "--config-file", str(cfg), "--cache-dir", str(tmp_path / "c"),
                           str(case)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert "shapecheck.plugin needs mypy >= 1.18" in proc.stderr
    assert "Traceback" not in proc.stderr
