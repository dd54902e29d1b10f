# fixed-bug reproduction (fixed version): diff-skyreels-unflatten
import torch
import torch.nn as nn


class Modulation(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.time_proj = nn.Linear(dim, 6 * dim)

    def forward(self, temb):
        proj = self.time_proj(torch.nn.functional.silu(temb))
        return proj.unflatten(-1, (6, -1))


def per_frame(mod: Modulation, dim: int):
    temb = torch.randn(2, 5, dim)
    return mod(temb)
