# fixed-bug reproduction: nerf-eye-identity
"""nerfstudio-project/nerfstudio, fixed in 6b7c574. A camera optimiser that does nothing returns
identity transforms, one per camera, (num_cameras, 3, 4); it builds them with
torch.eye(num_cameras, 4), which is one num_cameras x 4 matrix, then slices [..., :3, :4].

Expected: SHP105 on the return (two axes where the annotation promises three).
"""

import torch
from jaxtyping import Float, Int
from torch import Tensor


def no_adjustment(indices: Int[Tensor, " num_cameras"]) -> Float[Tensor, "num_cameras 3 4"]:
    return torch.eye(indices.shape[0], 4)[..., :3, :4]  # error: SHP105
