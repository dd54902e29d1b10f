"""The carrier: a tensor's shape stored on mypy's ``Instance`` of ``torch.Tensor``.

The shape travels as a string literal in ``Instance.extra_attrs`` (key :data:`KEY`). Subtyping
ignores it, both cache formats serialise it, and a changed annotation changes the interface of its
module, so dependents are re-checked. The literal is JSON: ``{"s": "<jaxtyping text>",
"o": [origin per axis or null]}``; declared annotations keep their text verbatim (``#b``,
``*batch``) so a callee's spec can be matched, inferred shapes are written in the same syntax.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mypy.types import (
    Instance,
    ProperType,
    TupleType,
    Type,
    TypeVarType,
    UnionType,
    get_proper_type,
)
from shapecheck._core._algebra import Expr, Sym, sym
from shapecheck._core._parse import AnnotationSyntaxError, ShapeSpec, parse_shape
from shapecheck._core._shape import ANY_SHAPE, Shape, Variadic

from . import _compat

KEY = "__shapecheck_shape__"
TENSOR = "torch._tensor.Tensor"
TENSOR_BASE = "torch._C.TensorBase"


@dataclass(frozen=True)
class Carried:
    """What a tensor type carries: the dimension text, its parsed spec and per-axis origins."""

    text: str
    spec: ShapeSpec
    origins: tuple
    code: tuple = ()  # names that are sizes from code, not annotation axes

    @property
    def shape(self) -> Shape:
        s = self.spec.to_shape()
        if self.code:
            mapping = {Sym(n): sym(n, "code") for n in self.code}
            s = Shape(tuple(d.subst(mapping) if isinstance(d, Expr) else d for d in s.dims))
        return s.with_origins(self.origins) if self.origins else s


def _proper(t: Type | None) -> ProperType | None:
    """The type itself, or a type variable's bound (``T = TypeVar("T", bound=Float[Tensor, "n"])``)."""
    p = get_proper_type(t) if t is not None else None
    if isinstance(p, TypeVarType):
        p = get_proper_type(p.upper_bound)
    return p


def is_tensor(t: Type | None) -> bool:
    p = _proper(t)
    if isinstance(p, UnionType):
        return bool(p.items) and all(is_tensor(it) for it in p.items)
    return isinstance(p, Instance) and p.type.has_base(TENSOR)


def has_carrier(t: Type | None) -> bool:
    """Whether ``t`` carries a shape (cheap: no parsing)."""
    p = _proper(t)
    return isinstance(p, Instance) and p.extra_attrs is not None and KEY in p.extra_attrs.attrs


def carried(t: Type | None) -> Carried | None:
    """The shape carried by a tensor type, or None."""
    p = _proper(t)
    if not isinstance(p, Instance):
        return None
    raw = _compat.get_extra(p, KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        spec = parse_shape(data["s"])
    except (ValueError, KeyError, TypeError, AnnotationSyntaxError):
        return None
    origins = tuple(data.get("o") or ())
    if len(origins) != len(spec.axes):
        origins = ()
    return Carried(data["s"], spec, origins, tuple(data.get("c") or ()))


def shape_of_type(t: Type | None) -> Shape | None:
    """A tensor type's shape (``ANY_SHAPE`` when unknown); None when ``t`` is not a tensor.

    A union of tensors (``Float[Tensor, "3 h w"] | Float[Tensor, "4 h w"]``) is either one: its
    shape is known only when every member carries the same one.
    """
    if not is_tensor(t):
        return None
    p = _proper(t)
    if isinstance(p, UnionType):
        shapes = {shape_of_type(it) for it in p.items}
        one = shapes.pop() if len(shapes) == 1 else None
        return one if one is not None else ANY_SHAPE
    c = carried(t)
    return c.shape if c is not None else ANY_SHAPE


def dim_text(d) -> str:
    if isinstance(d, Variadic):
        return str(d)
    if isinstance(d, Expr):
        if any(s.kind not in ("axis", "code") for s in d.symbols()):
            return "_"  # an element of a shape read in code: its group is not carried
        text = str(d)
        try:
            spec = parse_shape(text)
        except AnnotationSyntaxError:
            return "_"
        if len(spec.axes) == 1 and not spec.axes[0].variadic and spec.to_shape().dims[0] == d:
            return text
        return "_"
    return "_"


def shape_text(shape: Shape) -> str:
    return " ".join(dim_text(d) for d in shape.dims)


def encode(text: str, origins=(), code: tuple = ()) -> str:
    """The literal: text, per-axis origins, and the names that are sizes from code (kind ``code``:
    they bind at a call and never count as distinct from an annotation name)."""
    data: dict = {"s": text}
    if origins and any(origins):
        data["o"] = list(origins)
    if code:
        data["c"] = sorted(code)
    return json.dumps(data, separators=(",", ":"))


def code_names(shape: Shape) -> tuple:
    out = set()
    for d in shape.dims:
        if isinstance(d, Expr):
            out |= {s.name for s in d.symbols() if s.kind == "code"}
    return tuple(out)


def attach_text(t: ProperType, text: str, origins, str_type: Instance, code: tuple = ()) -> Type:
    if not isinstance(t, Instance):
        return t
    return _compat.with_extra(t, KEY, encode(text, origins, code), str_type)


def attach(t: Type, shape: Shape | None, str_type: Instance) -> Type:
    """``t`` (a tensor type) carrying ``shape``; unknown shapes drop the carrier."""
    p = get_proper_type(t)
    if not isinstance(p, Instance) or not is_tensor(p):
        return t
    if shape is None or shape.is_any:
        return _compat.without_extra(p) if p.extra_attrs is not None and carried(p) else t
    origins = tuple(shape.origins) if shape.origins else ()
    return attach_text(p, shape_text(shape), origins, str_type, code_names(shape))


def attach_many(t: Type, shapes: tuple, str_type: Instance, tuple_fallback: Instance) -> Type:
    """A tuple of tensors (``chunk``, ``split``, ``max(dim=...)``) carrying one shape each."""
    p = get_proper_type(t)
    if isinstance(p, TupleType) and len(p.items) == len(shapes):
        items = [attach(it, s, str_type) if isinstance(s, Shape) else it for it, s in zip(p.items, shapes)]
        return p.copy_modified(items=items)
    if (isinstance(p, Instance) and p.type.fullname == "builtins.tuple" and p.args and is_tensor(p.args[0])
            and all(isinstance(s, Shape) for s in shapes)):
        # `tuple[Tensor, ...]` becomes a fixed-length tuple: `a, b = x.chunk(2)` gets both shapes
        return TupleType([attach(p.args[0], s, str_type) for s in shapes], tuple_fallback)
    return t

