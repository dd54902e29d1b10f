"""The ``check`` command: collect the files, analyse them (in parallel, through the cache), apply fixes,
add ``# noqa`` comments, and report.

Exit status: 0 nothing found, 1 findings (errors or warnings, skipped files included; notes such as
``reveal`` do not count), 2 usage, configuration or internal error, or a path that does not exist
(reported as SHP902, after every other path was checked). An internal error always wins over
findings, so a crash never passes for a lint result.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import sys
from collections import Counter

from .. import __version__
from .._core._diag import Diagnostic
from ._config import load_config
from ._files import PathError, TooManyFiles, collect_files, is_excluded
from ._output import HUMAN, Style, line_source, render, render_statistics, use_color, write
from ._summary import Progress, plural as _plural, show_fixes as _show_fixes, summary as _summary

NOT_LINTED = ("SHP900", "SHP901", "SHP902")  # no comment on a line can answer these
PROGRESS_MIN_FILES = 50  # fewer files than this: no progress line
COUNTED = ("error", "warning")


class UsageError(Exception):
    pass


def _split(values) -> list[str] | None:
    if values is None:
        return None
    out = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _engine_stamp(package: str | None = None) -> str:
    """Identifies the analysis code, so a development checkout never reuses stale results. It hashes
    the code's text, not where it is installed or when: CI jobs that each install the same shapecheck
    share one cache. ``package`` is another copy of the shapecheck package to stamp (its lint rules in
    its ``rules`` folder)."""
    here = package or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the shapecheck package
    dirs = [("shapecheck", here), *((".".join(("shapecheck",) + sub), os.path.join(here, *sub))
                                    for sub in (("_core",), ("_core", "_ops"), ("_engine",), ("_lint",)))]
    if package is not None:
        return code_digest(dirs + [("shapecheck.rules", os.path.join(here, "rules"))])
    try:
        import shapecheck.rules as rules_pkg  # noqa: F401 - its files count too, wherever they live

        dirs += [("shapecheck.rules", d) for d in getattr(rules_pkg, "__path__", [])]
    except Exception:  # noqa: BLE001
        dirs.append(("shapecheck.rules", os.path.join(here, "rules")))
    return code_digest(dirs)


def code_digest(dirs) -> str:
    """A digest of the ``.py`` files directly in each ``(name, directory)``, by name and content."""
    h = hashlib.blake2b(digest_size=8)
    for label, d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for n in names:
            if n.endswith(".py"):
                try:
                    with open(os.path.join(d, n), "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue
                h.update(f"{label}/{n}:{len(data)}:".encode())
                h.update(hashlib.blake2b(data, digest_size=16).digest())
    return h.hexdigest()


PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
MAX_PROJECT_FILES = 20000


def _project_files(targets, paths, settings, root, respect_gitignore) -> list[str]:
    """The files the project index holds: the checked files, and when the root is a Python project
    every file of it, so that checking a few files (a pre-commit run) still follows their imports
    into the rest of the project."""
    files = [t.path for t in targets]
    if any(os.path.abspath(p) == root for p in paths) or \
            not any(os.path.isfile(os.path.join(root, m)) for m in PROJECT_MARKERS):
        return files
    try:
        tree = collect_files([root], settings, root, respect_gitignore=respect_gitignore, limit=MAX_PROJECT_FILES)
    except (TooManyFiles, PathError):
        return files
    seen = set(files)
    return files + [t.path for t in tree if t.path not in seen]


def _build_project(files, root=None):
    try:
        from .._engine._project import Project
    except ImportError:
        return None, None
    try:
        return Project.from_files(files, root), None
    except Exception as e:  # noqa: BLE001
        return None, f"{e.__class__.__name__}: {e}"


def check(args) -> int:
    from ._runner import Job, fix_loop, SkipFile, decode_source, lint_text, skipped

    cwd = os.getcwd()
    paths = args.paths
    stdin_mode = paths == ["-"] or (args.stdin_filename is not None and not paths)
    if "-" in paths and not stdin_mode:
        raise UsageError("`-` (stdin) cannot be combined with other paths")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.unsafe_fixes and not (args.fix or args.diff):
        raise UsageError("--unsafe-fixes only makes sense with --fix or --diff")
    if args.add_noqa and (args.fix or args.diff):
        raise UsageError("--add-noqa cannot be combined with --fix or --diff (fix first, then add noqa comments)")
    if args.add_noqa and stdin_mode:
        raise UsageError("--add-noqa edits files: it cannot read stdin")
    start = args.stdin_filename if stdin_mode and args.stdin_filename else (paths[0] if paths else cwd)
    if not os.path.exists(start):
        start = os.path.dirname(os.path.abspath(start)) or cwd
        if not os.path.isdir(start):
            start = cwd
    config = load_config(start, args.config, args.isolated, select=_split(args.select),
                         ignore=_split(args.ignore), extend_select=_split(args.extend_select),
                         extend_ignore=_split(args.extend_ignore), per_file_ignores=_split(args.per_file_ignores),
                         extend_per_file_ignores=_split(args.extend_per_file_ignores),
                         exclude=_split(args.exclude), extend_exclude=_split(args.extend_exclude))
    settings = config.settings
    if args.shapes:
        entries = _entry_shapes(args.shapes)
        if isinstance(entries, str):
            print(f"shapecheck: error: --shapes {args.shapes}: {entries}", file=sys.stderr)
            return 2
        settings = dataclasses.replace(settings, entry_shapes=entries)
        args.no_cache = True  # the cache is keyed by the files, not by the recorded shapes
    fix_mode = "diff" if args.diff else ("apply" if args.fix else "")
    job = Job(settings=settings, root=config.root, fix=fix_mode, unsafe=args.unsafe_fixes)
    out_stream = sys.stdout
    fmt = args.output_format or ("full" if not args.output_file and _isatty(sys.stdout) else "concise")
    internal: list[str] = []
    fixed: dict = {}  # display path -> Counter of the codes the fixes resolved
    diffs: list[str] = []
    sources: dict[str, str] = {}
    missing: list[str] = []

    if stdin_mode:
        display = args.stdin_filename or "-"
        abspath = os.path.abspath(display)
        checked = 1
        if args.stdin_filename and args.force_exclude and is_excluded(settings, config.root, abspath):
            return 0
        data = sys.stdin.buffer.read()
        try:
            text, _enc = decode_source(data)
        except SkipFile as s:
            diags = [skipped(display, s.message, s.line, s.column)]
            text = None
            if fix_mode == "apply":  # an editor pipes the file through --fix: give it back unchanged
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
                out_stream = sys.stderr
        if text is not None:
            sources[display] = text
            if fix_mode:
                applied: list = []
                new, diags, _n = fix_loop(text, abspath, display, job, applied)
                if applied:
                    fixed[display] = Counter(d.code for d in applied)
                if fix_mode == "apply":
                    write(sys.stdout, new)  # the fixed source goes to stdout, the report to stderr
                    out_stream = sys.stderr
                elif new != text:
                    diffs.append(_unified(display, text, new))
            else:
                diags = lint_text(text, abspath, display, job)
        all_diags = diags
    else:
        targets = collect_files(paths or ["."], settings, config.root, force_exclude=args.force_exclude,
                                respect_gitignore=args.respect_gitignore, cwd=cwd, missing=missing)
        checked = len(targets)
        if not targets and not missing:
            print("shapecheck: warning: no Python files found under the given paths", file=sys.stderr)
        universe = _project_files(targets, paths or ["."], settings, config.root, args.respect_gitignore)
        project, perr = _build_project(universe, config.root)
        if perr:
            internal.append(f"the cross-module analysis failed ({perr}); files were checked one by one")
        cache = None
        if not args.no_cache:
            from ._cache import Cache

            cache = Cache(config.root, settings, __version__, _engine_stamp(), directory=args.cache_dir)
        progress = Progress(sys.stderr, len(targets), enabled=_show_progress(args, fmt, len(targets)))
        try:
            all_diags, fixed, diffs, write_errors = _check_files(targets, job, cache, project,
                                                                 args.jobs or _default_jobs(), progress)
        finally:
            progress.close()
        if cache is not None:
            cache.save(t.path for t in targets)
        if write_errors:
            internal.append(f"the fixes to {_plural(len(write_errors), 'file')} could not be written (see above)")
        all_diags += [Diagnostic(m, 1, 1, "SHP902", "No such file or directory", severity="error") for m in missing]
        if args.add_noqa:
            return _add_noqa(targets, all_diags, missing, internal, args)

    all_diags = sorted(all_diags, key=lambda d: (d.sort_key(), d.message))
    if any(d.code == "SHP900" for d in all_diags):
        internal.append("shapecheck failed internally on some files (see the SHP900 diagnostics)")
    return _report(args, fmt, all_diags, fixed, diffs, internal, config, sources, out_stream, checked, missing)


def _add_noqa(targets, diags, missing, internal, args) -> int:
    """--add-noqa. Exit status: 0 when every finding now has its comment (a re-run passes), 1 when
    some could not get one (a re-run reports them), 2 when a file could not be written, a path does
    not exist or shapecheck failed internally."""
    from ._noqa import add_noqa_to_files

    added, files, left, errors = add_noqa_to_files(targets, diags, COUNTED, NOT_LINTED)
    if not args.quiet:
        print(f"Added noqa codes to {_plural(added, 'line')} in {_plural(files, 'file')}", file=sys.stderr)
    for m in missing:
        print(f"shapecheck: error: {m}: no such file or directory", file=sys.stderr)
    if any(d.code == "SHP900" for d in diags):
        internal.append("shapecheck failed internally on some files; they got no noqa comments")
    for msg in internal:
        print(f"shapecheck: error: {msg}", file=sys.stderr)
    if errors or missing or internal:
        return 2
    return 1 if left and not args.exit_zero else 0


def _show_progress(args, fmt: str, files: int) -> bool:
    """Progress on stderr only for a person watching a long run: a terminal, human output, not CI."""
    if args.quiet or files < PROGRESS_MIN_FILES or fmt not in HUMAN:
        return False
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    return _isatty(sys.stderr)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _unified(display: str, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{display}", tofile=f"b/{display}"))


def _check_files(targets, job, cache, project, jobs, progress=None):
    """Diagnostics for ``targets``: from the cache where nothing they depend on changed, from workers
    otherwise.

    A cached entry holds while the file's module name and the interface of every module it
    depends on are unchanged; then a file whose size and mtime are unchanged is not even read, and
    another one is sent to a worker with its expected content hash (analysed only when that differs).
    Returns the diagnostics, {display path: Counter of the codes that fixes resolved}, the diffs and
    the files whose fixes could not be written. ``SHAPECHECK_DEBUG_CACHE=1`` in the environment names
    the files analysed (on stderr).
    """
    from ._cache import diag_from_json
    from ._fixes import fixable
    from ._runner import run_files

    job.project = project
    job.digests = cache is not None
    diags, items, fixed, diffs = [], [], {}, []
    write_errors: list = []
    tick = progress or (lambda n: None)
    stats: dict = {}

    def stat(path):
        if path not in stats:
            try:
                stats[path] = os.stat(path)
            except OSError:
                stats[path] = None
        return stats[path]

    interfaces: dict = {}

    def interface(mod: str) -> str:
        if mod not in interfaces:
            path = project.path_of(mod) if project is not None else None
            st = stat(path) if path is not None else None
            d = cache.interface(path, mod, st) if st is not None else None
            if d is None:
                d = project.interface_digest(mod, job.settings) if project is not None else "absent"
                if st is not None:
                    cache.store_interface(path, mod, st, d)
            interfaces[mod] = d
        return interfaces[mod]

    def deps_hold(e: dict, path: str) -> bool:
        modname = project.module_name(path) if project is not None else ""
        return e.get("mod", "") == modname and all(interface(m) == d for m, d in e.get("deps", {}).items())

    if cache is not None and project is not None:
        for path in project.by_module.values():
            stat(path)  # before any file is read: a digest stored under this stat is never newer than it
    for t in targets:
        st = stat(t.path)
        e = cache.entry(t.path) if cache is not None and st is not None else None
        if e is not None and not deps_hold(e, t.path):
            e = None
        if e is not None and cache.stat_holds(e, st):
            cached = [diag_from_json(o, t.display) for o in e["diags"]]
            if not (job.fix and any(fixable(d, job.unsafe) for d in cached)):
                diags.extend(cached)
                tick(1)
                continue
        items.append((t, e["hash"] if e is not None and not job.fix else None))
    analysed = []
    for r in run_files(items, job, jobs, tick):
        if r.unchanged and cache is not None:
            e = cache.entry(r.path)
            res = [diag_from_json(o, r.display) for o in e["diags"]]
            cache.store(r.path, r.stat, r.chash, e.get("mod", ""), e.get("deps", {}), res)
            diags.extend(res)
            continue
        analysed.append(r.display)
        diags.extend(r.diagnostics)
        if r.fixed and r.fixed_codes:
            fixed[r.display] = Counter(r.fixed_codes)
        for err in r.errors:
            print(f"shapecheck: error: {err}", file=sys.stderr)
            write_errors.append(err)
        if r.fixed_text is not None and job.fix == "diff":
            diffs.append(_unified(r.display, r.original, r.fixed_text))
        if cache is not None and r.cacheable and r.stat is not None and r.chash is not None \
                and not any(d.code == "SHP900" for d in r.diagnostics):
            cache.store(r.path, r.stat, r.chash, r.modname, r.deps, r.diagnostics)
            for mod, d in r.deps.items():  # the workers' interface digests spare the next run a parse
                path = project.path_of(mod)
                st = stats.get(path) if path is not None else None
                if st is not None and mod not in interfaces and cache.interface(path, mod, st) is None:
                    interfaces[mod] = d
                    cache.store_interface(path, mod, st, d)
    if os.environ.get("SHAPECHECK_DEBUG_CACHE") == "1":
        print(f"shapecheck: debug: analysed {len(analysed)} of {len(targets)} files: "
              + " ".join(sorted(analysed)), file=sys.stderr)
    return diags, fixed, diffs, write_errors


def _report(args, fmt, diags, fixed, diffs, internal, config, sources, out_stream, checked=0, missing=()) -> int:
    counted = [d for d in diags if d.severity in COUNTED]
    exit_code = 1 if counted and not args.exit_zero else 0
    fixed_total = sum(sum(c.values()) for c in fixed.values())

    if args.diff:
        write(sys.stdout, "".join(diffs))
        for m in missing:
            print(f"shapecheck: error: {m}: no such file or directory", file=sys.stderr)
        for msg in internal:
            print(f"shapecheck: error: {msg}", file=sys.stderr)
        if internal or missing:
            return 2
        return 1 if diffs and not args.exit_zero else 0

    stream = out_stream
    close = None
    if args.output_file:
        try:
            close = stream = open(args.output_file, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            raise UsageError(f"cannot write {args.output_file}: {e.strerror or e}") from None
    try:
        if args.statistics:
            text = render_statistics(fmt, diags)
        else:
            style = Style(fmt in HUMAN and not args.output_file and use_color(stream))
            text = render(fmt, diags, sources=lambda p: line_source(p, sources.get(p)), style=style,
                          root=config.root, version=__version__, successful=not internal)
        write(stream, text)
        if fmt in HUMAN and not args.quiet:
            write(stream, _summary(diags, counted, fixed_total, args, checked) + "\n")
            if args.show_fixes:
                write(stream, _show_fixes(counted, fixed, args))
    finally:
        if close is not None:
            close.close()
    if fmt not in HUMAN and not args.quiet:
        if fixed_total:
            print(f"Fixed {fixed_total} problem{'s' if fixed_total != 1 else ''}", file=sys.stderr)
        if args.show_fixes:
            write(sys.stderr, _show_fixes(counted, fixed, args))
    if fmt not in HUMAN or args.output_file or args.statistics:  # the report does not show them here
        for m in missing:
            print(f"shapecheck: error: {m}: no such file or directory", file=sys.stderr)
    for msg in internal:
        print(f"shapecheck: error: {msg}", file=sys.stderr)
    return 2 if internal or missing else exit_code


def _entry_shapes(path: str):
    """The recorded signatures of a shapes file as settings entries, or an error message."""
    from .._annotate._shapesfile import ShapesFileError
    from .._annotate._signatures import recorded_signatures

    try:
        sigs = recorded_signatures(path)
    except ShapesFileError as e:
        return str(e)
    except OSError as e:
        return e.strerror or str(e)
    out = []
    for (file, qualname), sig in sorted(sigs.items()):
        for name, text in sorted(sig["params"].items()):
            out.append((file, qualname, name, text))
        if sig.get("returns"):
            out.append((file, qualname, "return", sig["returns"]))
    return tuple(out)
