"""Runtime guards on string annotations (``from __future__ import annotations``) and aliases."""

from __future__ import annotations

from typing import Optional

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import Float, Int
from torch import Tensor

from shapecheck import ShapeError, guard
from shapecheck._runtime import _interp

Seq = Float[Tensor, "b s d"]  # user aliases, resolved from the module's globals
Lengths = Int[Tensor, "b"]


@guard
def encode(x: Seq, lengths: Optional[Lengths] = None) -> tuple[Seq, Float[Tensor, "b d"]]:
    return x, x.mean(1)


def test_string_annotations_resolve_and_check():
    x = torch.zeros(2, 3, 4)
    out, pooled = encode(x, torch.zeros(2, dtype=torch.long))
    assert out is x and pooled.shape == (2, 4)
    with pytest.raises(ShapeError) as info:
        encode(x, torch.zeros(3, dtype=torch.long))
    assert str(info.value) == ('encode(): argument lengths axis "b" (axis 0) is 3, expected 2 '
                               "(bound by argument x, axis 0)\nbindings: b=2 s=3 d=4")


def test_unresolvable_annotation_is_skipped_not_an_error():
    def f(x: Float[Tensor, "n"], y: NotDefinedAnywhere) -> Float[Tensor, "n"]:  # noqa: F821
        return x

    g = guard(f)
    g(torch.zeros(2), object())
    with pytest.raises(ShapeError):
        g(torch.zeros(2, 2), None)


# -- the fast path and the interpreter agree ----------------------------------------------------

_TOKENS = ["a", "b", "c", "2", "_", "#a", "a+1", "2*b", "c=3"]
_VARIADIC = ["*batch", "..."]


@st.composite
def _specs(draw):
    n = draw(st.integers(0, 3))
    toks = [draw(st.sampled_from(_TOKENS)) for _ in range(n)]
    if draw(st.booleans()):
        toks.insert(draw(st.integers(0, len(toks))), draw(st.sampled_from(_VARIADIC)))
    return " ".join(toks)


@settings(max_examples=150, deadline=None)
@given(specs=st.lists(_specs(), min_size=1, max_size=3),
       shapes=st.lists(st.lists(st.integers(1, 4), max_size=5), min_size=3, max_size=3),
       optional=st.booleans(), pass_none=st.booleans())
def test_fast_path_agrees_with_interpreter(specs, shapes, optional, pass_none):
    names = [f"x{i}" for i in range(len(specs))]

    def f(*args):
        return None

    params = ", ".join(names)
    ns: dict = {"f": f}
    exec(f"def g({params}): return f({params})", ns)  # a function with the right parameter names
    g = ns["g"]
    g.__annotations__ = {n: (Optional[Float[Tensor, s]] if optional else Float[Tensor, s])
                         for n, s in zip(names, specs)}
    wrapper = guard(g)
    plan = wrapper.__shapecheck_plan__
    assert plan.simple
    slow_calls = []
    wrapper.__globals__[next(k for k in wrapper.__globals__ if k.endswith("slow"))] = (
        lambda site, args: slow_calls.append(site))
    args = {n: torch.empty(shapes[i]) for i, n in enumerate(names)}
    if optional and pass_none:
        args[names[0]] = None
    wrapper(**args)
    fast_ok = not slow_calls
    try:
        _interp.check_args(plan, args)
        interp_ok = True
    except ShapeError:
        interp_ok = False
    assert fast_ok == interp_ok, (specs, shapes, wrapper.__shapecheck_source__)
