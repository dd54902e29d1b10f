# fixed-bug reproduction: mamba-dhdim-broadcast
"""state-spaces/mamba, fixed in 52ba2d7. A state-space layer's skip weight D holds one value per
channel, heads * headdim of them, when a flag says so; the decoding step still reshapes it as
one value per head, 'h -> h 1', and the (heads * headdim, 1) result does not broadcast against
the (batch, heads, headdim) input.

Expected: SHP102 on the skip connection (the flag is a constructor argument; needs the branch
taken under it).
"""

import torch
import torch.nn as nn
from einops import rearrange


class SkipStep(nn.Module):
    def __init__(self, heads, headdim):
        super().__init__()
        self.heads, self.headdim = heads, headdim
        self.D = nn.Parameter(torch.ones(heads * headdim))

    def step(self, y, x):
        # y, x: (batch, heads, headdim)
        x = x.view(x.shape[0], self.heads, self.headdim)
        return y + rearrange(self.D, "h -> h 1") * x  # error: SHP102
