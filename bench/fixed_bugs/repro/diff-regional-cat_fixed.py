# fixed-bug reproduction (fixed version): diff-regional-cat
import torch


def with_background_mask(region_masks):
    rest = torch.ones_like(region_masks[0])
    for row in range(region_masks.shape[0]):
        rest = rest.masked_fill(region_masks[row] == 1.0, 0)
    return torch.cat([region_masks, rest.unsqueeze(0)], dim=0)


def demo():
    return with_background_mask((torch.rand(3, 16) > 0.5).float())
