"""What a run says besides its diagnostics: the summary line, the ``--show-fixes`` listing and the
progress line on a terminal."""

from __future__ import annotations

import time
from collections import Counter

from .._core._diag import CODES

__all__ = ["Progress", "plural", "show_fixes", "summary"]


class Progress:
    """``checked N of M files`` on one self-erasing line of a terminal (stderr), at most ten times a
    second; the first and the last state are always drawn."""

    def __init__(self, stream, total: int, enabled: bool):
        self.stream, self.total, self.enabled = stream, total, enabled
        self.done = 0
        self.last = 0.0
        self.width = 0

    def __call__(self, n: int) -> None:
        if not self.enabled:
            return
        self.done += n
        now = time.monotonic()
        if self.width and self.done < self.total and now - self.last < 0.1:
            return
        self.last = now
        text = f"shapecheck: checked {self.done} of {self.total} files"
        pad = " " * max(0, self.width - len(text))
        self.width = len(text)
        try:
            self.stream.write("\r" + text + pad)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        if self.enabled and self.width:
            try:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.width = 0


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary(diags, counted, fixed_total, args, checked: int = 0) -> str:
    from ._fixes import fixable

    fixed = plural(fixed_total, "problem")
    files = f"{plural(checked, 'file')} checked"
    reveals = sum(d.code == "reveal" for d in diags)
    tail = f"; {plural(reveals, 'reveal note')}" if reveals else ""
    if not counted:
        text = f"Fixed {fixed}; all checks passed" if fixed_total else "All checks passed"
        return f"{text} ({files}){tail}"
    errors = sum(d.severity == "error" for d in counted)
    warnings = len(counted) - errors
    detail = ", ".join(x for x in (plural(errors, "error") if errors else "",
                                   plural(warnings, "warning") if warnings else "") if x)
    where = f" in {plural(len({d.path for d in counted}), 'file')} ({files})"
    if fixed_total:
        text = f"Fixed {fixed}, {len(counted)} remaining ({detail}){where}"
    else:
        text = f"Found {plural(len(counted), 'problem')} ({detail}){where}"
    n_fix = 0 if args.fix else sum(fixable(d, False) for d in counted)
    if n_fix:
        text += f"; {n_fix} fixable with `shapecheck check --fix`"
    return text + tail


def _table(by_file: dict) -> list[str]:
    out = []
    for display in sorted(by_file):
        out.append(f"- {display}:")
        for code, n in sorted(by_file[display].items(), key=lambda kv: (-kv[1], kv[0])):
            info = CODES.get(code.rstrip("*"))
            out.append(f"    {n} × {code} ({info.name if info else code.lower()})")
    return out


def show_fixes(counted, fixed: dict, args) -> str:
    """--show-fixes: the fixes applied (with --fix), then those still available, per file and code."""
    from ._fixes import fixable

    lines = []
    total = sum(sum(c.values()) for c in fixed.values())
    if total:
        lines += [f"Fixed {plural(total, 'problem')}:"] + _table(fixed)
    unsafe = args.unsafe_fixes
    available: dict = {}
    for d in counted:
        if fixable(d, True) and not (args.fix and fixable(d, unsafe)):
            available.setdefault(d.path, Counter())[d.code if d.fix.safe or unsafe else f"{d.code}*"] += 1
    if available:
        n = sum(sum(c.values()) for c in available.values())
        star = any(c.endswith("*") for counts in available.values() for c in counts)
        lines += [f"{n} {'fix' if n == 1 else 'fixes'} available with `shapecheck check --fix`"
                  + (" (* marks an unsafe one, which needs --unsafe-fixes as well):" if star else ":")]
        lines += _table(available)
    if not lines:
        lines = ["No fixes applied or available"]
    return "\n".join(lines) + "\n"
