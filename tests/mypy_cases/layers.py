# torch's own layers: constructor arguments recorded on the layer, the call through its module rule.
import einops
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

import shapecheck


class Mlp(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.up = nn.Linear(d_model, 4 * d_model)
        self.down = nn.Linear(4 * d_model, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch seq d_model"]:
        h = self.up(self.norm(x))
        shapecheck.reveal_shape(h)  # reveal: batch seq 4*d_model
        return self.down(F.gelu(h))

    def skipped(self, x: Float[Tensor, "batch seq d_model"]) -> Tensor:
        return self.down(x)  # E: shape-mismatch


def convs(img: Float[Tensor, "b 3 32 32"]) -> None:
    conv = nn.Conv2d(3, 16, kernel_size=3, padding=1)
    shapecheck.reveal_shape(conv(img))  # reveal: b 16 32 32
    wrong = nn.Conv2d(1, 16, kernel_size=3)
    wrong(img)  # E: shape-mismatch


def einsums(q: Float[Tensor, "b h s d"], k: Float[Tensor, "b h t d"]) -> None:
    shapecheck.reveal_shape(torch.einsum("bhsd,bhtd->bhst", q, k))  # reveal: b h s t
    torch.einsum("bhsd,bhdt->bhst", q, k)  # E: shape-mismatch
    shapecheck.reveal_shape(einops.rearrange(q, "b h s d -> b s (h d)"))  # reveal: b s d*h
