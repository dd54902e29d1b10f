"""The round trip on fixtures/annotate: trace the driver, annotate --write a copy, then the same
driver passes with every annotated function guarded (the import hook), and ``shapecheck check``
reports nothing that it did not report before."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trace, annotate and guard a real program end to end, in subprocesses

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "annotate"
SHAPECHECK = [sys.executable, "-m", "shapecheck"]

GUARDED_RUN = """
import runpy, sys
import shapecheck
hook = shapecheck.install_import_hook("_tinygpt")
sys.argv = ["_drive.py"]
try:
    runpy.run_path("_drive.py", run_name="__main__")
finally:
    print("guarded:", hook.guarded.get("_tinygpt", 0))
"""

BAD_CALL = """
import torch
import shapecheck
hook = shapecheck.install_import_hook("_tinygpt")
from _tinygpt import Block, Config, causal_mask
block = Block(Config())
try:
    block(torch.randn(2, 5, 24), causal_mask(16).float())
except shapecheck.ShapeError as e:
    print("rejected:", str(e).splitlines()[0])
"""


def _run(cwd, *args):
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=300)


def _diagnostics(cwd):
    r = _run(cwd, *SHAPECHECK, "check", "--isolated", "--no-cache", "--output-format", "json", ".")
    assert r.returncode in (0, 1), r.stderr
    return sorted((d["path"], d["code"], d["message"]) for d in json.loads(r.stdout))


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    work = tmp_path_factory.mktemp("roundtrip")
    for name in ("_tinygpt.py", "_drive.py"):
        shutil.copy(FIXTURE / name, work / name)
    before = _diagnostics(work)
    r = _run(work, *SHAPECHECK, "trace", "--", "python", "_drive.py")
    assert r.returncode == 0, r.stderr
    r = _run(work, *SHAPECHECK, "annotate", "--write")
    assert r.returncode == 0, r.stderr
    return work, before


def test_every_forward_is_annotated_with_names(annotated):
    work, _ = annotated
    text = (work / "_tinygpt.py").read_text()
    for cls in ("RMSNorm", "SelfAttention", "MLP", "Block"):
        block = text.split(f"class {cls}(nn.Module):")[1]
        sig = block.split("def forward(")[1].split("\n")[0]
        assert 'Float[Tensor, "batch seq n_embd"]' in sig, (cls, sig)
    assert 'def forward(self, idx: Int[Tensor, "batch seq"], targets: Int[Tensor, "batch seq"] | None = None) -> ' \
           'tuple[Float[Tensor, "batch seq vocab_size"], Float[Tensor, ""] | None]:' in text
    assert 'def rms_norm(x: Float[Tensor, "*batch n_embd"], weight: Float[Tensor, " n_embd"], eps: float = 1e-5)' \
        in text
    assert 'mask: Bool[Tensor, "block_size block_size"]' in text
    assert text.count("from jaxtyping import") == 1 and text.count("from torch import Tensor") == 1
    # the driver was traced too, but it has no tensor arguments: it is left as it was
    assert (work / "_drive.py").read_text() == (FIXTURE / "_drive.py").read_text()


def test_the_annotated_code_passes_the_guard_on_the_same_command(annotated):
    work, _ = annotated
    r = _run(work, sys.executable, "-c", GUARDED_RUN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "guarded: 8" in r.stdout  # rms_norm, causal_mask, five forward methods and generate
    # and the guard does check them: a call the annotations exclude is rejected
    r = _run(work, sys.executable, "-c", BAD_CALL)
    assert "rejected: argument `mask` of `Block.forward` has dtype float32 where its annotation is Bool" in r.stdout, \
        r.stdout + r.stderr


def test_check_reports_nothing_new(annotated):
    work, before = annotated
    assert _diagnostics(work) == before


def test_failing_driver_still_records(tmp_path):
    for name in ("_tinygpt.py", "_drive.py"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    r = _run(tmp_path, *SHAPECHECK, "trace", "--", "python", "_drive.py", "--fail")
    assert r.returncode == 1 and "the driver was asked to fail" in r.stderr
    data = json.loads((tmp_path / ".shapecheck" / "shapes.json").read_text())
    assert data["exit_code"] == 1 and "Block.forward" in data["files"]["_tinygpt.py"]["functions"]
