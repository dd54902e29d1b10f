# Annotations mypy strips of `Annotated` before plugins see them: aliases, cast, TypeVar bounds.
from typing import TypeVar, cast

from jaxtyping import Float
from torch import Tensor

import shapecheck

Tokens = Float[Tensor, "batch seq d_model"]
Weights = Float[Tensor, "d_model d_ff"]
BadAlias = Float[Tensor, "batch seq,"]  # E: shape-annotation
T = TypeVar("T", bound=Float[Tensor, "n m"])


def mlp(x: Tokens, w: Weights) -> Float[Tensor, "batch seq d_ff"]:
    shapecheck.reveal_shape(x)  # reveal: batch seq d_model
    shapecheck.reveal_shape(x @ w)  # reveal: batch seq d_ff
    return x @ w


def wrong(x: Tokens, w: Weights) -> None:
    x @ w.T  # E: shape-mismatch


def casts(x: Tensor) -> None:
    y = cast(Float[Tensor, "rows cols"], x)
    shapecheck.reveal_shape(y)  # reveal: rows cols
    shapecheck.reveal_shape(y.T)  # reveal: cols rows


def bounded(t: T) -> T:
    shapecheck.reveal_shape(t)  # reveal: n m
    return t
