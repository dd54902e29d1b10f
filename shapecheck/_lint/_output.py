"""Output formats: full, concise, json, sarif, github; and the statistics table.

* ``full`` (default on a terminal): ``path:line:col: CODE [name] message``, the source line with a
  caret under the span, then ``note:`` and ``help:`` lines.
* ``concise`` (default otherwise): the header line alone.
* ``json``: an array of :meth:`Diagnostic.to_json` objects (1-based lines and columns).
* ``sarif``: SARIF 2.1.0 with every rule's metadata, for code-scanning services.
* ``github``: GitHub Actions workflow commands (``::error file=...,line=...::message``).

Colour is used only on a terminal, and never when ``NO_COLOR`` is set.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from urllib.parse import quote

from .._core._diag import CODES

__all__ = ["FORMATS", "render", "render_statistics", "use_color", "Style"]

FORMATS = ("full", "concise", "json", "sarif", "github")
HUMAN = ("full", "concise")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/shapecheck/shapecheck"


def use_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Style:
    def __init__(self, color: bool):
        self.color = color

    def _w(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def bold(self, t):
        return self._w("1", t)

    def dim(self, t):
        return self._w("2", t)

    def severity(self, sev: str, t: str) -> str:
        return self._w({"error": "1;31", "warning": "1;33"}.get(sev, "1;36"), t)

    def accent(self, t):
        return self._w("1;34", t)


def _header(d, style: Style) -> str:
    loc = style.bold(f"{d.path}:{d.line}:{d.column}:")
    code = style.severity(d.severity, d.code)
    return f"{loc} {code} [{d.name}] {d.message}"


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _frame(d, lines, style: Style) -> list[str]:
    if d.code == "SHP900" or not lines or not (1 <= d.line <= len(lines)):
        return []
    text = lines[d.line - 1]
    shown = text.replace("\t", "    ")
    prefix = text[: max(d.column - 1, 0)].replace("\t", "    ")
    width = 1
    if d.end_line == d.line and d.end_column and d.end_column > d.column:
        width = len(text[d.column - 1: d.end_column - 1].replace("\t", "    "))
    elif d.end_line and d.end_line > d.line:
        width = max(1, len(shown) - len(prefix))
    num = str(d.line)
    pad = " " * len(num)
    return [
        f"  {style.accent(num)} {style.accent('|')} {shown}",
        f"  {pad} {style.accent('|')} {' ' * len(prefix)}{style.severity(d.severity, '^' * width)}",
    ]


def _full(diags, sources, style: Style) -> str:
    out = []
    for d in diags:
        out.append(_header(d, style))
        out.extend(_frame(d, sources(d.path), style))
        for n in d.notes:
            out.append(f"  {style.bold('note:')} {n}")
        if d.help:
            out.append(f"  {style.bold('help:')} {d.help}")
        if d.fix is not None:
            tag = "" if d.fix.safe else " (unsafe: needs --unsafe-fixes)"
            out.append(f"  {style.bold('fix:')} {d.fix.message}{tag}")
        out.append("")
    return "\n".join(out)


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def _github(diags) -> str:
    out = []
    for d in diags:
        kind = {"error": "error", "warning": "warning"}.get(d.severity, "notice")
        props = [f"file={_gh_escape(d.path, True)}", f"line={d.line}", f"col={d.column}"]
        if d.end_line:
            props += [f"endLine={d.end_line}", f"endColumn={d.end_column}"]
        props.append(f"title={_gh_escape(f'{d.code} [{d.name}]', True)}")
        body = d.message + "".join(f"\nnote: {n}" for n in d.notes) + (f"\nhelp: {d.help}" if d.help else "")
        out.append(f"::{kind} {','.join(props)}::{_gh_escape(body)}")
    return "\n".join(out) + ("\n" if out else "")


def _level(sev: str) -> str:
    return {"error": "error", "warning": "warning"}.get(sev, "note")


def _uri(path: str, root: str) -> tuple[str, bool]:
    ap = os.path.abspath(path)
    rel = os.path.relpath(ap, root)
    if rel.startswith(os.pardir):
        return "file://" + quote(ap.replace(os.sep, "/")), False
    return quote(rel.replace(os.sep, "/")), True


def _region(line, col, end_line, end_col) -> dict:
    r = {"startLine": max(line, 1), "startColumn": max(col, 1)}
    if end_line:
        r["endLine"] = max(end_line, r["startLine"])
        r["endColumn"] = max(end_col or 1, 1)
    return r


def _sarif(diags, root: str, version: str, successful: bool) -> str:
    rules, index = [], {}
    codes = sorted(set(CODES) | {d.code for d in diags})
    for code in codes:
        info = CODES.get(code)
        rule = {"id": code, "name": info.name if info else code.lower(),
                "shortDescription": {"text": info.summary if info else code},
                "defaultConfiguration": {"level": _level(info.severity if info else "note")},
                "properties": {"tags": [info.family if info else "reveal"]}}
        if info and info.doc:
            rule["fullDescription"] = {"text": info.doc.strip().splitlines()[0] if info.doc.strip() else info.summary}
            rule["help"] = {"text": info.doc.strip()}
        index[code] = len(rules)
        rules.append(rule)
    results = []
    for d in diags:
        uri, relative = _uri(d.path, root)
        loc = {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if relative else {})}
        text = d.message + "".join(f"\nnote: {n}" for n in d.notes) + (f"\nhelp: {d.help}" if d.help else "")
        res = {
            "ruleId": d.code, "ruleIndex": index[d.code], "level": _level(d.severity), "message": {"text": text},
            "locations": [{"physicalLocation": {
                "artifactLocation": loc, "region": _region(d.line, d.column, d.end_line, d.end_column)}}],
        }
        if d.fix is not None and d.fix.edits:
            res["fixes"] = [{
                "description": {"text": d.fix.message},
                "artifactChanges": [{"artifactLocation": loc, "replacements": [
                    {"deletedRegion": _region(e.line, e.column, e.end_line, e.end_column),
                     "insertedContent": {"text": e.text}} for e in d.fix.edits]}],
            }]
        results.append(res)
    root_uri = "file://" + quote(os.path.abspath(root).replace(os.sep, "/").rstrip("/") + "/")
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "shapecheck", "version": version, "semanticVersion": version,
                                "informationUri": INFO_URI, "rules": rules}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
            "invocations": [{"executionSuccessful": successful}],
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"


def render(fmt: str, diags, *, sources=lambda p: None, style: Style | None = None, root: str = ".",
           version: str = "", successful: bool = True) -> str:
    style = style or Style(False)
    if fmt == "full":
        return _full(diags, sources, style)
    if fmt == "concise":
        return "".join(_header(d, style) + "\n" for d in diags)
    if fmt == "json":
        return json.dumps([d.to_json() for d in diags], indent=2) + "\n"
    if fmt == "sarif":
        return _sarif(diags, root, version, successful)
    if fmt == "github":
        return _github(diags)
    raise ValueError(f"unknown output format {fmt!r}")


def render_statistics(fmt: str, diags) -> str:
    """Counts per code of the findings (notes such as ``reveal`` are not findings)."""
    diags = [d for d in diags if d.severity in ("error", "warning")]
    counts = Counter(d.code for d in diags)
    fixable = {d.code for d in diags if d.fix is not None}
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt in ("json", "sarif"):
        data = [{"code": c, "name": CODES[c].name if c in CODES else c.lower(), "count": n,
                 "fixable": c in fixable} for c, n in rows]
        return json.dumps(data, indent=2) + "\n"
    out = []
    for code, n in rows:
        name = CODES[code].name if code in CODES else code.lower()
        out.append(f"{n:>6}  {code:<7} {'[*]' if code in fixable else '   '} {name}")
    return "\n".join(out) + ("\n" if out else "")


def line_source(path: str, text: str | None = None):
    """The lines of a file for code frames (None when it cannot be read)."""
    if text is None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            from ._runner import decode_source

            text, _ = decode_source(data)
        except Exception:  # noqa: BLE001 - a frame is a courtesy
            return None
    return _NEWLINE.split(text)


def write(stream, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:  # `shapecheck check | head`: stop writing, and stay quiet at exit
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
