"""The linter reads every spelling jaxtyping accepts: no SHP001 for valid jaxtyping, and axes it
cannot reason about statically (f-string axes, builtin calls, ``_name``, a bare ``*``) are unknown,
never an error."""

from __future__ import annotations

import textwrap

import pytest

from shapecheck._lint import check_source
from shapecheck._core._parse import AnnotationSyntaxError, parse_shape

HEADER = """\
import torch
from torch import Tensor
from jaxtyping import Float
from shapecheck import reveal_shape
"""


def run(src: str):
    return check_source(HEADER + textwrap.dedent(src), "m.py", strict=True)


VALID = [
    "{size}",
    "b {self.n}-1",
    "bar qux foo=bar+qux",
    "bar #foo=bar",
    "bar foo=#bar",
    "foo bar min(foo,bar)",
    "a b max(a,2*b)",
    "*",
    "* d",
    "_foo n",
    "rows=n cols=4",
    "n a**b",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_jaxtyping_spellings_are_not_reported(text):
    out = run(f"""
        def f(x: Float[Tensor, "{text}"], size: int) -> Float[Tensor, "{text}"]:
            return x
    """)
    assert [d.code for d in out] == []


@pytest.mark.parametrize("text", ["batch, seq", "(b n)", "n + 1", "3.5", "x.y", "f(x)"])
def test_malformed_spellings_are_still_reported(text):
    out = run(f"""
        def f(x: Float[Tensor, "{text}"]):
            return x
    """)
    assert [d.code for d in out] == ["SHP001"]
    with pytest.raises(AnnotationSyntaxError):
        parse_shape(text)


def test_runtime_only_axes_are_unknown_to_static_analysis():
    out = run("""
        def f(x: Float[Tensor, "n {size}"], y: Float[Tensor, "n min(n,m)"], size: int):
            reveal_shape(x)
            reveal_shape(y)
            return x @ y.T
    """)
    assert [d.message for d in out if d.code == "reveal"] == ['n ?', 'n ?']
    assert [d.code for d in out if d.code != "reveal"] == []


def test_underscore_name_is_anonymous_and_name_eq_binds_the_right_side():
    assert [a.kind for a in parse_shape("_foo _").axes] == ["anon", "anon"]
    (a,) = parse_shape("#foo=bar").axes
    assert (a.kind, a.name, a.broadcast) == ("named", "bar", True)
    (a,) = parse_shape("foo=bar+qux").axes
    assert a.kind == "expr" and a.body == "bar+qux" and a.names == ("bar", "qux")
    (a,) = parse_shape("*").axes
    assert a.variadic and a.kind == "anon" and a.name == ""


def test_a_contraction_of_two_distinct_names_is_still_found_next_to_runtime_axes():
    out = run("""
        def f(x: Float[Tensor, "n {size}"], w: Float[Tensor, "d m"], size: int, d: int):
            y: Float[Tensor, "n d"] = x[:, :d]
            return y @ w.T
    """)
    assert [d.code for d in out if d.code != "reveal"] == ["SHP101"]
