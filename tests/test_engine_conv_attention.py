"""Attention over convolution features (vit-pytorch's ScalableViT, MaxViT-style windows): the engine keeps
the sizes a reader sees, from ``*x.shape[-2:]`` through a 1x1 convolution to the heads an einops pattern
splits off the channels."""

from __future__ import annotations

from test_engine import codes, reveals

_MODULE = """
    from einops import rearrange

    class Attend(nn.Module):
        def __init__(self, dim, heads = 8, dim_key = 32, reduction = 2):
            super().__init__()
            self.heads = heads
            self.to_q = nn.Conv2d(dim, dim_key * heads, 1, bias = False)
            self.to_k = nn.Conv2d(dim, dim_key * heads, reduction, stride = reduction, bias = False)

        def forward(self, x):
            height, width, heads = *x.shape[-2:], self.heads
            q, k = self.to_q(x), self.to_k(x)
            q, k = map(lambda t: rearrange(t, 'b (h d) ... -> b h (...) d', h = heads), (q, k))
            {line}
"""


def test_a_starred_slice_of_the_shape_names_the_axes_it_reads():
    assert reveals("""
        def f(x, heads: int):
            height, width, h = *x.shape[-2:], heads
            reveal_shape(torch.zeros(height, width, h))
            reveal_shape(x)
    """) == ["height width heads", "... height width"]


def test_a_convolution_keeps_the_spatial_axes_of_an_input_of_unknown_rank():
    assert reveals("""
        def f(x, dim: int, out: int):
            height, width = x.shape[-2:]
            reveal_shape(nn.Conv2d(dim, out, 1)(x))
            reveal_shape(nn.Conv2d(dim, out, 3, padding=1)(x))
    """) == ["... out height width", "... out height width"]


def test_a_pattern_that_names_the_first_axes_reads_a_convolution_batched():
    out = reveals(_MODULE.format(line="reveal_shape(q)"))
    assert out == ["? heads height*width dim_key"]


def test_an_untransposed_key_over_convolution_features_is_found():
    src = _MODULE.format(line="return torch.matmul(q, k)")
    assert codes(src) == ["SHP201"]
    ok = _MODULE.format(line="return torch.matmul(q, k.transpose(-1, -2))")
    assert codes(ok) == []


def test_projections_zipped_with_their_inputs_are_applied_to_tensors():
    # the annotated Transformer: `[lin(x).view(...) for lin, x in zip(self.linears, (query, key, value))]` applies
    # a Linear to each input, so the heads merged without the transpose are seen
    assert codes("""
        import math

        def attention(query, key, value):
            scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(query.size(-1))
            return torch.matmul(scores.softmax(dim=-1), value)

        class MultiHeadedAttention(nn.Module):
            def __init__(self, h, d_model):
                super().__init__()
                assert d_model % h == 0
                self.d_k = d_model // h
                self.h = h
                self.linears = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(4)])

            def forward(self, query, key, value):
                nbatches = query.size(0)
                query, key, value = [
                    lin(x).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
                    for lin, x in zip(self.linears, (query, key, value))
                ]
                x = attention(query, key, value)
                x = x.contiguous().view(nbatches, -1, self.h * self.d_k)
                return self.linears[-1](x)
    """) == ["SHP109"]
