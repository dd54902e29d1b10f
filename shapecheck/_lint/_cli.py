"""The ``shapecheck`` command line: the parser, the dispatch to each command, and ``explain`` (alias
``rule``) and ``rules``; ``check`` itself is ``_check``, ``trace``/``annotate``/``graph`` their packages.

Exit status: 0 nothing found, 1 findings (errors or warnings, skipped files included; notes such as
``reveal`` do not count), 2 usage, configuration or internal error, or a path that does not exist
(reported as SHP902, after every other path was checked). An internal error always wins over
findings, so a crash never passes for a lint result.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys

from .. import __version__
from .._core._diag import CODES
from ._check import UsageError, check as _check
from ._config import ConfigError, load_codes
from ._files import PathError
from ._output import FORMATS, write

__all__ = ["main"]

COMMANDS = ("check", "explain", "rule", "rules", "trace", "annotate", "graph")
TOP_FLAGS = ("-h", "--help", "-V", "--version")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shapecheck",
                                description="Find tensor shape and axis-order bugs in PyTorch code")
    p.add_argument("-V", "--version", action="version", version=f"shapecheck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="check files and directories (the default command)")
    c.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .); `-` reads stdin")
    sel = c.add_argument_group("rule selection (codes, code prefixes or rule names, comma separated)")
    sel.add_argument("--select", action="append", metavar="CODES", help="report only these codes")
    sel.add_argument("--extend-select", action="append", metavar="CODES", help="add to the selected codes")
    sel.add_argument("--ignore", action="append", metavar="CODES", help="do not report these codes")
    sel.add_argument("--extend-ignore", action="append", metavar="CODES",
                     help="do not report these codes either (as the config key)")
    sel.add_argument("--per-file-ignores", action="append", metavar="PATTERN:CODES",
                     help="ignore codes in files matching PATTERN (replaces the config's table)")
    sel.add_argument("--extend-per-file-ignores", action="append", metavar="PATTERN:CODES",
                     help="like --per-file-ignores, added to the config's table")
    out = c.add_argument_group("output")
    out.add_argument("--output-format", "--format", dest="output_format", choices=FORMATS,
                     help="full (default on a terminal), concise (default otherwise), json, sarif, github")
    out.add_argument("-o", "--output-file", metavar="FILE", help="write the report to FILE")
    out.add_argument("--statistics", action="store_true", help="count diagnostics per code instead")
    out.add_argument("--show-fixes", action="store_true",
                     help="list the fixes applied (with --fix) or available, per file and code")
    out.add_argument("-q", "--quiet", action="store_true", help="print diagnostics only, no summary")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    fx = c.add_argument_group("fixes")
    fx.add_argument("--fix", action="store_true", help="apply safe fixes to the files")
    fx.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff, apply unsafe fixes too")
    fx.add_argument("--diff", action="store_true", help="print the fixes as a diff instead of writing them")
    fx.add_argument("--add-noqa", action="store_true",
                    help="add `# noqa: CODE` to every line with a finding, keeping existing comments")
    cf = c.add_argument_group("configuration")
    cf.add_argument("--config", metavar="FILE", help="read settings from FILE instead of the nearest pyproject.toml")
    cf.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    cf.add_argument("--exclude", action="append", metavar="PATTERNS",
                    help="files and directories to leave out (replaces the config's and the default list)")
    cf.add_argument("--extend-exclude", action="append", metavar="PATTERNS",
                    help="files and directories to leave out as well")
    cf.add_argument("--force-exclude", action="store_true", help="apply exclude patterns to files named explicitly")
    cf.add_argument("--no-respect-gitignore", dest="respect_gitignore", action="store_false",
                    help="check files that .gitignore excludes")
    cf.add_argument("--stdin-filename", metavar="NAME", help="the name of the file read from stdin")
    rn = c.add_argument_group("running")
    rn.add_argument("-j", "--jobs", type=int, metavar="N", help="processes to use (default: all cores)")
    rn.add_argument("--no-cache", action="store_true", help="do not read or write .shapecheck_cache/")
    rn.add_argument("--shapes", metavar="FILE",
                    help="entry shapes recorded by `shapecheck trace` for functions left unannotated "
                         "(implies --no-cache)")
    rn.add_argument("-w", "--watch", action="store_true",
                    help="check again whenever a file changes (needs the watchfiles package: the watch extra)")
    rn.add_argument("--cache-dir", metavar="DIR", default=os.environ.get("SHAPECHECK_CACHE_DIR") or None,
                    help="where to keep the cache (default: .shapecheck_cache/ at the project root; "
                         "env SHAPECHECK_CACHE_DIR)")

    e = sub.add_parser("explain", help="show a rule's documentation")
    e.add_argument("rule", metavar="CODE|NAME")
    ru = sub.add_parser("rule", help="show a rule's documentation (as `explain`); --all shows every rule's")
    ru.add_argument("rule", nargs="?", metavar="CODE|NAME")
    ru.add_argument("--all", action="store_true", help="every rule, one after another")
    r = sub.add_parser("rules", help="list every code with its name")
    r.add_argument("--output-format", "--format", dest="output_format", choices=("text", "json"), default="text")
    from .._annotate._command import add_subparsers  # trace, annotate (docs/annotate.md)
    add_subparsers(sub)
    from .._graph._command import add_subparsers as add_graph  # graph (docs/graph.md)
    add_graph(sub)
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in TOP_FLAGS):
        argv.insert(0, "check")  # `check` is the default command
    try:
        args = _parser().parse_args(argv)
        if args.command == "explain":
            return _explain(args.rule)
        if args.command == "rule":
            return _rule(args)
        if args.command == "rules":
            return _rules(args.output_format)
        if args.command in ("trace", "annotate", "graph"):
            return args.run(args)
        if args.watch:
            return _watch(args)
        return _check(args)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    except (UsageError, ConfigError, PathError) as e:
        print(f"shapecheck: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shapecheck: interrupted", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a crash must never look like findings
        print(f"shapecheck: internal error: {e.__class__.__name__}: {e}\n"
              "please report it with the command line you ran", file=sys.stderr)
        return 2


def _watch(args) -> int:
    from ._watch import watch

    if args.paths == ["-"] or args.stdin_filename is not None:
        raise UsageError("--watch checks files: it cannot read stdin")
    if args.diff or args.add_noqa:
        raise UsageError("--watch cannot be combined with --diff or --add-noqa")
    return watch(args, _check)


def _lookup(rule: str):
    load_codes()
    key = rule.strip()
    if key.upper() in CODES:
        return CODES[key.upper()]
    for info in CODES.values():
        if info.name == key.lower():
            return info
    return None


def _explain(rule: str) -> int:
    info = _lookup(rule)
    if info is None:
        names = list(CODES) + [c.name for c in CODES.values()]
        close = difflib.get_close_matches(rule, names, n=1, cutoff=0.6)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        print(f"shapecheck: error: no rule `{rule}`{hint}; `shapecheck rules` lists them", file=sys.stderr)
        return 2
    lines = [f"{info.code} [{info.name}]", "", info.summary, "",
             f"Severity: {info.severity}. Family: {info.family}." + (" A fix is available." if info.fixable else "")]
    if info.doc.strip():
        lines += ["", info.doc.strip()]
    write(sys.stdout, "\n".join(lines) + "\n")
    return 0


def _rule(args) -> int:
    """``shapecheck rule CODE`` is ``explain CODE``; ``rule --all`` explains every code in turn."""
    if args.all == (args.rule is not None):
        raise UsageError("`shapecheck rule` takes a code or rule name, or --all")
    if args.rule is not None:
        return _explain(args.rule)
    load_codes()
    status = 0
    for i, code in enumerate(sorted(CODES)):
        if i:
            write(sys.stdout, "\n" + "-" * 72 + "\n\n")
        status = max(status, _explain(code))
    return status


def _rules(fmt: str) -> int:
    load_codes()
    codes = sorted(CODES.values(), key=lambda c: c.code)
    if fmt == "json":
        data = [{"code": c.code, "name": c.name, "summary": c.summary, "severity": c.severity,
                 "family": c.family, "fixable": c.fixable} for c in codes]
        write(sys.stdout, json.dumps(data, indent=2) + "\n")
    else:
        width = max((len(c.name) for c in codes), default=0)
        write(sys.stdout, "".join(f"{c.code}  {c.name:<{width}}  {c.summary}\n" for c in codes))
    return 0
