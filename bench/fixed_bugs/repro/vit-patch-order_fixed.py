# fixed-bug reproduction (fixed version): vit-patch-order
import torch.nn as nn
from einops import rearrange


class PatchEmbed(nn.Module):
    def __init__(self, patch, channels, dim):
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(patch * patch * channels, dim)

    def forward(self, img):
        p = self.patch
        tokens = rearrange(img, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=p, p2=p)
        return self.proj(tokens)
