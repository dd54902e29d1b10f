# Cross-module calls, `from __future__ import annotations` and string annotations.
from __future__ import annotations

from jaxtyping import Float
from torch import Tensor

import shapecheck
from pkg.layers import project, scores


def run(x: Float[Tensor, "n 32"], w: Float[Tensor, "32 8"], v: Float[Tensor, "8 32"]) -> Float[Tensor, "n 8"]:
    shapecheck.reveal_shape(project(x, w))  # reveal: n 8
    project(x, v)  # error: SHP105
    return project(x, w)


def attend(q: Float[Tensor, "b 10 64"], k: Float[Tensor, "b 12 64"]) -> None:
    shapecheck.reveal_shape(scores(q, k))  # reveal: b 10 12
