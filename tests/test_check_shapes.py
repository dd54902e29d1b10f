"""``shapecheck check --shapes FILE``: shapes recorded by ``shapecheck trace`` are entry shapes for the
functions the source leaves unannotated, so a run of the code raises what the linter can then prove."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

MODEL = textwrap.dedent("""\
    def attend(q, k, v):
        scores = q @ k.transpose(-2, -1)
        weights = scores.softmax(dim=1)
        return weights @ v
""")
DRIVER = textwrap.dedent("""\
    import torch
    from model import attend

    out = attend(torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7))
""")


def _shapecheck(cwd, *args):
    return subprocess.run([sys.executable, "-m", "shapecheck", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _traced(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "drive.py").write_text(DRIVER)
    r = _shapecheck(tmp_path, "trace", "--", sys.executable, "drive.py")
    assert r.returncode == 0, r.stderr
    return tmp_path / ".shapecheck" / "shapes.json"


@pytest.mark.slow  # traces a torch program in a subprocess
def test_recorded_shapes_reveal_a_bug_the_source_alone_hides(tmp_path):
    shapes = _traced(tmp_path)
    alone = _shapecheck(tmp_path, "check", "--no-cache", "--output-format", "json", "model.py")
    assert alone.returncode == 0 and json.loads(alone.stdout) == []
    r = _shapecheck(tmp_path, "check", "--shapes", str(shapes), "--output-format", "json", "model.py")
    assert r.returncode == 1, r.stderr
    found = json.loads(r.stdout)
    assert [(d["code"], d["line"]) for d in found] == [("SHP202", 3)]
    assert any("recorded by `shapecheck trace`" in n for n in found[0]["notes"])


@pytest.mark.slow  # traces a torch program in a subprocess
def test_a_file_changed_since_the_run_takes_no_recorded_shapes(tmp_path):
    shapes = _traced(tmp_path)
    (tmp_path / "model.py").write_text(MODEL + "\n# edited after the run\n")
    r = _shapecheck(tmp_path, "check", "--shapes", str(shapes), "--output-format", "json", "model.py")
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_a_missing_or_foreign_shapes_file_is_a_clear_error(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    r = _shapecheck(tmp_path, "check", "--shapes", "nope.json", "model.py")
    assert r.returncode == 2 and "no shapes file" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "other.json").write_text('{"format": "something-else", "version": 7}')
    r = _shapecheck(tmp_path, "check", "--shapes", "other.json", "model.py")
    assert r.returncode == 2 and "--shapes other.json" in r.stderr and "Traceback" not in r.stderr
