# fixed-bug reproduction (fixed version): diff-adanorm-chunk
import torch
import torch.nn as nn


class TimestepNorm(nn.Module):
    def __init__(self, dim, steps):
        super().__init__()
        self.emb = nn.Embedding(steps, dim)
        self.linear = nn.Linear(dim, dim * 2)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)

    def forward(self, x, timestep):
        emb = self.linear(torch.nn.functional.silu(self.emb(timestep)))
        scale, shift = torch.chunk(emb, 2, dim=1)
        scale, shift = scale.unsqueeze(1), shift.unsqueeze(1)
        return self.norm(x) * (1 + scale) + shift
