# Reassigned variables. mypy keeps a declared type when the new value is `Any`
# (`x = self.conv(x)`), so the old shape must not be trusted (regressions from fixtures/correct).
from typing import Any

from jaxtyping import Float
from torch import Tensor, nn

import shapecheck


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.act: Any = nn.GELU()

    def forward(self, x: Float[Tensor, "batch dim height width"]) -> Float[Tensor, "batch dim height width"]:
        skip = x
        x = self.conv(x)
        x = x.permute(0, 2, 3, 1)
        x = self.act(x)
        x = x.permute(0, 3, 1, 2)
        shapecheck.reveal_shape(x)  # reveal: ...
        return skip + x


def narrowed(x: Float[Tensor, "a b"], y: Float[Tensor, "b a"]) -> None:
    x = x.transpose(0, 1)
    shapecheck.reveal_shape(x)  # reveal: b a
    shapecheck.reveal_shape(x + y)  # reveal: b a
    x = x.sum(-1)
    shapecheck.reveal_shape(x)  # reveal: b
    x + y  # E: shape-mismatch


def loop(x: Float[Tensor, "n d"], layers: list) -> Float[Tensor, "n d"]:
    for layer in layers:
        x = layer(x)
    shapecheck.reveal_shape(x)  # reveal: ...
    return x
