# fixed-bug reproduction: sae-sparsity-norm
"""jbloomAus/SAELens, fixed in fecab07. A sparse autoencoder's Lp sparsity penalty is the norm of
the feature activations over dim 1; activations may carry a position axis, (batch, pos, d_sae),
and then dim 1 is the positions, not the features.

Expected: a diagnostic on the norm when the activations are (batch, pos, d_sae) (needs entry
shapes from the caller below, and roles: d_sae is the Linear's output features).
"""

import torch
import torch.nn as nn


class SparseCoder(nn.Module):
    def __init__(self, d_in, d_sae, p=1):
        super().__init__()
        self.p = p
        self.enc = nn.Linear(d_in, d_sae)
        self.dec = nn.Linear(d_sae, d_in)

    def forward(self, x):
        acts = torch.relu(self.enc(x))
        recon = self.dec(acts)
        mse = (recon - x).pow(2).sum(dim=-1).mean()
        sparsity = acts.norm(p=self.p, dim=1).mean(dim=(0,))  # error: SHP2
        return recon, mse + sparsity.sum()


def train_step(model: SparseCoder):
    return model(torch.randn(8, 16, 32))
