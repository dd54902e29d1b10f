"""mypy error codes of the plugin, each beside the one function that emits it.

Users silence them like any mypy code (``disable_error_code = shape-rank``). Messages and notes
are the core rules' own words, so the linter and the plugin read the same.
"""

from __future__ import annotations

from typing import Any

from . import _compat

SHAPE_MISMATCH = _compat.error_code("shape-mismatch", "Tensor shapes that cannot agree")


def mismatch(api: Any, message: str, context: Any, notes=(), help: str | None = None) -> None:
    """Shapes proven incompatible: contraction, broadcast, argument or return annotation."""
    _emit(api, message, context, SHAPE_MISMATCH, notes, help)


SHAPE_RANK = _compat.error_code("shape-rank", "A tensor has the wrong number of axes for an operation")


def rank(api: Any, message: str, context: Any, notes=(), help: str | None = None) -> None:
    """The wrong number of axes, or a dim index out of range."""
    _emit(api, message, context, SHAPE_RANK, notes, help)


SHAPE_ANNOTATION = _compat.error_code("shape-annotation", "A jaxtyping dimension string is malformed")


def annotation(api: Any, message: str, context: Any) -> None:
    """A malformed dimension string, reported at the annotation (semantic analysis)."""
    api.fail(message, context, code=SHAPE_ANNOTATION)


SHAPE_INTERNAL = _compat.error_code("shape-internal", "shapecheck failed internally; please report it")


def internal(api: Any, exc: BaseException, context: Any, where: str) -> None:
    """An exception inside the plugin: one error at the expression instead of a crash."""
    try:
        api.fail(
            f"shapecheck failed internally in {where} ({type(exc).__name__}: {exc}); "
            "please report this at the shapecheck issue tracker",
            context,
            code=SHAPE_INTERNAL,
        )
    except Exception:  # noqa: BLE001 - never let a report crash mypy
        pass


SHAPE_REVEAL = _compat.error_code("shape-reveal", "The shape inferred for `shapecheck.reveal_shape(expr)`")


def reveal(api: Any, text: str, context: Any) -> None:
    """The note of ``shapecheck.reveal_shape(expr)``."""
    _compat.note(api, f'Revealed shape is "{text}"', context, SHAPE_REVEAL)


CODES = (SHAPE_MISMATCH, SHAPE_RANK, SHAPE_ANNOTATION, SHAPE_INTERNAL, SHAPE_REVEAL)

_RANK_CODES = frozenset({"SHP104", "SHP106"})


def problem(api: Any, p: Any, context: Any) -> None:
    """A problem recorded by an op rule on its Site, with the rule's own words."""
    notes = tuple(p.notes)
    if p.code in _RANK_CODES:
        rank(api, p.message, context, notes, p.help)
    else:
        mismatch(api, p.message, context, notes, p.help)


def _emit(api: Any, message: str, context: Any, code, notes, help) -> None:
    api.fail(message, context, code=code)
    for n in notes:
        if n:
            _compat.note(api, n, context, code)
    if help:
        _compat.note(api, f"help: {help}", context, code)
