"""The hints and notes of diagnostics say what is true: a suggested spelling is itself valid, and an
axis is named by its real position in the tensor."""

from __future__ import annotations

import re

import pytest

from shapecheck._lint import check_source
from shapecheck._core._parse import AnnotationSyntaxError, parse_shape

SRC = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "{dims}"]) -> Float[Tensor, "{dims}"]:
    return x
'''


def _lint(dims: str) -> list:
    return [d for d in check_source(SRC.format(dims=dims), "m.py", strict=True) if d.code != "reveal"]


@pytest.mark.parametrize("dims,expected", [
    ("(h p) (w p)", "h*p w*p"),
    ("b (h p) (w p) c", "b h*p w*p c"),
    ("b c (h p)", "b c h*p"),
    ("(n 2) d", "n*2 d"),
])
def test_grouping_hint_rewrites_every_group_and_is_valid(dims, expected):
    diags = [d for d in _lint(dims) if d.code == "SHP001"]
    assert diags, "the einops grouping is not reported"
    m = re.search(r'write "([^"]*)"', diags[0].message)
    assert m and m.group(1) == expected, diags[0].message
    parse_shape(m.group(1))  # the hint parses
    assert not [d for d in _lint(m.group(1)) if d.code == "SHP001"], "following the hint gives another SHP001"


def test_grouping_that_no_product_spells_gets_no_false_full_rewrite():
    with pytest.raises(AnnotationSyntaxError) as e:
        parse_shape("b (h 2) (x+1 y)")
    msg = str(e.value)
    assert 'write "' not in msg and '"h*2"' in msg, msg


GQA = '''\
from jaxtyping import Float
from torch import Tensor


def grouped_query_scores(
    q: Float[Tensor, "batch n_heads seq d_head"],
    k: Float[Tensor, "batch n_kv_heads seq d_head"],
) -> Float[Tensor, "batch n_heads seq seq"]:
    return q @ k.transpose(-2, -1)
'''


def test_grouped_query_attention_note_names_axis_1():
    diags = [d for d in check_source(GQA, "m.py", strict=True) if d.code == "SHP102"]
    assert len(diags) == 1, diags
    notes = diags[0].notes
    assert any(n.startswith('"n_heads" is axis 1 of `q`') for n in notes), notes
    assert any(n.startswith('"n_kv_heads" is axis 1 of') for n in notes), notes
    assert not any("last axis" in n for n in notes), notes


def test_broadcast_notes_of_elementwise_ops_keep_counting_from_the_right():
    src = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "b d_mlp"], bias: Float[Tensor, " d_model"]):
    return x + bias
'''
    diags = [d for d in check_source(src, "m.py", strict=True) if d.code == "SHP102"]
    assert len(diags) == 1
    assert any('"d_mlp" is the last axis of `x`' in n for n in diags[0].notes), diags[0].notes
