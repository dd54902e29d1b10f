"""Seed realistic shape bugs into real model code, one at a time, and count how many the linter sees.

Usage::

    python bench/mutants.py [PATH ...] [--max-per-kind N] [--show]

``--max-per-kind`` caps the mutants of each kind in each repository (default 10), so that one large
repository does not fill the sample.

PATH is a repository (directory) or a file; without PATH, every directory under
``$SHAPECHECK_REALCODE`` (default ``/work/realcode``, fetched public code that is never committed).
Each mutator is a textual edit that turns correct attention/convolution code into a classic bug:

* ``untransposed-key``: ``q @ k.transpose(-2, -1)`` -> ``q @ k``
* ``softmax-axis``: a softmax over ``dim=-1`` of attention scores -> ``dim=1``
* ``merge-heads``: ``y.transpose(1, 2).contiguous().view(...)`` -> ``y.contiguous().view(...)``
* ``cat-axis``: ``torch.cat([...], dim=1)`` in a file with ``Conv2d`` -> ``dim=2``
* ``permute-swap``: ``permute(0, 3, 1, 2)`` -> ``permute(0, 3, 2, 1)``

Each mutant file is linted alone (``--no-cache --isolated``) and compared with the unmutated file:
a mutant is *seen* when a new diagnostic appears within two lines of the edit. A mutant is not
always a bug (a key may already be transposed), so the figure is a lower bound on what a reader would
call recall, not recall itself. Nothing is asserted: this is a measurement.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path(os.environ.get("SHAPECHECK_REALCODE", "/work/realcode"))
_SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", "build", "dist", "tests", "test", "docs"}
_SCORE_NAMES = r"(?:att|attn|attention|attn_weights|attention_scores|attention_probs|scores|dots|sim|weights|qk|w)"

# (kind, compiled pattern, replacement, applies to this file's text?)
def _always(text: str) -> bool:
    return True


MUTATORS = [
    ("untransposed-key",
     re.compile(r"(@\s*|matmul\([^,()]+,\s*)(\w+)\.transpose\((?:-2,\s*-1|-1,\s*-2|2,\s*3)\)"),
     r"\1\2", _always),
    ("softmax-axis", re.compile(rf"(softmax\(\s*{_SCORE_NAMES}(?:\.float\(\))?,\s*dim\s*=\s*)-1"),
     r"\g<1>1", _always),
    ("softmax-axis", re.compile(rf"(\b{_SCORE_NAMES}\.softmax\(\s*(?:dim\s*=\s*)?)-1\)"), r"\g<1>1)", _always),
    ("merge-heads", re.compile(r"\.transpose\(1,\s*2\)(\.contiguous\(\)\.(?:view|reshape)\()"), r"\1", _always),
    ("cat-axis", re.compile(r"(torch\.cat\(\s*[\[(][^\])]*[\])],\s*dim\s*=\s*)1\)"), r"\g<1>2)",
     lambda text: "Conv2d" in text),
    ("permute-swap", re.compile(r"permute\(0,\s*3,\s*1,\s*2\)"), "permute(0, 3, 2, 1)", _always),
]


def python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix == ".py" else []
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return out


def lint(path: Path) -> list[dict] | None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache",
                           "--isolated", "--exit-zero", str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None


def mutants(text: str):
    """(kind, 1-based line, mutated text) for every site of every mutator."""
    for kind, pattern, repl, applies in MUTATORS:
        if not applies(text):
            continue
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield kind, line, text[: m.start()] + m.expand(repl) + text[m.end():]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--max-per-kind", type=int, default=10, help="mutants per kind and repository (default 10)")
    ap.add_argument("--show", action="store_true", help="list every mutant and what was reported")
    args = ap.parse_args(argv)
    if args.paths:
        paths = args.paths
    elif DEFAULT_DIR.is_dir():
        paths = sorted(p for p in DEFAULT_DIR.iterdir() if p.is_dir())
    else:
        print(f"no code: pass paths, or put repositories under {DEFAULT_DIR}", file=sys.stderr)
        return 2

    made = collections.Counter()
    seen = collections.Counter()
    noisy = collections.Counter()  # new diagnostics away from the edit
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shapecheck-mutants-") as tmp:
        for repo in paths:
            in_repo = collections.Counter()
            for f in python_files(repo):
                try:
                    text = f.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                sites = [m for m in mutants(text) if in_repo[m[0]] < args.max_per_kind]
                if not sites:
                    continue
                base = lint(f)
                if base is None:
                    continue
                base_keys = collections.Counter((d["code"], d["message"]) for d in base)
                for kind, line, mutated in sites:
                    if in_repo[kind] >= args.max_per_kind:
                        continue
                    target = Path(tmp) / f.name
                    target.write_text(mutated, encoding="utf-8")
                    diags = lint(target)
                    if diags is None:
                        continue
                    made[kind] += 1
                    in_repo[kind] += 1
                    remaining = base_keys.copy()
                    new = []
                    for d in diags:
                        key = (d["code"], d["message"])
                        if remaining[key] > 0:
                            remaining[key] -= 1
                        else:
                            new.append(d)
                    near = [d for d in new if abs(d["line"] - line) <= 2]
                    seen[kind] += bool(near)
                    noisy[kind] += bool(new) and not near
                    rows.append((kind, f"{f.relative_to(repo.parent) if repo.is_dir() else f}:{line}", near or new))
    wall = time.perf_counter() - start

    print(f"mutants of real code ({len(paths)} paths, {wall:.0f} s)")
    print(f"{'mutator':<18} {'mutants':>8} {'seen':>6} {'seen %':>7} {'elsewhere':>10}")
    for kind in sorted(made):
        pct = 100.0 * seen[kind] / made[kind] if made[kind] else 0.0
        print(f"{kind:<18} {made[kind]:>8} {seen[kind]:>6} {pct:>6.0f}% {noisy[kind]:>10}")
    total, total_seen = sum(made.values()), sum(seen.values())
    pct = 100.0 * total_seen / total if total else 0.0
    print(f"{'total':<18} {total:>8} {total_seen:>6} {pct:>6.0f}% {sum(noisy.values()):>10}")
    if args.show:
        print()
        for kind, where, diags in rows:
            what = "; ".join(f"{d['line']} {d['code']} {d['message'][:80]}" for d in diags) or "-"
            print(f"[{kind}] {where}: {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
