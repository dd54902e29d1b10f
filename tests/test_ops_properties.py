"""Properties every operator shape rule must have, beyond its worked examples."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shapecheck._core._algebra import const, sym
from shapecheck._core._ops import OPAQUE, all_rules, lookup
from shapecheck._core._ops._examples import _kwargs, _shapes
from shapecheck._core._ops._registry import Site
from shapecheck._core._shape import ANY_SHAPE, UNKNOWN, Shape, shape_of


def test_rules_load_without_torch_or_einops():
    code = ("import sys; import shapecheck._core._ops as o; n = len(o.all_rules()); "
            "bad = [m for m in ('torch', 'einops', 'numpy') if m in sys.modules]; "
            "print(n, bad); sys.exit(1 if bad or n < 100 else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=_root(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _root():
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _example_call(rule, example):
    """(args, kwargs, init) of an ok example, with the shapes parsed."""
    text = example
    init = None
    if text.startswith("init:"):
        init_text, _, text = text[5:].partition("|")
        iargs, ikw = _kwargs(init_text)
        init = rule.bind_init(tuple(iargs), ikw)
    lhs, _, _ = text.rpartition("->")
    shapes_text, _, static = lhs.partition("|")
    pargs, kwargs = _kwargs(static)
    return list(_shapes(shapes_text)) + list(pargs), kwargs, init


def _replace_shapes(v, fn):
    if isinstance(v, Shape):
        return fn(v)
    if isinstance(v, tuple):
        return tuple(_replace_shapes(x, fn) for x in v)
    if isinstance(v, list):
        return [_replace_shapes(x, fn) for x in v]
    return v


OK_CASES = [pytest.param(rule, ex, id=f"{rule.names[0]}:{ex}") for rule in all_rules() for ex in rule.ok]


@pytest.mark.parametrize("rule,example", OK_CASES)
def test_unknown_shapes_are_never_an_error(rule, example):
    """With every tensor of unknown shape, or of known rank but unknown sizes, a rule reports nothing."""
    args, kwargs, init = _example_call(rule, example)
    for fn in (lambda s: ANY_SHAPE, lambda s: Shape(tuple(UNKNOWN for _ in s.dims)) if s.rank is not None else s):
        site = Site(rule.display)
        a = _replace_shapes(args, fn)
        k = {n: _replace_shapes(v, fn) for n, v in kwargs.items()}
        rule.apply(site, tuple(a), k, init)
        assert not site.problems, f"{example}: {site.problems[0].message}"


@pytest.mark.parametrize("rule,example", OK_CASES)
def test_opaque_static_arguments_never_raise(rule, example):
    """An argument the analysis could not evaluate (OPAQUE) makes a rule unknown, not crash."""
    args, kwargs, init = _example_call(rule, example)
    for i, a in enumerate(args):
        if isinstance(a, Shape):
            continue
        b = list(args)
        b[i] = OPAQUE
        rule.apply(Site(rule.display), tuple(b), kwargs, init)
    for k in kwargs:
        rule.apply(Site(rule.display), tuple(args), {**kwargs, k: OPAQUE}, init)
    if init:
        for k in init:
            rule.apply(Site(rule.display), tuple(args), kwargs, {**init, k: OPAQUE})


def _x():
    s = shape_of("b n d").with_origins(("arg b", "arg n", "arg d")).with_label("`x`").with_meta(softmax_axis=2)
    return s


@pytest.mark.parametrize("name,extra,init", [
    ("torch.nn.functional.relu", (), None), ("torch.Tensor.contiguous", (), None), ("torch.Tensor.float", (), None),
    ("torch.Tensor.to", ("cuda",), None), ("torch.nn.functional.dropout", (0.1,), None),
    ("torch.Tensor.softmax", (-1,), None), ("torch.nn.functional.layer_norm", ((sym("d"),),), None),
    ("torch.Tensor.masked_fill", (shape_of("n 1"), 0.0), None), ("torch.Tensor.tril", (), None),
    ("torch.nn.GELU", (), {}), ("torch.nn.Dropout", (), {"p": 0.1}), ("torch.nn.LayerNorm", (), {"normalized_shape": sym("d")}),
    ("torch.Tensor.__add__", (2,), None), ("torch.Tensor.add_", (shape_of("d"),), None),
    ("torch.Tensor.clone", (), None), ("torch.Tensor.detach", (), None), ("torch.Tensor.type_as", (shape_of("b"),), None),
])
def test_shape_preserving_ops_return_the_input_itself(name, extra, init):
    x = _x()
    site = Site(name)
    out = lookup(name).apply(site, (x,) + extra, {}, init)
    assert not site.problems
    assert out is x


@pytest.mark.parametrize("name,args,kwargs,expect", [
    ("torch.Tensor.permute", (0, 2, 1), {}, ["arg b", "arg d", "arg n"]),
    ("torch.Tensor.transpose", (-2, -1), {}, ["arg b", "arg d", "arg n"]),
    ("torch.sum", (), {"dim": 1}, ["arg b", "arg d"]),
    ("torch.Tensor.unsqueeze", (1,), {}, ["arg b", None, "arg n", "arg d"]),
    ("torch.Tensor.__getitem__", ((slice(None), None),), {}, ["arg b", None, "arg n", "arg d"]),
    ("torch.Tensor.flatten", (1,), {}, ["arg b", None]),
    ("torch.Tensor.view", (sym("b"), sym("n"), 2, sym("d") // 2), {}, ["arg b", "arg n", None, None]),
    ("einops.rearrange", ("b n d -> n b d",), {}, ["arg n", "arg b", "arg d"]),
    ("torch.movedim", (2, 0), {}, ["arg d", "arg b", "arg n"]),
])
def test_axes_that_pass_through_keep_their_origin(name, args, kwargs, expect):
    site = Site(name)
    out = lookup(name).apply(site, (_x(),) + args, kwargs)
    assert not site.problems
    assert [out.origin(i) for i in range(len(out.dims))] == expect


def test_view_records_divisibility_so_the_split_multiplies_back():
    site = Site("view")
    B, T, C, n = sym("B"), sym("T"), sym("C"), sym("n_head", "code")
    x = Shape((B, T, C))
    out = lookup("torch.Tensor.view").apply(site, (x, B, T, n, C // n), {})
    assert not site.problems
    assert site.env.divisible, "the view should record that n_head divides C"
    assert site.resolve(out.dims[2] * out.dims[3]) == C
    # and viewing back is provably consistent
    back = lookup("torch.Tensor.reshape").apply(site, (out, B, T, C), {})
    assert not site.problems and back.dims == (B, T, C)


def test_reshape_with_a_provably_wrong_count_names_both_counts():
    site = Site("view")
    lookup("torch.Tensor.view").apply(site, (shape_of("b 6 4").with_label("`x`"), sym("b"), 5, -1), {})
    assert [p.code for p in site.problems] == ["SHP103"]
    assert "24" in site.problems[0].message or "24" in " ".join(site.problems[0].notes)


def test_messages_name_the_op_and_both_axes():
    site = Site("matmul")
    q = shape_of("b h n d_head").with_label("`q`")
    k = shape_of("b h n d_head").with_label("`k`")
    lookup("torch.matmul").apply(site, (q, k), {})
    p = site.problems[0]
    assert p.code == "SHP101"
    assert p.message == 'matmul contracts "d_head" with "n"'
    assert any("`q`" in n for n in p.notes) and any("`k`" in n for n in p.notes)
    assert p.help and "transpose" in p.help
    site = Site("linear")
    lookup("torch.nn.Linear").apply(site, (shape_of("b n 256").with_label("`h`"),), {}, {"in_features": 512, "out_features": 8})
    assert site.problems[0].code == "SHP107"
    assert site.problems[0].message == "linear expects 512 input features, got 256"
    site = Site("linear")
    lookup("torch.nn.Linear").apply(site, (shape_of("b n d_ff").with_label("`h`"),), {},
                                    {"in_features": sym("d_model"), "out_features": 8})
    assert site.problems[0].message == 'linear expects "d_model" input features, got "d_ff"'
    assert site.problems[0].notes == ('"d_ff" is the last axis of `h`',)


def test_messages_follow_house_style():
    """One line, no trailing period, over every bad example."""
    from shapecheck._core._ops._examples import run_example  # noqa: F401
    seen = 0
    for rule in all_rules():
        for ex in rule.bad:
            text = ex
            init = None
            if text.startswith("init:"):
                init_text, _, text = text[5:].partition("|")
                iargs, ikw = _kwargs(init_text)
                init = rule.bind_init(tuple(iargs), ikw)
            lhs, _, _ = text.partition("!")
            shapes_text, _, static = lhs.partition("|")
            pargs, kwargs = _kwargs(static)
            site = Site(rule.display)
            rule.apply(site, tuple(_shapes(shapes_text)) + tuple(pargs), kwargs, init)
            for p in site.problems:
                seen += 1
                assert not p.message.endswith("."), p.message
                assert "\n" not in p.message and p.message == p.message.strip()
    assert seen > 100


def test_tuple_results_for_value_index_pairs():
    site = Site("max")
    out = lookup("torch.Tensor.max").apply(site, (shape_of("b n"),), {"dim": 1})
    assert isinstance(out, tuple) and len(out) == 2 and out[0].dims == shape_of("b").dims
    out = lookup("torch.max").apply(site, (shape_of("b n"),), {})
    assert isinstance(out, Shape) and out.dims == ()
    q, _, _ = lookup("torch.Tensor.chunk").apply(site, (shape_of("b 3*c"), 3, -1), {})
    assert q.dims == shape_of("b c").dims


def test_attention_head_split_round_trip_is_consistent():
    """``x.view(B, T, nh, C // nh).transpose(1, 2)`` and back with ``.view(B, T, C)``: no false alarm."""
    from shapecheck._core._algebra import sym as s
    site = Site("view")
    B, T, C, nh = s("B", "dim:x"), s("T", "dim:x"), s("C", "dim:x"), s("n_head", "code")
    x = Shape((B, T, C))
    q = lookup("torch.Tensor.view").apply(site, (x, B, T, nh, C // nh), {})
    q = lookup("torch.Tensor.transpose").apply(site, (q, 1, 2), {})
    att = lookup("torch.matmul").apply(site, (q, lookup("torch.Tensor.transpose").apply(site, (q, -2, -1), {})), {})
    y = lookup("torch.matmul").apply(site, (att, q), {})
    y = lookup("torch.Tensor.transpose").apply(site, (y, 1, 2), {})
    out = lookup("torch.Tensor.view").apply(site, (lookup("torch.Tensor.contiguous").apply(site, (y,), {}), B, T, C), {})
    assert not site.problems, site.problems
    assert out.dims == (B, T, C)
    assert site.resolve(y.dims[2] * y.dims[3]) == C


def test_layer_size_message_shows_the_bound_name():
    site = Site("linear")
    site.env.bind(sym("d_model").as_sym(), const(512))
    lookup("torch.nn.Linear").apply(site, (shape_of("b n 256").with_label("`h`"),), {},
                                    {"in_features": sym("d_model"), "out_features": 8})
    assert site.problems[0].message == 'linear expects 512 ("d_model") input features, got 256'


_ODD = (None, "x", 1.5, (), [], True, -1, 0, 10**6, (1, "a"), sym("q"), ANY_SHAPE, Shape(()))


@pytest.mark.parametrize("rule,example", OK_CASES)
def test_odd_static_arguments_never_raise(rule, example):
    """Whatever the analysis passes for a static argument, a rule returns (an answer, unknown or a
    recorded problem); it never raises."""
    args, kwargs, init = _example_call(rule, example)
    for i, a in enumerate(args):
        if isinstance(a, Shape) and i == 0:
            continue
        for odd in _ODD:
            b = list(args)
            b[i] = odd
            rule.apply(Site(rule.display), tuple(b), kwargs, init)
    for k in kwargs:
        for odd in _ODD:
            rule.apply(Site(rule.display), tuple(args), {**kwargs, k: odd}, init)
    for k in (init or {}):
        for odd in _ODD:
            rule.apply(Site(rule.display), tuple(args), kwargs, {**init, k: odd})


_ODD_TENSORS = (Shape(()), ANY_SHAPE, shape_of("a *B b"), shape_of("*B"), Shape((UNKNOWN,)), shape_of("1 1 1 1 1 1"),
                None, 2.0, "x", OPAQUE)


@pytest.mark.parametrize("rule,example", OK_CASES)
def test_odd_tensor_arguments_never_raise(rule, example):
    args, kwargs, init = _example_call(rule, example)
    for i, a in enumerate(args):
        if not isinstance(a, Shape):
            continue
        for odd in _ODD_TENSORS:
            b = list(args)
            b[i] = odd
            rule.apply(Site(rule.display), tuple(b), kwargs, init)


@pytest.mark.parametrize("index", [
    slice(OPAQUE, None), slice(None, OPAQUE), slice(None, None, OPAQUE), (slice(None), OPAQUE), (OPAQUE, Ellipsis),
    (Ellipsis, Ellipsis), (None, None, None), True, False, sym("t"), (slice(sym("a"), sym("b")), 0), ANY_SHAPE,
    (shape_of("k").with_meta(dtype="long"), shape_of("j").with_meta(dtype="long")),
])
def test_getitem_with_indices_the_engine_may_build(index):
    for x in (shape_of("b n d"), shape_of("*B n d"), ANY_SHAPE, shape_of("3 4 5")):
        site = Site("indexing")
        out = lookup("torch.Tensor.__getitem__").apply(site, (x, index), {})
        assert out is None or isinstance(out, Shape)
        assert all(p.code.startswith("SHP1") for p in site.problems)
        if x.is_any:
            assert not site.problems  # nothing is known about the tensor, so nothing can be wrong


def test_regressions_from_real_code():
    """False alarms seen on real code (fixtures/correct/regressions.py), at the rule level."""
    from shapecheck._core._shape import Variadic
    site = Site("rearrange")
    x = Shape((Variadic(None), const(1), UNKNOWN, UNKNOWN))  # a conv output of unknown rank
    assert lookup("einops.rearrange").apply(site, (x, "b n ... -> b n (...)"), {}) is None
    assert not site.problems
    site = Site("reduce")
    out = lookup("einops.reduce").apply(site, (shape_of("b n c d"), "... c d -> c d", "mean"), {})
    assert not site.problems and out.dims == shape_of("c d").dims
    # squeeze of a size from code may or may not remove the axis
    B, S, H = sym("B", "dim:x"), sym("S", "dim:x"), sym("H", "dim:x")
    site = Site("squeeze")
    out = lookup("torch.Tensor.squeeze").apply(site, (Shape((B, S, H)), 1), {})
    assert out.rank is None and out.dims[0] == B and out.dims[-1] == H
    site.env.bind(S.as_sym(), const(1))  # after `assert S == 1`
    out = lookup("torch.Tensor.squeeze").apply(site, (Shape((B, S, H)), 1), {})
    assert out.dims == (B, H)
    # X[:, :-M] keeps n - M columns
    n, M = sym("n", "dim:x"), sym("M", "code")
    site = Site("indexing")
    out = lookup("torch.Tensor.__getitem__").apply(site, (Shape((B, n)), (slice(None), slice(None, -M))), {})
    assert out.dims == (B, n - M)
