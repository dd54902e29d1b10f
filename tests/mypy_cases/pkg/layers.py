# Annotated functions used from another module (pkg/use.py).
from __future__ import annotations

from jaxtyping import Float
from torch import Tensor


def project(x: Float[Tensor, "batch d_in"], w: Float[Tensor, "d_in d_out"]) -> Float[Tensor, "batch d_out"]:
    return x @ w


def scores(q: "Float[Tensor, 'b s d']", k: "Float[Tensor, 'b t d']") -> "Float[Tensor, 'b s t']":
    return q @ k.transpose(-2, -1)
