# fixed-bug reproduction (fixed version): nerf-dirs-annotation
import torch
from jaxtyping import Float
from torch import Tensor


def to_unit_range(directions: Float[Tensor, "*bs 3"]) -> Float[Tensor, "*bs 3"]:
    return (directions + 1.0) / 2.0


def encode_samples(directions: Float[Tensor, "rays samples 3"]):
    return to_unit_range(directions)
