"""Operator shape rules (pure functions, no torch import); see ``_registry``."""

from ._registry import OPAQUE, RULES, Rule, Site, lookup, module_rule, shape_rule

__all__ = ["OPAQUE", "RULES", "Rule", "Site", "lookup", "module_rule", "shape_rule", "all_rules"]


def all_rules() -> list:
    """Every registered rule once (a rule is registered under several names)."""
    lookup("")  # load the catalog
    seen = {}
    for r in RULES.values():
        seen[id(r)] = r
    return list(seen.values())
