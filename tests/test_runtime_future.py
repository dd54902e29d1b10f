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
    assert str(info.value) == ('argument `lengths` of `encode` has 3 at the last axis where "b" is 2\n'
                               '  note: "b" of `encode` was bound to 2 by argument `x` at the first axis\n'
                               "  note: argument `lengths` has shape (3,)\n"
                               "  bindings: b=2 s=3 d=4")


def test_unresolvable_annotation_is_skipped_not_an_error():
    def f(x: Float[Tensor, "n"], y: NotDefinedAnywhere) -> Float[Tensor, "n"]:
        return x

    g = guard(f)
    g(torch.zeros(2), object())
    with pytest.raises(ShapeError):
        g(torch.zeros(2, 2), None)


# -- the fast path and the interpreter agree ----------------------------------------------------

_TOKENS = ["a", "b", "a", "b", "2", "_", "#a", "#b", "a+1", "2*b", "c=3", "c"]
_VARIADIC = ["*batch", "..."]  # "*#batch" merges across arguments: the interpreter checks it


@st.composite
def _case(draw):
    """A few dimension strings and shapes that mostly have the right rank (so axes get compared)."""
    specs, shapes = [], []
    for _ in range(draw(st.integers(1, 4))):
        toks = [draw(st.sampled_from(_TOKENS)) for _ in range(draw(st.integers(0, 3)))]
        rank = len(toks)
        if draw(st.booleans()):
            toks.insert(draw(st.integers(0, len(toks))), draw(st.sampled_from(_VARIADIC)))
            rank += draw(st.integers(0, 2))
        if draw(st.integers(0, 9)) == 0:
            rank = draw(st.integers(0, 5))
        specs.append(" ".join(toks))
        shapes.append([draw(st.integers(1, 3)) for _ in range(rank)])
    return specs, shapes


def _record(wrapper, suffix, calls):
    key = next(k for k in wrapper.__globals__ if k.endswith(suffix))
    wrapper.__globals__[key] = lambda site, *args: calls.append(site)


@settings(max_examples=300, deadline=None, database=None)
@given(case=_case(), optional=st.booleans(), pass_none=st.booleans(),
       bridge=st.sampled_from([False, None, -1, 1, 2, 3]))
def test_fast_path_agrees_with_interpreter(case, optional, pass_none, bridge):
    specs, shapes = case
    names = [f"x{i}" for i in range(len(specs) - 1)] + ([] if bridge is False else ["a"])
    result = torch.empty(shapes[-1])

    def f(*args):
        return result

    params = ", ".join(names)
    ns: dict = {"f": f}
    exec(f"def g({params}): return f({params})", ns)  # a function with the right parameter names
    g = ns["g"]
    tensors = [n for n in names if n != "a"]
    g.__annotations__ = {n: (Optional[Float[Tensor, s]] if optional else Float[Tensor, s])
                         for n, s in zip(tensors + ["return"], specs)}
    if bridge is not False:
        g.__annotations__["a"] = Optional[int]  # an int argument named like an axis binds nothing
    wrapper = guard(g)
    plan = wrapper.__shapecheck_plan__
    assert plan.simple
    arg_calls: list = []
    ret_calls: list = []
    _record(wrapper, "slow", arg_calls)
    _record(wrapper, "slow_ret", ret_calls)
    args = {n: torch.empty(shapes[i]) for i, n in enumerate(tensors)}
    if bridge is not False:
        args["a"] = bridge
    if optional and pass_none and tensors:
        args[tensors[0]] = None
    wrapper(**args)
    try:
        env = _interp.check_args(plan, args)
        interp_args_ok = True
    except ShapeError:
        interp_args_ok = False
    assert (not arg_calls) == interp_args_ok, (specs, shapes, wrapper.__shapecheck_source__)
    if interp_args_ok:
        try:
            _interp.check_return(plan, env, result)
            interp_ret_ok = True
        except ShapeError:
            interp_ret_ok = False
        assert (not ret_calls) == interp_ret_ok, (specs, shapes, wrapper.__shapecheck_source__)
