# nn.Module: calling an instance goes to its annotated forward; class attributes carry shapes.
import torch
from jaxtyping import Float
from torch import Tensor, nn

import shapecheck


class Head(nn.Module):
    w_q: Float[Tensor, "d_model d_head"]
    w_k: Float[Tensor, "d_model d_head"]

    def __init__(self, d_model: int, d_head: int) -> None:
        super().__init__()
        self.w_q = nn.Parameter(torch.randn(d_model, d_head))
        self.w_k = nn.Parameter(torch.randn(d_model, d_head))

    def forward(self, x: Float[Tensor, "b s d_model"]) -> Float[Tensor, "b s s"]:
        q = x @ self.w_q
        k = x @ self.w_k
        shapecheck.reveal_shape(q)  # reveal: b s d_head
        return q @ k.transpose(-2, -1)

    def wrong(self, x: Float[Tensor, "b s d_model"]) -> Tensor:
        q = x @ self.w_q
        k = x @ self.w_k
        return q @ k  # E: shape-mismatch


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = Head(64, 16)

    def forward(self, x: Float[Tensor, "n t 64"]) -> Tensor:
        shapecheck.reveal_shape(self.head(x))  # reveal: n t t
        self.head(x.sum(-1))  # E: shape-rank
        return self.head.forward(x)
