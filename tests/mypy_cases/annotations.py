# Malformed dimension strings are reported at the annotation; other Annotated uses are left alone.
from typing import Annotated

from jaxtyping import Float, Int
from torch import Tensor

import shapecheck


def malformed(x: Float[Tensor, "a,b"]) -> None: ...  # E: shape-annotation "contains \",\""


def two_variadics(x: Int[Tensor, "*a *b"]) -> None: ...  # E: shape-annotation


def documented(n: Annotated[int, "a count"], t: Annotated[Tensor, "not a shape"]) -> None:
    shapecheck.reveal_shape(t)  # reveal: ...


def scalar_and_fixed(s: Float[Tensor, ""], f: Float[Tensor, "3 4"], one: Float[Tensor, "n"]) -> None:
    shapecheck.reveal_shape(s)  # reveal:
    shapecheck.reveal_shape(f @ f.T)  # reveal: 3 3
    shapecheck.reveal_shape(one)  # reveal: n
    f @ f  # E: shape-mismatch
