"""Applying the fixes that diagnostics carry, and writing files back atomically.

An :class:`~shapecheck._core._diag.Edit` replaces the text from (line, column) to (end_line,
end_column); lines are 1-based and columns are 1-based character offsets within the line, the end
exclusive. Fixes are applied together when they do not overlap; an overlapping one waits for the
next round (the CLI re-lints after each round).
"""

from __future__ import annotations

import errno
import os
import re
import tempfile

__all__ = ["apply_fixes", "write_atomic", "fixable"]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def fixable(d, unsafe: bool) -> bool:
    return d.fix is not None and bool(d.fix.edits) and (d.fix.safe or unsafe)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for m in _LINE.finditer(text):
        if m.end() > starts[-1]:
            starts.append(m.end())
    return starts


def _offset(starts: list[int], text: str, line: int, column: int) -> int | None:
    if line < 1 or column < 1:
        return None
    if line > len(starts) - 1:
        # one past the last line is allowed at column 1 (appending to the file)
        return len(text) if line == len(starts) and column == 1 else None
    start, end = starts[line - 1], starts[line]
    body = text[start:end].rstrip("\r\n")
    if column - 1 > len(body):
        return None
    return start + column - 1


def apply_fixes(text: str, diags, unsafe: bool = False, applied: list | None = None) -> tuple[str, int]:
    """``text`` with the applicable, non-overlapping fixes applied, and how many diagnostics they fix.

    When ``applied`` is a list, the diagnostics the applied fixes resolve are appended to it.
    """
    starts = _line_starts(text)
    planned = []  # (start, end, replacement) for every edit of accepted fixes
    count = 0
    users: dict = {}  # a fix shared by several diagnostics resolves all of them
    for d in diags:
        if fixable(d, unsafe):
            users.setdefault(id(d.fix), []).append(d)
    seen = set()
    for d in sorted(diags, key=lambda x: x.sort_key()):
        if not fixable(d, unsafe) or id(d.fix) in seen:
            continue
        seen.add(id(d.fix))
        spans = []
        for e in d.fix.edits:
            a = _offset(starts, text, e.line, e.column)
            b = _offset(starts, text, e.end_line, e.end_column)
            if a is None or b is None or b < a:
                spans = None
                break
            spans.append((a, b, e.text))
        if not spans:
            continue
        if any(a < pb and pa < b or (a == b == pa == pb) for a, b, _ in spans for pa, pb, _ in planned):
            continue
        planned.extend(spans)
        count += len(users[id(d.fix)])
        if applied is not None:
            applied.extend(users[id(d.fix)])
    for a, b, t in sorted(planned, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:a] + t + text[b:]
    return text, count


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` through a temporary file in the same directory.

    A file whose mode has no write bit is read-only by the owner's choice (a vendored file, a
    version-control checkout not opened for edit): it raises PermissionError rather than being
    replaced, which renaming over it would otherwise do (and would do for root in any case).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not mode & 0o222:
        raise PermissionError(errno.EACCES, "the file is read-only", path)
    replace_file(path, data, keep_mode=True)


def replace_file(path: str, data: bytes, prefix: str = ".shapecheck-", keep_mode: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``: a reader sees
    the old file or the new one, whole, and the temporary file is gone if anything fails. With
    ``keep_mode`` the new file takes the permission bits of the one it replaces."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if keep_mode:
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
