"""Helpers shared by the axis-order rules: argument access, axis identity, naming tie-breakers.

Rules ask the core for shapes and compare axes through ``ctx``; nothing here computes a shape.
Names (``n_head``, ``seq``, ``height``...) are only a tie-breaker where shapes cannot decide.
"""

from __future__ import annotations

import ast
import re

from shapecheck._core._algebra import Expr, FloorDiv, Sym
from shapecheck._core._diag import register_code
from shapecheck._core._roles import HEAD, bare_name
from shapecheck._core._wording import axis_note as note_text
from shapecheck._core._wording import qd
from shapecheck._core._shape import Shape, Unknown, Variadic
from shapecheck._core._unify import unnamed_size
from shapecheck._engine._common import last_name as last_name  # one definition, shared with the engine

__all__ = [
    "arg", "is_shape", "rank", "axis", "norm_dim", "as_int", "eq", "ne", "unknown", "qd", "axis_note",
    "who", "name_of", "looks_like", "is_heads_axis", "register", "MATMUL", "SOFTMAX", "LOG_SOFTMAX",
    "SOFTMAX_CALLS", "CHANNEL_LAYERS", "CLASS_LOSSES", "ELEMENTWISE",
]

MATMUL = {"torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__", "torch.bmm", "torch.Tensor.bmm"}
SOFTMAX = {"torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax", "torch.special.softmax"}
LOG_SOFTMAX = {"torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax",
               "torch.special.log_softmax"}


def register(rule_cls):
    """Class decorator: register the rule's code with its documentation (for `explain` and SARIF)."""
    register_code(rule_cls.code, rule_cls.name, rule_cls.summary, rule_cls.severity,
                  doc=clean_doc(rule_cls.__doc__ or ""), fixable=getattr(rule_cls, "fixable", False))
    return rule_cls


def clean_doc(doc: str) -> str:
    lines = doc.expandtabs().splitlines()
    if not lines:
        return ""
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()), default=0)
    out = [lines[0].strip()] + [ln[indent:] for ln in lines[1:]]
    return "\n".join(out).strip() + "\n"


# -- arguments ----------------------------------------------------------------------------------

def arg(ev, pos: int | None, name: str | None = None, default=None):
    """A call argument by keyword or position (``pos`` counts the receiver of a method)."""
    if name is not None and name in ev.kwargs:
        return ev.kwargs[name]
    if pos is not None and 0 <= pos < len(ev.args):
        return ev.args[pos]
    return default


def assigned_name(scope, call) -> str | None:
    """The name the value of ``call`` is assigned to in ``scope`` (``x = x.permute(0, 3, 2, 1).contiguous()``, the
    call anywhere in the assigned expression), else None."""
    if scope is None:
        return None
    return next((n.targets[0].id for n in ast.walk(scope) if isinstance(n, ast.Assign) and len(n.targets) == 1
                 and isinstance(n.targets[0], ast.Name) and any(c is call for c in ast.walk(n.value))), None)


def is_shape(v) -> bool:
    return isinstance(v, Shape) and not v.is_any


def rank(v) -> int | None:
    return v.rank if isinstance(v, Shape) else None


def axis(v, i: int):
    """The axis at ``i`` of a known-rank shape (or a trailing axis after a leading ``...``), or None."""
    if not isinstance(v, Shape):
        return None
    if v.rank is None:
        if i >= 0 or v.variadic_index is None or -i > len(v.dims) - v.variadic_index - 1:
            return None
        d = v.dims[i]
        return None if isinstance(d, (Unknown, Variadic)) else d
    n = v.rank
    if not -n <= i < n:
        return None
    d = v.dims[i]
    return None if isinstance(d, (Unknown, Variadic)) else d


from shapecheck._core._ops._registry import as_int as as_int  # noqa: E402  (one definition, shared with the op rules)


def neg_dim(dim, v) -> int | None:
    """A dim index counted from the end (-1 is the last axis); works on shapes of unknown rank."""
    d = as_int(dim)
    if d is None or not isinstance(v, Shape):
        return None
    if v.rank is not None:
        return d - v.rank if 0 <= d < v.rank else (d if -v.rank <= d < 0 else None)
    if d < 0 and -d <= len(v.dims) - (v.variadic_index or 0) - 1:
        return d
    return None


def norm_dim(dim, n: int | None) -> int | None:
    d = as_int(dim)
    if d is None or n is None or n == 0 or not -n <= d < n:
        return None
    return d % n


def eq(ctx, a, b) -> bool:
    return a is not None and b is not None and ctx.compare(a, b) == "eq"


def ne(ctx, a, b) -> bool:
    return a is not None and b is not None and ctx.compare(a, b) == "ne"


def unknown(ctx, a, b) -> bool:
    return a is not None and b is not None and ctx.compare(a, b) == "unknown"


def is_literal(d) -> bool:
    return isinstance(d, Expr) and d.value is not None


# -- messages -----------------------------------------------------------------------------------

def who(v, default: str = "the tensor") -> str:
    return v.label if isinstance(v, Shape) and v.label else default


def axis_note(ctx, v, i: int, node=None) -> str | None:
    """'"d_head" is the last axis of `q` (annotation, model.py:30)'."""
    d = axis(v, i)
    if d is None:
        return None
    env = env_before(ctx, node) if node is not None else ctx.env
    return note_text(env.resolve(d), i, v.rank, who(v), v.origin(i))


def dims_text(ctx, v, node=None) -> str:
    env = env_before(ctx, node) if node is not None else ctx.env
    return "(" + ", ".join(qd(env.resolve(d)) if not isinstance(d, (Unknown, Variadic)) else "?" for d in v.dims) + ")"


# -- naming tie-breakers ------------------------------------------------------------------------

_WORDS = {
    "heads": {"h", "nh", "heads", "head", "nhead", "nheads", "n_head", "n_heads", "num_heads", "num_head",
              "n_kv_heads", "num_kv_heads", "num_attention_heads", "n_kv_head", "kv_heads", "num_key_value_heads"},
    "seq": {"t", "s", "l", "seq", "seq_len", "seqlen", "seq_length", "sequence", "time", "tokens", "len",
            "length", "block_size", "ctx", "context", "n_ctx", "t_q", "t_k", "tq", "tk", "s_q", "s_k", "sq", "sk",
            "q_len", "k_len", "kv_len", "src_len", "tgt_len", "src", "tgt", "src_seq", "tgt_seq",
            "max_len", "pos", "steps", "frames"},
    "batch": {"b", "bs", "batch", "batch_size", "bsz", "nb", "n_batch"},
    "channels": {"c", "ch", "channels", "chans", "channel", "in_channels", "out_channels", "num_channels",
                 "n_channels", "nc", "in_ch", "out_ch", "in_chans", "c_in", "c_out", "filters", "features",
                 "num_features", "planes", "inplanes", "width_channels"},
    "height": {"h", "height", "img_h", "image_height", "ih", "oh", "rows", "hh", "h_in", "h_out", "H"},
    "width": {"w", "width", "img_w", "image_width", "iw", "ow", "cols", "ww", "w_in", "w_out", "W"},
    "model": {"d_model", "n_embd", "n_embed", "embed_dim", "embedding_dim", "hidden_size", "hidden_dim",
              "d_emb", "emb_dim", "model_dim", "dim_model", "width", "c", "e", "d"},
    "classes": {"v", "vocab", "vocab_size", "n_vocab", "num_tokens", "n_tokens", "classes", "n_classes",
                "num_classes", "nclass", "n_class", "num_labels", "n_labels", "labels", "n_tags", "num_tags",
                "tags", "k", "n_outputs", "num_outputs", "padded_vocab_size"},
    "head_dim": {"d_head", "head_dim", "head_size", "hs", "d_k", "dk", "d_kv", "dim_head", "headdim",
                 "hd", "d_h", "attention_head_size", "kv_channels", "head_dim_"},
}


name_of = bare_name  # the bare name of a one-symbol axis (``self.cfg.n_head`` -> ``n_head``), or None


def looks_like(d, kind: str) -> bool:
    """Does the axis's name say it is a ``kind`` axis (heads, seq, batch, channels, height, width...)?

    A lone ``h`` is ambiguous (heads or height) and never counts as heads here.
    """
    n = name_of(d)
    if n is None:
        return False
    words = _WORDS[kind]
    return n in words or n.lower() in words


def label_name(v) -> str | None:
    """The last identifier of a tensor's label (``self.key(x)`` -> ``key``, `` `k` `` -> ``k``)."""
    if not isinstance(v, Shape) or not v.label:
        return None
    text = v.label.strip("`")
    m = re.match(r"^\s*(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*)", text)
    return m.group(1).lower() if m else None


def _has_divisor(e: Expr, den: Expr) -> bool:
    """Is ``e`` of the form ``X // den`` or ``X / den`` (an exact division)?"""
    for mono, _coef in e.terms:
        for atom, power in mono:
            if isinstance(atom, FloorDiv) and atom.den == den:
                return True
            if power < 0 and isinstance(atom, Sym) and den.as_sym() == atom:
                return True
    return False


def is_heads_axis(ctx, v, i: int, allow_h: bool = False, structural: bool = True) -> bool:
    """Is axis ``i`` of ``v`` a head count?

    The axis's role first, when its producer states one (a head split, an einops ``(h d)``; a
    Linear's output is features, not heads); then structural evidence: the last axis is
    ``X // axis_i`` (heads split off a model width, as in ``view(B, T, n_head, C // n_head)``),
    unless ``structural`` is false (the last axis is a view's inferred ``-1``, the element count
    divided by every other size); else the axis's name says so (``heads``, ``n_head``).
    """
    d = axis(v, i)
    if d is None or is_literal(d):
        return False
    role = ctx.role(v, i)
    if role is not None:  # the axis's producer says (a head split, an einops pattern's `(h d)`)
        return role == HEAD
    last = axis(v, -1)
    is_last = i == -1 if v.rank is None else i % v.rank == v.rank - 1
    if structural and last is not None and not is_last and not unnamed_size(ctx.resolve(d)):
        # (a size the code never named, such as the -1 of another view, divides the last axis by chance)
        rl, rd = ctx.resolve(last), ctx.resolve(d)
        if isinstance(rl, Expr) and isinstance(rd, Expr) and (_has_divisor(rl, rd) or _has_divisor(last, d)):
            return True
    n = name_of(d)
    return n is not None and n.lower() in _WORDS["heads"] and (n.lower() != "h" or allow_h)


# -- metadata carried by the rules themselves -------------------------------------------------------

ELEMENTWISE = {
    "torch.Tensor.__mul__", "torch.Tensor.__rmul__", "torch.Tensor.__truediv__", "torch.Tensor.__add__",
    "torch.Tensor.__radd__", "torch.Tensor.__sub__", "torch.Tensor.__rsub__", "torch.Tensor.__neg__",
    "torch.Tensor.mul", "torch.Tensor.div", "torch.Tensor.add", "torch.Tensor.mul_", "torch.Tensor.div_",
    "torch.Tensor.add_", "torch.mul", "torch.div", "torch.add",
    "torch.Tensor.masked_fill", "torch.Tensor.masked_fill_", "torch.masked_fill", "torch.where",
    "torch.nn.functional.dropout", "torch.dropout", "torch.Tensor.contiguous", "torch.Tensor.float",
    "torch.Tensor.half", "torch.Tensor.to", "torch.Tensor.type_as", "torch.Tensor.clone", "torch.Tensor.detach",
    "torch.nn.Dropout", "torch.Tensor.clamp", "torch.clamp", "torch.Tensor.clamp_min", "torch.Tensor.nan_to_num",
}


def carry(ev, ctx, keys) -> None:
    """Keep the rule's own tags on an elementwise op's result when the tagged operand's axes survive: as many,
    none of them provably changed by broadcasting."""
    if ev.qualname not in ELEMENTWISE or not isinstance(ev.result, Shape):
        return
    r = ev.result
    for v in list(ev.args) + list(ev.kwargs.values()):
        if not isinstance(v, Shape):
            continue
        dims, own = r.dims, v.dims
        if v.rank is None:
            # ``... i j`` against an operand of unknown shape (a mask): ``... i j`` again, its last axes kept
            if v.variadic_index != 0 or r.rank is not None or r.variadic_index != 0 or len(r.dims) != len(v.dims):
                continue
            dims, own = r.dims[1:], v.dims[1:]
        elif r.variadic_index == 0 and r.rank is None:
            dims = r.dims[1:]  # broadcast against an operand of unknown shape (a Python scalar) keeps v's axes
        if len(dims) != len(own):
            continue
        if any(not (x == y or ctx.compare(x, y) != "ne") for x, y in zip(own, dims)):
            continue  # (an axis whose size broadcasting made unknown, `sim.masked_fill(mask, v)`, is still there)
        if not any(v.get_meta(k) is not None for k in keys):
            continue  # an untagged operand first (a per-head mask times the weights): the tagged one may follow
        for k in keys:
            val = v.get_meta(k)
            if val is not None and r.get_meta(k) is None and k not in ctx.result_tags:
                ctx.tag_result(k, val)
        break


def tag(v, key):
    return v.get_meta(key) if isinstance(v, Shape) else None


def env_before(ctx, node):
    """The scope's bindings without those the call at ``node`` made itself.

    An op rule unifies the axes it contracts (``T`` from ``x.size()`` binds to ``C // n_head`` in
    ``q @ k``), so after the call they compare equal; the rules need to know whether they were equal
    before it. Bindings carry the ``file:line`` where they were made.
    """
    from shapecheck._core._unify import Env

    line = getattr(node, "lineno", None)
    if line is None:
        return ctx.env
    suffix = f":{line}"
    kept = {s: (e, p) for s, (e, p) in ctx.env.bindings.items() if not (p and str(p).endswith(suffix))}
    if len(kept) == len(ctx.env.bindings):
        return ctx.env
    return Env(kept, set(ctx.env.divisible))


def compare_before(ctx, node, a, b) -> str:
    from shapecheck._core._unify import compare

    if a is None or b is None:
        return "unknown"
    return compare(a, b, env_before(ctx, node))


# -- layers that read channels from axis 1 ----------------------------------------------------------

def channel_layer(ev):
    """(expected channels or None, number of spatial axes, display) for layers that read axis 1 as channels."""
    q = ev.qualname or ""
    if q not in CHANNEL_LAYERS:
        return None, None, None
    init = ev.init or {}
    for n in (1, 2, 3):
        if q == f"torch.nn.Conv{n}d":
            return init.get("in_channels"), n, f"nn.Conv{n}d"
        if q in (f"torch.nn.BatchNorm{n}d", f"torch.nn.InstanceNorm{n}d", f"torch.nn.LazyBatchNorm{n}d"):
            return init.get("num_features"), n, _display(q)
        if q in (f"torch.nn.MaxPool{n}d", f"torch.nn.AvgPool{n}d", f"torch.nn.functional.max_pool{n}d",
                 f"torch.nn.functional.avg_pool{n}d", f"torch.nn.AdaptiveAvgPool{n}d",
                 f"torch.nn.AdaptiveMaxPool{n}d", f"torch.nn.functional.adaptive_avg_pool{n}d",
                 f"torch.nn.functional.adaptive_max_pool{n}d"):
            return None, n, _display(q)
        if q in (f"torch.nn.functional.conv{n}d", f"torch.conv{n}d"):
            w = arg(ev, 1, "weight")
            g = as_int(arg(ev, 6, "groups", 1))
            if isinstance(w, Shape) and w.rank == n + 2 and g == 1:
                return w.dims[1], n, f"F.conv{n}d"
            return None, n, f"F.conv{n}d"
    if q == "torch.nn.GroupNorm":
        return init.get("num_channels"), 0, "nn.GroupNorm"
    return None, None, None


CHANNEL_LAYERS = frozenset(  # every call channel_layer answers
    {f"torch.nn.Conv{n}d" for n in (1, 2, 3)}
    | {f"torch.nn.{k}{n}d" for k in ("BatchNorm", "InstanceNorm", "LazyBatchNorm", "MaxPool", "AvgPool",
                                      "AdaptiveAvgPool", "AdaptiveMaxPool") for n in (1, 2, 3)}
    | {f"torch.nn.functional.{k}{n}d" for k in ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                                                 "conv") for n in (1, 2, 3)}
    | {f"torch.conv{n}d" for n in (1, 2, 3)} | {"torch.nn.GroupNorm"})


def _display(q: str) -> str:
    head, _, last = q.rpartition(".")
    return f"F.{last}" if head == "torch.nn.functional" else f"nn.{last}" if head == "torch.nn" else last


def size_of(v):
    """An int-like constructor argument as an Expr, else None."""
    from shapecheck._core._ops._registry import as_size

    e = as_size(v)
    return e if isinstance(e, Expr) else None


SOFTMAX_CALLS = frozenset(SOFTMAX | LOG_SOFTMAX | {"torch.nn.Softmax", "torch.nn.LogSoftmax"})  # softmax_call's


def softmax_call(ev):
    """``(x, dim, log)`` for every spelling of softmax / log_softmax (functions, methods, modules), else None."""
    q = ev.qualname
    if q in SOFTMAX or q in LOG_SOFTMAX:
        return arg(ev, 0, "input"), arg(ev, 1, "dim"), q in LOG_SOFTMAX
    if q in ("torch.nn.Softmax", "torch.nn.LogSoftmax"):
        return arg(ev, 0, "input"), (ev.init or {}).get("dim"), q.endswith("LogSoftmax")
    return None


GUMBEL = "torch.nn.functional.gumbel_softmax"
NORMALIZE = "torch.nn.functional.normalize"
NORMALISING_CALLS = frozenset(SOFTMAX_CALLS | {GUMBEL, NORMALIZE})  # normalising_call's


def normalising_call(ev):
    """``(x, dim, name)`` for every call that normalises its input along one axis: softmax and log_softmax
    (functions, methods, modules), ``F.gumbel_softmax`` (``dim=-1`` by default) and ``F.normalize``
    (``dim=1`` by default); ``name`` is how the message calls it. None for other calls."""
    q = ev.qualname
    if q == GUMBEL:
        return arg(ev, 0, "logits"), arg(ev, 4, "dim", -1), "gumbel_softmax"
    if q == NORMALIZE:
        return arg(ev, 0, "input"), arg(ev, 2, "dim", 1), "normalize"
    call = softmax_call(ev)
    if call is None:
        return None
    x, dim, log = call
    return x, dim, "log_softmax" if log else "softmax"


CLASS_LOSSES = {"torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss", "torch.nn.CrossEntropyLoss",
                "torch.nn.NLLLoss"}


def loss_args(ev):
    """(input, target) of a classification loss call (function or module), else (None, None)."""
    if ev.qualname not in CLASS_LOSSES:
        return None, None
    return arg(ev, 0, "input"), arg(ev, 1, "target")


EINSUM = {"torch.einsum", "torch.functional.einsum", "opt_einsum.contract"}
EINOPS_EINSUM = {"einops.einsum"}


def einsum_operands(ev):
    """(subscripts per operand as lists of axis names, output names, operands, whether each operand's
    subscripts begin with ``...``), or None. A leading ``...`` is left out of the names: the names are
    then the operand's last axes.

    ``torch.einsum("bhqd,bhkd->bhqk", q, k)`` has one letter per axis; ``einops.einsum(q, k,
    "b h q d, b h k d -> b h q k")`` has space-separated names and the pattern last.
    """
    if ev.qualname in EINOPS_EINSUM:
        if not ev.args or not isinstance(ev.args[-1], str):
            return None
        eq_, ops = ev.args[-1], list(ev.args[:-1])
        if "->" not in eq_ or "(" in eq_:
            return None
        lhs, out = eq_.split("->")
        terms = [side.split() for side in lhs.split(",")] + [out.split()]
    else:
        eq_ = arg(ev, 0, "equation")
        ops = list(ev.args[1:])
        if len(ops) == 1 and isinstance(ops[0], (tuple, list)):
            ops = list(ops[0])
        if not isinstance(eq_, str) or "->" not in eq_:
            return None
        lhs, out = eq_.replace(" ", "").split("->")
        if any(not re.fullmatch(r"(\.\.\.)?[a-zA-Z]*", t) for t in lhs.split(",") + [out]):
            return None
        terms = [(["..."] if t.startswith("...") else []) + list(t.lstrip(".")) for t in lhs.split(",") + [out]]
    if any("..." in t[1:] for t in terms):
        return None  # "..." only in front: the names are the last axes
    ell = tuple(bool(t) and t[0] == "..." for t in terms[:-1])
    subs = [t[1:] if e else t for t, e in zip(terms[:-1], ell)]
    out = [n for n in terms[-1] if n != "..."]
    if len(subs) != len(ops):
        return None
    return subs, out, ops, ell


def operand_name(node) -> str | None:
    """The variable an operand is read from, through arithmetic, method calls and indexing: ``q``, ``q * self.scale``,
    ``k.float()``, ``t.type_as(self.inv_freq)``, ``seq[:n]``; ``self.k`` gives ``k``. None for anything else."""
    while True:
        if isinstance(node, ast.BinOp):
            node = node.left
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            break
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def operand_nodes(ev, products) -> list:
    """The nodes of the tensors a product multiplies: both sides of ``a @ b``; the receiver and the argument of a
    method in ``products`` (``a.matmul(b)``, ``a.outer(b)``) or the arguments of its function (``torch.matmul(a,
    b)``); an einsum's operands (einops': before the pattern). Empty for a call with a star or keywords."""
    call = ev.node
    if isinstance(call, ast.BinOp) and isinstance(call.op, ast.MatMult):
        return [call.left, call.right]
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args) or call.keywords:
        return []
    if ev.qualname in products:
        method = isinstance(call.func, ast.Attribute) and ev.qualname.startswith("torch.Tensor.")
        return [call.func.value, *call.args] if method else list(call.args)
    return list(call.args[:-1]) if ev.qualname in EINOPS_EINSUM else list(call.args[1:])
