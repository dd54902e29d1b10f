# fixed-bug reproduction (fixed version): timm-depvit-reshape
import torch.nn as nn


class TokenBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.pos = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x):
        B, C, H, W = x.shape
        x = x.flatten(2).transpose(1, 2)
        x = x + self.mlp(self.norm(x))
        return self.pos(x.transpose(1, 2).reshape(B, C, H, W))
