# fixed-bug reproduction: tl-unembed-layout
"""TransformerLensOrg/TransformerLens, fixed in 295d4a5. An unembedding wrapper exposes its weight
as (d_model, vocab): one branch transposes the wrapped layer's (vocab, d_model) weight, the other
returns a stored copy that is already (vocab, d_model) without transposing it; the forward pass then
transposes the stored copy again before F.linear, which wants (vocab, d_model).

Expected: SHP107 (F.linear's weight against the input width) on the linear; the property's two
branches disagreeing (a join of (d_model, vocab) with (vocab, d_model)) is the root cause.
"""

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
            return self.stored
        return self.inner.weight.T

    def forward(self, h):
        if self.stored is not None:
            return F.linear(h, self.stored.T, self.inner.bias)  # error: SHP107
        return self.inner(h)

    def demo(self):
        self.load(self.inner.weight)
        return self(torch.randn(2, 5, self.inner.in_features))
