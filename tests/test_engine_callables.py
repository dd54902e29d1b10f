"""Callables the engine cannot see into, kept where their shape behaviour is certain: activations passed
as classes, activation tables and factories, identity wrappers such as ``HookPoint``."""

from __future__ import annotations

from test_engine import codes, reveals

_MLP = """
    from typing import Type
    from transformers.activations import ACT2FN
    from timm.layers import create_act_layer, get_act_layer
    from transformer_lens.hook_points import HookPoint

    class Mlp(nn.Module):
        def __init__(self, dim, hidden, act_layer: Type[nn.Module] = nn.GELU, cfg=None):
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.act = {act}
            self.fc2 = nn.Linear({fc2_in}, dim)

        def forward(self, x):
            x = self.fc1(x)
            x = self.act(x)
            reveal_shape(x)
            return self.fc2(x)
"""


def test_an_activation_passed_as_a_class_keeps_the_shape():
    assert reveals(_MLP.format(act="act_layer()", fc2_in="hidden")) == ["... hidden"]
    assert codes(_MLP.format(act="act_layer(inplace=True)", fc2_in="dim")) == ["SHP107"]


def test_activation_tables_and_factories_keep_the_shape():
    for act in ("ACT2FN[cfg.hidden_act]", 'create_act_layer("silu", inplace=True)', 'get_act_layer("gelu")()',
                "HookPoint()"):
        assert reveals(_MLP.format(act=act, fc2_in="hidden")) == ["... hidden"], act


def test_a_factory_of_a_shape_changing_activation_is_unknown():
    # timm's table also holds GLU, which halves the last axis: a name that is not certainly elementwise
    # (here GLU, or one read from a config) gives nothing
    for act in ('get_act_layer("glu")()', "create_act_layer(cfg.act)"):
        assert reveals(_MLP.format(act=act, fc2_in="hidden")) == ["..."], act
        assert codes(_MLP.format(act=act, fc2_in="dim")) == [], act


def test_a_parameter_defaulting_to_another_class_is_not_an_activation():
    assert reveals(_MLP.format(act="act_layer()", fc2_in="hidden").replace("nn.GELU", "nn.GLU")) == ["..."]


_KERNEL = """
    from apex.normalization import fused_rms_norm_affine
    from .fast_norm import fast_layer_norm, fast_simple_norm, fused_layer_norm_fn

    def f(x: Float[Tensor, "b h w c"], w, shape, r):
        reveal_shape({call})
"""


def test_a_layer_norm_kernel_of_another_package_keeps_the_shape():
    for call in ("fused_rms_norm_affine(x, w, shape, 1e-6)", "fast_layer_norm(x, shape, w, None, 1e-5)"):
        assert reveals(_KERNEL.format(call=call)) == ["b h w c"], call


def test_a_norm_kernel_that_may_return_a_pair_or_reduce_is_unknown():
    # a name that is no layer or RMS norm, mamba-style ``*_fn`` kernels and flags that make them return a
    # pair (``prenorm=True``), and torch's own norm (a reduction) are not taken to keep the shape
    for call in ("fast_simple_norm(x, shape)", "fused_layer_norm_fn(x, w, None)",
                 "fast_layer_norm(x, shape, w, None, 1e-5, residual=r, prenorm=True)"):
        assert reveals(_KERNEL.format(call=call)) == ["..."], call
    assert reveals(_KERNEL.format(call="torch.norm(x)")) == [""]


def test_a_helper_taking_sizes_as_star_args_builds_a_tensor_of_them():
    # ``def uniform_init(*shape): return torch.empty(shape)``: the positional arguments are the tuple
    # ``shape`` holds, each one size, as ``torch.empty(n, d)`` reads them
    src = """
        def uniform_init(*shape):
            t = torch.empty(shape)
            nn.init.kaiming_uniform_(t)
            return t
        class Codebook(nn.Module):
            def __init__(self, dim, codebook_size, heads=1):
                super().__init__()
                self.embed = nn.Parameter(uniform_init(heads, codebook_size, dim))
            def forward(self, onehot):
                reveal_shape(self.embed)
                return torch.einsum("h b n c, h c d -> h b n d", {ops})
    """
    assert reveals(src.format(ops="onehot, self.embed")) == ["heads codebook_size dim"]
    assert codes(src.format(ops="onehot, self.embed")) == []
    assert codes(src.format(ops="self.embed, onehot")) == ["SHP108"]
    # a helper whose star arguments are no sizes is no factory: what it gives stays unknown
    assert reveals("""
        def first(*xs):
            return xs[0]
        def f(a, b):
            reveal_shape(first(a, b))
    """) == ["..."]
