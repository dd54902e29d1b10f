"""The two test lanes: ``-m "not slow"`` while working, everything in CI.

``fast_sample`` keeps a few cases of a long parametrization in the fast lane and marks the rest slow,
so the full set still runs in CI and a working run still exercises the test.
"""

from __future__ import annotations

import pytest


def fast_sample(cases, keep: int = 3) -> list:
    """``cases`` with all but ``keep`` of them (spread over the list, first and last included) marked
    slow; a case may be a value, a tuple of arguments, or a ``pytest.param``."""
    cases = list(cases)
    n = len(cases)
    if n <= keep:
        return cases
    kept = {round(i * (n - 1) / (keep - 1)) for i in range(keep)} if keep > 1 else {0}
    out = []
    for i, c in enumerate(cases):
        if i in kept:
            out.append(c)
        elif isinstance(c, type(pytest.param(None))):
            out.append(pytest.param(*c.values, marks=(*c.marks, pytest.mark.slow), id=c.id))
        else:
            values = c if isinstance(c, tuple) else (c,)
            out.append(pytest.param(*values, marks=pytest.mark.slow))
    return out
