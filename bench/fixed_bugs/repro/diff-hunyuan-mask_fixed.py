# fixed-bug reproduction (fixed version): diff-hunyuan-mask
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
        keep = keep.unsqueeze(1).unsqueeze(1)
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2)
        scores = scores.masked_fill(~keep, float("-inf"))
        return (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
