"""Diagnostics: the value every face reports, and the table of stable codes.

A code is ``SHP`` and three digits with a kebab-case name. Families, by hundreds:

* ``SHP0xx`` annotations and suppressions (syntax of dimension strings, hygiene)
* ``SHP1xx`` shape errors (contraction, broadcast, reshape, rank, annotation mismatches)
* ``SHP2xx`` attention axis-order rules
* ``SHP3xx`` convolution axis-order rules
* ``SHP4xx`` loss-layout rules
* ``SHP9xx`` internal errors and skipped files

Lint rules in ``shapecheck.rules`` register their own codes (``register_code``) from their files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Code", "Diagnostic", "Fix", "Edit", "CODES", "register_code", "code_info", "resolve_selector",
           "default_codes", "is_selected"]


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    summary: str
    severity: str = "error"  # error | warning | note
    family: str = "shape"
    doc: str = ""  # full documentation (rules fill it from their docstring)
    fixable: bool = False
    default: bool = True  # in the default selection; an opt-in code is selected only by its code or name


CODES: dict[str, Code] = {}


def register_code(code: str, name: str, summary: str, severity: str = "error", family: str | None = None,
                  doc: str = "", fixable: bool = False, default: bool | None = None) -> Code:
    """Register (or re-register, idempotently) a diagnostic code."""
    if family is None:
        family = _family(code)
    existing = CODES.get(code)
    if existing is not None and existing.name != name:
        raise ValueError(f"code {code} registered twice: {existing.name} and {name}")
    if default is None:
        default = existing.default if existing else True
    c = Code(code, name, summary, severity, family, doc or (existing.doc if existing else ""), fixable, default)
    CODES[code] = c
    return c


def _family(code: str) -> str:
    return {
        "0": "annotation",
        "1": "shape",
        "2": "attention",
        "3": "convolution",
        "4": "loss",
        "9": "internal",
    }.get(code[3:4], "shape")


def code_info(code: str) -> Code | None:
    return CODES.get(code)


def resolve_selector(sel: str, selecting: bool = False) -> set[str]:
    """Codes matched by a selector: a code (``SHP101``), a prefix (``SHP1``, ``SHP``) or a name.

    When ``selecting`` (``select``, ``extend-select``), a prefix or ``ALL`` leaves out the opt-in
    codes: those are selected only by their own code or name. Ignoring by prefix ignores them too.
    """
    sel = sel.strip()
    if not sel:
        return set()
    up = sel.upper()
    if up in CODES:
        return {up}
    if up.startswith("SHP") or up == "ALL":
        prefix = "" if up == "ALL" else up
        return {c for c, info in CODES.items() if c.startswith(prefix) and (info.default or not selecting)}
    return {c for c, info in CODES.items() if info.name == sel.lower()}


def default_codes() -> frozenset:
    """The codes reported when nothing is selected."""
    return frozenset(c for c, info in CODES.items() if info.default)


def is_selected(code: str, select) -> bool:
    """Is ``code`` reported under ``select`` (a set of codes; empty means the default selection)?"""
    if select:
        return code in select
    info = CODES.get(code)
    return info is None or info.default


# -- the core's own codes -------------------------------------------------------------------------
register_code("SHP001", "annotation-syntax", "A dimension string is not valid jaxtyping syntax")
register_code("SHP002", "single-axis-string",
              "A one-axis dimension string that pyflakes/ruff read as an undefined forward reference (F821)",
              severity="warning", fixable=True, default=False)
register_code("SHP003", "unused-suppression", "A suppression comment silences nothing", severity="warning",
              fixable=True)  # the fix removes what silences nothing
register_code("SHP101", "contraction-mismatch", "A matrix product or einsum contracts two different axes")
register_code("SHP102", "broadcast-mismatch", "Elementwise operands whose axes cannot broadcast")
register_code("SHP103", "reshape-mismatch", "A reshape or view changes the number of elements")
register_code("SHP104", "rank-mismatch", "An operation gets a tensor of the wrong number of axes")
register_code("SHP105", "annotation-mismatch", "An inferred shape contradicts its annotation")
register_code("SHP106", "dim-out-of-range", "A dimension index is out of range for the tensor's rank")
register_code("SHP107", "layer-size-mismatch",
              "A layer's configured size (in_features, in_channels, normalized_shape...) does not match its input")
register_code("SHP108", "einsum-mismatch", "Einsum or einops subscripts disagree with the operands")
register_code("SHP109", "reshape-axis-order",
              "A view or reshape reorders axes instead of splitting or merging adjacent ones")
register_code("SHP110", "size-mismatch", "Two sizes that must agree cannot be equal")
register_code("SHP900", "internal-error", "shapecheck failed internally on this file", family="internal")
register_code("SHP901", "file-skipped", "A file could not be analysed (syntax error, encoding)",
              severity="warning", family="internal")
register_code("SHP902", "path-not-found", "A path named on the command line does not exist", family="internal")


def _attach_core_docs() -> None:
    from ._codedocs import CODE_DOCS, render

    for code, page in CODE_DOCS.items():
        info = CODES[code]
        CODES[code] = Code(info.code, info.name, info.summary, info.severity, info.family, render(page),
                           info.fixable, info.default)


_attach_core_docs()


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, col) to (end_line, end_col), 1-based columns, with ``text``."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


@dataclass(frozen=True)
class Fix:
    message: str
    edits: tuple
    safe: bool = True


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"
    notes: tuple = ()
    help: str | None = None
    end_line: int | None = None
    end_column: int | None = None
    fix: Fix | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        if self.code == "reveal":
            return "reveal"
        info = CODES.get(self.code)
        return info.name if info else self.code.lower()

    def to_json(self) -> dict:
        out = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
        }
        if self.end_line is not None:
            out["end_line"] = self.end_line
            out["end_column"] = self.end_column
        if self.notes:
            out["notes"] = list(self.notes)
        if self.help:
            out["help"] = self.help
        if self.fix is not None:
            out["fix"] = {
                "message": self.fix.message,
                "safe": self.fix.safe,
                "edits": [e.__dict__ for e in self.fix.edits],
            }
        return out

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code)
