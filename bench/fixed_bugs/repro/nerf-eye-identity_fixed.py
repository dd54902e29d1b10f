# fixed-bug reproduction (fixed version): nerf-eye-identity
import torch
from jaxtyping import Float, Int
from torch import Tensor


def no_adjustment(indices: Int[Tensor, " num_cameras"]) -> Float[Tensor, "num_cameras 3 4"]:
    return torch.eye(4).repeat(indices.shape[0], 1, 1)[:, :3, :4]
