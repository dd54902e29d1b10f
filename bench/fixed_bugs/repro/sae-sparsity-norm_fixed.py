# fixed-bug reproduction (fixed version): sae-sparsity-norm
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
        sparsity = acts.norm(p=self.p, dim=-1).mean(dim=(0,))
        return recon, mse + sparsity.sum()


def train_step(model: SparseCoder):
    return model(torch.randn(8, 16, 32))
