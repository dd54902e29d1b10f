# fixed-bug reproduction (fixed version): xt-xpos-scale
import torch
from einops import rearrange


def rotate_pairs(t):
    a, b = t.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def rotary(queries, angles, scale):
    angles = rearrange(angles, "b n d -> b 1 n d")
    scale = rearrange(scale, "b n d -> b 1 n d")
    return queries * angles.cos() * scale + rotate_pairs(queries) * angles.sin() * scale


def demo():
    q = torch.randn(2, 4, 16, 8)
    ang = torch.randn(2, 16, 8)
    return rotary(q, ang, torch.rand(2, 16, 8))
