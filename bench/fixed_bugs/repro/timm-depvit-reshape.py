# fixed-bug reproduction: timm-depvit-reshape
"""huggingface/pytorch-image-models, fixed in 4c1f656. A block takes an NCHW map, flattens it to
tokens (B, H*W, C) for attention and an MLP, and turns it back into a map with a plain
reshape(B, C, H, W): the reshape reads token-major memory as channel-major, scrambling the map.

Expected: SHP109 (a reshape that moves the channel axis across the tokens).
"""

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
        return self.pos(x.reshape(B, C, H, W))  # error: SHP109
