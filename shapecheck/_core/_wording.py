"""How a diagnostic reads: the one place that writes axis names, axis positions, provenance notes and
operation names, for every face that reports a shape problem (the engine, the mypy plugin, the lint
rules), so the same mismatch reads the same wherever it is found.

Axis names and size expressions are in double quotes, literal sizes bare; an axis is "the first
axis", "the last axis" or "axis k"; a note says where an axis came from.
"""

from __future__ import annotations

from ._algebra import Expr
from ._shape import Unknown

__all__ = ["qd", "axis_position", "axis_note", "op_name", "spec_rank_mismatch", "spec_axis_mismatch", "RETURN",
           "LOCAL", "argument_rank_mismatch", "argument_axis_mismatch", "binding_note"]


def qd(d) -> str:
    """An axis for a message: names and expressions in double quotes, literal sizes bare."""
    if isinstance(d, Expr) and d.value is not None:
        return str(d.value)
    if d is None or isinstance(d, Unknown):
        return "an unknown axis"
    return f'"{d}"'


def axis_position(i: int, rank: int | None) -> str:
    """``the first axis``, ``the last axis`` or ``axis k`` (``k`` as the code wrote it)."""
    if i == -1 or (rank is not None and i == rank - 1):
        return "the last axis"
    if i == 0:
        return "the first axis"
    return f"axis {i}"


def axis_note(d, i: int, rank: int | None, who: str, origin: str | None = None) -> str:
    """'"d_head" is the last axis of `q` (annotation, model.py:30)': where an axis came from."""
    text = f"{qd(d)} is {axis_position(i, rank)} of {who}"
    return text + (f" ({origin})" if origin else "")


_DUNDER_NAMES = frozenset({"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"})
_DUNDER_DISPLAY = {"truediv": "div", "floordiv": "floor_divide", "getitem": "indexing"}


def op_name(q: str) -> str:
    """The operation's name in messages: ``mul`` for ``torch.Tensor.__rmul__``, ``div`` for ``a / b``,
    ``softmax`` for ``torch.nn.functional.softmax``."""
    name = q.rsplit(".", 1)[-1]
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name.startswith("r") and name[1:] in _DUNDER_NAMES:
            name = name[1:]
        return _DUNDER_DISPLAY.get(name, name)
    return name


# what kind of annotation a value is checked against (the ``kind`` of the two messages below)
RETURN = "return annotation"
LOCAL = "annotation of local"


def spec_rank_mismatch(who: str, kind: str, spec_text: str, actual, expected) -> str:
    """A value with the wrong number of axes for its own function's annotation (SHP105 / shape-rank)."""
    return f'{who} has {actual} axes where its {kind} "{spec_text}" has {expected}'


def spec_axis_mismatch(who: str, kind: str, spec_text: str, actual, expected, index: int, rank: int | None) -> str:
    """A value whose axis contradicts its own function's annotation (SHP105 / shape-mismatch)."""
    return (f"{who} has {qd(actual)} at {axis_position(index, rank)} where its {kind} "
            f'"{spec_text}" says {qd(expected)}')


def _argument(param: str | None, fn: str) -> str:
    return f"argument `{param}` of `{fn}`" if param else f"an argument of `{fn}`"


def argument_rank_mismatch(fn: str, param: str | None, spec_text: str, actual, expected) -> str:
    """A call passes a tensor with the wrong number of axes for the callee's annotation (SHP105)."""
    return f'{_argument(param, fn)} has {actual} axes where its annotation "{spec_text}" has {expected}'


def argument_axis_mismatch(fn: str, param: str | None, name: str, actual, expected, index: int | None,
                           rank: int | None) -> str:
    """A call passes a tensor whose axis contradicts what the callee's name ``name`` is bound to at
    this call (SHP105); ``index`` None: the variadic ``name`` covers different sizes."""
    at = f"at {axis_position(index, rank)}" if index is not None else f'in "{name}"'
    return f'{_argument(param, fn)} has {qd(actual)} {at} where "{name}" is {qd(expected)}'


def binding_note(name: str, fn: str, value, where: str) -> str:
    """Where a callee's name got its size at this call."""
    return f'"{name}" of `{fn}` was bound to {qd(value)} by {where}'
