# Layout and reduction ops: transpose, permute, reshape, softmax, reductions, cat, chunk, attributes.
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

import shapecheck


def layout(x: Float[Tensor, "b s h d"]) -> None:
    shapecheck.reveal_shape(x.transpose(1, 2))  # reveal: b h s d
    shapecheck.reveal_shape(x.permute(0, 2, 1, 3))  # reveal: b h s d
    shapecheck.reveal_shape(x.flatten(2))  # reveal: b s d*h
    shapecheck.reveal_shape(x.sum(-1))  # reveal: b s h
    shapecheck.reveal_shape(x.mean(dim=1, keepdim=True))  # reveal: b 1 h d
    shapecheck.reveal_shape(x.softmax(dim=-1))  # reveal: b s h d
    shapecheck.reveal_shape(F.softmax(x, dim=-1))  # reveal: b s h d
    shapecheck.reveal_shape(torch.softmax(x, -1))  # reveal: b s h d
    shapecheck.reveal_shape(x.unsqueeze(0))  # reveal: 1 b s h d


def matrix_attributes(m: Float[Tensor, "r c"]) -> None:
    shapecheck.reveal_shape(m.T)  # reveal: c r
    shapecheck.reveal_shape(m.mT)  # reveal: c r


def bad_dims(x: Float[Tensor, "b s d"]) -> None:
    x.softmax(dim=3)  # E: shape-rank "softmax uses dim 3"
    x.transpose(0, 5)  # E: shape-rank
    x.sum(dim=-4)  # E: shape-rank


def joining(a: Float[Tensor, "n d"], b: Float[Tensor, "m d"], c: Float[Tensor, "n e"],
            h: Float[Tensor, "n 8"]) -> None:
    shapecheck.reveal_shape(torch.cat([a, b], dim=0))  # reveal: m+n d
    shapecheck.reveal_shape(torch.cat([a, c], dim=-1))  # reveal: n d+e
    torch.cat([a, b], dim=1)  # E: shape-mismatch
    left, right = h.chunk(2, dim=-1)
    shapecheck.reveal_shape(left)  # reveal: n 4


def views(x: Float[Tensor, "b s d"]) -> None:
    shapecheck.reveal_shape(x.view(-1, 4))  # reveal: (b*d*s)//4 4
