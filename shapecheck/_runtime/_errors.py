"""The one runtime error, and how its message is written.

Messages read sizes from ``.shape`` only: a tensor's data is never read, formatted or compared.
"""

from __future__ import annotations

import re

__all__ = ["ShapeError", "fmt_shape", "hint_text", "make_error", "type_name"]


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


def fmt_shape(shape) -> str:
    """``(8, 64)``, ``(8,)`` or ``()``, from the sizes (ints) of a shape."""
    return str(tuple(int(s) if type(s) is int else s for s in shape))


def type_name(value) -> str:
    if value is None:
        return "None"
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def hint_text(hint) -> str:
    if isinstance(hint, type):
        return hint.__qualname__
    return re.sub(r"(?<![\w.])typing\.", "", repr(hint))


def fmt_bindings(values: dict) -> str:
    parts = []
    for key, v in values.items():
        if isinstance(v, tuple):
            parts.append(f"{key}={fmt_shape(v)}")
        else:
            parts.append(f"{key}={v}")
    return "bindings: " + " ".join(parts) if parts else ""
