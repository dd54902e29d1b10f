"""Process-wide switches of the runtime guards: the mode (on, off, sampled) and the compile mode.

The environment variable ``SHAPECHECK_RUNTIME`` is a kill switch read when a function is decorated:
``0``/``off``/``false``/``no`` makes :func:`guard` return the original object. ``set_mode("off")``
before decorating does the same; after decorating it turns every check into one flag test.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

__all__ = ["env_disabled", "get_compile_mode", "get_mode", "runtime_mode", "set_compile_mode", "set_mode"]

_MODES = ("on", "off", "sample")
_COMPILE_MODES = ("check", "skip")
_OFF_WORDS = frozenset({"0", "off", "false", "no"})


class _State:
    """Mutable switches read by every generated wrapper (``fast`` is the one hot-path flag)."""

    __slots__ = ("compile_mode", "every", "fast", "first", "mode")

    def __init__(self) -> None:
        self.mode = "off" if env_disabled() else "on"
        self.first = 1
        self.every = 1
        self.compile_mode = "check"
        self.fast = False
        self.refresh()

    def refresh(self) -> None:
        # ``fast`` means: check every call without asking anything else
        self.fast = self.mode == "on" and self.compile_mode == "check"


def env_disabled() -> bool:
    """True when ``SHAPECHECK_RUNTIME`` switches the guards off."""
    return os.environ.get("SHAPECHECK_RUNTIME", "").strip().lower() in _OFF_WORDS


STATE = _State()


def _check_sampling(first, every) -> tuple:
    if first is None:
        first = 1
    if every is None:
        every = 1
    if type(first) is not int or first < 0:
        raise ValueError(f"`first` must be an int >= 0, got {first!r}")
    if type(every) is not int or every < 1:
        raise ValueError(f"`every` must be an int >= 1, got {every!r}")
    return first, every


def set_mode(mode: str, *, first: int | None = None, every: int | None = None) -> None:
    """Switch the guards ``"on"``, ``"off"`` or to ``"sample"`` (the first ``first`` calls of each
    guarded function, then every ``every``-th call)."""
    if mode not in _MODES:
        raise ValueError(f"unknown runtime mode {mode!r}; use one of {', '.join(map(repr, _MODES))}")
    if mode == "sample":
        STATE.first, STATE.every = _check_sampling(first, every)
    elif first is not None or every is not None:
        raise ValueError('`first` and `every` only apply to mode "sample"')
    STATE.mode = mode
    STATE.refresh()


def get_mode() -> str:
    """The current runtime mode: ``"on"``, ``"off"`` or ``"sample"``."""
    return STATE.mode


@contextmanager
def runtime_mode(mode: str, *, first: int | None = None, every: int | None = None):
    """Use ``mode`` inside a ``with`` block, then restore the previous mode."""
    saved = (STATE.mode, STATE.first, STATE.every)
    set_mode(mode, first=first, every=every)
    try:
        yield
    finally:
        STATE.mode, STATE.first, STATE.every = saved
        STATE.refresh()


def set_compile_mode(mode: str) -> None:
    """Under ``torch.compile``: ``"check"`` traces the shape comparisons (they become compile-time
    facts and guards, no graph break); ``"skip"`` makes the guards step aside while compiling."""
    if mode not in _COMPILE_MODES:
        raise ValueError(f"unknown compile mode {mode!r}; use \"check\" or \"skip\"")
    STATE.compile_mode = mode
    STATE.refresh()


def get_compile_mode() -> str:
    """The current compile mode: ``"check"`` or ``"skip"``."""
    return STATE.compile_mode


class Counter:
    """Per-wrapper call counter for sampling; ``first``/``every`` set by ``guard(first=, every=)``."""

    __slots__ = ("every", "first", "n")

    def __init__(self, first=None, every=None) -> None:
        self.n = 0
        self.first = first
        self.every = every


def make_decide(is_compiling):
    """Build the slow-path decision function: True means skip the checks for this call."""

    def decide(ctr: Counter) -> bool:
        st = STATE
        if st.mode == "off":
            return True
        if is_compiling():
            # counters are never touched while tracing (they would force recompiles)
            return st.compile_mode == "skip"
        if ctr.every is not None:
            first, every = ctr.first, ctr.every
        elif st.mode == "sample":
            first, every = st.first, st.every
        else:
            return False
        ctr.n += 1
        n = ctr.n
        if n <= first:
            return False
        return (n - first) % every != 0

    return decide
