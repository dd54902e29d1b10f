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
