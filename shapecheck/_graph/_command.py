"""The ``graph`` subcommand: ``shapecheck graph PATH[::QUALNAME] [-o FILE] [--format F] [--depth N]``.

Exit status: 0 the diagram was written (diagnostics are drawn in it, not counted), 2 an error: a
missing or unreadable file, a syntax error (SHP901), an unknown QUALNAME (the candidates listed),
svg/png without the ``dot`` program.
"""

from __future__ import annotations

import os
import sys

from .._lint._fixes import replace_file

__all__ = ["add_subparsers"]

FORMATS = ("mermaid", "dot", "svg", "png")


def add_subparsers(sub) -> None:
    g = sub.add_parser("graph", help="draw a function's or a module's tensor dataflow with its shapes")
    g.add_argument("target", metavar="PATH[::QUALNAME]",
                   help="a Python file, optionally `::Block`, `::GPT.forward` or `::function`")
    g.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    g.add_argument("--format", choices=FORMATS,
                   help="mermaid (default on stdout), dot, svg or png (default: from FILE's extension)")
    g.add_argument("--depth", type=int, default=0, metavar="N",
                   help="expand calls into the file's own modules and functions N levels deep (default: 0)")
    g.set_defaults(run=run)


class GraphError(Exception):
    pass


def run(args) -> int:
    try:
        return _run(args)
    except GraphError as e:
        print(f"shapecheck: error: {e}", file=sys.stderr)
        return 2


def _format(args) -> str:
    if args.format:
        return args.format
    if args.output:
        ext = os.path.splitext(args.output)[1].lower().lstrip(".")
        return {"gv": "dot", "mmd": "mermaid", "md": "mermaid"}.get(ext, ext if ext in FORMATS else "dot")
    return "mermaid"


def _run(args) -> int:
    from .._lint._runner import SkipFile, decode_source
    from ._dataflow import build_graph
    from ._record import analyse, candidates, module_info, resolve, targets
    from ._render import RenderError, to_dot, to_image, to_mermaid

    path, _, qualname = args.target.partition("::")
    if args.depth < 0:
        raise GraphError("--depth must be 0 or more")
    fmt = _format(args)
    if fmt == "png" and not args.output:
        raise GraphError("png is binary: give a file with -o FILE")
    if not os.path.exists(path):
        raise GraphError(f"{path}: no such file")
    if os.path.isdir(path):
        raise GraphError(f"{path}: is a folder; give one Python file")
    try:
        with open(path, "rb") as f:
            source, _ = decode_source(f.read())
    except OSError as e:
        raise GraphError(f"{path}: cannot read: {e.strerror}") from None
    except SkipFile as e:
        print(f"{path}:{e.line}:{e.column}: SHP901 [file-skipped] {e.message}", file=sys.stderr)
        return 2
    try:
        info = module_info(path, source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        msg = (getattr(e, "msg", None) or str(e) or "invalid syntax").rstrip(".")
        line, col = getattr(e, "lineno", None) or 1, max(getattr(e, "offset", None) or 1, 1)
        print(f"{path}:{line}:{col}: SHP901 [file-skipped] Skipped: syntax error: {msg}", file=sys.stderr)
        return 2
    if qualname:
        found = resolve(info, qualname)
        if found is None:
            names = candidates(info)
            listed = ", ".join(names) if names else "none: the file defines no function or module"
            raise GraphError(f"{path} has no `{qualname}`; the candidates: {listed}")
        chosen = [found]
    else:
        chosen = list(targets(info).values())
        if not chosen:
            raise GraphError(f"{path}: no module with a forward and no function with tensor annotations to draw")
    graphs = []
    for i, (fn, cls) in enumerate(chosen):
        an = analyse(info, fn, cls, depth=args.depth)
        graphs.append(build_graph(an, source, prefix=f"f{i}_" if len(chosen) > 1 else ""))
    if fmt == "mermaid":
        data = to_mermaid(graphs).encode()
    else:
        data = to_dot(graphs).encode()
        if fmt in ("svg", "png"):
            try:
                data = to_image(data.decode(), fmt)
            except RenderError as e:
                raise GraphError(str(e)) from None
    if args.output:
        _write(args.output, data)
    else:
        sys.stdout.buffer.write(data) if hasattr(sys.stdout, "buffer") else sys.stdout.write(data.decode())
        sys.stdout.flush()
    return 0


def _write(path: str, data: bytes) -> None:
    """Atomically: a temporary file beside the target, then renamed over it."""
    try:
        replace_file(path, data, prefix=".shapecheck-graph-")
    except OSError as e:
        raise GraphError(f"{path}: cannot write: {e.strerror}") from None
