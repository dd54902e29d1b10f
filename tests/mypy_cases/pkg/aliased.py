# An alias imported from another module (pkg/shapes.py).
from jaxtyping import Float
from torch import Tensor

import shapecheck
from pkg.shapes import Hidden


def use(h: Hidden, v: Float[Tensor, "n 16"]) -> None:
    shapecheck.reveal_shape(h)  # reveal: n 32
    h + v  # E: shape-mismatch
