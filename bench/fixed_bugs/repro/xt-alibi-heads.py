# fixed-bug reproduction: xt-alibi-heads
"""lucidrains/x-transformers, fixed in 6523746. An ALiBi bias is built for the first few heads as
(heads_with_bias, 1, keys) and padded with zeros for the remaining heads; the number of heads
already covered is read from shape[1], which is always 1, so the padding is too long and the
bias no longer adds onto (batch, heads, queries, keys) scores.

Expected: SHP102 where the padded bias meets the scores (the wrong index itself is at the pad).
"""

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
        bias = torch.arange(j) * self.slopes  # (biased_heads, 1, j)
        bias = F.pad(bias, (0, 0, 0, 0, 0, h - bias.shape[1]))
        return scores + bias  # error: SHP102
