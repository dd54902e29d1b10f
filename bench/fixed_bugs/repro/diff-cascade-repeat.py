# fixed-bug reproduction: diff-cascade-repeat
"""huggingface/diffusers, fixed in 25ecc81. Image embeddings are collected as (batch, 1, dim),
concatenated to (batch, n_images, dim) and repeated for several samples per prompt with a
single count; repeat() needs at least one count per axis.

Expected: SHP104 on the repeat (three axes, one count).
"""

import torch
import torch.nn as nn


class ImageConditioner(nn.Module):
    def __init__(self, channels, dim):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(channels, dim, 4, stride=4), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def encode(self, images, copies):
        embeds = [self.encoder(img).unsqueeze(1) for img in images]
        embeds = torch.cat(embeds, dim=1)
        return embeds.repeat(copies)  # error: SHP104
