"""shapecheck's mypy plugin: enable with ``plugins = shapecheck.plugin`` in the mypy config.

It reads jaxtyping annotations of ``torch.Tensor``, infers result shapes through shapecheck's op
rules, carries them in mypy's types, and reports mismatches with error codes that start with
``shape`` (see docs/mypy.md).
"""

from __future__ import annotations

from mypy.plugin import Plugin as _Plugin

from ._compat import MIN_MYPY, UnsupportedMypy, check_version

__all__ = ["MIN_MYPY", "UnsupportedMypy", "plugin"]


def plugin(version: str) -> type[_Plugin]:
    """mypy's entry point: the plugin class for this mypy ``version`` (refuses mypy < 1.18)."""
    try:
        check_version(version)
    except UnsupportedMypy as e:  # a clear line and exit 2, not a traceback through mypy's loader
        import sys

        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    from ._plugin import ShapecheckPlugin

    return ShapecheckPlugin
