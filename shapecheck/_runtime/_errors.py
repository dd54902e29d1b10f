"""The one runtime error, and how the runtime puts its messages together.

The sentences are the core's (``shapecheck._core._wording``), the ones the linter and the mypy plugin
print for the same mismatch, with the sizes the tensors have; the guard adds where each name was
bound and the bindings of the call. Messages read sizes from ``.shape`` only: a tensor's data is
never read, formatted or compared.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .._core import _wording as w

__all__ = ["Place", "ShapeError", "hint_text", "make_error", "type_name", "message", "who",
           "rank_text", "axis_text", "compiled_message"]


class ShapeError(TypeError):
    """A guarded call whose arguments, locals or return value do not match their annotations.

    ``function``, ``where`` (``argument q``, ``return value``, ``local scores``) and ``bindings``
    (axis name -> size, in binding order) are kept on the exception for tools.
    """

    function: str = ""
    where: str = ""
    bindings: dict = {}


def make_error(message: str, function: str = "", where: str = "", bindings: dict | None = None) -> ShapeError:
    err = ShapeError(message)
    err.function = function
    err.where = where
    err.bindings = dict(bindings or {})
    return err


class Place(NamedTuple):
    """A checked value: an argument, an annotated local or the return value, and the item keys (as
    code: ``1``, ``'a'``) that lead into it. ``str`` of it is ``ShapeError.where``. (A named tuple:
    ``torch.compile`` traces its creation.)"""

    role: str  # "argument" | "local" | "return"
    name: str | None = None
    path: tuple = ()

    def item(self, key: str) -> "Place":
        return Place(self.role, self.name, self.path + (key,))

    def __str__(self) -> str:
        head = "return value" if self.role == "return" else f"{self.role} {self.name}"
        return head + "".join(f" [{k}]" for k in self.path)

    @property
    def code(self) -> str:
        """The value as code: ``xs[1]``."""
        return f"{self.name}" + "".join(f"[{k}]" for k in self.path)

    @property
    def subject(self) -> str:
        """How a note names it: ``argument `q```, ``local `h```, ``the return value``."""
        return w.value_subject(self.role, self.name, self.path)


def who(place: Place, fn: str) -> str:
    """How a message's first line names the value: ``argument `x` of `embed```, ``the return value``,
    ``item [1] of the return value``, ``h`` (a local, in backticks): as the static messages do."""
    if place.role == "argument":
        return w.argument_subject(place.code, fn)
    if place.role == "local":
        return f"`{place.code}`"
    return place.subject


def _kind(place: Place) -> str:
    return w.LOCAL if place.role == "local" else w.RETURN


def rank_text(place: Place, fn: str, spec_text: str, actual: int, expected) -> str:
    """A value with the wrong number of axes, in the linter's words."""
    if place.role == "argument":
        return w.argument_rank_mismatch(fn, place.code, spec_text, actual, expected)
    return w.spec_rank_mismatch(who(place, fn), _kind(place), spec_text, actual, expected)


def axis_text(place: Place, fn: str, spec_text: str, token: str, said, value, actual, index, rank) -> str:
    """A value's axis (or, ``index`` None, the axes of the variadic ``token``) that contradicts its
    annotation, in the linter's words: at a call, what ``token`` is (``value``); for the function's
    own return value or local, what the annotation says there (``said``: the name, the expression
    or the size)."""
    if place.role == "argument":
        return w.argument_axis_mismatch(fn, place.code, token, actual, value, index, rank)
    return w.spec_axis_mismatch(who(place, fn), _kind(place), spec_text, actual, said, index, rank, name=token)


def message(fn: str, place, text: str, notes=(), bindings: dict | None = None) -> str:
    """The whole message: the first line (prefixed with ``fn():`` when it does not name the
    function), its notes, and the bindings of the call."""
    head = text if isinstance(place, Place) and place.role == "argument" else f"{fn}(): {text}"
    lines = [head] + [f"  note: {n}" for n in notes if n]
    b = w.bindings_line(bindings or {})
    if b:
        lines.append(f"  {b}")
    return "\n".join(lines)


def compiled_message(fn: str, place, what: str = "does not match its annotation") -> str:
    """The message raised under ``torch.compile`` (``place`` None: ``an argument``)."""
    subject = who(place, fn) if place is not None else "an argument"
    return message(fn, place, w.compiled_mismatch(subject, what))


def type_name(value) -> str:
    if value is None:
        return "None"
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def hint_text(hint) -> str:
    if isinstance(hint, type):
        return hint.__qualname__
    return re.sub(r"(?<![\w.])typing\.", "", repr(hint))
