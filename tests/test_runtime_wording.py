"""The runtime says what the linter says: bugs of fixtures/bugs, run for real under the guard, raise a
ShapeError whose first line is the linter's message for that line, with the sizes the run bound.

A message the linter writes about a name (``the return value has "seq" at the last axis``) reads at
run time with that name's size (``has 5 at the last axis``); everything else is word for word. The
linter and the mypy plugin are compared in tests/test_plugin.py.
"""

import importlib
import re
import sys
from pathlib import Path

import pytest
import torch

import shapecheck
from shapecheck._lint._driver import check_source

BUGS = Path(__file__).resolve().parent.parent / "fixtures" / "bugs"


def _linter_messages(name: str) -> dict:
    """line -> the linter's SHP105 message on it."""
    path = BUGS / f"{name}.py"
    return {d.line: d.message for d in check_source(path.read_text(encoding="utf-8"), str(path))
            if d.code == "SHP105"}


@pytest.fixture(scope="module")
def guarded():
    """The fixture modules imported under the import hook: every annotated function guarded."""
    sys.path.insert(0, str(BUGS))
    names = ("real_code_bugs", "reduction_bugs", "attention_annotated")
    try:
        with pytest.warns(UserWarning):  # real_code_bugs has annotations jaxtyping cannot read (SHP001)
            with shapecheck.install_import_hook(*names):
                mods = {n: importlib.import_module(n) for n in names}
        yield mods
    finally:
        sys.path.remove(str(BUGS))
        for n in names:
            sys.modules.pop(n, None)


def _raised(thunk) -> shapecheck.ShapeError:
    with pytest.raises(shapecheck.ShapeError) as info:
        thunk()
    return info.value


def _at_run_time(static: str, err: shapecheck.ShapeError) -> str:
    """The linter's message as the run reads it: the function named first when the sentence does not
    name it, and a name in the value's slot (``has "seq" at``) read as the size the run bound to it."""
    def size(m):
        return f"has {err.bindings[m.group(1)]} {m.group(2)}"

    text = re.sub(r'has "(\w+)" (at|in)', size, static, count=1)
    return text if text.startswith("argument ") else f"{err.function}(): {text}"


def _crash(mods, name):
    return next(c for c in mods["real_code_bugs"]._crashes() if getattr(c, "__name__", "") == name)


CASES = [
    # (fixture, line of the linter's SHP105, the same bug run for real)
    ("real_code_bugs", 39, lambda m: _crash(m, "call_with_a_batch")()),
    ("real_code_bugs", 68, lambda m: m["real_code_bugs"].ds_nerf_depth_loss(torch.rand(5, 4, 1), torch.rand(5, 1))),
    ("real_code_bugs", 75, lambda m: m["real_code_bugs"].monosdf_normal_loss(torch.randn(5, 3), torch.randn(5, 3))),
    ("real_code_bugs", 87, lambda m: m["real_code_bugs"].mse_loss_per_image(
        torch.rand(1, 32, 8), torch.rand(1, 32, 8), torch.ones(1, 32, 8))),
    ("reduction_bugs", 20, lambda m: m["reduction_bugs"].mean_pool(torch.zeros(2, 5, 7))),
    ("reduction_bugs", 24, lambda m: m["reduction_bugs"].greedy_tokens(torch.zeros(2, 5, 7))),
    ("attention_annotated", 50, lambda m: m["attention_annotated"].attention_output(
        torch.zeros(2, 3, 4, 5), torch.zeros(2, 5, 3, 6), torch.zeros(3, 6, 7))),
]


@pytest.mark.parametrize("fixture,line,run", CASES, ids=[f"{f}:{n}" for f, n, _ in CASES])
def test_runtime_first_line_is_the_linters_message(guarded, fixture, line, run):
    static = _linter_messages(fixture).get(line)
    assert static is not None, f"the linter no longer reports SHP105 at {fixture}.py:{line}"
    err = _raised(lambda: run(guarded))
    assert str(err).splitlines()[0] == _at_run_time(static, err)


def test_runtime_adds_the_binding_and_the_sizes(guarded):
    """Beyond the linter's sentence: where the expected size was bound, the value's shape, the bindings."""
    err = _raised(lambda: guarded["reduction_bugs"].mean_pool(torch.zeros(2, 5, 7)))
    assert str(err).splitlines()[1:] == [
        '  note: "d_model" of `mean_pool` was bound to 7 by argument `hidden` at the last axis',
        "  note: the return value has shape (2, 5)",
        "  bindings: batch=2 seq=5 d_model=7",
    ]
