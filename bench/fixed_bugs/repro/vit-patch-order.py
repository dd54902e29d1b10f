# fixed-bug reproduction: vit-patch-order
"""lucidrains/vit-pytorch, fixed in 825a948. Cutting an image into patches with the patch factor
written before the grid factor, '(p1 h)', takes every h-th row instead of p1 adjacent rows: each
token holds pixels strided across the whole image. Shapes are all correct; only the axis order
inside the split says which is the grid and which the patch.

Expected: a diagnostic on the rearrange (no rule reads this yet: a patch grid split must be
'(grid patch)' when the patch size is the inner factor; SHP109-like).
"""

import torch.nn as nn
from einops import rearrange


class PatchEmbed(nn.Module):
    def __init__(self, patch, channels, dim):
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(patch * patch * channels, dim)

    def forward(self, img):
        p = self.patch
        tokens = rearrange(img, "b c (p1 h) (p2 w) -> b (h w) (p1 p2 c)", p1=p, p2=p)  # error: SHP109
        return self.proj(tokens)
