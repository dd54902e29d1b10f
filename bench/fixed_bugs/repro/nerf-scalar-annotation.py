# fixed-bug reproduction: nerf-scalar-annotation
"""nerfstudio-project/nerfstudio, fixed in 8fa171e. A total-variation loss returns a scalar but
annotates it Float[Tensor, "()"]; jaxtyping's spelling of a scalar is the empty string.

Expected: SHP001 on the annotation.
"""

import torch
from jaxtyping import Float
from torch import Tensor


def temporal_smoothness(grid: Float[Tensor, "t h w c"]) -> Float[Tensor, "()"]:  # error: SHP001
    return (grid[1:] - grid[:-1]).pow(2).mean()
