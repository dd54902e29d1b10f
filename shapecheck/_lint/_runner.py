"""Linting files: one file's pipeline, and many files across processes with the cache.

One file: read the bytes, decode (PEP 263, BOM), find the suppressions, call the engine
(``shapecheck._lint._driver.check_source``), keep the enabled codes, apply suppressions, optionally apply
fixes and re-lint. Nothing a file contains can stop the run: a file that cannot be read, decoded or
parsed gets one SHP901 file-skipped warning; an exception in the engine becomes one SHP900
internal-error diagnostic for that file, and so does a worker process that dies on it.
"""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import sys
import tokenize
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from .._core._diag import CODES, Diagnostic, is_selected
from ._files import Target, per_file_ignored
from ._fixes import apply_fixes, fixable, write_atomic
from ._suppress import apply_suppressions, parse_suppressions

__all__ = ["FileResult", "Job", "SkipFile", "decode_source", "fix_loop", "internal_error", "lint_path", "lint_text",
           "run_files", "skipped"]

MAX_BYTES = 16 * 1024 * 1024
MAX_FIX_ROUNDS = 10
REPORT_URL = "https://github.com/shapecheck/shapecheck/issues"


class SkipFile(Exception):
    """A file that cannot be analysed (reported as SHP901 file-skipped)."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class Job:
    """What every file of a run shares (sent once to each worker)."""

    settings: object
    root: str
    project: object = None
    fix: str = ""  # "" | "apply" | "diff"
    unsafe: bool = False
    digests: bool = True  # record each file's dependencies (only the cache needs them)
    check: object = None  # the engine entry point; None means shapecheck._lint._driver.check_source


@dataclass
class FileResult:
    path: str
    display: str
    diagnostics: list
    fixed: int = 0
    original: str | None = None  # set when fixes changed the text
    fixed_text: str | None = None
    stat: tuple | None = None  # (size, mtime_ns) before reading
    chash: str | None = None
    modname: str = ""
    deps: dict = field(default_factory=dict)  # module name -> interface digest, of what the analysis reached
    unchanged: bool = False  # the content hash matched the cache: diagnostics come from there
    cacheable: bool = True
    errors: list = field(default_factory=list)
    fixed_codes: tuple = ()  # the codes of the diagnostics the fixes resolved, one per diagnostic


def skipped(path: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(path, line, column, "SHP901", message, severity=CODES["SHP901"].severity)


def internal_error(path: str, summary: str) -> Diagnostic:
    return Diagnostic(path, 1, 1, "SHP900",
                      f"Internal error while checking this file ({summary}); please report it at {REPORT_URL} "
                      "with this message and, if you can, the file",
                      severity="error")


def decode_source(data: bytes) -> tuple[str, str]:
    """Text and encoding of a Python source file; raises SkipFile for what cannot be analysed."""
    if len(data) > MAX_BYTES:
        raise SkipFile(f"Skipped: the file is too large to analyse ({len(data) // (1024 * 1024)} MiB)")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SkipFile("Skipped: the file contains NUL bytes, so it is not Python source", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        if "invalid or missing encoding" in str(e):
            raise SkipFile("Skipped: the file is not valid UTF-8 and declares no other encoding") from None
        raise SkipFile(f"Skipped: bad encoding declaration ({str(e).split(' for ')[0]})") from None
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as e:
        line = data[: getattr(e, "start", 0)].count(b"\n") + 1
        raise SkipFile(f"Skipped: the file is not valid {encoding} ({e.__class__.__name__} at byte "
                    f"{getattr(e, 'start', '?')}); declare its encoding or convert it to UTF-8", line) from None


def _enabled_fn(job: Job, path: str):
    settings = job.settings
    ignored = settings.ignore | per_file_ignored(settings, job.root, path)
    select = settings.select

    def enabled(code: str) -> bool:
        if code in ("SHP900", "reveal"):
            return True
        if not is_selected(code, select):  # an opt-in code is on only when selected
            return False
        return code not in ignored

    return enabled


def _engine(job: Job):
    if job.check is not None:
        return job.check
    from ._driver import check_source

    return check_source


def lint_text(text: str, path: str, display: str, job: Job) -> list:
    """The final diagnostics for one module's text (suppressions and selection applied)."""
    supp = parse_suppressions(text)
    if supp.skip_file:
        return []
    try:
        diags = list(_engine(job)(text, display, job.settings, job.project) or ())
    except SyntaxError as e:  # IndentationError, TabError too
        msg = (e.msg or "invalid syntax").rstrip(".")
        diags = [skipped(display, f"Skipped: syntax error: {msg}", e.lineno or 1, max(e.offset or 1, 1))]
    except RecursionError:
        diags = [skipped(display, "Skipped: the file is nested too deeply to analyse")]
    except MemoryError:
        diags = [skipped(display, "Skipped: analysing the file ran out of memory")]
    except Exception as e:  # noqa: BLE001 - one file's failure must not stop the run
        tb = traceback.extract_tb(e.__traceback__)
        ours = [f for f in tb if "shapecheck" in f.filename or f"{os.sep}rules{os.sep}" in f.filename] or tb
        where = f" in {os.path.basename(ours[-1].filename)}:{ours[-1].lineno}" if ours else ""
        diags = [internal_error(display, f"{e.__class__.__name__}: {e}{where}")]
    enabled = _enabled_fn(job, path)
    diags = [d if d.path == display else dataclasses.replace(d, path=display) for d in diags]
    diags = [d for d in diags if enabled(d.code)]
    diags = apply_suppressions(diags, supp, display, enabled)
    out = sorted(set(diags), key=lambda d: (d.sort_key(), d.message))
    return out


def fix_loop(text: str, path: str, display: str, job: Job, applied: list | None = None) -> tuple[str, list, int]:
    """Fix ``text`` round by round; the fixed text, what remains, and how many were fixed.

    ``applied`` (a list) receives the diagnostics that the applied fixes resolved.
    """
    total = 0
    diags = lint_text(text, path, display, job)
    for _ in range(MAX_FIX_ROUNDS):
        if not any(fixable(d, job.unsafe) for d in diags):
            break
        round_applied: list = []
        new, n = apply_fixes(text, diags, job.unsafe, round_applied)
        if n == 0 or new == text:
            break
        text, total = new, total + n
        if applied is not None:
            applied.extend(round_applied)
        diags = lint_text(text, path, display, job)
    return text, diags, total


def _dependencies(job: Job, path: str, result: FileResult) -> FileResult:
    """Record on ``result`` the project modules the file's analysis reached, with their interfaces."""
    if job.project is None or not job.digests:
        return result
    try:
        result.modname = job.project.module_name(path)
        result.deps = {m: job.project.interface_digest(m, job.settings)
                       for m in sorted(job.project.dependencies(result.modname))}
    except Exception:  # noqa: BLE001 - no dependencies known: the result is not cached
        result.cacheable = False
    return result


def lint_path(target: Target, job: Job, expected: tuple | None = None) -> FileResult:
    """Lint one file on disk (and fix it when the job says so).

    ``expected`` is the cache's content hash for the file, given when its dependencies are known to be
    unchanged: when the hash still holds, the result says ``unchanged`` and the file is not analysed.
    """
    from ._cache import content_hash

    path, display = target.path, target.display
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        return FileResult(path, display, [skipped(display, f"Skipped: cannot read the file: {e.strerror or e}")],
                          cacheable=False)
    stat = (st.st_size, st.st_mtime_ns)
    chash = content_hash(data)
    if expected is not None and chash == expected and not job.fix:
        return FileResult(path, display, [], stat=stat, chash=chash, unchanged=True)
    try:
        text, encoding = decode_source(data)
    except SkipFile as s:
        return FileResult(path, display, [skipped(display, s.message, s.line, s.column)], stat=stat, chash=chash)
    if not job.fix:
        return _dependencies(job, path, FileResult(path, display, lint_text(text, path, display, job), stat=stat,
                                                   chash=chash))
    applied: list = []
    new, diags, total = fix_loop(text, path, display, job, applied)
    result = _dependencies(job, path, FileResult(path, display, diags, fixed=total, stat=stat, chash=chash,
                                                 fixed_codes=tuple(d.code for d in applied)))
    if new != text:
        result.cacheable = False
        result.original, result.fixed_text = text, new
        if job.fix == "apply":
            try:
                write_atomic(path, new.encode(encoding))
            except (OSError, UnicodeEncodeError) as e:
                # nothing was fixed: the file's findings are those of the text it still holds
                result.fixed, result.fixed_codes = 0, ()
                result.diagnostics = lint_text(text, path, display, job)
                why = (e.strerror or str(e)) if isinstance(e, OSError) else str(e)
                result.errors.append(f"{display}: could not write the fixes: {why}")
    return result


# -- many files ------------------------------------------------------------------------------------

def _lint_one(target: Target, job: Job, expected) -> FileResult:
    """``lint_path``, then the project lets go of the modules beyond its memory budget."""
    try:
        return lint_path(target, job, expected)
    finally:
        release = getattr(job.project, "release", None)
        if release is not None:
            release()


_JOB: Job | None = None
_SLOTS = None  # shared array: the index of the file each worker is checking now, -1 when idle
_SLOT = -1  # this worker's place in _SLOTS


def _init_worker(job: Job, slots=None, counter=None) -> None:
    global _JOB, _SLOTS, _SLOT
    _JOB, _SLOTS = job, slots
    if counter is not None:
        with counter.get_lock():
            _SLOT = counter.value
            counter.value += 1


def _work(items: list) -> list:
    """Lint a chunk of (index, target, expected); the slot says which file is in hand, so that
    when a worker dies the parent knows which file to blame (a shared array cannot block, as a
    queue nobody reads would)."""
    out = []
    mark = _SLOTS is not None and 0 <= _SLOT < len(_SLOTS)
    for index, target, expected in items:
        if mark:
            _SLOTS[_SLOT] = index
        out.append(_lint_one(target, _JOB, expected))
        if mark:
            _SLOTS[_SLOT] = -1
    return out


def _context():
    # fork on Linux: workers start at once and share the parent's imports; elsewhere the
    # platform's default (spawn: the Job is pickled, the project without its caches)
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _chunks(items: list, jobs: int) -> list:
    size = max(1, min(64, len(items) // (jobs * 8) or 1))
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_files(items: list, job: Job, jobs: int, progress=None) -> list:
    """Lint ``items`` ([(Target, expected or None)]) with ``jobs`` processes.

    ``progress(n)``, when given, is called in this process as each batch of ``n`` files is done.
    """
    tick = progress or (lambda n: None)
    if jobs <= 1 or len(items) < 4:
        out = []
        for t, h in items:
            out.append(_lint_one(t, job, h))
            tick(1)
        return out
    results: dict[str, FileResult] = {}
    pending = list(items)
    ctx = _context()
    while pending:
        workers = min(jobs, len(pending))
        slots = ctx.Array("q", [-1] * workers, lock=False)
        counter = ctx.Value("i", 0)
        indexed = [(i, t, h) for i, (t, h) in enumerate(pending)]
        broken: list = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(job, slots, counter)) as pool:
            futures = {pool.submit(_work, c): c for c in _chunks(indexed, workers)}
            for fut in as_completed(futures):
                try:
                    done = fut.result()
                    results.update((r.path, r) for r in done)
                    tick(len(done))
                except BrokenProcessPool:
                    broken.extend(futures[fut])
                except Exception as e:  # noqa: BLE001 - e.g. a result that cannot be pickled
                    for _, t, _ in futures[fut]:
                        results[t.path] = _crashed(t, f"{e.__class__.__name__}: {e}")
                    tick(len(futures[fut]))
        if not broken:
            break
        # a worker died: the files in hand at that moment are the suspects; check them one by
        # one in a separate worker, and the others in parallel again
        suspects = {i for i in slots[:] if i >= 0}
        first = [(t, h) for i, t, h in broken if i in suspects] or [(t, h) for _, t, h in broken]
        isolated = _run_isolated(first, job, ctx)
        results.update((r.path, r) for r in isolated)
        tick(len(isolated))
        done = {t.path for t, _ in first}
        pending = [(t, h) for _, t, h in broken if t.path not in done]
    return [results[t.path] for t, _ in items]


def _crashed(target: Target, summary: str) -> FileResult:
    return FileResult(target.path, target.display, [internal_error(target.display, summary)], cacheable=False)


def _run_isolated(items: list, job: Job, ctx) -> list:
    """One worker, one file per task: when the worker dies, the first unfinished file killed it."""
    out = []
    while items:
        broken = []
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_init_worker,
                                 initargs=(job,)) as pool:
            futures = [(pool.submit(_work, [(0, *x)]), x) for x in items]
            for fut, x in futures:
                try:
                    out.extend(fut.result())
                except BrokenProcessPool:
                    broken.append(x)
                except Exception as e:  # noqa: BLE001
                    out.append(_crashed(x[0], f"{e.__class__.__name__}: {e}"))
        if broken:
            out.append(_crashed(broken[0][0], "the worker process checking it exited abruptly"))
        items = broken[1:]
    return out
