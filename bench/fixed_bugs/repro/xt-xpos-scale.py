# fixed-bug reproduction: xt-xpos-scale
"""lucidrains/x-transformers, fixed in d41cffd. Rotary embedding with a per-example scale: the
scale comes per batch as (batch, seq, rot) while the queries are split into heads,
(batch, heads, seq, rot); multiplying them aligns batch with heads from the right.

Expected: SHP102 where the scale meets the heads-split queries.
"""

import torch
from einops import rearrange


def rotate_pairs(t):
    a, b = t.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def rotary(queries, angles, scale):
    # queries: (batch, heads, seq, rot); angles and scale: (batch, seq, rot)
    angles = rearrange(angles, "b n d -> b 1 n d")
    return queries * angles.cos() * scale + rotate_pairs(queries) * angles.sin() * scale  # error: SHP102


def demo():
    q = torch.randn(2, 4, 16, 8)
    ang = torch.randn(2, 16, 8)
    return rotary(q, ang, torch.rand(2, 16, 8))
