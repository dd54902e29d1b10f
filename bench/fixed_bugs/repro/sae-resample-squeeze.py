# fixed-bug reproduction: sae-resample-squeeze
"""jbloomAus/SAELens, fixed in 2b43980. Resampling dead features writes replacement vectors into
the encoder's columns: the replacements are (n_dead, d_in), transposed to (d_in, n_dead) and then
squeezed at dim 1, which drops the n_dead axis whenever exactly one feature is dead, so the
column assignment fails.

Expected: SHP209 (a squeeze of an axis that is only sometimes 1, here a count from code).
"""

import torch
import torch.nn as nn


class Coder(nn.Module):
    def __init__(self, d_in, d_sae):
        super().__init__()
        self.W_enc = nn.Parameter(torch.randn(d_in, d_sae))

    @torch.no_grad()
    def resample(self, x, dead):
        n_dead = int(dead.sum())
        picks = torch.randint(0, x.shape[0], (n_dead,))
        fresh = x[picks]
        fresh = fresh / fresh.norm(dim=1, keepdim=True)
        self.W_enc.data[:, dead] = fresh.T.squeeze(1)  # error: SHP209
