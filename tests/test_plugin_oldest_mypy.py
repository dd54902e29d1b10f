"""The plugin on the oldest supported mypy (2.4): the same cases, in an environment where
mypy 2.4.0 shadows the newest one (everything else — torch, jaxtyping, shapecheck — is shared).

The nested environment is a plain virtualenv that then sees this interpreter's own site directories
(behind its own), so it works the same whether the tests run in a virtualenv or not. (A nested
virtualenv with ``system_site_packages=True`` would see the base interpreter's packages, not those of
the virtualenv the tests run in.)"""

from __future__ import annotations

import site
import subprocess
import venv
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("jaxtyping")

import _mypy_harness as H

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves these to CI

OLDEST = "2.4.0"


def _site_dirs() -> list:
    """Where this interpreter finds installed packages: its site-packages (a virtualenv's, and the base
    interpreter's when that virtualenv includes them) and the user's, as ``site`` set them up."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def python_with_mypy(where: Path, version: str) -> str:
    """A fresh virtualenv holding mypy ``version`` (and its dependencies) in front of everything this
    interpreter sees (torch, jaxtyping, shapecheck however it is installed, editable included)."""
    venv.create(where, with_pip=True, system_site_packages=False, clear=True)
    py = str(where / "bin" / "python")
    done = subprocess.run([py, "-m", "pip", "install", "-q", f"mypy=={version}"], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    own = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True,
                         text=True, check=True).stdout.strip()
    # addsitedir appends after the environment's own site-packages and reads the .pth files there too
    # (an editable install of shapecheck is one)
    lines = "".join(f"import site; site.addsitedir({d!r})\n" for d in _site_dirs())
    (Path(own) / "_shapecheck_tests_parent_site.pth").write_text(lines, encoding="utf-8")
    seen = subprocess.run([py, "-c", "import shapecheck.plugin, torch, jaxtyping"], capture_output=True, text=True)
    assert seen.returncode == 0, seen.stderr
    return py


@pytest.fixture(scope="module")
def old_python(tmp_path_factory):
    py = python_with_mypy(tmp_path_factory.mktemp("mypy-oldest"), OLDEST)
    version = subprocess.run([py, "-c", "import mypy.version; print(mypy.version.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith(OLDEST), version
    return py


def test_oldest_supported_mypy_reports_the_cases(old_python, tmp_path):
    import shutil

    shutil.copytree(H.CASES / "pkg", tmp_path / "pkg")
    files = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "pkg").glob("*.py"))
    cfg = H.write_config(tmp_path)
    out = H.run_mypy(files, tmp_path / "cache", cfg, cwd=tmp_path, python=old_python)
    findings = H.plugin_findings(out)
    assert findings, out
    problems = H.compare_with_markers(findings, tmp_path, [tmp_path / f for f in files])
    assert not problems, "\n".join(problems) + "\n--- mypy output ---\n" + out


def test_older_mypy_is_refused_with_a_clear_message(tmp_path_factory, tmp_path):
    py = python_with_mypy(tmp_path_factory.mktemp("mypy-too-old"), "2.3.1")
    case = tmp_path / "m.py"
    case.write_text("x: int = 1\n")
    cfg = H.write_config(tmp_path)
    proc = subprocess.run([py, "-m", "mypy", "--config-file", str(cfg), "--cache-dir", str(tmp_path / "c"),
                           str(case)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert "shapecheck.plugin needs mypy >= 2.4" in proc.stderr
    assert "Traceback" not in proc.stderr
