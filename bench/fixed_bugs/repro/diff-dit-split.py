# fixed-bug reproduction: diff-dit-split
"""huggingface/diffusers, fixed in b8ec4ef. A diffusion model with learned variance predicts
2 * C channels; the pipeline reads C from the prediction itself (which already has 2 * C) and
splits by it, which yields one piece where two are unpacked.

Expected: a diagnostic on the split/unpacking (split of an axis by its own full size gives one
piece). No code names this yet; SHP110 is the nearest.
"""

import torch
import torch.nn as nn


class VarianceNet(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.net = nn.Conv2d(channels, 2 * channels, 3, padding=1)

    def step(self, latents):
        pred = self.net(latents)
        _, C = pred.shape[:2]
        eps, _ = torch.split(pred, C, dim=1)  # error: SHP110
        return latents - eps
