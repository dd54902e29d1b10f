"""Which files a run checks: walking directories, .gitignore, ``exclude`` and per-file ignores.

Patterns (``exclude``, ``extend-exclude``, ``per-file-ignores`` keys) use .gitignore syntax relative
to the project root: ``build`` matches a file or directory of that name anywhere, ``/build`` only at
the root, ``tests/**/*.py`` what it says. Directories are walked with every .gitignore on the way
honoured (those in the directories above a given path too, up to the repository root). A file named
on the command line is always checked unless ``--force-exclude`` is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import pathspec

from .._core._settings import Settings

__all__ = ["PathError", "Target", "TooManyFiles", "collect_files", "display_path", "is_excluded", "per_file_ignored",
           "relative_to_root"]

PY_SUFFIXES = (".py", ".pyi")


class PathError(Exception):
    """A path on the command line that does not exist."""


@dataclass(frozen=True)
class Target:
    path: str  # absolute
    display: str  # as shown to the user (relative to the cwd when below it)


@lru_cache(maxsize=256)
def _spec(patterns: tuple) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def relative_to_root(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or None when it lies outside."""
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel == os.curdir:
        return ""
    if rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def display_path(path: str, cwd: str) -> str:
    rel = os.path.relpath(path, cwd)
    if rel.startswith(os.pardir):
        return path
    return rel


def _excluded(settings: Settings, root: str, path: str, is_dir: bool) -> bool:
    rel = relative_to_root(path, root)
    if not rel:
        return False
    spec = _spec(tuple(settings.exclude) + tuple(settings.extend_exclude))
    return spec.match_file(rel + "/" if is_dir else rel)


def is_excluded(settings: Settings, root: str, path: str) -> bool:
    """Whether ``exclude``/``extend-exclude`` match a file (for --force-exclude on stdin input)."""
    return _excluded(settings, root, os.path.abspath(path), False)


def per_file_ignored(settings: Settings, root: str, path: str) -> frozenset:
    """Codes ignored for ``path`` by ``per-file-ignores``."""
    if not settings.per_file_ignores:
        return frozenset()
    rel = relative_to_root(path, root)
    if rel is None:
        rel = os.path.basename(path)
    out: set = set()
    for pattern, codes in settings.per_file_ignores:
        if _spec((pattern,)).match_file(rel):
            out |= codes
    return frozenset(out)


def _read_gitignore(directory: str):
    try:
        with open(os.path.join(directory, ".gitignore"), encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    return (directory, _spec(tuple(lines))) if lines else None


def _git_top(start: str) -> str | None:
    d = start
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _ancestor_ignores(directory: str, root: str) -> list:
    """The .gitignore specs of the directories above ``directory`` (to the repository root)."""
    top = _git_top(directory) or root
    if relative_to_root(directory, top) is None:
        return []
    chain = []
    d = os.path.dirname(directory)
    while relative_to_root(d, top) is not None:
        chain.append(d)
        if d == top:
            break
        d = os.path.dirname(d)
    specs = []
    for a in reversed(chain):
        g = _read_gitignore(a)
        if g:
            specs.append(g)
    return specs


def _ignored(specs: list, path: str, is_dir: bool) -> bool:
    for base, spec in specs:
        rel = os.path.relpath(path, base).replace(os.sep, "/")
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


class TooManyFiles(Exception):
    """More files than the ``limit`` given to :func:`collect_files`."""


def collect_files(paths, settings: Settings, root: str, force_exclude: bool = False,
                  respect_gitignore: bool = True, cwd: str | None = None, limit: int | None = None,
                  missing: list | None = None) -> list[Target]:
    """The Python files to check under ``paths`` (files and directories), sorted and deduplicated.

    A path that does not exist raises :class:`PathError`, or, when a ``missing`` list is given, is
    appended to it and the other paths are still collected.
    """
    cwd = cwd or os.getcwd()
    seen: set[str] = set()
    out: list[Target] = []

    def add(p: str) -> None:
        if p not in seen:
            seen.add(p)
            out.append(Target(p, display_path(p, cwd)))
            if limit is not None and len(out) > limit:
                raise TooManyFiles(limit)

    for given in paths:
        ap = os.path.abspath(given)
        if not os.path.exists(ap):
            if missing is None:
                raise PathError(f"{given}: no such file or directory")
            missing.append(given)
            continue
        if not os.path.isdir(ap):
            if force_exclude and (_excluded(settings, root, ap, False)
                                  or (respect_gitignore and _ignored(_ancestor_ignores(ap, root), ap, False))):
                continue
            add(ap)
            continue
        if force_exclude and _excluded(settings, root, ap, True):
            continue
        # Patterns hang off the project root. A directory named on the command line that lies
        # outside the project, or that the patterns exclude (a package in site-packages, say), is
        # walked with its own path as the base: what lies above it is not the user's to filter.
        base = root
        if relative_to_root(ap, root) is None or _excluded(settings, root, ap, True):
            base = ap
        specs = _ancestor_ignores(ap, root) if respect_gitignore else []
        if specs and _ignored(specs, ap, True):
            specs = []
        _walk(ap, specs, settings, base, respect_gitignore, add)
    return out


def _walk(directory: str, specs: list, settings: Settings, base: str, respect_gitignore: bool, add) -> None:
    if respect_gitignore:
        g = _read_gitignore(directory)
        if g:
            specs = specs + [g]
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file()
        except OSError:
            continue
        if is_dir:
            if _excluded(settings, base, entry.path, True) or _ignored(specs, entry.path, True):
                continue
            _walk(entry.path, specs, settings, base, respect_gitignore, add)
        elif is_file and entry.name.endswith(PY_SUFFIXES):
            if _excluded(settings, base, entry.path, False) or _ignored(specs, entry.path, False):
                continue
            add(entry.path)
