# fixed-bug reproduction (fixed version): mamba-dhdim-broadcast
import torch
import torch.nn as nn
from einops import rearrange


class SkipStep(nn.Module):
    def __init__(self, heads, headdim):
        super().__init__()
        self.heads, self.headdim = heads, headdim
        self.D = nn.Parameter(torch.ones(heads * headdim))

    def step(self, y, x):
        # y, x: (batch, heads, headdim)
        x = x.view(x.shape[0], self.heads, self.headdim)
        return y + rearrange(self.D, "(h p) -> h p", p=self.headdim) * x
