"""`pip install .` on a machine without torch gives a working `shapecheck check` (the linter needs no torch)."""

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves these to CI

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bare_env(tmp_path_factory):
    where = tmp_path_factory.mktemp("bare-venv")
    venv.create(where, with_pip=True, system_site_packages=False, clear=True)
    py = where / "bin" / "python"
    build = tmp_path_factory.mktemp("build")
    done = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-cache-dir", str(ROOT)],
                          capture_output=True, text=True, cwd=build, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return where


def test_installed_linter_runs_without_torch(bare_env, tmp_path):
    py = bare_env / "bin" / "python"
    no_torch = subprocess.run([str(py), "-c", "import torch"], capture_output=True, text=True)
    assert no_torch.returncode != 0, "the bare environment must not have torch"
    model = tmp_path / "model.py"
    model.write_text(
        "import torch\nfrom torch import Tensor\nfrom jaxtyping import Float\n\n"
        'def attend(q: Float[Tensor, "b s d"], k: Float[Tensor, "b s d"]):\n'
        "    return q @ k\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(bare_env / "bin" / "shapecheck"), "check", "--format", "json", "--no-cache", str(model)],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 1, out.stderr
    found = json.loads(out.stdout)
    assert [(d["line"], d["code"]) for d in found] == [(6, "SHP101")]
    # and the bundled examples: findings, not a crash
    ex = subprocess.run([str(bare_env / "bin" / "shapecheck"), "check", "--no-cache", "--format", "json",
                         str(ROOT / "fixtures" / "bugs")], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert ex.returncode == 1, ex.stderr
    assert not [d for d in json.loads(ex.stdout) if d["code"] == "SHP900"]
