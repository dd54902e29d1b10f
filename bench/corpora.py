"""Build the real-code corpora of ``bench/corpora.txt`` on this machine, pinned to the measured commits.

Usage::

    python bench/corpora.py DEST [--corpus NAME ...] [--list]

For each repository of the chosen corpora (all of them by default) it clones the repository with
``git`` into a scratch directory, checks out the pinned commit and keeps only its Python sources under
``DEST/<corpus>/<owner>+<name>``: the ``.py`` files as they are, and each notebook's code cells as one
``.py`` file (shell and magic lines dropped), which is how notebook tutorials are linted. The fetched
code is never part of this repository. ``--list`` prints the corpora and exits.

The figures are then measured with, for example::

    python bench/mutants.py DEST/tuning/* DEST/tuning2/*      # tuning corpora: read their misses
    python bench/mutants.py DEST/heldout/*                    # held out: measure only
    python bench/realcode.py DEST/precision/*                 # triage every diagnostic

A repository that cannot be cloned or lacks its commit is reported and skipped; the exit status is 1
when any was skipped.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LIST = Path(__file__).resolve().with_name("corpora.txt")


def read_list(path: Path = LIST) -> list[tuple[str, str, str]]:
    """(corpus, owner/name, commit) for every entry of the list, in order."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            corpus, repo, commit = line.split()
            rows.append((corpus, repo, commit))
    return rows


# cell magics whose body is Python (timed, captured, profiled); any other (``%%bash``, ``%%writefile``) is not
_PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")
_SHELL_ASSIGNMENT = re.compile(r"^(\s*[\w.,\s]+?=\s*)!")


def notebook_source(raw: str) -> str:
    """The code cells of a notebook as one Python source: a shell or magic line (``!pip ...``,
    ``%matplotlib``) is dropped, or becomes ``pass`` where it is the body of a block, and a cell
    magic (``%%time``) line is dropped, with the lines a shell line continues onto (``\\`` at its end). A shell
    command's output assigned (``files = !ls``) is an empty list. A cell of another language (``%%bash``,
    ``%%writefile``) and a cell that is not Python on its own (pasted output) are left out."""
    cells = []
    for cell in json.loads(raw).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else str(src)
        first = text.lstrip().split(None, 1)[0] if text.strip() else ""
        if first.startswith("%%") and first not in _PYTHON_CELL_MAGICS:
            continue
        lines = []
        continued = False
        for line in text.splitlines():
            stripped = line.lstrip()
            if continued:  # ``!python export.py --weights w.pt \`` goes on here
                continued = line.rstrip().endswith("\\")
                continue
            shell = _SHELL_ASSIGNMENT.match(line)
            if shell is not None:
                continued = line.rstrip().endswith("\\")
                line = shell.group(1) + "[]"
            elif stripped.startswith(("!", "%")):
                continued = line.rstrip().endswith("\\")
                if stripped.startswith("%%") or line == stripped:
                    continue
                line = line[: len(line) - len(stripped)] + "pass"
            lines.append(line)
        code = "\n".join(lines)
        try:
            ast.parse(code)
        except (SyntaxError, ValueError):
            continue
        cells.append(code)
    return "\n\n".join(cells) + "\n"


def keep_sources(checkout: Path, dest: Path) -> int:
    """Copy the Python sources of ``checkout`` under ``dest``; the number of files written."""
    written = 0
    for f in sorted(checkout.rglob("*")):
        if ".git" in f.relative_to(checkout).parts or not f.is_file():
            continue
        rel = f.relative_to(checkout)
        if f.suffix == ".py":
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, out)
        elif f.suffix == ".ipynb":
            try:
                text = notebook_source(f.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError, AttributeError):
                continue
            stem = re.sub(r"[^A-Za-z0-9_]+", "_", f.stem)
            out = dest / rel.parent / f"nb_{stem}.py"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        else:
            continue
        written += 1
    return written


def build(repo: str, commit: str, dest: Path) -> str | None:
    """Clone ``repo`` at ``commit`` and keep its sources in ``dest``; an error message, or None."""
    with tempfile.TemporaryDirectory(prefix="shapecheck-corpus-") as tmp:
        checkout = Path(tmp) / "repo"
        steps = [["git", "clone", "--quiet", "--filter=blob:limit=1m", f"https://github.com/{repo}.git", str(checkout)],
                 ["git", "-C", str(checkout), "checkout", "--quiet", commit]]
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                return (proc.stderr.strip().splitlines() or [f"{cmd[1]} failed"])[-1]
        if dest.exists():
            shutil.rmtree(dest)
        keep_sources(checkout, dest)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", nargs="?", type=Path)
    ap.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the corpora and exit")
    args = ap.parse_args(argv)
    rows = read_list()
    known = sorted({c for c, _, _ in rows})
    unknown = [c for c in args.corpus or () if c not in known]
    if unknown:
        print(f"no such corpus: {', '.join(unknown)} (there are: {', '.join(known)})", file=sys.stderr)
        return 2
    rows = [r for r in rows if not args.corpus or r[0] in args.corpus]
    if args.list:
        for corpus, repo, commit in rows:
            print(f"{corpus:<10} {repo:<50} {commit}")
        return 0
    if args.dest is None:
        ap.error("DEST is required (or --list)")
    failed = 0
    for corpus, repo, commit in rows:
        dest = args.dest / corpus / repo.replace("/", "+")
        err = build(repo, commit, dest)
        if err:
            failed += 1
            print(f"skipped {repo}: {err}", file=sys.stderr)
        else:
            print(f"{corpus:<10} {repo} @ {commit[:10]} -> {dest}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
