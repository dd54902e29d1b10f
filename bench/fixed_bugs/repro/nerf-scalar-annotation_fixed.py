# fixed-bug reproduction (fixed version): nerf-scalar-annotation
import torch
from jaxtyping import Float
from torch import Tensor


def temporal_smoothness(grid: Float[Tensor, "t h w c"]) -> Float[Tensor, ""]:
    return (grid[1:] - grid[:-1]).pow(2).mean()
