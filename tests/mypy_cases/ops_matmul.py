# Matrix products and elementwise broadcasting through the core's op rules.
# Expected errors and reveal_shape notes are written inline on the lines they concern.
import torch
from jaxtyping import Float
from torch import Tensor

import shapecheck


def attention_ok(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Float[Tensor, "b s t"]:
    scores = q @ k.transpose(-2, -1)
    shapecheck.reveal_shape(scores)  # reveal: b s t
    return scores


def attention_bad(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> None:
    q @ k  # E: shape-mismatch "matmul contracts \"d\" with \"t\""
    torch.matmul(q, k)  # E: shape-mismatch
    q.matmul(k)  # E: shape-mismatch


def matmul_function(x: Float[Tensor, "n k"], w: Float[Tensor, "k m"]) -> None:
    shapecheck.reveal_shape(torch.matmul(x, w))  # reveal: n m
    shapecheck.reveal_shape(x.mm(w))  # reveal: n m
    shapecheck.reveal_shape(x @ w)  # reveal: n m


def broadcast_ok(x: Float[Tensor, "b n d"], bias: Float[Tensor, "d"], s: Float[Tensor, "b 1 d"]) -> None:
    shapecheck.reveal_shape(x + bias)  # reveal: b n d
    shapecheck.reveal_shape(x * s)  # reveal: b n d
    shapecheck.reveal_shape(x - 1.0)  # reveal: b n d
    shapecheck.reveal_shape(2 * x)  # reveal: b n d


def broadcast_bad(x: Float[Tensor, "h w"], y: Float[Tensor, "w h"]) -> None:
    x + y  # E: shape-mismatch "add cannot broadcast"
    x * y  # E: shape-mismatch
    torch.add(x, y)  # E: shape-mismatch


def unknown_is_never_an_error(x: Tensor, y: Float[Tensor, "a b"]) -> None:
    x @ y
    y @ x
    x + y
