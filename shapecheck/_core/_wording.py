"""How a diagnostic reads: the one place that writes axis names, axis positions, provenance notes and
operation names, for every face that reports a shape problem (the engine, the mypy plugin, the lint
rules, the runtime guards), so the same mismatch reads the same wherever it is found.

Axis names and size expressions are in double quotes, literal sizes bare; an axis is "the first
axis", "the last axis" or "axis k"; a note says where an axis came from. At run time the same
sentences carry the sizes the tensors have (the guard adds the bindings, ``bindings_line``).
"""

from __future__ import annotations

import re

from ._algebra import Expr
from ._shape import Unknown

__all__ = ["qd", "axis_position", "axis_note", "op_name", "spec_rank_mismatch", "spec_axis_mismatch", "RETURN",
           "LOCAL", "argument_subject", "argument_rank_mismatch", "argument_axis_mismatch", "binding_note", "sizes",
           "value_subject", "bound_by", "shape_note", "bindings_line", "type_mismatch", "dtype_mismatch",
           "length_mismatch", "no_fixed_shape", "unbound_names", "axis_not_formatted", "axis_not_one",
           "no_alternative", "compiled_mismatch"]


def qd(d) -> str:
    """An axis for a message: names and expressions in double quotes, literal sizes bare (a run-time
    size is an int; a run of sizes, a tuple, reads ``(2, 5)``)."""
    if isinstance(d, Expr) and d.value is not None:
        return str(d.value)
    if type(d) is int:
        return str(d)
    if isinstance(d, tuple):
        return sizes(d)
    if d is None or isinstance(d, Unknown):
        return "an unknown axis"
    return f'"{_JOINED.sub(_joined_text, _INFERRED.sub(_inferred_text, str(d)))}"'


# the size a view infers for its ``-1`` on a tensor of unknown size, named ``-1@<line>`` by the engine
_INFERRED = re.compile(r"-1@(\d+)'*")


# what a part of unknown shape adds to the axis a ``cat`` joins, named ``cat@<line>`` by the shape rule
_JOINED = re.compile(r"cat@(\d+)'*")


def _joined_text(m) -> str:
    """``cat@34`` as a reader knows it: what the parts of unknown shape joined on line 34 add."""
    return f"(the unknown parts joined on line {m[1]})"


def _inferred_text(m) -> str:
    """``-1@34`` as a reader knows it: the -1 of the view on line 34 (bracketed inside an expression)."""
    text = f"-1 of line {m[1]}"
    whole = m.start() == 0 and m.end() == len(m.string)
    return text if whole else f"({text})"


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


def _dims(spec_text: str) -> str:
    """A dimension string in quotes as jaxtyping reads it: the leading space written for ruff's F722
    (``" d_vocab"``) is not part of it (and the runtime never sees it)."""
    return f'"{spec_text.strip()}"'


# what kind of annotation a value is checked against (the ``kind`` of the two messages below)
RETURN = "return annotation"
LOCAL = "annotation of local"


def spec_rank_mismatch(who: str, kind: str, spec_text: str, actual, expected) -> str:
    """A value with the wrong number of axes for its own function's annotation (SHP105 / shape-rank)."""
    return f"{who} has {actual} axes where its {kind} {_dims(spec_text)} has {expected}"


def _at(index: int | None, rank: int | None, name: str | None) -> str:
    """``at the first axis``; ``in "*batch"`` for the axes a variadic name covers (``index`` None)."""
    return f"at {axis_position(index, rank)}" if index is not None else f'in "{name}"'


def spec_axis_mismatch(who: str, kind: str, spec_text: str, actual, expected, index: int | None, rank: int | None,
                       name: str | None = None) -> str:
    """A value whose axis contradicts its own function's annotation (SHP105 / shape-mismatch);
    ``index`` None: the axes of the variadic ``name``."""
    return f"{who} has {qd(actual)} {_at(index, rank, name)} where its {kind} {_dims(spec_text)} says {qd(expected)}"


def argument_subject(param: str | None, fn: str) -> str:
    """``argument `w` of `head```."""
    return f"argument `{param}` of `{fn}`" if param else f"an argument of `{fn}`"


def argument_rank_mismatch(fn: str, param: str | None, spec_text: str, actual, expected) -> str:
    """A call passes a tensor with the wrong number of axes for the callee's annotation (SHP105)."""
    return f"{argument_subject(param, fn)} has {actual} axes where its annotation {_dims(spec_text)} has {expected}"


def argument_axis_mismatch(fn: str, param: str | None, name: str, actual, expected, index: int | None,
                           rank: int | None) -> str:
    """A call passes a tensor whose axis contradicts what the callee's name ``name`` is bound to at
    this call (SHP105); ``index`` None: the variadic ``name`` covers different sizes."""
    return f'{argument_subject(param, fn)} has {qd(actual)} {_at(index, rank, name)} where "{name}" is {qd(expected)}'


def binding_note(name: str, fn: str, value, where: str) -> str:
    """Where a callee's name got its size at this call."""
    return f'"{name}" of `{fn}` was bound to {qd(value)} by {where}'


# -- at run time: the sentences above with the tensors' sizes, and what only a run can find --------------

def sizes(shape) -> str:
    """Sizes read from a tensor: ``(8, 64)``, ``(8,)`` or ``()``."""
    return str(tuple(int(s) if type(s) is int else s for s in shape))


def value_subject(role: str, name: str | None, path: tuple = ()) -> str:
    """A checked value named the way the static messages name it: ``argument `xs[1]```, ``local `h```,
    ``the return value``, ``item [1] of the return value`` (``path``: item keys as code)."""
    items = "".join(f"[{k}]" for k in path)
    if role == "return":
        return f"item {items} of the return value" if items else "the return value"
    return f"{role} `{name}{items}`"


def bound_by(subject: str, index: int | None, rank: int | None, count: int | None = None) -> str:
    """Where a run bound a name: ``argument `q` at the last axis``, ``argument `x` at axes 0..1``."""
    if count is None:
        return f"{subject} at {axis_position(index, rank)}"
    if count == 0:
        return f"{subject} at no axes"
    if count == 1:
        return f"{subject} at axis {index}"
    return f"{subject} at axes {index}..{index + count - 1}"


def shape_note(subject: str, shape) -> str:
    """``argument `k` has shape (2, 4, 8, 32)``."""
    return f"{subject} has shape {sizes(shape)}"


def bindings_line(values: dict) -> str:
    """``bindings: batch=8 heads=12 seq=128 d_head=64`` (variadic names ``*batch=(2, 3)``); empty when none."""
    parts = [f"{k}={sizes(v) if isinstance(v, tuple) else v}" for k, v in values.items()]
    return "bindings: " + " ".join(parts) if parts else ""


def type_mismatch(who: str, actual_type: str, expected: str) -> str:
    """A value of the wrong type: ``argument `x` of `embed` is `list` where its annotation is
    `Float[Tensor, "b s d"]```; ``expected`` is the annotation as code, or words (``a tuple``)
    when it starts with ``a ``."""
    want = expected if expected.startswith("a ") else f"`{expected}`"
    return f"{who} is `{actual_type}` where its annotation is {want}"


def dtype_mismatch(who: str, dtype: str, expected: str) -> str:
    return f"{who} has dtype {dtype} where its annotation is {expected}"


def length_mismatch(who: str, actual: int, expected: int) -> str:
    """A tuple of the wrong length for ``tuple[A, B]``."""
    return f"{who} has {actual} items where its annotation has {expected}"


def no_fixed_shape(who: str, spec_text: str) -> str:
    return f"{who} has no fixed shape (a nested tensor?) where its annotation is {_dims(spec_text)}"


def unbound_names(who: str, axis: str, missing) -> str:
    """An arithmetic or f-string axis whose names no annotation bound before it."""
    names = ", ".join(f'"{m}"' for m in missing)
    return (f'{who}: axis "{axis}" uses {names}, which no annotation checked before it binds '
            "(bind it in an argument's annotation)")


def axis_not_formatted(who: str, axis: str, error: str) -> str:
    return f'{who}: axis "{axis}" cannot be formatted with the arguments: {error}'


def axis_not_one(who: str, axis: str, text: str, why: str | None = None) -> str:
    return f'{who}: axis "{axis}" reads "{text}"' + (f": {why}" if why else ", which is not one axis")


def no_alternative(who: str, reasons) -> str:
    """No member of a union annotation matched; ``reasons``: each alternative's first line."""
    return f"{who} matches no alternative of its annotation: " + "; ".join(reasons)


def compiled_mismatch(who: str, what: str = "does not match its annotation") -> str:
    """Under ``torch.compile`` the guard raises without reading the details (tracing them breaks the graph)."""
    return f"{who} {what} (under torch.compile; run eagerly for details)"
