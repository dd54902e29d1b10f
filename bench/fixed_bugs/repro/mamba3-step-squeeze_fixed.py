# fixed-bug reproduction (fixed version): mamba3-step-squeeze
import torch
import torch.nn as nn
from einops import rearrange


class Recurrent(nn.Module):
    def __init__(self, d_model, heads, headdim):
        super().__init__()
        self.heads, self.headdim = heads, headdim
        self.in_proj = nn.Linear(d_model, heads * headdim)

    def step(self, u, state):
        x = self.in_proj(u.squeeze(1))
        x = rearrange(x, "b (h p) -> b h p", p=self.headdim)
        return state * 0.9 + x


def decode_one(layer: Recurrent, d_model: int):
    token = torch.randn(4, 1, d_model)
    state = torch.zeros(4, layer.heads, layer.headdim)
    return layer.step(token, state)
