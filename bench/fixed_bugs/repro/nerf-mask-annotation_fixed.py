# fixed-bug reproduction (fixed version): nerf-mask-annotation
import torch
from torchtyping import TensorType


def masked_mean(values: TensorType[1, 32, "mult"], mask: TensorType[1, 32, "mult"]):
    total = (values * mask).sum()
    return total / mask.sum().clamp(min=1)
