"""Random cases for the differential test, continued: layers, losses, attention, einops, resampling
(see ``test_differential_gen``)."""

from __future__ import annotations

import functools

import einops
import torch
import torch.nn.functional as F
from test_differential_gen import Case, Mod, Pool, Ten, Z, _pick, gen  # noqa: F401
from torch import nn

# -- layers -----------------------------------------------------------------------------------

@gen
def g_linear(rng):
    P = Pool(rng)
    x = list(P.shape(rng.randint(0, 3))) + [P.name()]
    d, f = P.other(x[-1], 0.2), P.name()
    if rng.random() < 0.5:
        return Case("linear", "torch.nn.functional.linear", F.linear, (Ten(tuple(x)), Ten((f, d)))), P.sizes
    return Case("nn.Linear", "torch.nn.Linear", module=nn.Linear, init_args=(Z(d), Z(f)), args=(Ten(tuple(x)),)), P.sizes


@gen
def g_embedding(rng):
    P = Pool(rng)
    idx = Ten(P.shape(rng.randint(0, 3)), "long")
    if rng.random() < 0.5:
        w = Ten((P.name(), P.name()) + ((P.name(),) if rng.random() < 0.1 else ()))
        return Case("embedding", "torch.nn.functional.embedding", F.embedding, (idx, w)), P.sizes
    return Case("nn.Embedding", "torch.nn.Embedding", module=nn.Embedding, init_args=(Z(P.name()), Z(P.name())),
                args=(idx,)), P.sizes



def _spatial_input(rng, P, n):
    batched = rng.random() < 0.8
    c = P.name()
    sp = tuple(P.name() if rng.random() < 0.7 else rng.randint(1, 20) for _ in range(n))
    lead = (P.name(),) if batched else ()
    if rng.random() < 0.05:
        lead = lead + (P.name(),)
    return lead, c, sp


def _ks(rng, n, lo=1, hi=4):
    return rng.randint(lo, hi) if rng.random() < 0.6 else tuple(rng.randint(lo, hi) for _ in range(n))


@gen
def g_conv(rng):
    P = Pool(rng, 3, 24)
    n = rng.randint(1, 3)
    lead, c, sp = _spatial_input(rng, P, n)
    groups = rng.choice([1, 1, 1, 2])
    cin = P.other(c, 0.15)
    out = P.name()
    stride, dilation = _ks(rng, n, 1, 3), _ks(rng, n, 1, 2)
    padding = rng.choice([0, 1, 2, "same", "valid"]) if rng.random() < 0.8 else _ks(rng, n, 0, 2)
    if padding == "same" and rng.random() < 0.7:
        stride = 1
    k = _ks(rng, n, 1, 5)
    x = Ten(lead + (c,) + sp)
    if rng.random() < 0.5:
        kk = k if isinstance(k, tuple) else (k,) * n
        w = Ten((Z(f"{out}*{groups}"), cin) + kk)
        kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        return Case(f"conv{n}d", f"torch.nn.functional.conv{n}d", getattr(F, f"conv{n}d"), (x, w), kw), P.sizes
    cls = getattr(nn, f"Conv{n}d")
    return Case(f"nn.Conv{n}d", f"torch.nn.Conv{n}d", module=cls,
                init_args=(Z(f"{cin}*{groups}"), Z(f"{out}*{groups}") if rng.random() < 0.9 else Z(out), k),
                init_kwargs={"stride": stride, "padding": padding, "dilation": dilation, "groups": groups},
                args=(Ten(lead + (Z(f"{c}*{groups}"),) + sp),)), P.sizes


class _ProjectConvBlock(nn.Module):
    """A project's own convolution block, as ``shapecheck.ConvBlock`` stands for one it cannot read: a convolution
    of some kernel and stride, a norm and an activation, from ``in_channels`` to ``out_channels``."""

    def __init__(self, in_channels, out_channels, n=2, k=3, stride=1):
        super().__init__()
        self.body = nn.Sequential(getattr(nn, f"Conv{n}d")(in_channels, out_channels, k, stride=stride, padding=k // 2),
                                  getattr(nn, f"BatchNorm{n}d")(out_channels), nn.ReLU())

    def forward(self, x):
        return self.body(x)


@gen
def g_conv_block(rng):
    P = Pool(rng, 3, 16)
    n = rng.randint(1, 3)
    c = P.name()
    cin = P.other(c, 0.2)
    sp = tuple(P.name() if rng.random() < 0.7 else rng.randint(3, 20) for _ in range(n))
    k, stride = rng.choice([1, 3]), rng.randint(1, 2)
    block = functools.partial(_ProjectConvBlock, n=n, k=k, stride=stride)
    return Case("ConvBlock", "shapecheck.ConvBlock", module=block, init_args=(Z(cin), Z(P.name())),
                args=(Ten((P.name(), c) + sp),)), P.sizes


@gen
def g_conv_transpose(rng):
    P = Pool(rng, 3, 16)
    n = rng.randint(1, 3)
    lead, c, sp = _spatial_input(rng, P, n)
    cin = P.other(c, 0.15)
    out = P.name()
    stride, dilation = _ks(rng, n, 1, 3), _ks(rng, n, 1, 2)
    padding, k = _ks(rng, n, 0, 2), _ks(rng, n, 1, 4)
    op = rng.randint(0, 2)
    if rng.random() < 0.5:
        kk = k if isinstance(k, tuple) else (k,) * n
        w = Ten((cin, out) + kk)
        kw = {"stride": stride, "padding": padding, "output_padding": op, "dilation": dilation}
        return Case(f"conv_transpose{n}d", f"torch.nn.functional.conv_transpose{n}d",
                    getattr(F, f"conv_transpose{n}d"), (Ten(lead + (c,) + sp), w), kw), P.sizes
    cls = getattr(nn, f"ConvTranspose{n}d")
    return Case(f"nn.ConvTranspose{n}d", f"torch.nn.ConvTranspose{n}d", module=cls, init_args=(Z(cin), Z(out), k),
                init_kwargs={"stride": stride, "padding": padding, "output_padding": op, "dilation": dilation},
                args=(Ten(lead + (c,) + sp),)), P.sizes


@gen
def g_pool(rng):
    P = Pool(rng, 2, 20)
    n = rng.randint(1, 3)
    lead, c, sp = _spatial_input(rng, P, n)
    x = Ten(lead + (c,) + sp)
    kind = rng.choice(["max", "avg", "adaptive_avg", "adaptive_max"])
    if kind.startswith("adaptive"):
        size = rng.randint(1, 4) if rng.random() < 0.5 else tuple(
            None if rng.random() < 0.2 else rng.randint(1, 4) for _ in range(n + (1 if rng.random() < 0.1 else 0)))
        if rng.random() < 0.5:
            return Case(f"{kind}_pool{n}d", f"torch.nn.functional.{kind}_pool{n}d",
                        getattr(F, f"{kind}_pool{n}d"), (x, size)), P.sizes
        cls = getattr(nn, f"Adaptive{'Avg' if kind == 'adaptive_avg' else 'Max'}Pool{n}d")
        return Case(f"nn.{cls.__name__}", f"torch.nn.{cls.__name__}", module=cls, init_args=(size,), args=(x,)), P.sizes
    k = _ks(rng, n, 1, 4)
    stride = None if rng.random() < 0.4 else _ks(rng, n, 1, 3)
    padding = _ks(rng, n, 0, 2)
    ceil = rng.random() < 0.3
    kw = {"stride": stride, "padding": padding, "ceil_mode": ceil}
    if kind == "max" and rng.random() < 0.5:
        kw["dilation"] = _ks(rng, n, 1, 2)
    if rng.random() < 0.5:
        return Case(f"{kind}_pool{n}d", f"torch.nn.functional.{kind}_pool{n}d", getattr(F, f"{kind}_pool{n}d"),
                    (x, k), kw), P.sizes
    cls = getattr(nn, f"{'Max' if kind == 'max' else 'Avg'}Pool{n}d")
    return Case(f"nn.{cls.__name__}", f"torch.nn.{cls.__name__}", module=cls, init_args=(k,), init_kwargs=kw,
                args=(x,)), P.sizes


@gen
def g_pad(rng):
    P = Pool(rng)
    rank = rng.randint(1, 4)
    x = Ten(P.shape(rank))
    pad = tuple(rng.randint(0, 3) for _ in range(rng.randint(1, 2 * rank + 1)))
    return Case("pad", "torch.nn.functional.pad", F.pad, (x, pad)), P.sizes


@gen
def g_norm(rng):
    P = Pool(rng)
    op = rng.choice(["layer_norm", "LayerNorm", "batch_norm", "BatchNorm", "group_norm", "GroupNorm"])
    if op in ("layer_norm", "LayerNorm"):
        x = P.shape(rng.randint(1, 4), 0.0)
        k = rng.randint(1, len(x))
        ns = tuple(Z(P.other(d, 0.15)) for d in x[-k:])
        if rng.random() < 0.05:
            ns = (Z(P.name()),) + ns
        if op == "layer_norm":
            return Case(op, "torch.nn.functional.layer_norm", F.layer_norm, (Ten(x), ns)), P.sizes
        return Case("nn.LayerNorm", "torch.nn.LayerNorm", module=nn.LayerNorm, init_args=(ns if k > 1 else ns[0],),
                    args=(Ten(x),)), P.sizes
    if op in ("batch_norm", "BatchNorm"):
        n = rng.randint(1, 3)
        rank = {1: rng.choice([2, 3]), 2: 4, 3: 5}[n] + (rng.choice([-1, 1]) if rng.random() < 0.15 else 0)
        x = P.shape(rank, 0.0)
        if rank < 2:
            x = x + (P.name(),)
        c = P.other(x[1], 0.15)
        if op == "batch_norm":
            return Case(op, "torch.nn.functional.batch_norm", F.batch_norm, (Ten(x), Ten((c,)), Ten((c,)))), P.sizes
        cls = getattr(nn, f"BatchNorm{n}d")
        return Case(f"nn.BatchNorm{n}d", f"torch.nn.BatchNorm{n}d", module=cls, init_args=(Z(c),),
                    args=(Ten(x),)), P.sizes
    x = (P.name(), rng.choice([4, 6, 8, 12]), P.name())
    g = rng.choice([1, 2, 3, 4, 5])
    if op == "group_norm":
        return Case(op, "torch.nn.functional.group_norm", F.group_norm, (Ten(x), g)), P.sizes
    ch = x[1] if rng.random() < 0.85 else x[1] + 2
    return Case("nn.GroupNorm", "torch.nn.GroupNorm", module=nn.GroupNorm, init_args=(g, ch), args=(Ten(x),)), P.sizes


@gen
def g_sdpa(rng):
    P = Pool(rng)
    batch = P.shape(rng.randint(0, 2), 0.0)
    L, S, E, Ev = P.name(), P.name(), P.name(), P.name()
    q = Ten(batch + (L, E))
    k = Ten(tuple(P.other(b, 0.1) for b in batch) + (S, P.other(E, 0.15)))
    v = Ten(batch + (P.other(S, 0.15), Ev))
    args = (q, k, v)
    if rng.random() < 0.3:
        args = args + (Ten((L, P.other(S, 0.2)), "bool"),)
    return Case("scaled_dot_product_attention", "torch.nn.functional.scaled_dot_product_attention",
                F.scaled_dot_product_attention, args), P.sizes


@gen
def g_mha(rng):
    P = Pool(rng)
    h = rng.choice([1, 2, 3, 4])
    e = h * rng.randint(1, 4) + (1 if rng.random() < 0.1 else 0)
    bf = rng.random() < 0.5
    N, L, S = P.name(), P.name(), P.name()
    unbatched = rng.random() < 0.15
    def lay(seq, feat):
        if unbatched:
            return (seq, feat)
        return (N, seq, feat) if bf else (seq, N, feat)
    q = Ten(lay(L, e if rng.random() < 0.85 else e + 1))
    k = Ten(lay(S, e))
    v = Ten(lay(P.other(S, 0.15), e))
    kw = {}
    if rng.random() < 0.3:
        kw["average_attn_weights"] = False
    if rng.random() < 0.2:
        kw["need_weights"] = False
    return Case("nn.MultiheadAttention", "torch.nn.MultiheadAttention", module=nn.MultiheadAttention,
                init_args=(e, h), init_kwargs={"batch_first": bf}, args=(q, k, v), kwargs=kw), P.sizes


@gen
def g_loss(rng):
    P = Pool(rng)
    op = rng.choice(["cross_entropy", "cross_entropy_probs", "nll_loss", "mse_loss", "kl_div", "bce", "CrossEntropyLoss"])
    red = rng.choice(["mean", "sum", "none"])
    if op in ("cross_entropy", "nll_loss", "CrossEntropyLoss"):
        rank = rng.randint(1, 3)
        x = P.shape(rank, 0.0)
        tgt = tuple(P.other(d, 0.1) for i, d in enumerate(x) if i != 1) if rank > 1 else ()
        if rng.random() < 0.1:
            tgt = x[:-1]
        if op == "CrossEntropyLoss":
            return Case("nn.CrossEntropyLoss", "torch.nn.CrossEntropyLoss", module=nn.CrossEntropyLoss,
                        init_kwargs={"reduction": red}, args=(Ten(x), Ten(tgt, "long"))), P.sizes
        fn = F.cross_entropy if op == "cross_entropy" else F.nll_loss
        return Case(op, f"torch.nn.functional.{op}", fn, (Ten(x), Ten(tgt, "long")), {"reduction": red}), P.sizes
    if op == "cross_entropy_probs":
        x = P.shape(rng.randint(1, 3), 0.0)
        t = tuple(P.other(d, 0.1) for d in x)
        return Case("cross_entropy", "torch.nn.functional.cross_entropy", F.cross_entropy, (Ten(x), Ten(t)),
                    {"reduction": red}), P.sizes
    x = P.shape(rng.randint(1, 3), 0.1)
    t = tuple(P.other(d, 0.1) if rng.random() < 0.9 else 1 for d in x)
    if op == "kl_div":
        red = rng.choice(["mean", "sum", "none", "batchmean"])
    name = {"bce": "binary_cross_entropy_with_logits"}.get(op, op)
    return Case(name, f"torch.nn.functional.{name}", getattr(F, name), (Ten(x), Ten(t)), {"reduction": red}), P.sizes


# -- einops -----------------------------------------------------------------------------------

@gen
def g_rearrange(rng):
    P = Pool(rng, 2, 6)
    rank = rng.randint(1, 4)
    x = list(P.shape(rank, 0.0))
    names = [f"x{i}" for i in range(rank)]
    lhs = list(names)
    kw = {}
    # split one axis into two named parts: x_i = (u v) with u given
    if rng.random() < 0.4:
        i = rng.randrange(rank)
        u = rng.choice([2, 3])
        x[i] = Z(f"{u}*{x[i]}") if rng.random() < 0.85 else x[i]
        lhs[i] = f"(u{i} v{i})"
        kw[f"u{i}"] = u
        names[i:i + 1] = [f"u{i}", f"v{i}"]
    rhs_names = list(names)
    rng.shuffle(rhs_names)
    op = rng.choice(["rearrange", "reduce", "repeat"])
    if op == "reduce" and len(rhs_names) > 1:
        rhs_names = rhs_names[:rng.randint(0, len(rhs_names) - 1)]
    rhs = []
    j = 0
    while j < len(rhs_names):
        if rng.random() < 0.3 and j + 1 < len(rhs_names):
            rhs.append(f"({rhs_names[j]} {rhs_names[j + 1]})")
            j += 2
        else:
            rhs.append(rhs_names[j])
            j += 1
    if op == "repeat":
        rhs.insert(rng.randint(0, len(rhs)), "r")
        if rng.random() < 0.9:
            kw["r"] = rng.randint(2, 3)
    if rng.random() < 0.05:
        rhs.append("zz")
    if rng.random() < 0.05:
        lhs.append("extra")
    pattern = " ".join(lhs) + " -> " + " ".join(rhs)
    args = (Ten(tuple(x)), pattern) + (("mean",) if op == "reduce" else ())
    return Case(f"einops.{op}", f"einops.{op}", getattr(einops, op), args, kw), P.sizes


@gen
def g_einops_einsum(rng):
    P = Pool(rng)
    words = ["batch", "seq", "dm", "head", "kv"]
    ax = {w: P.name() for w in words}
    terms, tens = [], []
    for _ in range(rng.randint(1, 2)):
        t = rng.sample(words[:4], rng.randint(1, 3))
        dims = [ax[w] for w in t]
        if rng.random() < 0.15:
            dims[0] = P.name()
        terms.append(" ".join(t))
        tens.append(Ten(tuple(dims)))
    seen = sorted({w for t in terms for w in t.split()})
    out = rng.sample(seen, rng.randint(0, len(seen)))
    pattern = ", ".join(terms) + " -> " + " ".join(out)
    return Case("einops.einsum", "einops.einsum", einops.einsum, tuple(tens) + (pattern,)), P.sizes


@gen
def g_along(rng):
    P = Pool(rng)
    rank = rng.randint(1, 4)
    x = Ten(P.shape(rank))
    d = rng.randint(-rank - 1, rank)
    op = rng.choice(["softmin", "cumprod", "logcumsumexp", "cummax", "cummin", "argsort", "normalize", "flip", "roll",
                     "gumbel_softmax", "kthvalue", "mode"])
    if op in ("softmin", "normalize", "gumbel_softmax"):
        return Case(op, f"torch.nn.functional.{op}", getattr(F, op), (x,), {"dim": d}), P.sizes
    if op == "flip":
        dims = tuple(rng.sample(range(-rank - 1, rank + 1), rng.randint(1, min(2, rank))))
        return Case(op, "torch.flip", torch.flip, (x, dims)), P.sizes
    if op == "roll":
        return Case(op, "torch.roll", torch.roll, (x, 1, d)), P.sizes
    if op == "kthvalue":
        return Case(op, "torch.kthvalue", torch.kthvalue, (x, 1, d), {"keepdim": rng.random() < 0.5}), P.sizes
    if op == "mode":
        return Case(op, "torch.mode", torch.mode, (x, d), {"keepdim": rng.random() < 0.5}), P.sizes
    return Case(op, f"torch.{op}", getattr(torch, op), (x,), {"dim": d}), P.sizes


@gen
def g_loss_more(rng):
    P = Pool(rng)
    red = rng.choice(["mean", "sum", "none"])
    x = P.shape(rng.randint(1, 3), 0.1)
    t = tuple(P.other(d, 0.1) if rng.random() < 0.9 else 1 for d in x)
    name, module = rng.choice([("l1_loss", "L1Loss"), ("smooth_l1_loss", "SmoothL1Loss"), ("huber_loss", "HuberLoss"),
                               ("binary_cross_entropy", "BCELoss"), ("mse_loss", "MSELoss"), ("kl_div", "KLDivLoss"),
                               ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss"), ("nll_loss", "NLLLoss")])
    if name == "nll_loss":
        t = tuple(P.other(d, 0.1) for i, d in enumerate(x) if i != 1) if len(x) > 1 else ()
        return Case("nn.NLLLoss", "torch.nn.NLLLoss", module=nn.NLLLoss, init_kwargs={"reduction": red},
                    args=(Ten(x), Ten(t, "long"))), P.sizes
    if rng.random() < 0.5 or name == "nll_loss":
        return Case(name, f"torch.nn.functional.{name}", getattr(F, name), (Ten(x), Ten(t)), {"reduction": red}), P.sizes
    return Case(f"nn.{module}", f"torch.nn.{module}", module=getattr(nn, module), init_kwargs={"reduction": red},
                args=(Ten(x), Ten(t))), P.sizes


@gen
def g_misc(rng):
    P = Pool(rng)
    op = rng.choice(["type", "randint", "new_full", "linspace", "view_as", "Unflatten", "LazyLinear", "Rearrange", "Reduce"])
    x = P.shape(rng.randint(1, 3), 0.0)
    if op == "type":
        return Case(op, "torch.Tensor.type", torch.Tensor.type, (Ten(x), "torch.DoubleTensor")), P.sizes
    if op == "randint":
        return Case(op, "torch.randint", torch.randint, (10, tuple(Z(d) for d in x)), {"device": "meta"}), P.sizes
    if op == "new_full":
        return Case(op, "torch.Tensor.new_full", torch.Tensor.new_full, (Ten(x), tuple(Z(P.name()) for _ in x), 1.0)), P.sizes
    if op == "linspace":
        return Case(op, "torch.linspace", torch.linspace, (0.0, 1.0, Z(P.name())), {"device": "meta"}), P.sizes
    if op == "view_as":
        y = list(x)
        rng.shuffle(y)
        if rng.random() < 0.3:
            y.append(P.name())
        return Case(op, "torch.Tensor.view_as", torch.Tensor.view_as, (Ten(x), Ten(tuple(y)))), P.sizes
    if op == "Unflatten":
        a, b = P.name(), P.name()
        y = (P.name(), Z(f"{a}*{b}"))
        sizes = (Z(a), Z(b) if rng.random() < 0.8 else Z(P.name()))
        return Case("nn.Unflatten", "torch.nn.Unflatten", module=nn.Unflatten, init_args=(1, sizes), args=(Ten(y),)), P.sizes
    if op == "LazyLinear":
        return Case("nn.LazyLinear", "torch.nn.LazyLinear", module=nn.LazyLinear, init_args=(Z(P.name()),),
                    args=(Ten(x),)), P.sizes
    import einops.layers.torch as el
    names = [f"x{i}" for i in range(len(x) + (1 if rng.random() < 0.1 else 0))]
    rhs = list(names)
    rng.shuffle(rhs)
    if op == "Rearrange":
        pattern = " ".join(names) + " -> " + (" ".join(rhs) if rng.random() < 0.5 else "(" + " ".join(rhs) + ")")
        return Case("einops.Rearrange", "einops.layers.torch.Rearrange", module=el.Rearrange, init_args=(pattern,),
                    args=(Ten(x),)), P.sizes
    pattern = " ".join(names) + " -> " + " ".join(rhs[:rng.randint(0, len(rhs))])
    return Case("einops.Reduce", "einops.layers.torch.Reduce", module=el.Reduce, init_args=(pattern, "mean"),
                args=(Ten(x),)), P.sizes


@gen
def g_recurrent(rng):
    P = Pool(rng)
    cls = rng.choice([nn.RNN, nn.GRU, nn.LSTM])
    bf = rng.random() < 0.5
    S, N, F_ = P.name(), P.name(), P.name()
    unbatched = rng.random() < 0.2
    x = (S, F_) if unbatched else ((N, S, F_) if bf else (S, N, F_))
    if rng.random() < 0.05:
        x = x + (P.name(),)
    kw = {"batch_first": bf, "num_layers": rng.randint(1, 2), "bidirectional": rng.random() < 0.3}
    if cls is nn.LSTM and rng.random() < 0.2:
        kw["proj_size"] = 2
    return Case(f"nn.{cls.__name__}", f"torch.nn.{cls.__name__}", module=cls,
                init_args=(Z(P.other(F_, 0.15)), Z(P.name())), init_kwargs=kw, args=(Ten(x),)), P.sizes


@gen
def g_recurrent_cell(rng):
    P = Pool(rng)
    cls = rng.choice([nn.RNNCell, nn.GRUCell, nn.LSTMCell])
    N, F_ = P.name(), P.name()
    r = rng.random()
    x = (F_,) if r < 0.2 else ((N, F_) if r < 0.9 else (N, P.name(), F_))
    return Case(f"nn.{cls.__name__}", f"torch.nn.{cls.__name__}", module=cls,
                init_args=(Z(P.other(F_, 0.15)), Z(P.name())), args=(Ten(x),)), P.sizes


@gen
def g_transformer(rng):
    from shapecheck._core._ops import lookup
    if lookup("torch.nn.TransformerEncoderLayer") is None:
        return None, {}
    P = Pool(rng)
    h = rng.choice([1, 2, 4])
    e = h * rng.randint(1, 3)
    bf = rng.random() < 0.5
    N, S, T_ = P.name(), P.name(), P.name()
    def lay(seq, feat, unbatched=False):
        if unbatched:
            return (seq, feat)
        return (N, seq, feat) if bf else (seq, N, feat)
    un = rng.random() < 0.15
    feat = e if rng.random() < 0.85 else e + 1
    layer_kw = {"dim_feedforward": 8, "batch_first": bf, "dropout": 0.0}
    kind = rng.choice(["enc_layer", "dec_layer", "encoder", "decoder", "transformer"])
    src = Ten(lay(S, feat, un))
    tgt = Ten(lay(T_, e, un))
    if kind == "enc_layer":
        return Case("nn.TransformerEncoderLayer", "torch.nn.TransformerEncoderLayer", module=nn.TransformerEncoderLayer,
                    init_args=(e, h), init_kwargs=layer_kw, args=(src,)), P.sizes
    if kind == "dec_layer":
        if rng.random() < 0.1 and not un:
            src = Ten((P.name(), S, feat) if bf else (S, P.name(), feat))
        return Case("nn.TransformerDecoderLayer", "torch.nn.TransformerDecoderLayer", module=nn.TransformerDecoderLayer,
                    init_args=(e, h), init_kwargs=layer_kw, args=(tgt, src)), P.sizes
    if kind == "encoder":
        layer = Mod(nn.TransformerEncoderLayer, "torch.nn.TransformerEncoderLayer", (e, h), layer_kw)
        return Case("nn.TransformerEncoder", "torch.nn.TransformerEncoder", module=nn.TransformerEncoder,
                    init_args=(layer, 1), init_kwargs={"enable_nested_tensor": False}, args=(src,)), P.sizes
    if kind == "decoder":
        layer = Mod(nn.TransformerDecoderLayer, "torch.nn.TransformerDecoderLayer", (e, h), layer_kw)
        return Case("nn.TransformerDecoder", "torch.nn.TransformerDecoder", module=nn.TransformerDecoder,
                    init_args=(layer, 1), args=(tgt, src)), P.sizes
    return Case("nn.Transformer", "torch.nn.Transformer", module=nn.Transformer,
                init_args=(e, h), init_kwargs={"num_encoder_layers": 1, "num_decoder_layers": 1, "dim_feedforward": 8,
                                               "dropout": 0.0, "batch_first": bf},
                args=(src, tgt)), P.sizes


@gen
def g_resample(rng):
    P = Pool(rng, 2, 12)
    n = rng.randint(1, 3)
    lead, c, sp = _spatial_input(rng, P, n)
    op = rng.choice(["interpolate", "Upsample", "pixel_shuffle", "pixel_unshuffle", "PixelShuffle", "unfold", "pad_module",
                     "PixelUnshuffle", "Unfold"])
    if op in ("interpolate", "Upsample"):
        x = Ten((P.name(), c) + sp if rng.random() < 0.9 else (c,) + sp)
        kw = {}
        r = rng.random()
        if r < 0.45:
            kw["scale_factor"] = rng.choice([2, 0.5, 1.5, 3]) if rng.random() < 0.7 else \
                tuple(rng.choice([2, 0.5, 1.5]) for _ in range(n + (1 if rng.random() < 0.1 else 0)))
        elif r < 0.9:
            kw["size"] = rng.randint(1, 9) if rng.random() < 0.5 else tuple(
                Z(P.name()) for _ in range(n + (1 if rng.random() < 0.1 else 0)))
        else:
            kw = {"size": 4, "scale_factor": 2} if rng.random() < 0.5 else {}
        if op == "interpolate":
            return Case(op, "torch.nn.functional.interpolate", F.interpolate, (x,), kw), P.sizes
        return Case("nn.Upsample", "torch.nn.Upsample", module=nn.Upsample, init_kwargs=kw, args=(x,)), P.sizes
    if op in ("pixel_shuffle", "PixelShuffle"):
        r = rng.choice([2, 3])
        ch = Z(f"{c}*{r * r}") if rng.random() < 0.7 else c
        x = Ten((P.name(), ch, P.name(), P.name()))
        if op == "PixelShuffle":
            return Case("nn.PixelShuffle", "torch.nn.PixelShuffle", module=nn.PixelShuffle, init_args=(r,), args=(x,)), P.sizes
        return Case(op, "torch.nn.functional.pixel_shuffle", F.pixel_shuffle, (x, r)), P.sizes
    if op in ("pixel_unshuffle", "PixelUnshuffle"):
        r = 2
        h = Z(f"{P.name()}*2") if rng.random() < 0.7 else P.name()
        x = Ten((P.name(), c, h, Z(f"{P.name()}*2")))
        if op == "PixelUnshuffle":
            return Case("nn.PixelUnshuffle", "torch.nn.PixelUnshuffle", module=nn.PixelUnshuffle, init_args=(r,),
                        args=(x,)), P.sizes
        return Case(op, "torch.nn.functional.pixel_unshuffle", F.pixel_unshuffle, (x, r)), P.sizes
    if op in ("unfold", "Unfold"):
        x = Ten((P.name(), c, P.name(), P.name()) if rng.random() < 0.85 else (c, P.name(), P.name()))
        kw = {"padding": rng.randint(0, 1), "stride": rng.randint(1, 2), "dilation": rng.randint(1, 2)}
        if op == "Unfold":
            return Case("nn.Unfold", "torch.nn.Unfold", module=nn.Unfold, init_args=(rng.randint(1, 4),), init_kwargs=kw,
                        args=(x,)), P.sizes
        return Case(op, "torch.nn.functional.unfold", F.unfold, (x, rng.randint(1, 4)), kw), P.sizes
    kind = rng.choice(["Zero", "Constant", "Reflection", "Replication"])
    cls = getattr(nn, f"{kind}Pad{n}d")
    pad = rng.randint(0, 2) if rng.random() < 0.5 else tuple(rng.randint(0, 2) for _ in range(2 * n))
    init = (pad, 0.0) if kind == "Constant" else (pad,)
    return Case(f"nn.{kind}Pad{n}d", f"torch.nn.{kind}Pad{n}d", module=cls, init_args=init,
                args=(Ten(lead + (c,) + sp),)), P.sizes


@gen
def g_misc_ops(rng):
    P = Pool(rng)
    op = rng.choice(["one_hot", "cosine_similarity", "pairwise_distance", "cdist", "addmm", "baddbmm", "unfold_t",
                     "glu", "GLU", "CosineSimilarity"])
    if op == "one_hot":
        return Case(op, "torch.nn.functional.one_hot", F.one_hot, (Ten(P.shape(rng.randint(0, 2)), "long"),),
                    {"num_classes": rng.randint(1, 5)}), P.sizes
    if op in ("cosine_similarity", "pairwise_distance", "CosineSimilarity"):
        x = P.shape(rng.randint(1, 3), 0.0)
        y = tuple(P.other(d, 0.1) if rng.random() < 0.9 else 1 for d in x)
        if op == "pairwise_distance":
            return Case(op, "torch.nn.functional.pairwise_distance", F.pairwise_distance, (Ten(x), Ten(y)),
                        {"keepdim": rng.random() < 0.3}), P.sizes
        dim = rng.randint(-len(x) - 1, len(x))
        if op == "CosineSimilarity":
            return Case("nn.CosineSimilarity", "torch.nn.CosineSimilarity", module=nn.CosineSimilarity,
                        init_kwargs={"dim": dim}, args=(Ten(x), Ten(y))), P.sizes
        return Case(op, "torch.nn.functional.cosine_similarity", F.cosine_similarity, (Ten(x), Ten(y)),
                    {"dim": dim}), P.sizes
    if op == "cdist":
        b = P.shape(rng.randint(0, 1), 0.0)
        m = P.name()
        return Case(op, "torch.cdist", torch.cdist, (Ten(b + (P.name(), m)), Ten(b + (P.name(), P.other(m, 0.15))))), P.sizes
    if op == "addmm":
        n, k, m = P.name(), P.name(), P.name()
        bias = rng.choice([(m,), (n, m), (1, m), (P.name(),), (n, 1)])
        return Case(op, "torch.addmm", torch.addmm, (Ten(bias), Ten((n, k)), Ten((P.other(k, 0.15), m)))), P.sizes
    if op == "baddbmm":
        b, n, k, m = P.name(), P.name(), P.name(), P.name()
        bias = rng.choice([(b, n, m), (1, n, m), (m,), (P.name(), n, m)])
        return Case(op, "torch.baddbmm", torch.baddbmm, (Ten(bias), Ten((b, n, k)), Ten((b, P.other(k, 0.15), m)))), P.sizes
    if op == "unfold_t":
        rank = rng.randint(1, 3)
        x = P.shape(rank, 0.0)
        return Case("Tensor.unfold", "torch.Tensor.unfold", torch.Tensor.unfold,
                    (Ten(x), rng.randint(-rank - 1, rank), rng.randint(1, 5), rng.randint(1, 3))), P.sizes
    x = list(P.shape(rng.randint(1, 3), 0.0))
    d = rng.randrange(len(x))
    if rng.random() < 0.7:
        x[d] = Z(f"2*{x[d]}")
    dim = d if rng.random() < 0.8 else rng.randint(-len(x) - 1, len(x))
    if op == "GLU":
        return Case("nn.GLU", "torch.nn.GLU", module=nn.GLU, init_kwargs={"dim": dim}, args=(Ten(tuple(x)),)), P.sizes
    return Case(op, "torch.nn.functional.glu", F.glu, (Ten(tuple(x)),), {"dim": dim}), P.sizes


@gen
def g_instance_norm(rng):
    P = Pool(rng)
    n = rng.randint(1, 3)
    rank = rng.choice([n + 1, n + 2]) + (rng.choice([-1, 1]) if rng.random() < 0.1 else 0)
    x = P.shape(max(rank, 1), 0.0)
    c = P.other(x[-n - 1] if len(x) > n else x[0], 0.2)
    affine = rng.random() < 0.7
    cls = getattr(nn, f"InstanceNorm{n}d")
    return Case(f"nn.InstanceNorm{n}d", f"torch.nn.InstanceNorm{n}d", module=cls, init_args=(Z(c),),
                init_kwargs={"affine": affine}, args=(Ten(x),)), P.sizes


@gen
def g_fft(rng):
    # a transform along one axis, sometimes to a given length, sometimes along an axis that is not there
    P = Pool(rng)
    op = rng.choice(["fft", "ifft", "rfft", "ihfft", "irfft", "hfft"])
    x = P.shape(rng.randint(1, 3), 0.0)
    kwargs = {}
    if rng.random() < 0.5:
        kwargs["dim"] = rng.randint(-len(x) - 1, len(x))
    if rng.random() < 0.3:
        kwargs["n"] = rng.randint(2, 12)
    dtype = "cfloat" if op in ("irfft", "hfft", "ifft") and rng.random() < 0.5 else None
    return Case(op, f"torch.fft.{op}", getattr(torch.fft, op), (Ten(tuple(x), dtype),), kwargs), P.sizes


@gen
def g_complex(rng):
    P = Pool(rng)
    op = rng.choice(["polar", "complex", "view_as_complex", "view_as_real"])
    if op in ("polar", "complex"):
        x = P.shape(rng.randint(1, 3), 0.0)
        y = tuple(P.other(d, 0.1) if rng.random() < 0.8 else 1 for d in x)
        if rng.random() < 0.3:
            y = y[1:]
        return Case(op, f"torch.{op}", getattr(torch, op), (Ten(x), Ten(y))), P.sizes
    x = list(P.shape(rng.randint(0, 3), 0.0))
    if op == "view_as_real":
        return Case(op, "torch.view_as_real", torch.view_as_real, (Ten(tuple(x), "cfloat"),)), P.sizes
    if x and rng.random() < 0.8:
        x[-1] = 2
    return Case(op, "torch.view_as_complex", torch.view_as_complex, (Ten(tuple(x)),)), P.sizes


# -- added later: at the end, so that the seeded stream of draws of the generators above is unchanged --------

@gen
def g_meshgrid(rng):
    P = Pool(rng, 1, 9)
    n = rng.randint(1, 3)
    # 1-D inputs, now and then a scalar or a matrix (which torch rejects)
    parts = [Ten(P.shape(rng.choice([1, 1, 1, 1, 1, 1, 0, 2]), 0.0)) for _ in range(n)]
    return Case("meshgrid", "torch.meshgrid", torch.meshgrid, tuple(parts),
                {"indexing": rng.choice(["ij", "xy"])}), P.sizes

@gen
def g_embedding_bag(rng):
    # bags as the rows of a 2-D input, or stretches of a 1-D input that offsets start (now and then a 3-D input,
    # which torch rejects)
    P = Pool(rng)
    kw = {"include_last_offset": True} if rng.random() < 0.3 else {}
    init = (Z(P.name()), Z(P.name()))
    if rng.random() < 0.5:
        idx = Ten(P.shape(rng.choice([2, 2, 2, 3]), 0.0), "long")
        return Case("nn.EmbeddingBag", "torch.nn.EmbeddingBag", module=nn.EmbeddingBag, init_args=init,
                    init_kwargs=kw, args=(idx,)), P.sizes
    return Case("nn.EmbeddingBag", "torch.nn.EmbeddingBag", module=nn.EmbeddingBag, init_args=init, init_kwargs=kw,
                args=(Ten((P.name(),), "long"), Ten((P.name(),), "long"))), P.sizes


class _ProjectNorm(nn.Module):
    """A project's own norm layer, as ``shapecheck.NormBlock`` stands for one it cannot read: a layer norm over the
    channels (axis 1, the channels-first form) or over the last axis, with a learnt scale."""

    def __init__(self, channels, dim=-1):
        super().__init__()
        self.dim = dim
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x):
        x = x - x.mean(self.dim, keepdim=True)
        x = x / (x.pow(2).mean(self.dim, keepdim=True) + 1e-6).sqrt()
        scale = [1] * x.dim()
        scale[self.dim] = -1
        return x * self.weight.view(scale)


@gen
def g_norm_block(rng):
    P = Pool(rng, 2, 12)
    x = P.shape(rng.randint(2, 4), 0.0)
    dim = rng.choice([1, -1])
    return Case("NormBlock", "shapecheck.NormBlock", module=_ProjectNorm, init_args=(Z(x[dim]),),
                init_kwargs={"dim": dim}, args=(Ten(x),)), P.sizes

