# fixed-bug reproduction: diff-hunyuan-mask
"""huggingface/diffusers, fixed in 451ca0a. A video transformer builds a (batch, tokens) key mask and
unsqueezes it once, to (batch, 1, tokens), "for broadcasting across heads"; against
(batch, heads, queries, keys) attention the batch axis lands on the heads axis, which fails (or
mixes examples) as soon as the batch is larger than one.

Expected: SHP210 (mask-broadcast-onto-heads) or SHP102 where the mask meets the scores.
"""

import torch
import torch.nn as nn


class MaskedBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x, lengths):
        b, n, d = x.shape
        keep = torch.arange(n)[None, :] < lengths[:, None]
        keep = keep.unsqueeze(1)
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2)
        scores = scores.masked_fill(~keep, float("-inf"))  # error: SHP210|SHP102
        return (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
