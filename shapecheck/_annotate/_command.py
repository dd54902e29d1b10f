"""The ``trace`` and ``annotate`` subcommands: their arguments and what they do.

Exit status of ``trace``: the command's own (a signal N gives 128+N), 2 when it could not be run.
Exit status of ``annotate``: 0 done, 1 findings (a recorded call contradicts an annotation that is
there), 2 errors (a bad shapes file, a file changed since the run, a file that cannot be parsed).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import os
import sys

from . import _shapesfile
from ._shapesfile import ShapesFileError
from .._lint._fixes import write_atomic

__all__ = ["add_subparsers", "annotate_files", "AnnotateResult"]


def add_subparsers(sub) -> None:
    t = sub.add_parser("trace", help="run a Python command and record the shapes its functions see")
    t.add_argument("-o", "--output", metavar="FILE", default=_shapesfile.DEFAULT_PATH,
                   help=f"the shapes file to write (default: {_shapesfile.DEFAULT_PATH})")
    t.add_argument("--max-calls", type=int, default=10, metavar="N",
                   help="distinct calls recorded per function (default: 10)")
    t.add_argument("--root", metavar="DIR", help="the project's folder: its files are recorded (default: .)")
    t.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                   help="python script.py ARGS, python -m module ARGS, or python -c CODE")
    t.set_defaults(run=_run_trace)
    a = sub.add_parser("annotate", help="write recorded shapes into the source as jaxtyping annotations")
    a.add_argument("paths", nargs="*", metavar="PATH", help="only these files or folders (default: all recorded)")
    a.add_argument("--shapes", metavar="FILE", default=_shapesfile.DEFAULT_PATH,
                   help=f"the shapes file (default: {_shapesfile.DEFAULT_PATH})")
    mode = a.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff (the default)")
    mode.add_argument("--write", action="store_true", help="write the annotations into the files")
    a.set_defaults(run=_run_annotate)


def _run_trace(args) -> int:
    from ._trace import TraceError, trace

    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    try:
        return trace(cmd, args.output, args.max_calls, args.root)
    except TraceError as e:
        print(f"shapecheck: error: {e}", file=sys.stderr)
        return 2


class AnnotateResult:
    def __init__(self):
        self.diffs: list[str] = []
        self.written: list[str] = []
        self.findings: list[str] = []
        self.errors: list[str] = []
        self.plans: dict = {}  # path -> plans
        self.new_text: dict = {}  # path -> annotated source


def _selected(rel_abs: str, paths) -> bool:
    if not paths:
        return True
    for p in paths:
        p = os.path.realpath(p)
        if rel_abs == p or rel_abs.startswith(p.rstrip(os.sep) + os.sep):
            return True
    return False


def annotate_files(shapes_path: str, paths=(), write: bool = False) -> AnnotateResult:
    from ._naming import plan_project
    from ._static import analyse
    from ._writer import WriterError, apply_plans

    data = _shapesfile.load(shapes_path)
    root = data.get("root")
    if not isinstance(root, str):
        root = os.path.dirname(os.path.dirname(os.path.abspath(shapes_path)))
    res = AnnotateResult()
    for p in paths:
        if not os.path.exists(p):
            res.errors.append(f"no such file or folder: {p}")
    inputs, sources, trees = {}, {}, {}
    for rel, entry in data["files"].items():
        path = os.path.join(root, *rel.split("/"))
        real = os.path.realpath(path)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            res.errors.append(f"{rel}: cannot read it ({e.strerror or e})")
            continue
        if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
            if _selected(real, paths):
                res.errors.append(f"{rel} changed since the run recorded in {shapes_path}; not annotated "
                                  "(record the run again with `shapecheck trace`)")
            continue
        try:
            text = raw.decode("utf-8")
            tree = ast.parse(text, path)
        except (UnicodeDecodeError, SyntaxError, ValueError) as e:
            res.errors.append(f"{rel}: cannot parse it ({e})")
            continue
        inputs[rel] = (entry["functions"], analyse(tree))
        sources[rel], trees[rel] = text, tree
    plans = plan_project(inputs)  # all files: names agree across the project
    for rel, file_plans in plans.items():
        path = os.path.join(root, *rel.split("/"))
        if not _selected(os.path.realpath(path), paths):
            continue
        res.plans[rel] = file_plans
        for plan in file_plans:
            res.findings.extend(f"{rel}:{f.line}: {f.message}" for f in plan.findings)
        try:
            new, conflicts = apply_plans(sources[rel], file_plans, trees[rel])
        except WriterError:  # libcst missing: the command says what to install
            raise
        except Exception as e:  # noqa: BLE001 - libcst may reject what ast accepted
            res.errors.append(f"{rel}: cannot rewrite it ({e.__class__.__name__}: {e})")
            continue
        if conflicts:
            res.errors.append(f"{rel}: not annotated: {', '.join(f'`{c}`' for c in conflicts)} already means "
                              "something else in this file")
            continue
        if new == sources[rel]:
            continue
        res.new_text[rel] = new
        display = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
        res.diffs.append("".join(difflib.unified_diff(sources[rel].splitlines(keepends=True),
                                                      new.splitlines(keepends=True),
                                                      fromfile=f"a/{display}", tofile=f"b/{display}")))
        if write:
            write_atomic(path, new.encode("utf-8"))  # the linter's writer: atomic, refuses read-only files
            res.written.append(display)
    return res


def _run_annotate(args) -> int:
    from ._writer import WriterError

    try:
        res = annotate_files(args.shapes, args.paths, write=args.write)
    except (ShapesFileError, WriterError) as e:
        print(f"shapecheck: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"shapecheck: error: {e.strerror or e}: {getattr(e, 'filename', '')}", file=sys.stderr)
        return 2
    if not args.write:
        sys.stdout.write("".join(res.diffs))
    for f in res.findings:
        print(f, file=sys.stderr)
    for e in res.errors:
        print(f"shapecheck: error: {e}", file=sys.stderr)
    if args.write:
        n = sum(len(p.params) + bool(p.returns) for plans in res.plans.values() for p in plans)
        files = len(res.written)
        print(f"shapecheck annotate: {n} annotation{'s' if n != 1 else ''} written in {files} "
              f"file{'s' if files != 1 else ''}", file=sys.stderr)
    if res.errors:
        return 2
    return 1 if res.findings else 0
