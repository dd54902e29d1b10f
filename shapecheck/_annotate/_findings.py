"""Where a run contradicts an annotation that is already there: annotate keeps the annotation and
reports the call (a dtype of another family, another number of axes, a fixed size that differs, one
name bound to two sizes in a call or to an int in scope of another value)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .._core._parse import AnnotationSyntaxError, parse_shape

__all__ = ["Finding", "contradictions", "dtype_category"]

_FLOAT = {"float16", "float32", "float64", "bfloat16", "half", "float", "double",
          "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"}


def dtype_category(dtype: str) -> str:
    if dtype in _FLOAT:
        return "Float"
    if dtype == "bool":
        return "Bool"
    if dtype.startswith(("int", "uint")) or dtype in ("long", "short"):
        return "Int"
    if dtype.startswith("complex"):
        return "Complex"
    return "Shaped"


@dataclass
class Finding:
    line: int
    message: str


_CATS = {"Float": "Float", "Int": "Int", "Integer": "Int", "UInt": "Int", "Bool": "Bool", "Complex": "Complex"}


def _jaxtyping_parts(node):
    """(dtype family, dimension string) of ``Float[Tensor, "b n"]``-like annotations, else None."""
    if not isinstance(node, ast.Subscript):
        return None
    v = node.value
    fam = v.id if isinstance(v, ast.Name) else (v.attr if isinstance(v, ast.Attribute) else None)
    sl = node.slice
    if fam is None or not isinstance(sl, ast.Tuple) or len(sl.elts) != 2:
        return None
    dims = sl.elts[1]
    if not (isinstance(dims, ast.Constant) and isinstance(dims.value, str)):
        return None
    return fam, dims.value


def _family_allows(fam: str, dtype: str) -> bool:
    cat = dtype_category(dtype)
    base = fam.rstrip("0123456789")
    want = _CATS.get(base)
    if want is None:  # Shaped, Num, Real, Inexact, ...: not checked here
        return not (base == "Num" and cat == "Bool")
    return want == cat


def contradictions(fn) -> list:
    """Findings where a recorded call of ``fn`` (a ``_naming._Fn``) contradicts an annotation in its source."""
    facts = fn.facts
    out: list = []
    if facts is None:
        return out
    items = [(p, node) for p, node in facts.annotations.items()]
    if facts.returns is not None:
        items.append(("return", facts.returns))
    bound: list[dict] = [dict() for _ in fn.calls]
    for p, node in items:
        parts = _jaxtyping_parts(node)
        if parts is None:
            continue
        fam, text = parts
        try:
            spec = parse_shape(text)
        except AnnotationSyntaxError:
            continue
        what = "the return value" if p == "return" else f"argument `{p}`"
        for ci, call in enumerate(fn.calls):
            d = call.get("return") if p == "return" else (call.get("args") or {}).get(p)
            if not isinstance(d, dict) or "dtype" not in d:
                continue
            shape = tuple(d["shape"])
            seen = f"({', '.join(map(str, shape))}) {d['dtype']}"
            problem = None
            if not _family_allows(fam, d["dtype"]):
                problem = f"dtype {d['dtype']} is not {fam}"
            elif spec.variadic_index is None and len(spec.axes) != len(shape):
                problem = f"{len(shape)} axes, not {len(spec.axes)}"
            elif spec.variadic_index is not None and len(shape) < len(spec.axes) - 1:
                problem = f"{len(shape)} axes, fewer than {len(spec.axes) - 1}"
            else:
                vi = spec.variadic_index
                for i, ax in enumerate(spec.axes):
                    if ax.variadic:
                        continue
                    pos = i if vi is None or i < vi else len(shape) - (len(spec.axes) - i)
                    size = shape[pos]
                    if ax.kind == "fixed" and size != ax.value and not (ax.broadcast and size == 1):
                        problem = f'axis {pos} "{ax.text}" is {size}'
                        break
                    if ax.kind == "named" and not ax.broadcast:
                        want = bound[ci].get(ax.name, fn.ints[ci].get(ax.name))
                        if want is not None and want != size:
                            problem = f'axis {pos} "{ax.name}" is {size} where "{ax.name}" is {want}'
                            break
                        bound[ci][ax.name] = size
            if problem is not None:
                out.append(Finding(
                    facts.line, f"`{fn.qualname}` {what} is annotated \"{text}\", but the run gave {seen}: "
                                f"{problem} (the annotation is kept)"))
                break
    return out
