"""Random cases for the differential test (tests/test_differential.py): shapes over named axes with
distinct sizes, static arguments, and the PyTorch call that gives the truth. Each generator returns
``(Case, sizes)``; it draws valid and invalid calls alike. Layers, losses and einops continue in
``test_differential_gen_layers``."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

GENERATORS = []
NAMES = "abcdefgh"


class Z(str):
    """A size expression over axis names (``Z("a*b")``): an int for torch, an ``Expr`` for the rule."""


@dataclass
class Ten:
    """A tensor argument: dims are axis names, ints or ``Z`` expressions."""

    dims: tuple
    dtype: str | None = None


@dataclass
class Mod:
    """A module object as a constructor argument: built for torch, its bound arguments for the rule."""

    cls: object
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class Case:
    label: str
    name: str
    fn: object = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    module: object = None
    init_args: tuple = ()
    init_kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        def show(v):
            if isinstance(v, Ten):
                return "T(" + " ".join(str(d) for d in v.dims) + (f":{v.dtype}" if v.dtype else "") + ")"
            if isinstance(v, (tuple, list)):
                inner = ", ".join(show(x) for x in v)
                return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
            if isinstance(v, dict):
                return "{" + ", ".join(f"{k}={show(x)}" for k, x in v.items()) + "}"
            return repr(v)
        init = f" init={show(self.init_args)} {show(self.init_kwargs)}" if self.module is not None else ""
        return f"{self.name}{init} args={show(self.args)} kwargs={show(self.kwargs)}"


class Pool:
    def __init__(self, rng, lo: int = 2, hi: int = 12):
        self.rng = rng
        n = min(len(NAMES), hi - lo + 1)
        self.names = NAMES[:n]
        self.sizes = dict(zip(self.names, rng.sample(range(lo, hi + 1), n)))

    def name(self, exclude=()):
        return self.rng.choice([n for n in self.names if n not in exclude])

    def axis(self, p_one: float = 0.1):
        return 1 if self.rng.random() < p_one else self.name()

    def shape(self, rank: int, p_one: float = 0.1) -> tuple:
        return tuple(self.axis(p_one) for _ in range(rank))

    def other(self, ax, p: float):
        """``ax``, or with probability ``p`` a different axis (an invalid call, usually)."""
        if self.rng.random() < p:
            return self.name(exclude=(ax,))
        return ax


def gen(fn):
    GENERATORS.append(fn)
    return fn


def _pick(rng, forms):
    return forms[rng.randrange(len(forms))]


# -- elementwise ------------------------------------------------------------------------------

@gen
def g_binary(rng):
    P = Pool(rng)
    ra, rb = rng.randint(0, 3), rng.randint(0, 3)
    a = list(P.shape(ra, 0.2))
    b = list(P.shape(rb, 0.2))
    for k in range(1, min(ra, rb) + 1):  # mostly broadcastable
        if rng.random() < 0.8:
            b[-k] = a[-k] if rng.random() < 0.7 else 1
    label, name, fn = _pick(rng, [("add", "torch.add", torch.add), ("add", "torch.Tensor.__add__", torch.Tensor.__add__),
                                  ("mul", "torch.Tensor.__mul__", torch.Tensor.__mul__),
                                  ("eq", "torch.Tensor.__eq__", torch.Tensor.__eq__),
                                  ("maximum", "torch.maximum", torch.maximum), ("sub", "torch.Tensor.sub", torch.Tensor.sub)])
    other = Ten(tuple(b)) if rng.random() < 0.9 else 2.0
    return Case(label, name, fn, (Ten(tuple(a)), other)), P.sizes


@gen
def g_inplace(rng):
    P = Pool(rng)
    a = list(P.shape(rng.randint(1, 3)))
    b = [x if rng.random() < 0.7 else (1 if rng.random() < 0.5 else P.name()) for x in a[rng.randint(0, len(a)):]]
    if rng.random() < 0.2:
        b = [P.name()] + b
    return Case("add_", "torch.Tensor.add_", torch.Tensor.add_, (Ten(tuple(a)), Ten(tuple(b)))), P.sizes


@gen
def g_where(rng):
    P = Pool(rng)
    base = P.shape(rng.randint(1, 3))
    def var():
        return tuple(x if rng.random() < 0.75 else (1 if rng.random() < 0.6 else P.name()) for x in base)
    return Case("where", "torch.where", torch.where, (Ten(var(), "bool"), Ten(var()), Ten(var()))), P.sizes


@gen
def g_masked_fill(rng):
    P = Pool(rng)
    base = P.shape(rng.randint(1, 4))
    mask = tuple(x if rng.random() < 0.7 else (1 if rng.random() < 0.6 else P.name()) for x in base[rng.randint(0, 1):])
    if rng.random() < 0.3:
        mask = tuple(P.name() for _ in range(rng.randint(0, 1))) + mask
        return Case("masked_fill_", "torch.Tensor.masked_fill_", torch.Tensor.masked_fill_,
                    (Ten(base), Ten(mask, "bool"), 0.0)), P.sizes
    return Case("masked_fill", "torch.Tensor.masked_fill", torch.Tensor.masked_fill,
                (Ten(base), Ten(mask, "bool"), 0.0)), P.sizes


@gen
def g_unary(rng):
    P = Pool(rng)
    x = Ten(P.shape(rng.randint(0, 4)))
    label, name, fn = _pick(rng, [("relu", "torch.nn.functional.relu", F.relu), ("gelu", "torch.nn.functional.gelu", F.gelu),
                                  ("exp", "torch.exp", torch.exp), ("float", "torch.Tensor.float", torch.Tensor.float),
                                  ("contiguous", "torch.Tensor.contiguous", torch.Tensor.contiguous),
                                  ("dropout", "torch.nn.functional.dropout", F.dropout),
                                  ("leaky_relu", "torch.nn.functional.leaky_relu", F.leaky_relu)])
    return Case(label, name, fn, (x,)), P.sizes


@gen
def g_unary_module(rng):
    P = Pool(rng)
    x = Ten(P.shape(rng.randint(1, 4)))
    label, cls = _pick(rng, [("nn.ReLU", nn.ReLU), ("nn.GELU", nn.GELU), ("nn.Dropout", nn.Dropout),
                             ("nn.Identity", nn.Identity), ("nn.SiLU", nn.SiLU), ("nn.Tanh", nn.Tanh)])
    return Case(label, f"torch.nn.{cls.__name__}", module=cls, args=(x,)), P.sizes


@gen
def g_clamp(rng):
    P = Pool(rng)
    x = P.shape(rng.randint(1, 3))
    lo = Ten(tuple(a if rng.random() < 0.8 else P.name() for a in x[-1:]))
    return Case("clamp", "torch.clamp", torch.clamp, (Ten(x), lo)), P.sizes


# -- matrix products --------------------------------------------------------------------------

@gen
def g_matmul(rng):
    P = Pool(rng)
    ra, rb = rng.randint(1, 4), rng.randint(1, 4)
    k = P.name()
    a = list(P.shape(ra - 1, 0.15)) + [k]
    if rb == 1:
        b = [P.other(k, 0.2)]
    else:
        b = list(P.shape(rb - 2, 0.15)) + [P.other(k, 0.2), P.name()]
        for j in range(1, min(ra - 2, rb - 2) + 1):
            if rng.random() < 0.8:
                b[-2 - j] = a[-2 - j] if rng.random() < 0.7 else 1
    name, fn = _pick(rng, [("torch.matmul", torch.matmul), ("torch.Tensor.__matmul__", torch.Tensor.__matmul__),
                           ("torch.Tensor.__rmatmul__", torch.Tensor.__rmatmul__)])
    if name.endswith("__rmatmul__"):  # self is the right operand
        return Case("matmul", name, fn, (Ten(tuple(b)), Ten(tuple(a)))), P.sizes
    return Case("matmul", name, fn, (Ten(tuple(a)), Ten(tuple(b)))), P.sizes


@gen
def g_mm_bmm(rng):
    P = Pool(rng)
    op = rng.choice(["mm", "bmm", "mv", "dot", "outer", "inner"])
    n, k, m, b = P.name(), P.name(), P.name(), P.name()
    kk = P.other(k, 0.2)
    r_off = rng.random() < 0.1
    shapes = {"mm": ((n, k), (kk, m)), "bmm": ((b, n, k), (P.other(b, 0.15), kk, m)), "mv": ((n, k), (kk,)),
              "dot": ((k,), (kk,)), "outer": ((n,), (m,)), "inner": ((n, k), (m, kk))}[op]
    sa, sb = shapes
    if r_off:
        sa = sa + (P.name(),)
    return Case(op, f"torch.{op}", getattr(torch, op), (Ten(sa), Ten(sb))), P.sizes


@gen
def g_transpose_attr(rng):
    P = Pool(rng)
    x = Ten(P.shape(rng.randint(0, 4)))
    label, name, fn = _pick(rng, [("mT", "torch.Tensor.mT", lambda t: t.mT), ("T", "torch.Tensor.T", lambda t: t.T),
                                  ("t", "torch.Tensor.t", torch.Tensor.t)])
    return Case(label, name, fn, (x,)), P.sizes


@gen
def g_einsum(rng):
    P = Pool(rng)
    letters = "ijklmn"
    n_ops = rng.randint(1, 3)
    lab_axis = {c: P.name() for c in letters}
    terms, tens = [], []
    use_ell = rng.random() < 0.25
    ell = P.shape(rng.randint(0, 2)) if use_ell else ()
    for _ in range(n_ops):
        t = "".join(rng.sample(letters[:4], rng.randint(1, 3)))
        dims = [lab_axis[c] for c in t]
        if rng.random() < 0.15:
            dims[rng.randrange(len(dims))] = P.name()
        if rng.random() < 0.05:
            dims.append(P.name())
        if use_ell:
            t = "..." + t
            dims = list(ell) + dims
        terms.append(t)
        tens.append(Ten(tuple(dims)))
    seen = sorted(set("".join(terms).replace(".", "")))
    if rng.random() < 0.3:
        eq = ",".join(terms)
    else:
        out = rng.sample(seen, rng.randint(0, len(seen)))
        if rng.random() < 0.05:
            out.append("z")
        eq = ",".join(terms) + "->" + ("..." if use_ell else "") + "".join(out)
    return Case("einsum", "torch.einsum", torch.einsum, (eq, *tens)), P.sizes


# -- reductions and softmax -------------------------------------------------------------------

def _dim(rng, rank, tuples=True):
    r = rng.random()
    if r < 0.15:
        return None
    if tuples and r < 0.4 and rank >= 2:
        k = rng.randint(1, rank)
        return tuple(rng.sample(range(-rank, rank), k)) if rng.random() < 0.1 else \
            tuple(sorted(rng.sample(range(rank), k)))
    return rng.randint(-rank - 1, rank) if rank else rng.choice([0, -1])


@gen
def g_reduction(rng):
    P = Pool(rng)
    rank = rng.randint(0, 4)
    x = Ten(P.shape(rank))
    op = rng.choice(["sum", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp", "std", "var",
                     "prod", "all", "any", "norm", "median", "nansum", "nanmean", "count_nonzero", "nanmedian",
                     "std_mean", "var_mean"])
    tuples = op in ("sum", "mean", "amax", "amin", "logsumexp", "std", "var", "all", "any", "norm", "nansum", "nanmean",
                    "count_nonzero", "std_mean", "var_mean")
    dim = _dim(rng, rank, tuples)
    if op == "logsumexp" and dim is None:
        dim = 0
    kw = {}
    if dim is not None:
        kw["dim"] = dim
        if rng.random() < 0.4 and op != "count_nonzero":
            kw["keepdim"] = True
    method = rng.random() < 0.5 and op not in ("std_mean", "var_mean")
    name = f"torch.Tensor.{op}" if method else f"torch.{op}"
    fn = getattr(torch.Tensor, op) if method else getattr(torch, op)
    return Case(op, name, fn, (x,), kw), P.sizes


@gen
def g_softmax(rng):
    P = Pool(rng)
    rank = rng.randint(1, 4)
    x = Ten(P.shape(rank))
    dim = rng.randint(-rank - 1, rank)
    label, name, fn = _pick(rng, [("softmax", "torch.nn.functional.softmax", F.softmax),
                                  ("softmax", "torch.Tensor.softmax", torch.Tensor.softmax),
                                  ("log_softmax", "torch.log_softmax", torch.log_softmax),
                                  ("cumsum", "torch.cumsum", torch.cumsum), ("sort", "torch.sort", torch.sort)])
    return Case(label, name, fn, (x,), {"dim": dim}), P.sizes


@gen
def g_topk(rng):
    P = Pool(rng)
    rank = rng.randint(1, 3)
    x = Ten(P.shape(rank, 0.0))
    k = rng.randint(1, 6)
    dim = rng.randint(-rank, rank - 1)
    return Case("topk", "torch.topk", torch.topk, (x, k), {"dim": dim}), P.sizes


@gen
def g_softmax_module(rng):
    P = Pool(rng)
    rank = rng.randint(1, 4)
    return Case("nn.Softmax", "torch.nn.Softmax", module=nn.Softmax, init_args=(rng.randint(-rank - 1, rank),),
                args=(Ten(P.shape(rank)),)), P.sizes


# -- layout -----------------------------------------------------------------------------------

@gen
def g_transpose(rng):
    P = Pool(rng)
    rank = rng.randint(1, 4)
    x = Ten(P.shape(rank, 0.0))
    op = rng.choice(["transpose", "swapaxes", "permute", "movedim"])
    if op in ("transpose", "swapaxes"):
        args = (rng.randint(-rank - 1, rank), rng.randint(-rank, rank - 1))
    elif op == "permute":
        perm = list(range(rank))
        rng.shuffle(perm)
        if rng.random() < 0.15:
            perm = perm[:-1]
        if rng.random() < 0.1:
            perm[0] = perm[-1]
        args = tuple(perm) if rng.random() < 0.5 else (tuple(perm),)
    else:
        k = rng.randint(1, rank)
        args = (tuple(rng.sample(range(rank), k)), tuple(rng.sample(range(-rank, rank), k)))
    return Case(op, f"torch.Tensor.{op}", getattr(torch.Tensor, op), (x,) + args), P.sizes


@gen
def g_reshape(rng):
    P = Pool(rng, 2, 8)
    rank = rng.randint(1, 4)
    x = P.shape(rank, 0.0)
    # a target: the input's axes regrouped, sometimes with -1, a literal split, or a wrong count
    groups = []
    items = list(x)
    if rng.random() < 0.3:
        rng.shuffle(items)
    while items:
        k = rng.randint(1, len(items))
        groups.append(items[:k])
        items = items[k:]
    target = [Z("*".join(g)) for g in groups]
    r = rng.random()
    if r < 0.25:
        target[rng.randrange(len(target))] = -1
    elif r < 0.35:
        target.append(Z(P.name()))
    elif r < 0.45:
        target[rng.randrange(len(target))] = rng.randint(2, 12)
    elif r < 0.5:
        target = target + [-1, -1]
    if rng.random() < 0.1 and len(target) >= 1:
        target.append(1)
    op = rng.choice(["view", "reshape"])
    args = tuple(target) if rng.random() < 0.5 else (tuple(target),)
    return Case(op, f"torch.Tensor.{op}", getattr(torch.Tensor, op), (Ten(x),) + args), P.sizes


@gen
def g_view_heads(rng):
    """``x.view(B, T, n_head, C // n_head)``: C is a literal multiple or not of n_head."""
    P = Pool(rng, 2, 6)
    b, t = P.name(), P.name()
    h = rng.choice([2, 3, 4])
    C = rng.choice([12, 16, 18, 20, 24]) if rng.random() < 0.5 else P.name(exclude=(b, t))
    x = Ten((b, t, C))
    if rng.random() < 0.3:  # merge the heads back: x.view(B, T, h, C // h) viewed as (B, T, C)
        y = Ten((b, t, h, Z(f"{C}//{h}")))
        return Case("view", "torch.Tensor.view", torch.Tensor.view, (y, Z(b), Z(t), Z(str(C)))), P.sizes
    return Case("view", "torch.Tensor.view", torch.Tensor.view, (x, Z(b), Z(t), h, Z(f"{C}//{h}"))), P.sizes


@gen
def g_flatten(rng):
    P = Pool(rng)
    rank = rng.randint(0, 4)
    x = Ten(P.shape(rank))
    op = rng.choice(["flatten", "squeeze", "unsqueeze", "unflatten", "nn.Flatten"])
    if op == "flatten":
        args = (rng.randint(-rank - 1, max(rank, 1)), rng.randint(-max(rank, 1), max(rank, 1)))
        return Case(op, "torch.flatten", torch.flatten, (x,) + args), P.sizes
    if op == "squeeze":
        args = () if rng.random() < 0.3 else (rng.randint(-rank - 1, max(rank, 1)),)
        return Case(op, "torch.squeeze", torch.squeeze, (x,) + args), P.sizes
    if op == "unsqueeze":
        return Case(op, "torch.unsqueeze", torch.unsqueeze, (x, rng.randint(-rank - 2, rank + 1))), P.sizes
    if op == "nn.Flatten":
        return Case(op, "torch.nn.Flatten", module=nn.Flatten, init_args=(rng.randint(0, 2),), args=(x,)), P.sizes
    P2 = Pool(rng, 2, 6)
    a, b = P2.name(), P2.name()
    y = list(P2.shape(rng.randint(0, 2))) + [Z(f"{a}*{b}")] + list(P2.shape(rng.randint(0, 2)))
    d = next(i for i, v in enumerate(y) if isinstance(v, Z))
    sizes = [Z(a), Z(b)]
    r = rng.random()
    if r < 0.2:
        sizes[0] = -1
    elif r < 0.35:
        sizes[1] = rng.randint(2, 7)
    return Case(op, "torch.unflatten", torch.unflatten, (Ten(tuple(y)), d, tuple(sizes))), P2.sizes


@gen
def g_join(rng):
    P = Pool(rng)
    rank = rng.randint(1, 3)
    base = list(P.shape(rank, 0.0))
    op = rng.choice(["cat", "stack"])
    n = rng.randint(1, 3)
    dim = rng.randint(-rank - 1, rank)
    tens = []
    for _ in range(n):
        s = list(base)
        if op == "cat":
            s[dim % rank if -rank <= dim < rank else 0] = P.name()
        if rng.random() < 0.15:
            s[rng.randrange(rank)] = P.name()
        if rng.random() < 0.05:
            s = s[1:]
        tens.append(Ten(tuple(s)))
    fn = torch.cat if op == "cat" else torch.stack
    return Case(op, f"torch.{op}", fn, (tens,), {"dim": dim}), P.sizes


@gen
def g_split(rng):
    P = Pool(rng, 2, 12)
    rank = rng.randint(1, 3)
    x = list(P.shape(rank, 0.0))
    d = rng.randrange(rank)
    op = rng.choice(["split", "chunk", "unbind", "split_sections"])
    if rng.random() < 0.5:
        x[d] = rng.randint(1, 12)
    if op == "split":
        return Case(op, "torch.split", torch.split, (Ten(tuple(x)), rng.randint(1, 5)), {"dim": d}), P.sizes
    if op == "split_sections":
        n = x[d] if isinstance(x[d], int) else P.sizes[x[d]]
        cut = rng.randint(0, n)
        secs = [cut, n - cut + (1 if rng.random() < 0.2 else 0)]
        return Case("split", "torch.split", torch.split, (Ten(tuple(x)), secs), {"dim": d}), P.sizes
    if op == "chunk":
        return Case(op, "torch.chunk", torch.chunk, (Ten(tuple(x)), rng.randint(1, 5)), {"dim": d}), P.sizes
    return Case(op, "torch.unbind", torch.unbind, (Ten(tuple(x)),), {"dim": rng.randint(-rank - 1, rank)}), P.sizes


@gen
def g_chunk_symbolic(rng):
    P = Pool(rng, 2, 6)
    c = P.name()
    k = rng.choice([2, 3])
    x = Ten((P.name(), Z(f"{k}*{c}")))
    return Case("chunk", "torch.Tensor.chunk", torch.Tensor.chunk, (x, k), {"dim": -1}), P.sizes


@gen
def g_expand(rng):
    P = Pool(rng)
    rank = rng.randint(1, 3)
    x = list(P.shape(rank, 0.4))
    op = rng.choice(["expand", "repeat", "expand_as", "repeat_interleave", "tile"])
    if op == "expand":
        tgt = [Z(P.name()) if d == 1 else (-1 if rng.random() < 0.3 else Z(P.other(d, 0.15))) for d in x]
        tgt = [Z(P.name()) for _ in range(rng.randint(0, 1))] + tgt
        if rng.random() < 0.05:
            tgt = [-1] + tgt
        if rng.random() < 0.05:
            tgt = tgt[1:]
        return Case(op, "torch.Tensor.expand", torch.Tensor.expand, (Ten(tuple(x)),) + tuple(tgt)), P.sizes
    if op == "expand_as":
        tgt = [P.name() if d == 1 else P.other(d, 0.15) for d in x]
        return Case(op, "torch.Tensor.expand_as", torch.Tensor.expand_as, (Ten(tuple(x)), Ten(tuple(tgt)))), P.sizes
    if op == "repeat":
        reps = tuple(rng.randint(1, 3) for _ in range(rank + rng.randint(-1, 1)))
        return Case(op, "torch.Tensor.repeat", torch.Tensor.repeat, (Ten(tuple(x)),) + reps), P.sizes
    if op == "tile":
        reps = tuple(rng.randint(1, 3) for _ in range(rng.randint(1, rank + 1)))
        return Case(op, "torch.tile", torch.tile, (Ten(tuple(x)), reps)), P.sizes
    dim = None if rng.random() < 0.3 else rng.randint(-rank - 1, rank)
    return Case(op, "torch.repeat_interleave", torch.repeat_interleave, (Ten(tuple(x)), rng.randint(1, 3)),
                {"dim": dim}), P.sizes


# -- indexing ---------------------------------------------------------------------------------

def _index_item(rng, P, size):
    r = rng.random()
    if r < 0.25:
        return rng.randint(-size - 1, size)
    if r < 0.6:
        parts = [None if rng.random() < 0.4 else rng.randint(-size - 1, size + 1) for _ in range(2)]
        step = None if rng.random() < 0.6 else rng.choice([1, 2, 3, -1])
        return slice(parts[0], parts[1], step)
    if r < 0.7:
        return None
    if r < 0.8:
        return Ellipsis
    if r < 0.9:
        return Ten(P.shape(rng.randint(0, 2), 0.0), "long")
    return [rng.randint(0, size - 1) for _ in range(rng.randint(1, 3))]


@gen
def g_getitem(rng):
    P = Pool(rng, 2, 9)
    rank = rng.randint(1, 4)
    x = P.shape(rank, 0.0)
    n = rng.randint(1, rank + 1)
    items = []
    for i in range(n):
        d = x[min(i, rank - 1)]
        items.append(_index_item(rng, P, P.sizes[d]))
    if sum(1 for i in items if i is Ellipsis) > 1:
        items = [i for i in items if i is not Ellipsis]
    index = items[0] if len(items) == 1 and rng.random() < 0.5 else tuple(items)
    return Case("__getitem__", "torch.Tensor.__getitem__", torch.Tensor.__getitem__, (Ten(x), index)), P.sizes


@gen
def g_select(rng):
    P = Pool(rng)
    rank = rng.randint(1, 3)
    x = P.shape(rank, 0.0)
    op = rng.choice(["gather", "index_select", "select", "narrow", "tril"])
    dim = rng.randint(-rank - 1, rank)
    if op == "gather":
        idx = tuple(P.name() for _ in range(rank + (1 if rng.random() < 0.1 else 0)))
        return Case(op, "torch.gather", torch.gather, (Ten(x), dim, Ten(idx, "long"))), P.sizes
    if op == "index_select":
        return Case(op, "torch.index_select", torch.index_select, (Ten(x), dim, Ten((P.name(),), "long"))), P.sizes
    if op == "select":
        return Case(op, "torch.select", torch.select, (Ten(x), dim, rng.randint(-3, 5))), P.sizes
    if op == "narrow":
        return Case(op, "torch.narrow", torch.narrow, (Ten(x), dim, rng.randint(0, 4), rng.randint(0, 5))), P.sizes
    return Case(op, "torch.tril", torch.tril, (Ten(x),)), P.sizes


# -- factories --------------------------------------------------------------------------------

@gen
def g_factory(rng):
    P = Pool(rng)
    op = rng.choice(["zeros", "ones", "empty", "randn", "full", "arange", "eye", "new_zeros", "zeros_like"])
    sizes = tuple(Z(P.name()) if rng.random() < 0.8 else rng.randint(-1, 4) for _ in range(rng.randint(0, 3)))
    meta = {"device": "meta"}
    if op in ("zeros", "ones", "empty", "randn"):
        args = sizes if rng.random() < 0.5 else (sizes,)
        return Case(op, f"torch.{op}", getattr(torch, op), args, meta), P.sizes
    if op == "full":
        return Case(op, "torch.full", torch.full, (sizes, 1.0), meta), P.sizes
    if op == "arange":
        args = tuple(rng.randint(-3, 12) for _ in range(rng.randint(1, 3)))
        if len(args) == 3 and args[2] == 0:
            args = args[:2]
        return Case(op, "torch.arange", torch.arange, args, meta), P.sizes
    if op == "eye":
        return Case(op, "torch.eye", torch.eye, (Z(P.name()),) + ((Z(P.name()),) if rng.random() < 0.5 else ()),
                    meta), P.sizes
    x = Ten(P.shape(rng.randint(0, 3)))
    if op == "new_zeros":
        return Case(op, "torch.Tensor.new_zeros", torch.Tensor.new_zeros, (x, sizes)), P.sizes
    return Case(op, "torch.zeros_like", torch.zeros_like, (x,)), P.sizes
