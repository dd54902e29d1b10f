# fixed-bug reproduction (fixed version): sae-resample-squeeze
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
        self.W_enc.data[:, dead] = fresh.T
