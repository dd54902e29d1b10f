# fixed-bug reproduction (fixed version): sam-bchw-index
import torch.nn.functional as F


def longest_side(h, w, target):
    scale = target / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def resize_batch(images, target):
    size = longest_side(images.shape[2], images.shape[3], target)
    return F.interpolate(images, size, mode="bilinear", align_corners=False)
