# fixed-bug reproduction: diff-skyreels-unflatten
"""huggingface/diffusers, fixed in 6f8bf30. A video transformer projects the timestep embedding to
six modulation vectors and unflattens them along dim 1; with per-frame timesteps (diffusion
forcing) the projection is (batch, frames, 6 * dim) and dim 1 is the frames axis.

Expected: SHP103 on the unflatten when the projection is three-axis (frames * ... cannot split
into (6, -1) with the feature axis behind it; needs the per-frame shape from the caller).
"""

import torch
import torch.nn as nn


class Modulation(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.time_proj = nn.Linear(dim, 6 * dim)

    def forward(self, temb):
        proj = self.time_proj(torch.nn.functional.silu(temb))
        return proj.unflatten(1, (6, -1))  # error: SHP1


def per_frame(mod: Modulation, dim: int):
    temb = torch.randn(2, 5, dim)
    return mod(temb)
