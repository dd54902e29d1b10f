"""``shapecheck trace``: run a Python command with the recorder and write the shapes file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

from . import _shapesfile

__all__ = ["TraceError", "trace", "split_command"]

RECORDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_recorder.py")
# interpreter options that take a value as the next argument
_OPTS_WITH_VALUE = ("-W", "-X", "-Q")


class TraceError(Exception):
    pass


def split_command(command: list[str]) -> tuple[str, list[str], str, str, list[str]]:
    """``python [OPTIONS] (script.py | -m module | -c code) ARGS`` as (interpreter, options, mode,
    target, args). A command that starts with ``script.py`` runs under this interpreter."""
    if not command:
        raise TraceError("no command given: `shapecheck trace -- python script.py` or "
                         "`shapecheck trace -- python -m pytest tests/`")
    first = command[0]
    if first.endswith(".py"):
        exe, rest = sys.executable, list(command)
    elif os.path.basename(first).startswith("python"):
        exe = shutil.which(first) or (first if os.path.isfile(first) else "")
        if not exe:
            raise TraceError(f"cannot find the interpreter `{first}`")
        rest = list(command[1:])
    else:
        raise TraceError(f"`{first}` is not a Python command; trace runs `python script.py ...`, "
                         "`python -m module ...` or `python -c CODE`")
    options: list[str] = []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("-m", "-c"):
            if i + 1 >= len(rest):
                raise TraceError(f"`{a}` needs an argument")
            return exe, options, "module" if a == "-m" else "code", rest[i + 1], rest[i + 2:]
        if a.startswith("-m") or a.startswith("-c"):
            return exe, options, "module" if a[1] == "m" else "code", a[2:], rest[i + 1:]
        if a.startswith("-") and a != "-":
            options.append(a)
            if a in _OPTS_WITH_VALUE and i + 1 < len(rest):
                options.append(rest[i + 1])
                i += 1
            i += 1
            continue
        if not os.path.isfile(a):
            raise TraceError(f"no such script: {a}")
        return exe, options, "script", a, rest[i + 1:]
    raise TraceError("the command runs no script or module (interactive Python cannot be traced)")


def _relative(path: str, root: str) -> str | None:
    try:
        rel = os.path.relpath(os.path.realpath(path), os.path.realpath(root))
    except ValueError:
        return None
    if rel.startswith(".."):
        return None
    return rel.replace(os.sep, "/")


def trace(command: list[str], output: str, max_calls: int = 10, root: str | None = None,
          stderr=sys.stderr) -> int:
    """Run ``command`` with the recorder; write the shapes file to ``output``; return its exit code."""
    if max_calls < 1:
        raise TraceError("--max-calls must be at least 1")
    exe, options, mode, target, args = split_command(command)
    root = os.path.abspath(root or os.getcwd())
    fd, raw_path = tempfile.mkstemp(prefix="shapecheck-trace-", suffix=".json")
    os.close(fd)
    os.unlink(raw_path)
    env = dict(os.environ, SHAPECHECK_TRACE_OUT=raw_path, SHAPECHECK_TRACE_ROOT=root,
               SHAPECHECK_TRACE_MAX_CALLS=str(max_calls))
    try:
        try:
            proc = subprocess.run([exe, *options, RECORDER, mode, target, *args], env=env)
        except OSError as e:
            raise TraceError(f"cannot run {exe}: {e.strerror or e}") from None
        except KeyboardInterrupt:
            proc = None
        code = 130 if proc is None else (proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)
        raw = None
        try:
            with open(raw_path, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError):
            pass
    finally:
        for p in (raw_path, raw_path + ".tmp"):
            try:
                os.unlink(p)
            except OSError:
                pass
    if raw is None:
        print("shapecheck trace: the command left no record (it was killed, or ended with os._exit); "
              f"{output} was not written", file=stderr)
        return code if code else 2
    data = build(raw, command, code, max_calls, root)
    try:
        _shapesfile.dump(data, output)
    except OSError as e:
        raise TraceError(f"cannot write {output}: {e.strerror or e}") from None
    n_fn = sum(len(f["functions"]) for f in data["files"].values())
    n_calls = sum(len(fn["calls"]) for f in data["files"].values() for fn in f["functions"].values())
    note = "" if code == 0 else f"; the command exited with status {code}"
    print(f"shapecheck trace: {_n(n_calls, 'call')} of {_n(n_fn, 'function')} in {_n(len(data['files']), 'file')} "
          f"recorded in {output}{note}", file=stderr)
    return code


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def build(raw: dict, command: list[str], code: int, max_calls: int, root: str) -> dict:
    files: dict = {}
    for fn in raw.get("functions", []):
        calls = fn.get("calls") or []
        if not calls:
            continue
        rel = _relative(fn["file"], root)
        if rel is None or not os.path.isfile(fn["file"]):
            continue
        entry = files.get(rel)
        if entry is None:
            try:
                digest = _shapesfile.file_hash(fn["file"])
            except OSError:
                continue
            entry = files[rel] = {"sha256": digest, "functions": {}}
        entry["functions"][fn["qualname"]] = {"line": fn["line"], "calls": calls}
    return {"format": _shapesfile.FORMAT, "version": _shapesfile.VERSION, "root": root,
            "command": list(command), "exit_code": code, "max_calls": max_calls,
            "files": dict(sorted(files.items()))}
