# fixed-bug reproduction (fixed version): xt-alibi-heads
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange


class LinearBias(nn.Module):
    def __init__(self, heads, biased_heads):
        super().__init__()
        slopes = torch.rand(biased_heads)
        self.register_buffer("slopes", rearrange(slopes, "h -> h 1 1"), persistent=False)

    def forward(self, scores):
        h, j = scores.shape[-3], scores.shape[-1]
        bias = torch.arange(j) * self.slopes
        bias = F.pad(bias, (0, 0, 0, 0, 0, h - bias.shape[0]))
        return scores + bias
