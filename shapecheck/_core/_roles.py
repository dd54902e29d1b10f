"""Axis roles: what an axis is for (batch, position, feature, class, channel, height, width, head, size one).

A role is a fact about an axis that its *producer* states: axis 1 of a convolution's output holds
channels, the last axis of a Linear's output holds features, the ``-1`` of ``view(-1, K)`` over
data is the flattened batch. The axis-order rules use roles to fire on code without annotations.

Representation: a role rides on the axis's provenance. ``Shape.origins`` holds one origin per axis
and every operator shape rule already carries origins with the axes it keeps (through views,
permutes, transposes, reductions, broadcasting, indexing), so an origin that also says the role
(:class:`RoleOrigin`, a ``str`` that reads as the provenance text) travels with its axis for free;
an axis an op makes anew gets a fresh origin and so no role until a producer gives it one. Sizes
that carry a role elsewhere in the function (the batch size ``B`` unpacked from ``x.shape``) are
looked up by symbol as a fallback (``symbol_roles``).

An unknown role (None) is never an error: rules ask for positive evidence.
"""

from __future__ import annotations

import re

from ._algebra import Expr
from ._shape import Shape, Unknown, Variadic

__all__ = [
    "BATCH", "POSITION", "FEATURE", "CLASS", "CHANNEL", "HEIGHT", "WIDTH", "DEPTH", "SPATIAL", "HEAD", "ONE",
    "SPATIAL_ROLES", "RoleOrigin", "role_of", "with_roles", "roles_text", "name_role",
]

BATCH = "batch"
POSITION = "position"
FEATURE = "feature"
CLASS = "class"
CHANNEL = "channel"
HEIGHT = "height"
WIDTH = "width"
DEPTH = "depth"
SPATIAL = "spatial"  # a spatial axis that is not known to be height, width or depth (Conv1d's length)
HEAD = "head"
ONE = "one"  # an axis of literal size one (keepdim, unsqueeze, a (d, 1) weight)

SPATIAL_ROLES = frozenset({HEIGHT, WIDTH, DEPTH, SPATIAL})


class RoleOrigin(str):
    """An axis's provenance text that also states the axis's role (``role``)."""

    role: str

    def __new__(cls, text, role: str):
        obj = str.__new__(cls, text or "")
        obj.role = role
        return obj

    def __reduce__(self):  # picklable (the linter's cache and worker processes)
        return (RoleOrigin, (str(self), self.role))


def _stored_role(origin) -> str | None:
    return getattr(origin, "role", None)


# Sizes whose names say they count classes: the issue of a classification head.
_CLASS_NAMES = {"num_classes", "n_classes", "nclasses", "num_class", "n_class", "nclass", "num_labels",
                "n_labels", "vocab_size", "n_vocab", "padded_vocab_size", "num_tags", "n_tags", "d_vocab",
                "d_vocab_out", "ntoken", "ntokens", "vocab", "vocab_len", "src_vocab_size", "tgt_vocab_size",
                "trg_vocab_size", "output_vocab_size"}
_BATCH_NAMES = {"b", "bs", "batch", "batch_size", "bsz", "n_batch", "nbatch", "batchsize"}
_HEAD_NAMES = {"heads", "nh", "nhead", "nheads", "n_head", "n_heads", "num_heads", "num_head", "n_local_heads",
               "num_attention_heads", "n_kv_heads", "num_kv_heads", "n_kv_head", "kv_heads",
               "num_key_value_heads", "n_local_kv_heads"}


def bare_name(d) -> str | None:
    """The bare name of a one-symbol axis (``self.cfg.n_head`` -> ``n_head``), or None. A name given again
    to another size (``H'``: ``H`` unpacked a second time, or a callee's ``B`` renamed for one call) says
    what the first said."""
    if not isinstance(d, Expr):
        return None
    s = d.as_sym()
    if s is None:
        return None
    name = s.name.strip().rstrip("'") or s.name
    return re.split(r"[.\[]", name)[-1].strip("_") or name


def _bare_name(d) -> str | None:
    n = bare_name(d)
    return n.strip("_").lower() or None if n else None


def name_role(d, index: int | None = None) -> str | None:
    """The role a size's own name states: ``num_classes`` counts classes, ``n_head`` heads, and a
    leading ``B``/``bsz`` (``index`` 0) is the batch."""
    n = _bare_name(d)
    if n is None:
        return None
    if n in _CLASS_NAMES:
        return CLASS
    if n in _HEAD_NAMES:
        return HEAD
    if n in _BATCH_NAMES and index == 0:
        return BATCH
    return None


def _index(shape: Shape, i: int) -> int | None:
    """The index into ``shape.dims`` of axis ``i`` (negative from the end), or None when undecidable."""
    n = len(shape.dims)
    v = shape.variadic_index
    if v is None:
        return i % n if -n <= i < n else None
    if 0 <= i < v:
        return i
    if i < 0 and -i <= n - v - 1:
        return n + i
    return None


def role_of(shape, i: int, symbol_roles=None, resolve=None) -> str | None:
    """The role of axis ``i`` of ``shape``: stated by the axis's producer, else by its size (a literal
    one is ONE; a size whose role the function established; a size named for its role), else None."""
    if not isinstance(shape, Shape):
        return None
    k = _index(shape, i)
    if k is None:
        return None
    d = shape.dims[k]
    if isinstance(d, Variadic):
        return None
    if shape.origins:
        r = _stored_role(shape.origins[k])
        if r is not None:
            return r
    if isinstance(d, Unknown):
        return None
    r = resolve(d) if resolve is not None else d
    if isinstance(r, Expr) and r.value == 1:
        return ONE
    if symbol_roles:
        s = d.as_sym()
        if s is not None and symbol_roles.get(s):
            return symbol_roles[s]
    leading = k if shape.variadic_index is None or k < shape.variadic_index else None
    return name_role(d, leading)


def with_roles(shape: Shape, roles: dict) -> Shape:
    """``shape`` with the axes ``{index: role}`` given those roles (their provenance text kept)."""
    if not isinstance(shape, Shape) or not roles:
        return shape
    n = len(shape.dims)
    origins = list(shape.origins) if shape.origins else [None] * n
    changed = False
    for i, role in roles.items():
        k = _index(shape, i)
        if k is None or isinstance(shape.dims[k], Variadic) or role is None:
            continue
        if _stored_role(origins[k]) == role:
            continue
        origins[k] = RoleOrigin(origins[k], role)
        changed = True
    if not changed:
        return shape
    return Shape(shape.dims, tuple(origins), shape.label, shape.meta)


def roles_text(shape, symbol_roles=None) -> str:
    """``(batch, channel, height, width)`` with ``?`` for an axis of unknown role (for tests and reveal)."""
    if not isinstance(shape, Shape):
        return "?"
    parts = []
    for k, d in enumerate(shape.dims):
        if isinstance(d, Variadic):
            parts.append("...")
            continue
        i = k if shape.variadic_index is None or k < shape.variadic_index else k - len(shape.dims)
        parts.append(role_of(shape, i, symbol_roles) or "?")
    return "(" + ", ".join(parts) + ")"
