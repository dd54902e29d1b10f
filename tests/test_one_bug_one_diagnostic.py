"""One bug, one diagnostic: the value of an operation that failed is unknown downstream.

A failed operation must not be reported a second time by the checks that read its value: the
return annotation, an annotated local, the annotated parameters of a called function, or a later
operation. Suppressing the first finding therefore leaves the line clean.
"""

from __future__ import annotations

import textwrap

import pytest

from shapecheck._lint import check_source
from shapecheck._lint._runner import Job, lint_text
from shapecheck._core._settings import Settings

HEADER = """\
import torch
from torch import Tensor
from jaxtyping import Float
from shapecheck import reveal_shape
"""


def diags(src: str):
    return [d for d in check_source(HEADER + textwrap.dedent(src), "m.py", strict=True) if d.code != "reveal"]


def codes(src: str) -> list:
    return [(d.line - HEADER.count("\n"), d.code) for d in diags(src)]


CASES = {
    "return": '''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"]) -> Float[Tensor, "n m"]:
    return a @ b
''',
    "return-of-a-local": '''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"]) -> Float[Tensor, "n m"]:
    c = a @ b
    return c
''',
    "annotated-local": '''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"]):
    c: Float[Tensor, "n k"] = a @ b
    return c
''',
    "attention-scores": '''
def f(q: Float[Tensor, "b h t d"], k: Float[Tensor, "b h t d"]) -> Float[Tensor, "b h t t"]:
    return q @ k
''',
    "argument-of-a-call": '''
def g(x: Float[Tensor, "n m"]) -> Float[Tensor, "n m"]:
    return x


def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"]):
    return g(a @ b)
''',
    "later-operation": '''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"], c: Float[Tensor, "p q"]):
    d = a @ b
    return d @ c
''',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failed_matmul_is_reported_once(name):
    got = codes(CASES[name])
    assert [c for _, c in got] == ["SHP101"], got


def test_broadcast_failure_is_not_an_annotation_mismatch_too():
    got = codes('''
def f(x: Float[Tensor, "b d_mlp"], bias: Float[Tensor, " d_model"]) -> Float[Tensor, "b d_model"]:
    return x + bias
''')
    assert [c for _, c in got] == ["SHP102"], got


def test_the_result_of_a_failed_op_is_unknown():
    src = HEADER + textwrap.dedent('''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"]):
    c = a @ b
    reveal_shape(c)
''')
    notes = [d.message for d in check_source(src, "m.py", strict=True) if d.code == "reveal"]
    assert len(notes) == 1 and "j" not in notes[0], notes


def test_a_correct_product_still_checks_its_return_annotation():
    # near miss: the product succeeds, so its shape is known and the wrong annotation is reported
    got = codes('''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "k j"]) -> Float[Tensor, "n k"]:
    return a @ b
''')
    assert [c for _, c in got] == ["SHP105"], got


def test_suppressing_the_finding_leaves_the_line_clean():
    src = HEADER + textwrap.dedent('''
def f(a: Float[Tensor, "n k"], b: Float[Tensor, "m j"]) -> Float[Tensor, "n m"]:
    return a @ b  # noqa: SHP101
''')
    job = Job(settings=Settings(), root=".")
    assert lint_text(src, "m.py", "m.py", job) == []
