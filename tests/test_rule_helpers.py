"""The rules' shared helpers: axis identity before a call's own bindings, head axes, names, parsing."""

from __future__ import annotations

import ast

from shapecheck._core._algebra import const, sym
from shapecheck._engine._rulebase import RuleContext
from shapecheck._core._shape import Shape, Variadic, shape_of
from shapecheck._core._unify import Env
from shapecheck.rules._common import (compare_before, env_before, is_heads_axis, looks_like, name_of, neg_dim,
                                      norm_dim)
from shapecheck.rules.attention_scale_not_head_size import _numerators, _sqrt_argument
from shapecheck.rules.height_width_swap import _rearrange_names

T = sym("T", "dim:x@3")
C = sym("C", "dim:x@3")
B = sym("B", "dim:x@3")
NH = sym("n_head", "code")


def _ctx(bindings=None) -> RuleContext:
    return RuleContext("m.py", Env(dict(bindings or {})))


def _node(line: int) -> ast.AST:
    node = ast.parse("x").body[0]
    node.lineno = line
    return node


def test_bindings_made_by_the_call_itself_are_ignored():
    hs = sym("head_size", "code")  # a size from code: it binds to the sequence axis it meets
    ctx = _ctx({T.as_sym(): (hs, "m.py:7")})
    assert ctx.compare(T, hs) == "eq"  # after `q @ k` bound them
    assert compare_before(ctx, _node(7), T, hs) == "unknown"  # before it, nothing said so
    assert compare_before(ctx, _node(8), T, hs) == "eq"  # a binding from another line stands
    assert env_before(ctx, _node(8)) is ctx.env


def test_a_head_axis_is_the_divisor_of_the_last_axis_or_named_so():
    ctx = _ctx()
    split = Shape((B, T, NH, C // NH))
    assert is_heads_axis(ctx, split, 2)
    assert not is_heads_axis(ctx, split, 1)
    assert is_heads_axis(ctx, shape_of("b s num_heads d"), 2)
    assert not is_heads_axis(ctx, shape_of("b s h d"), 2)  # a lone "h" may be a height
    assert is_heads_axis(ctx, shape_of("b s h d"), 2, allow_h=True)
    assert not is_heads_axis(ctx, shape_of("b 8 s d"), 1)  # literals are never identified by name


def test_names_are_only_a_tie_breaker_and_read_the_last_attribute():
    assert name_of(sym("self.cfg.n_head", "code")) == "n_head"
    assert looks_like(sym("H"), "height") and looks_like(sym("W"), "width")
    assert looks_like(sym("seq_len"), "seq") and not looks_like(sym("seq_len"), "batch")
    assert not looks_like(const(3), "channels")


def test_dims_counted_from_the_end_work_on_unknown_rank():
    assert neg_dim(1, shape_of("b h t t")) == -3
    assert neg_dim(-1, Shape((Variadic(None), T, T))) == -1
    assert neg_dim(0, Shape((Variadic(None), T, T))) is None
    assert neg_dim(4, shape_of("b h t t")) is None
    assert norm_dim(-1, 4) == 3 and norm_dim(5, 4) is None


def test_scale_expressions_name_their_size():
    def arg_of(src):
        node = _sqrt_argument(ast.parse(src, mode="eval").body)
        return ast.unparse(node) if node is not None else None

    assert arg_of("1.0 / math.sqrt(k.size(-1))") == "k.size(-1)"
    assert arg_of("self.head_dim ** -0.5") == "self.head_dim"
    assert arg_of("torch.rsqrt(torch.tensor(d_k))") == "d_k"
    assert arg_of("self.scale") is None
    assert _numerators(C // NH) == [C]


def test_rearrange_patterns_with_groups_are_not_read():
    assert _rearrange_names("b h w c -> b c h w") == (["b", "h", "w", "c"], ["b", "c", "h", "w"])
    assert _rearrange_names("b (h p) (w q) c -> b c h w p q") is None
    assert _rearrange_names("b h w -> b w") is None


def test_transformer_encoder_reads_batch_first_from_its_layer():
    """nn.TransformerEncoder has no `batch_first` of its own: the rule reads its layer's."""
    from shapecheck._engine._rulebase import CallEvent
    from shapecheck._engine._values import ModuleVal
    from shapecheck.rules.multihead_attention_batch_order import MultiheadAttentionBatchOrder

    tokens = shape_of("batch seq d_model").with_label("`tokens`")
    node = ast.parse("self.encoder(tokens)").body[0].value
    rule = MultiheadAttentionBatchOrder()
    for layer_first, reported in ((False, True), (True, False)):
        layer = ModuleVal("torch.nn.TransformerEncoderLayer", None, (("d_model", 64), ("batch_first", layer_first)))
        ctx = _ctx()
        ev = CallEvent("torch.nn.TransformerEncoder", node, (tokens,), {}, tokens,
                       init={"encoder_layer": layer, "num_layers": 2})
        rule.on_call(ev, ctx)
        assert bool(ctx.reports) is reported, ctx.reports
