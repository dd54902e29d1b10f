"""Suppression comments: ``# noqa: SHP101``, ``# shapecheck: ignore[...]`` and ``ignore-file``.

* ``# noqa: SHP101, SHP102`` silences those codes on its line. Codes of other tools in the same
  list (``# noqa: F722, SHP101``) are left to them, and a bare ``# noqa`` (usually written for
  flake8's or ruff's F722 on a jaxtyping string) does not silence shapecheck.
* ``# shapecheck: ignore[contraction-mismatch, SHP102]`` silences codes, code prefixes or rule
  names on its line; a bare ``# shapecheck: ignore`` silences every shapecheck code on the line.
* ``# shapecheck: ignore-file`` anywhere in a comment skips the file; ``# shapecheck:
  ignore-file[SHP1]`` silences the codes in the whole file.

Comments are found with :mod:`tokenize`, so a ``#`` inside a string never counts. An entry that
silenced nothing is reported as SHP003 unused-suppression when its codes are enabled.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from .._core._diag import CODES, Diagnostic, Edit, Fix

__all__ = ["Directive", "Suppressions", "parse_suppressions", "apply_suppressions", "lines_silencing"]

# only a file that names a shapecheck code in a noqa, or has a shapecheck comment, is tokenized
_QUICK = re.compile(r"noqa\s*:[^\r\n]*?\bSHP|shapecheck\s*:\s*ignore", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa\b(?:\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:(?:\s*,\s*|\s+)[A-Za-z]+[0-9]+)*))?",
                   re.IGNORECASE)
_IGNORE = re.compile(r"#\s*shapecheck\s*:\s*ignore(?P<file>-file)?\b(?:\[(?P<items>[^\]]*)\])?")
_ITEM_SPLIT = re.compile(r"[,\s]+")
ALL = "*"


@dataclass
class Directive:
    line: int
    column: int  # 1-based column of the directive's ``#``
    kind: str  # "noqa" | "ignore" | "ignore-file"
    entries: tuple  # selectors; ("*",) for a bare ``shapecheck: ignore``
    used: set = field(default_factory=set)
    end: int = 0  # 1-based column just past the directive
    others: tuple = ()  # codes of other tools in a noqa list (kept by a fix)
    lead: int = 0  # whitespace characters before the directive's ``#`` on its line
    removable: bool = False  # nothing but whitespace or another comment follows it

    def rewritten(self, keep: tuple) -> str:
        """The directive's text with only ``keep`` (and other tools' codes) left, or "" for none."""
        if self.kind == "noqa":
            codes = list(self.others) + list(keep)
            return f"# noqa: {', '.join(codes)}" if codes else ""
        if not keep or keep == (ALL,):
            return "# shapecheck: ignore" if keep else ""
        return f"# shapecheck: {self.kind}[{', '.join(keep)}]"

    def fix(self) -> Fix | None:
        """Remove the entries that silenced nothing (the whole directive when none is left)."""
        keep = tuple(e for e in self.entries if e in self.used)
        text = self.rewritten(keep)
        if text:
            return Fix("remove the unused codes from the suppression",
                       (Edit(self.line, self.column, self.line, self.end, text),))
        if not self.removable:
            return None
        return Fix("remove the unused suppression",
                   (Edit(self.line, self.column - self.lead, self.line, self.end, ""),))


@dataclass
class Suppressions:
    by_line: dict = field(default_factory=dict)  # line -> [Directive]
    file_level: list = field(default_factory=list)  # [Directive] from ignore-file[...]
    skip_file: bool = False  # a bare ignore-file

    @property
    def empty(self) -> bool:
        return not self.by_line and not self.file_level and not self.skip_file


def _matches(entry: str, code: str) -> bool:
    if entry == ALL:
        return code != "SHP900"
    up = entry.upper()
    if up.startswith("SHP"):
        return code.startswith(up)
    info = CODES.get(code)
    return info is not None and info.name == entry.lower()


def _comments(source: str):
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.start[1], tok.string, tok.line
    except (tokenize.TokenError, SyntaxError):  # a broken file: keep the comments seen so far
        return


def parse_suppressions(source: str) -> Suppressions:
    out = Suppressions()
    if not _QUICK.search(source):
        return out
    for line, col, text, line_text in _comments(source):
        def place(m, kind, entries, others=()):
            before = line_text[: col + m.start()]
            tail = text[m.end():].strip()
            return Directive(line, col + m.start() + 1, kind, entries, end=col + m.end() + 1, others=others,
                             lead=len(before) - len(before.rstrip()), removable=not tail or tail.startswith("#"))

        for m in _NOQA.finditer(text):
            codes = m.group("codes")
            if not codes:
                continue  # a bare noqa is for other tools
            items = [c.upper() for c in _ITEM_SPLIT.split(codes) if c]
            entries = tuple(c for c in items if c.startswith("SHP"))
            if entries:
                others = tuple(c for c in items if not c.startswith("SHP"))
                out.by_line.setdefault(line, []).append(place(m, "noqa", entries, others))
        for m in _IGNORE.finditer(text):
            items = m.group("items")
            entries = tuple(e for e in _ITEM_SPLIT.split(items or "") if e)
            if m.group("file"):
                if items is None or not entries:
                    out.skip_file = True
                else:
                    out.file_level.append(place(m, "ignore-file", entries))
            else:
                out.by_line.setdefault(line, []).append(place(m, "ignore", entries or (ALL,)))
    return out


def lines_silencing(source: str, code: str) -> set:
    """Lines whose ``# noqa`` keeps flake8 and ruff from reporting another tool's ``code`` there
    (``# noqa: F821``, a list naming it, or a bare ``# noqa``)."""
    if "noqa" not in source.lower():
        return set()
    out = set()
    for line, _col, text, _line_text in _comments(source):
        for m in _NOQA.finditer(text):
            codes = m.group("codes")
            if not codes or code.upper() in (c.upper() for c in _ITEM_SPLIT.split(codes) if c):
                out.add(line)
    return out


def _silenced(d: Diagnostic, directives) -> bool:
    hit = False
    for directive in directives:
        for entry in directive.entries:
            if _matches(entry, d.code):
                directive.used.add(entry)
                hit = True
    return hit


def apply_suppressions(diags, supp: Suppressions, path: str, enabled) -> list:
    """Drop the suppressed diagnostics; add SHP003 for entries that silenced nothing.

    ``enabled(code)`` says whether a code is reported for this file (select, ignore, per-file
    ignores); an entry whose codes are all disabled, or that names no known code, is not reported
    as unused: nothing could have reached it.
    """
    if supp.empty:
        return list(diags)
    kept = []
    for d in diags:
        if d.code in ("SHP900", "reveal"):
            kept.append(d)
            continue
        on_line = _silenced(d, supp.by_line.get(d.line, ()))
        in_file = _silenced(d, supp.file_level)
        if not (on_line or in_file):
            kept.append(d)
    if enabled("SHP003"):
        directives = [x for ds in supp.by_line.values() for x in ds] + list(supp.file_level)
        for directive in sorted(directives, key=lambda x: (x.line, x.column)):
            fix = None
            for entry in directive.entries:
                if entry in directive.used:
                    continue
                codes = [c for c in CODES if _matches(entry, c) and c not in ("SHP003", "SHP900")]
                if not any(enabled(c) for c in codes):
                    continue
                shown = "every code" if entry == ALL else entry
                where = "in this file" if directive.kind == "ignore-file" else "on this line"
                fix = fix or directive.fix()  # one fix per directive, shared by its entries
                kept.append(Diagnostic(
                    path, directive.line, directive.column, "SHP003",
                    f"Unused suppression of {shown}: nothing {where} reports it",
                    severity=CODES["SHP003"].severity, end_line=directive.line, end_column=directive.end,
                    fix=fix,
                ))
        # a suppression that names SHP003 itself still applies to these
        kept = [d for d in kept if d.code != "SHP003" or not any(
            e != ALL and _matches(e, "SHP003") for x in supp.by_line.get(d.line, ()) for e in x.entries)]
    return kept


