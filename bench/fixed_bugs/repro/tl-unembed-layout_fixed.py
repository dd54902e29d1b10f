# fixed-bug reproduction (fixed version): tl-unembed-layout
import torch
import torch.nn as nn
import torch.nn.functional as F


class Unembed(nn.Module):
    def __init__(self, d_model, vocab):
        super().__init__()
        self.inner = nn.Linear(d_model, vocab)
        self.stored = None

    def load(self, weight):
        self.stored = nn.Parameter(weight.detach().clone())  # (vocab, d_model), as the layer holds it

    @property
    def W_U(self):
        if self.stored is not None:
            return self.stored.T
        return self.inner.weight.T

    def forward(self, h):
        if self.stored is not None:
            return F.linear(h, self.stored, self.inner.bias)
        return self.inner(h)

    def demo(self):
        self.load(self.inner.weight)
        return self(torch.randn(2, 5, self.inner.in_features))
