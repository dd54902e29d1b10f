"""From a type hint to what the guard checks: tensor specs (array type, dtypes, parsed shape),
tuples/lists/unions of them, and plain hints left to beartype."""

from __future__ import annotations

import sys
import types
import typing
from dataclasses import dataclass

import torch

from .._core._parse import ShapeSpec, parse_shape

__all__ = [
    "DictSpec",
    "ListSpec",
    "TensorSpec",
    "TupleSpec",
    "TypeSpec",
    "UnionSpec",
    "has_shape",
    "resolve_hints",
    "to_spec",
    "type_check",
]

try:  # jaxtyping is needed to read the annotations, but only once a guard is made
    import jaxtyping as _jt
except ImportError:  # pragma: no cover - jaxtyping is a dependency of the runtime extra
    _jt = None


@dataclass(frozen=True)
class TensorSpec:
    """``Float[Tensor, "b n"]``: ``dtypes`` is None for any dtype (``Shaped``)."""

    array_type: type  # torch.Tensor (or a subclass); else jaxtyping's own ``Dtype[A, "..."]`` class
    dtypes: frozenset | None
    kind: str  # "Float", "Int", ... (for messages)
    shape: ShapeSpec
    optional: bool = False
    type_text: str = ""

    @property
    def text(self) -> str:
        return f'{self.kind}[{self.type_text or self.array_type.__name__}, "{self.shape.text}"]'


@dataclass(frozen=True)
class TupleSpec:
    """``tuple[A, B]`` (``variable``: ``tuple[A, ...]``)."""

    items: tuple
    variable: bool = False
    optional: bool = False


@dataclass(frozen=True)
class DictSpec:
    """``dict[K, A]``: every value is checked against ``item`` (the keys by beartype's rules are
    not checked)."""

    item: object
    optional: bool = False


@dataclass(frozen=True)
class ListSpec:
    """``list[A]``: every element is checked against ``item``."""

    item: object
    optional: bool = False


@dataclass(frozen=True)
class UnionSpec:
    """``A | B`` where some alternative has a shape: the first alternative that matches wins."""

    alternatives: tuple
    optional: bool = False


@dataclass(frozen=True)
class TypeSpec:
    """A hint without shapes, checked by beartype (or by ``isinstance`` when it is a plain class)."""

    hint: object
    optional: bool = False
    module: str | None = None  # where forward references in ``hint`` resolve

    @property
    def plain_class(self) -> bool:
        h = self.hint
        # beartype checks a class with isinstance too; float/complex follow the numeric tower
        # rules of beartype's configuration, and protocols have their own check
        return (isinstance(h, type) and h not in (float, complex) and not _is_jax_array(h)
                and not getattr(h, "_is_protocol", False))


def _is_jax_array(h) -> bool:
    return (_jt is not None and isinstance(h, type) and issubclass(h, _jt.AbstractArray)
            and hasattr(h, "dim_str"))


_DTYPE_CACHE: dict = {}


def _torch_dtypes(names) -> frozenset:
    key = tuple(names)
    out = _DTYPE_CACHE.get(key)
    if out is None:
        found = set()
        for n in names:
            d = getattr(torch, "bool" if n == "bool_" else n, None)
            if isinstance(d, torch.dtype):
                found.add(d)
        out = _DTYPE_CACHE[key] = frozenset(found)
    return out


def _type_text(t) -> str:
    if isinstance(t, type):
        return t.__name__
    return repr(t).replace("typing.", "")


class _SafeInstanceCheck(type):
    def __instancecheck__(cls, obj) -> bool:
        try:
            return isinstance(obj, cls.checked)
        except Exception:  # jaxtyping reads .dtype: torch.Size and other non-arrays have none
            return False


def _safe_type(t) -> type:
    """A class whose isinstance is jaxtyping's, with a failure read as "no"."""
    return _SafeInstanceCheck(getattr(t, "__name__", "Array"), (), {"checked": t})


def _tensor_spec(h, optional: bool):
    array_type = getattr(h, "array_type", None)
    if not (isinstance(array_type, type) and issubclass(array_type, torch.Tensor)):
        # numpy, jax, Any, a TypeVar, a duck type: jaxtyping's own isinstance over "..." checks the
        # type and dtype (it binds nothing), the guard checks and binds the shape
        kind = getattr(getattr(h, "dtype", None), "__name__", None) or "Shaped"
        anyshape = _safe_type(h.dtype[array_type, "..."])
        return TensorSpec(anyshape, None, kind, parse_shape(h.dim_str), optional, _type_text(array_type))
    dtypes = h.dtypes
    kind = getattr(getattr(h, "dtype", None), "__name__", None) or "Shaped"
    if isinstance(dtypes, (tuple, list)):
        dset = _torch_dtypes(dtypes)
    else:
        dset = None  # jaxtyping's "any dtype"
        kind = "Shaped"
    return TensorSpec(array_type, dset, kind, parse_shape(h.dim_str), optional)


_UNION_TYPES = (typing.Union, types.UnionType)


def to_spec(hint, optional: bool = False, module: str | None = None):
    """The spec of ``hint``; ``optional`` adds None as an accepted value; ``module`` is where the
    forward references of ``hint`` resolve."""
    if hint is None or hint is type(None):
        return TypeSpec(type(None), optional)
    if _is_jax_array(hint):
        return _tensor_spec(hint, optional)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in _UNION_TYPES:
        rest = [a for a in args if a is not type(None)]
        opt = optional or len(rest) < len(args)
        if len(rest) == 1:
            return to_spec(rest[0], opt, module)
        alts = tuple(to_spec(a, False, module) for a in rest)
        if any(has_shape(a) for a in alts):
            return UnionSpec(alts, opt)
        return TypeSpec(hint, optional, module)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            item = to_spec(args[0], False, module)
            if has_shape(item):
                return TupleSpec((item,), True, optional)
        elif args != ((),):
            items = tuple(to_spec(a, False, module) for a in args)
            if any(has_shape(i) for i in items):
                return TupleSpec(items, False, optional)
        return TypeSpec(hint, optional, module)
    if origin is list and len(args) == 1:
        item = to_spec(args[0], False, module)
        if has_shape(item):
            return ListSpec(item, optional)
    if origin is dict and len(args) == 2:
        item = to_spec(args[1], False, module)
        if has_shape(item):
            return DictSpec(item, optional)
    if origin is typing.Annotated:
        return to_spec(args[0], optional, module)
    if isinstance(hint, str):
        hint = typing.ForwardRef(hint)
    return TypeSpec(hint, optional, module)


_CHECKERS: dict = {}


def checker(spec: TypeSpec):
    """A beartype-decorated one-argument function checking ``spec.hint``, made in ``spec.module``
    so that its forward references (``"Node"``) resolve where the user wrote them."""
    key = (id(spec.hint), spec.module)
    hit = _CHECKERS.get(key)
    if hit is not None and hit[0] is spec.hint:
        return hit[1]
    from beartype import beartype

    def check(value):
        return None

    check.__annotations__ = {"value": spec.hint}
    if spec.module:
        check.__module__ = spec.module
    fn = beartype(check)
    _CHECKERS[key] = (spec.hint, fn)
    return fn


def type_check(spec: TypeSpec, value) -> bool:
    """True when ``value`` satisfies the plain hint ``spec.hint`` (beartype's rules)."""
    from beartype.roar import BeartypeCallHintViolation

    try:
        checker(spec)(value)
    except BeartypeCallHintViolation:
        return False
    return True


def has_shape(spec) -> bool:
    if isinstance(spec, TensorSpec):
        return True
    if isinstance(spec, TupleSpec):
        return any(has_shape(i) for i in spec.items)
    if isinstance(spec, (ListSpec, DictSpec)):
        return has_shape(spec.item)
    if isinstance(spec, UnionSpec):
        return any(has_shape(a) for a in spec.alternatives)
    return False


def local_namespace(fn) -> dict:
    """The closure variables of ``fn`` (so that aliases defined in an enclosing function resolve)."""
    ns = {}
    code = getattr(fn, "__code__", None)
    closure = getattr(fn, "__closure__", None) or ()
    if code is not None:
        for name, cell in zip(code.co_freevars, closure):
            try:
                ns[name] = cell.cell_contents
            except ValueError:
                pass
    return ns


def resolve_hints(fn) -> dict:
    """``fn``'s annotations, strings resolved; an annotation that cannot be resolved is dropped."""
    localns = local_namespace(fn)
    try:
        return typing.get_type_hints(fn, localns=localns or None, include_extras=True)
    except Exception:
        pass
    raw = getattr(fn, "__annotations__", None) or {}
    globalns = getattr(fn, "__globals__", None)
    if globalns is None:
        globalns = vars(sys.modules.get(getattr(fn, "__module__", ""), None) or object())
    out = {}
    for name, ann in raw.items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, dict(globalns), localns)  # the user's own annotation text
            except Exception:
                continue
        out[name] = ann
    return out


def eval_annotation(text: str, fn):
    """Evaluate the source text of a local annotation in ``fn``'s namespace; None when it fails."""
    try:
        return eval(text, dict(getattr(fn, "__globals__", {})), local_namespace(fn))
    except Exception:
        return None
