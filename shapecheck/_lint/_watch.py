"""``shapecheck check --watch``: check, then check again whenever a watched file changes.

File events come from the ``watchfiles`` package (an optional extra: ``pip install
'shapecheck[watch]'``). Each re-run is an ordinary ``check``, so the cache makes it cost only the
files the change reaches. Ctrl-C ends the watch with status 0 and no traceback.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["watch"]

INSTALL = "pip install 'shapecheck[watch]'"
EXTENSIONS = (".pyi", ".toml", ".cfg")  # besides .py: stubs and the files settings come from


def watch(args, check) -> int:
    """Run ``check(args)`` now and after every change under ``args.paths``; 2 when watching is impossible."""
    try:
        import watchfiles
    except ImportError:
        print(f"shapecheck: error: --watch needs the watchfiles package; install it with: {INSTALL}",
              file=sys.stderr)
        return 2
    roots = [p for p in (args.paths or ["."]) if os.path.exists(p)] or ["."]
    try:
        _once(args, check, "Watching for file changes")
        for changes in watchfiles.watch(*roots, watch_filter=watchfiles.PythonFilter(extra_extensions=EXTENSIONS)):
            n = len({path for _, path in changes})
            _once(args, check, f"{n} file{'s' if n != 1 else ''} changed, checking again")
    except KeyboardInterrupt:
        pass
    return 0


def _once(args, check, why: str) -> None:
    if not args.quiet:
        print(f"[{time.strftime('%H:%M:%S')}] {why}", file=sys.stderr, flush=True)
    check(args)
    sys.stdout.flush()
