# fixed-bug reproduction: vit-mask-heads
"""lucidrains/vit-pytorch, fixed in 3f2cbc6. A (batch, n) padding mask is turned into a pairwise
(batch, i, j) mask and applied to (batch, heads, i, j) scores: broadcasting from the right puts
the batch axis of the mask on the heads axis of the scores.

Expected: SHP210 (mask-broadcast-onto-heads) or SHP102 on the masked_fill.
"""

import torch
import torch.nn as nn
from einops import rearrange


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, dim_head):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, heads * dim_head * 3, bias=False)

    def forward(self, x, mask):
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in (q, k, v))
        dots = torch.einsum("bhid,bhjd->bhij", q, k)
        pair = mask[:, None, :] * mask[:, :, None]
        dots = dots.masked_fill(~pair, float("-inf"))  # error: SHP210|SHP102
        attn = dots.softmax(dim=-1)
        return torch.einsum("bhij,bhjd->bhid", attn, v)
