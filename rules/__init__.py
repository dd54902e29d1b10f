"""Axis-order lint rules (``shapecheck.rules``): attention (SHP2xx), convolution (SHP3xx), loss (SHP4xx).

One rule per file; each module defines one :class:`~shapecheck._engine._rulebase.LintRule` subclass and
registers its code (with its documentation) when imported. :func:`all_rules` returns one instance of
every rule, in code order.
"""

from __future__ import annotations

import functools
import importlib
import pathlib

__all__ = ["all_rules", "rule_classes", "RULE_MODULES", "LOAD_ERRORS"]

LOAD_ERRORS: dict = {}  # rule module -> why it could not be imported

RULE_MODULES = tuple(sorted(
    p.stem for p in pathlib.Path(__file__).resolve().parent.glob("*.py")
    if not p.stem.startswith(("_", "test_"))
))


@functools.lru_cache(maxsize=None)
def _classes() -> tuple:
    from shapecheck._engine._rulebase import LintRule

    out = []
    for name in RULE_MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except Exception as e:  # one broken rule must not take the linter down; test_rules checks this list
            LOAD_ERRORS[name] = f"{type(e).__name__}: {e}"
            continue
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, LintRule) and obj is not LintRule \
                    and obj.__module__ == mod.__name__:
                out.append(obj)
    return tuple(sorted(out, key=lambda c: c.code))


def rule_classes() -> list:
    """Every rule class, in code order (importing a rule module registers its code and docs)."""
    return list(_classes())


def all_rules() -> list:
    """One fresh instance of every rule, in code order."""
    return [cls() for cls in rule_classes()]


# importing the package registers every rule's code, so `shapecheck explain SHP201` and SARIF know them
rule_classes()
