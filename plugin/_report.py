"""mypy error codes of the plugin: the table from the linter's codes to mypy's, and the one emitter.

Every linter code has its own mypy code, ``shape-`` and the code's name (``SHP101
contraction-mismatch`` is ``shape-contraction-mismatch``), under a family code that silences a whole
group at once (``# type: ignore[shape-mismatch]``, ``disable_error_code = shape-rule``):

==========================  ====================================================================
family                      linter codes
==========================  ====================================================================
``shape-annotation``        SHP0xx: malformed dimension strings, one-axis strings (SHP001, SHP002)
``shape-mismatch``          SHP1xx: shapes that cannot agree (contraction, broadcast, reshape, ...)
``shape-rank``              SHP104 rank-mismatch, SHP106 dim-out-of-range
``shape-rule``              SHP2xx-SHP4xx: the lint rules (attention, convolution, loss axis order)
``shape-suppression``       SHP003 unused-suppression (a ``# noqa: SHPxxx`` that silences nothing)
``shape-internal``          SHP900 and any failure of the plugin itself (a note; mypy goes on)
``shape-reveal``            the note of ``reveal_shape(x)``, and beside ``reveal_type(x)`` of a tensor
==========================  ====================================================================
"""

from __future__ import annotations

from typing import Any

from mypy.errorcodes import ErrorCode

from . import _compat

SHAPE_ANNOTATION = _compat.error_code("shape-annotation", "A jaxtyping dimension string is malformed")
SHAPE_MISMATCH = _compat.error_code("shape-mismatch", "Tensor shapes that cannot agree")
SHAPE_RANK = _compat.error_code("shape-rank", "A tensor has the wrong number of axes for an operation")
SHAPE_RULE = _compat.error_code("shape-rule", "An axis-order rule of shapecheck (attention, convolution, loss)")
SHAPE_SUPPRESSION = _compat.error_code("shape-suppression", "A shapecheck suppression that silences nothing")
SHAPE_INTERNAL = _compat.error_code("shape-internal", "shapecheck failed internally; please report it")
SHAPE_REVEAL = _compat.error_code("shape-reveal", "The shape of `reveal_shape(x)` or `reveal_type(x)`")

FAMILIES = (SHAPE_ANNOTATION, SHAPE_MISMATCH, SHAPE_RANK, SHAPE_RULE, SHAPE_SUPPRESSION, SHAPE_INTERNAL,
            SHAPE_REVEAL)
_DIRECT = {"SHP003": SHAPE_SUPPRESSION, "SHP900": SHAPE_INTERNAL, "reveal": SHAPE_REVEAL}
_RANK = frozenset({"SHP104", "SHP106"})
# the file could not be read or parsed (mypy reports that itself), or a path on a command line
NOT_REPORTED = frozenset({"SHP901", "SHP902"})


def family_of(code: str) -> ErrorCode:
    if code in _DIRECT:
        return _DIRECT[code]
    if code in _RANK:
        return SHAPE_RANK
    if code.startswith("SHP0"):
        return SHAPE_ANNOTATION
    if code.startswith("SHP1"):
        return SHAPE_MISMATCH
    return SHAPE_RULE


class CodeTable:
    """The mypy code of every linter code (built once per plugin, from the linter's table)."""

    def __init__(self) -> None:
        from shapecheck._core._diag import CODES
        from shapecheck._lint._config import load_codes

        load_codes()  # the lint rules' codes join the table
        self.by_code: dict = {}
        for code, info in sorted(CODES.items()):
            if code in NOT_REPORTED:
                continue
            fam = family_of(code)
            if fam in (SHAPE_INTERNAL, SHAPE_SUPPRESSION, SHAPE_REVEAL):
                self.by_code[code] = fam
            else:
                self.by_code[code] = ErrorCode("shape-" + info.name, f"{code}: {info.summary}", "shapecheck",
                                               sub_code_of=fam)
        self.by_code["reveal"] = SHAPE_REVEAL

    def codes(self) -> tuple:
        return FAMILIES + tuple(c for c in self.by_code.values() if c not in FAMILIES)

    def mypy_code(self, code: str) -> ErrorCode | None:
        """The mypy code of a linter code (a code added later falls into its family)."""
        if code in NOT_REPORTED:
            return None
        return self.by_code.get(code) or family_of(code)


def emit(errors: Any, table: CodeTable, d: Any, target: str) -> None:
    """One linter diagnostic as a mypy error (or note) at its line and column, with its notes."""
    code = table.mypy_code(d.code)
    if code is None:
        return
    column = max(d.column - 1, 0)

    def report(message: str, severity: str, **kw: Any) -> None:
        _compat.retarget(errors.report(d.line, column, message, code=code, severity=severity, **kw), target)

    if d.code == "reveal":
        report(f'Revealed shape is "{d.message}"', "note")
        return
    end = {}
    if d.end_line is not None and d.end_column:
        end = {"end_line": d.end_line, "end_column": max(d.end_column - 1, 0)}
    report(d.message, "note" if code is SHAPE_INTERNAL else "error", **end)
    for n in d.notes:
        if n:
            report(n, "note")
    if d.help:
        report(f"help: {d.help}", "note")


def internal(errors: Any, exc: BaseException) -> None:
    """A failure of the plugin on a module: one note at its first line; mypy goes on."""
    try:
        errors.report(1, 0, f"shapecheck failed internally on this module ({type(exc).__name__}: {exc}); "
                            "please report this at the shapecheck issue tracker",
                      code=SHAPE_INTERNAL, severity="note")
    except Exception:  # noqa: BLE001 - never let a report crash mypy
        pass
