# fixed-bug reproduction (fixed version): vit-mask-heads
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
        pair = mask[:, None, :, None] * mask[:, None, None, :]
        dots = dots.masked_fill(~pair, float("-inf"))
        attn = dots.softmax(dim=-1)
        return torch.einsum("bhij,bhjd->bhid", attn, v)
