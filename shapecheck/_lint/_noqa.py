"""``shapecheck check --add-noqa``: a ``# noqa: CODES`` comment on every line with a finding.

This is how a team adopts a linter on a large repository: today's findings are marked, and from
then on only new ones are reported. Comments a line already has are kept (a ``# noqa: X`` list
gets the new codes merged in); a line that cannot end in a comment is left alone and named. Each
file is written atomically (:func:`shapecheck._lint._fixes.write_atomic`).
"""

from __future__ import annotations

import ast
import re
import sys
import tokenize

from ._fixes import write_atomic
from ._suppress import _ITEM_SPLIT, _NOQA, _matches, parse_suppressions

__all__ = ["add_noqa", "add_noqa_to_files"]

_PHYSICAL = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_NO_PLACE = "no comment can be placed on it"


def _physical_lines(source: str) -> list[str]:
    return _PHYSICAL.findall(source)


def _ending(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _with_codes(body: str, comment_col: int | None, codes: list) -> str:
    """``body`` (a line without its ending) with ``codes`` in a ``# noqa`` comment at its end."""
    if comment_col is not None:
        comment = body[comment_col:]
        for m in _NOQA.finditer(comment):
            if not m.group("codes"):
                continue  # a bare noqa belongs to other tools: leave it as it is
            have = {c.upper() for c in _ITEM_SPLIT.split(m.group("codes")) if c}
            new = [c for c in codes if c.upper() not in have]
            if not new:
                return body
            at = comment_col + m.end("codes")
            return body[:at] + ", " + ", ".join(new) + body[at:]
    return body.rstrip() + "  # noqa: " + ", ".join(codes)


def _layout(lines: list[str]):
    """Which lines can end in a comment, where their comments start, and why the others cannot."""
    ends, comments, in_string = set(), {}, {}
    source_lines = iter(lines)
    try:
        for tok in tokenize.generate_tokens(lambda: next(source_lines, "")):
            if tok.type in (tokenize.NEWLINE, tokenize.NL):
                ends.add(tok.start[0])
            elif tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.start[1]
            if tok.end[0] > tok.start[0] and tok.type not in (tokenize.NEWLINE, tokenize.NL):
                for row in range(tok.start[0], tok.end[0]):
                    in_string[row] = True
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return ends, comments, in_string


def add_noqa(source: str, wanted: dict) -> tuple[str, dict, dict]:
    """``source`` with ``# noqa: CODES`` on each line of ``wanted`` ({line: codes}).

    A line's existing comment is kept: a ``# noqa: X`` list gets the new codes merged in, any other
    comment (``# type: ignore``, a bare ``# noqa``, prose) is followed by a new ``# noqa: CODES``.
    A line that cannot end in a comment (it ends inside a multi-line string, or continues with a
    backslash) is left alone. Returns the new source, {line: codes added} and {line: why not}.
    """
    lines = _physical_lines(source)
    layout = _layout(lines)
    if layout is None:
        return source, {}, {line: "the file cannot be tokenized" for line in wanted}
    ends, comments, in_string = layout
    skipped: dict = {}
    edits: dict = {}
    for line, codes in sorted(wanted.items()):
        codes = sorted(set(codes))
        if not 1 <= line <= len(lines):
            skipped[line] = "the line is past the end of the file"
            continue
        body, end = _ending(lines[line - 1])
        if line not in ends:
            if in_string.get(line):
                skipped[line] = "it ends inside a multi-line string"
            elif body.rstrip().endswith("\\"):
                skipped[line] = "it continues with a backslash"
            else:
                skipped[line] = _NO_PLACE
            continue
        new_body = _with_codes(body, comments.get(line), codes)
        if new_body != body:
            edits[line] = (new_body + end, codes)
    for _ in range(2):  # check the result; a line that did not come out as meant is left alone
        new_lines = list(lines)
        for line, (text, _codes) in edits.items():
            new_lines[line - 1] = text
        new = "".join(new_lines)
        if not edits:
            return source, {}, skipped
        supp = parse_suppressions(new)
        bad = [line for line, (_t, codes) in edits.items()
               if not all(any(_matches(e, c) for x in supp.by_line.get(line, ()) for e in x.entries) for c in codes)]
        for line in bad:
            skipped[line] = _NO_PLACE
            del edits[line]
        if not bad:
            break
    if not edits:
        return source, {}, skipped
    try:
        ast.parse(new)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        try:
            ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass  # it did not parse before either: the comments changed nothing about that
        else:
            return source, {}, {**skipped, **{line: "the comment would break the file" for line in edits}}
    return new, {line: tuple(codes) for line, (_t, codes) in edits.items()}, skipped


def add_noqa_to_files(targets, diags, counted=("error", "warning"), skip=()) -> tuple[int, int, int, int]:
    """Add ``# noqa: CODES`` to every line with a finding in ``diags`` (of a severity in ``counted``,
    a code not in ``skip``), file by file, each written atomically; what cannot be done is said on
    stderr, and the other files go on.

    Returns (lines given a comment, files written, findings left without a comment, files that
    could not be read or written).
    """
    from ._runner import SkipFile, decode_source

    where = {t.display: t.path for t in targets}
    wanted: dict = {}
    left = 0
    for d in diags:
        if d.severity not in counted:
            continue
        if d.code in skip or d.path not in where:
            left += d.code == "SHP901"  # a skipped file: the next run reports it again
            continue
        wanted.setdefault(d.path, {}).setdefault(d.line, set()).add(d.code)
    added = files = errors = 0
    for display in sorted(wanted):
        path = where[display]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            text, encoding = decode_source(data)
        except (OSError, SkipFile) as e:
            why = e.message if isinstance(e, SkipFile) else (e.strerror or str(e))
            print(f"shapecheck: error: {display}: cannot add noqa comments: {why}", file=sys.stderr)
            errors += 1
            continue
        new, done, skipped = add_noqa(text, wanted[display])
        for line, why in sorted(skipped.items()):
            codes = ", ".join(sorted(wanted[display][line]))
            print(f"{display}:{line}: could not add `# noqa: {codes}`: {why}; suppress it by hand or with "
                  "per-file-ignores", file=sys.stderr)
            left += len(wanted[display][line])
        if new == text:
            continue
        try:
            write_atomic(path, new.encode(encoding))
        except (OSError, UnicodeEncodeError) as e:
            why = (e.strerror or str(e)) if isinstance(e, OSError) else str(e)
            print(f"shapecheck: error: {display}: cannot write the noqa comments: {why}", file=sys.stderr)
            errors += 1
            continue
        added += len(done)
        files += 1
    return added, files, left, errors
