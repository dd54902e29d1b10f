# fixed-bug reproduction (fixed version): ddpm-pixelnorm-axis
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange


class UnitNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.normalize(x, dim=self.dim) * x.shape[self.dim] ** 0.5


class PixelAttention(nn.Module):
    def __init__(self, channels, heads, dim_head):
        super().__init__()
        self.heads = heads
        self.norm = UnitNorm(dim=-1)
        self.to_qkv = nn.Conv2d(channels, heads * dim_head * 3, 1)
        self.to_out = nn.Conv2d(heads * dim_head, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.to_qkv(x).chunk(3, dim=1)
        q, k, v = (rearrange(t, "b (h c) x y -> b h (x y) c", h=self.heads) for t in (q, k, v))
        q, k = self.norm(q), self.norm(k)
        attn = (q @ k.transpose(-1, -2)).softmax(dim=-1)
        out = rearrange(attn @ v, "b h (x y) d -> b (h d) x y", x=h, y=w)
        return self.to_out(out)
