"""shapecheck: static and runtime checking of tensor shapes and axis order in PyTorch code.

``import shapecheck`` never imports torch; the runtime guards import it lazily when used.
"""

from __future__ import annotations

from typing import TypeVar

__version__ = "0.1.0"

_T = TypeVar("_T")


def reveal_shape(expr: _T) -> _T:
    """Ask the linter (or the mypy plugin) for the inferred shape of ``expr``; returns it unchanged."""
    return expr


_RUNTIME = {"guard", "install_import_hook", "ShapeError", "set_mode", "get_mode", "runtime_mode",
            "set_compile_mode", "get_compile_mode"}


def __getattr__(name: str):
    if name in _RUNTIME:
        from . import _runtime

        return getattr(_runtime, name)
    raise AttributeError(f"module 'shapecheck' has no attribute {name!r}")


__all__ = ["reveal_shape", "__version__", *sorted(_RUNTIME)]
