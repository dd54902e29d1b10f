"""Element types where indexing needs them: integer and boolean tensors.

The indexing rule reads a tensor index as an integer index (its axes replace one axis) or as a mask
(one axis of unknown size replaces as many axes as it has) from the index's ``dtype`` meta. This room
sets it where the element type is certain: ``Int``/``Bool`` annotations, ``randint``, ``arange`` of
integers, ``argmax``, comparisons, ``.long()``/``.bool()``, a ``dtype=`` keyword. Nothing else reads
it, and a tensor whose element type is not known has none.
"""

from __future__ import annotations

from .._core._algebra import Expr
from .._core._shape import Shape
from ._values import QualRef

_INT_ANNOTATIONS = frozenset({"Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32",
                              "UInt64", "Integer"})
_BOOL_ANNOTATIONS = frozenset({"Bool"})

_LONG_OPS = frozenset({"torch.randint", "torch.randint_like", "torch.randperm", "torch.Tensor.long",
                       "torch.Tensor.int", "torch.argmax", "torch.Tensor.argmax", "torch.argmin",
                       "torch.Tensor.argmin", "torch.argsort", "torch.Tensor.argsort", "torch.searchsorted",
                       "torch.bucketize", "torch.multinomial", "torch.Tensor.multinomial"})
# ops that give ``(values, indices)``: the indices are int64
INDICES_SECOND = frozenset(f"torch.{p}{f}" for p in ("", "Tensor.") for f in (
    "topk", "sort", "max", "min", "kthvalue", "mode", "median", "nanmedian", "cummax", "cummin"))
_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
_BOOL_OPS = frozenset(
    [f"torch.Tensor.__{c}__" for c in _COMPARISONS] + [f"torch.{c}" for c in _COMPARISONS]
    + [f"torch.Tensor.{c}" for c in _COMPARISONS]
    + [f"torch.{f}" for f in ("isnan", "isinf", "isfinite", "logical_not", "logical_and", "logical_or",
                              "logical_xor", "isclose")]
    + [f"torch.Tensor.{f}" for f in ("isnan", "isinf", "isfinite", "logical_not", "logical_and", "logical_or",
                                     "logical_xor", "isclose", "bool")])
_KEEP_OPS = frozenset({"torch.Tensor.__getitem__", "torch.Tensor.view", "torch.Tensor.reshape",
                       "torch.Tensor.flatten", "torch.Tensor.unsqueeze", "torch.Tensor.squeeze",
                       "torch.Tensor.expand", "torch.Tensor.transpose", "torch.Tensor.permute",
                       "torch.Tensor.contiguous", "torch.Tensor.clone", "torch.Tensor.to",
                       "torch.Tensor.__invert__", "torch.Tensor.__and__", "torch.Tensor.__or__",
                       "torch.Tensor.__xor__"})
_DTYPE_NAMES = {"long": "long", "int64": "long", "int32": "long", "int": "long", "int16": "long",
                "int8": "long", "uint8": "long", "bool": "bool"}


def annotation_dtype(dtype: str | None) -> str | None:
    """The element type an annotation's dtype (``Int``, ``Bool``) makes certain, else None."""
    if dtype in _INT_ANNOTATIONS:
        return "long"
    if dtype in _BOOL_ANNOTATIONS:
        return "bool"
    return None


def result_dtype(q: str, args: tuple, kwargs: dict) -> str | None:
    """The element type of the op's result when it is certain (``"long"``, ``"bool"``), else None."""
    given = kwargs.get("dtype")
    if given is not None:
        return _named(given)
    if q in ("torch.Tensor.to", "torch.Tensor.type") and len(args) > 1 and isinstance(args[1], QualRef):
        return _named(args[1])  # ``.to(torch.long)``; ``.to(torch.float32)`` is not an index type
    if q in _LONG_OPS:
        return "long"
    if q in _BOOL_OPS:
        return "bool"
    if q == "torch.arange" and args and all(isinstance(a, Expr) for a in args):
        return "long"  # integer bounds: an int64 range
    if q in _KEEP_OPS and args and isinstance(args[0], Shape):
        kept = args[0].get_meta("dtype")
        if q in ("torch.Tensor.__and__", "torch.Tensor.__or__", "torch.Tensor.__xor__"):
            other = args[1] if len(args) > 1 else None
            return kept if isinstance(other, Shape) and other.get_meta("dtype") == kept else None
        return kept
    return None


def _named(v) -> str | None:
    if isinstance(v, QualRef) and v.qualname.startswith("torch."):
        return _DTYPE_NAMES.get(v.qualname[6:])
    return None
