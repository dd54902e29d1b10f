# fixed-bug reproduction: mamba3-step-squeeze
"""state-spaces/mamba, fixed in 6abc366. A decoding step is given the new token as
(batch, 1, d_model), like the full forward, but the step works on (batch, d_model): the input
projection keeps the length-1 axis and the per-head reshape downstream is off by an axis.

Expected: SHP108 on the per-head rearrange (its pattern names two axes, the input has three);
needs the caller's shape below.
"""

import torch
import torch.nn as nn
from einops import rearrange


class Recurrent(nn.Module):
    def __init__(self, d_model, heads, headdim):
        super().__init__()
        self.heads, self.headdim = heads, headdim
        self.in_proj = nn.Linear(d_model, heads * headdim)

    def step(self, u, state):
        x = self.in_proj(u)
        x = rearrange(x, "b (h p) -> b h p", p=self.headdim)  # error: SHP108|SHP104
        return state * 0.9 + x


def decode_one(layer: Recurrent, d_model: int):
    token = torch.randn(4, 1, d_model)
    state = torch.zeros(4, layer.heads, layer.headdim)
    return layer.step(token, state)
