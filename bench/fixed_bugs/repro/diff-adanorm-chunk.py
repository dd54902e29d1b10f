# fixed-bug reproduction: diff-adanorm-chunk
"""huggingface/diffusers, fixed in 87925ea. An adaptive layer norm turns the timestep into a
(batch, 2 * dim) modulation and splits it with torch.chunk(emb, 2), whose default axis is 0: the
batch is halved and each half keeps 2 * dim features, which then meet the dim-wide normalised
input.

Expected: SHP102 where the halves meet the (..., dim) normalised input (2 * dim against dim).
"""

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
        scale, shift = torch.chunk(emb, 2)
        return self.norm(x) * (1 + scale) + shift  # error: SHP102
