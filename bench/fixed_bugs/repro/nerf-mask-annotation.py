# fixed-bug reproduction: nerf-mask-annotation
"""nerfstudio-project/nerfstudio, fixed in f1762da. A masked mean annotated with torchtyping: the
mask is written TensorType[0], one axis of size 0, while it has the input's shape.

Expected: SHP102 on the product of input and mask (size 0 against 32), once torchtyping's
TensorType is read (issue: every annotation dialect).
"""

import torch
from torchtyping import TensorType


def masked_mean(values: TensorType[1, 32, "mult"], mask: TensorType[0]):
    total = (values * mask).sum()  # error: SHP102
    return total / mask.sum().clamp(min=1)
