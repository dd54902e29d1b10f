# fixed-bug reproduction: sam-bchw-index
"""facebookresearch/segment-anything, fixed in 567662b. A resize of a batch of images laid out
(batch, channels, height, width) reads the height and width from shape[0] and shape[1], which are
the batch and the channels.

Expected: a diagnostic on the size read (needs axis roles: the tensor goes straight into
F.interpolate, which fixes its layout as (batch, channels, *spatial); the sizes passed as the
spatial output size are batch and channels). No code names this yet; SHP303 is the nearest.
"""

import torch.nn.functional as F


def longest_side(h, w, target):
    scale = target / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def resize_batch(images, target):
    size = longest_side(images.shape[0], images.shape[1], target)  # error: SHP303
    return F.interpolate(images, size, mode="bilinear", align_corners=False)
