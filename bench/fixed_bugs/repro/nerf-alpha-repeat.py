# fixed-bug reproduction: nerf-alpha-repeat
"""nerfstudio-project/nerfstudio, fixed in 7c7b859. Compositing an RGBA image over a background:
the alpha channel is repeated with three counts, written for an (h, w, 1) image, while the images
that arrive are batched, (batch, h, w, 4); repeat() refuses fewer counts than axes.

Expected: SHP104 on the repeat (needs the caller's shape: the render step below passes a batch).
"""

import torch


def over_background(image, background):
    if image.shape[-1] == 4:
        alpha = image[..., -1].unsqueeze(-1).repeat((1, 1, 3))  # error: SHP104
        return alpha * image[..., :3] + (1 - alpha) * background
    return image


def render_step(background):
    batch = torch.rand(2, 32, 32, 4)
    return over_background(batch, background)
