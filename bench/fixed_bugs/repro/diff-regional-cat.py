# fixed-bug reproduction: diff-regional-cat
"""huggingface/diffusers, fixed in 8a91bf6. Regional prompting keeps one mask per region stacked as
(regions, tokens) and adds a last mask for the tokens no region claims; that mask is built like
one row, (tokens,), and concatenated along dim 0 without an unsqueeze.

Expected: SHP104 (or SHP110) on the cat: a two-axis and a one-axis tensor.
"""

import torch


def with_background_mask(region_masks):
    rest = torch.ones_like(region_masks[0])
    for row in range(region_masks.shape[0]):
        rest = rest.masked_fill(region_masks[row] == 1.0, 0)
    return torch.cat([region_masks, rest], dim=0)  # error: SHP104|SHP110


def demo():
    return with_background_mask((torch.rand(3, 16) > 0.5).float())
