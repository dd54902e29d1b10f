# fixed-bug reproduction: timm-botnet-transpose
"""huggingface/pytorch-image-models, fixed in b81e79a. Self-attention over the pixels of a map:
the output (B, heads, H*W, dim_head) is transposed (1, 2) to (B, H*W, heads, dim_head) and then
reshaped to (B, heads*dim_head, H, W), mixing pixels into the channel axis; the features must be
moved in front of the pixels, transpose(-1, -2).

Expected: SHP109 (or the scrambled-head-reshape rule SHP203) on the reshape.
"""

import torch.nn as nn


class MapAttention(nn.Module):
    def __init__(self, dim, dim_out, heads):
        super().__init__()
        self.heads = heads
        self.dim_head = dim_out // heads
        self.dim_out = dim_out
        self.qkv = nn.Conv2d(dim, dim_out * 3, 1, bias=False)

    def forward(self, x):
        B, C, H, W = x.shape
        x = self.qkv(x)
        x = x.reshape(B, -1, self.dim_head, H * W).transpose(-1, -2)
        q, k, v = x.split(self.heads, dim=1)
        attn = (q @ k.transpose(-1, -2)) * self.dim_head ** -0.5
        attn = attn.softmax(dim=-1)
        return (attn @ v).transpose(1, 2).reshape(B, self.dim_out, H, W)  # error: SHP109|SHP203
