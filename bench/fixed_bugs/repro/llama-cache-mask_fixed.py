# fixed-bug reproduction (fixed version): llama-cache-mask
import math

import torch
import torch.nn as nn


class CachedAttention(nn.Module):
    def __init__(self, dim, heads, max_batch, max_len):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.register_buffer("cache_k", torch.zeros(max_batch, max_len, heads, dim // heads))
        self.register_buffer("cache_v", torch.zeros(max_batch, max_len, heads, dim // heads))

    def forward(self, x, start):
        bsz, seqlen, _ = x.shape
        q = self.wq(x).view(bsz, seqlen, self.heads, self.head_dim)
        self.cache_k[:bsz, start:start + seqlen] = self.wk(x).view(bsz, seqlen, self.heads, self.head_dim)
        self.cache_v[:bsz, start:start + seqlen] = self.wv(x).view(bsz, seqlen, self.heads, self.head_dim)
        keys = self.cache_k[:bsz, :start + seqlen].transpose(1, 2)
        values = self.cache_v[:bsz, :start + seqlen].transpose(1, 2)
        scores = q.transpose(1, 2) @ keys.transpose(2, 3) / math.sqrt(self.head_dim)
        mask = torch.triu(torch.full((seqlen, seqlen), float("-inf"), device=x.device), diagonal=1)
        mask = torch.hstack([torch.zeros((seqlen, start), device=x.device), mask])
        scores = scores + mask
        return (scores.softmax(dim=-1) @ values).transpose(1, 2).reshape(bsz, seqlen, -1)
