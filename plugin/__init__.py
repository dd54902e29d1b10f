"""shapecheck's mypy plugin: enable with ``plugins = shapecheck.plugin`` in the mypy config.

After mypy has checked a module, the plugin runs the linter's analysis on it (the same engine, lint
rules, configuration and ``# noqa`` suppressions) and reports every finding as a mypy error at the
same line and column, with an error code that starts with ``shape`` (see docs/mypy.md).
"""

from __future__ import annotations

from mypy.plugin import Plugin as _Plugin

from ._compat import MIN_MYPY, UnsupportedMypy, check_version

__all__ = ["MIN_MYPY", "UnsupportedMypy", "plugin"]


def plugin(version: str) -> type[_Plugin]:
    """mypy's entry point: the plugin class for this mypy ``version`` (refuses mypy < 2.4)."""
    try:
        check_version(version)
    except UnsupportedMypy as e:  # a clear line and exit 2, not a traceback through mypy's loader
        import sys

        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    from ._plugin import ShapecheckPlugin

    return ShapecheckPlugin
