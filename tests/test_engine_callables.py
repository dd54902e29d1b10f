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
