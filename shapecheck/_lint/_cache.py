"""The result cache: an unchanged file is not parsed again.

One JSON index per (shapecheck version, settings fingerprint) under ``.shapecheck_cache/`` at the
project root. An entry remembers a file's size, modification time, content hash, module name, its
dependencies and its final diagnostics. The dependencies are the project modules its analysis
reached (directly or through them), each with the digest of its *interface*
(``shapecheck._engine._interface``): an entry holds while the file's own text and every
dependency's interface are unchanged, so an edit inside one function body re-analyses that file
only. Lookup has two steps: a stat fast path (same size and mtime, and the mtime older than the
moment the entry was written, so an edit within the same clock tick is not missed) that does not
even read the file, then a content-hash path for touched-but-unchanged files. The interface digests
of the project's modules are kept too, by the same stat rule, so a warm run parses only the
modules that changed.

Every entry stands alone (no stamp of the whole run), so runs over parts of a tree share one cache:
a save merges the index on disk (under a lock where the platform has one), keeping the newer entry
of each file. Shards of a CI run on one cache directory, one after the other or at the same time,
leave one index that a full run reuses (docs/cli.md, "Large trees and CI shards").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time

from .._core._diag import Diagnostic, Edit, Fix
from ._fixes import write_atomic

__all__ = ["Cache", "settings_fingerprint", "content_hash", "diag_from_json"]

CACHE_DIR = ".shapecheck_cache"
FORMAT = 3
_RACY_NS = 2_000_000_000  # an mtime this close to the write time is not trusted


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _canon(value):
    if isinstance(value, (set, frozenset)):
        return sorted(_canon(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in sorted(value.items())}
    return value


def settings_fingerprint(settings) -> str:
    """A fingerprint that is stable across processes (sets sorted, not hash-ordered)."""
    from dataclasses import fields

    data = {f.name: _canon(getattr(settings, f.name)) for f in fields(settings)}
    return json.dumps(data, sort_keys=True, default=repr)


def diag_from_json(obj: dict, path: str) -> Diagnostic:
    fix = None
    if obj.get("fix"):
        f = obj["fix"]
        fix = Fix(f["message"], tuple(Edit(**e) for e in f["edits"]), f.get("safe", True))
    return Diagnostic(
        path=path, line=obj["line"], column=obj["column"], code=obj["code"], message=obj["message"],
        severity=obj.get("severity", "error"), notes=tuple(obj.get("notes", ())), help=obj.get("help"),
        end_line=obj.get("end_line"), end_column=obj.get("end_column"), fix=fix,
    )


class Cache:
    def __init__(self, root: str, settings, version: str, extra: str = "", directory: str | None = None):
        self.dir = os.path.abspath(directory) if directory else os.path.join(root, CACHE_DIR)
        key = hashlib.blake2b(f"{FORMAT}|{version}|{extra}|{settings_fingerprint(settings)}".encode(),
                              digest_size=8).hexdigest()
        self.file = os.path.join(self.dir, f"results-{key}.json")
        self.entries: dict = {}
        self.modules: dict = {}  # path -> the interface digest of that module, by stat
        self.dirty = False
        self.entries, self.modules = self._read()

    def _read(self) -> tuple[dict, dict]:
        try:
            with open(self.file, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("format") == FORMAT:
                files, modules = data.get("files", {}), data.get("modules", {})
                if isinstance(files, dict) and isinstance(modules, dict):
                    return files, modules
        except (OSError, ValueError, AttributeError):
            pass
        return {}, {}

    def entry(self, path: str) -> dict | None:
        return self.entries.get(path)

    @staticmethod
    def stat_holds(e: dict, st: os.stat_result) -> bool:
        """The entry's file is unchanged by size and mtime (and the mtime is not too recent to trust)."""
        return e["size"] == st.st_size and e["mtime"] == st.st_mtime_ns and st.st_mtime_ns + _RACY_NS <= e["written"]

    def interface(self, path: str, modname: str, st: os.stat_result) -> str | None:
        """The interface digest remembered for ``path`` under ``modname``, when the file is unchanged."""
        e = self.modules.get(path)
        if e is None or e["mod"] != modname or not self.stat_holds(e, st):
            return None
        return e["digest"]

    def store_interface(self, path: str, modname: str, st: os.stat_result, digest: str) -> None:
        self.modules[path] = {"mod": modname, "size": st.st_size, "mtime": st.st_mtime_ns,
                              "written": time.time_ns(), "digest": digest}
        self.dirty = True

    def store(self, path: str, st: tuple, chash: str, modname: str, deps: dict, diags) -> None:
        size, mtime = st
        self.entries[path] = {"size": size, "mtime": mtime, "hash": chash, "mod": modname, "deps": deps,
                              "written": time.time_ns(), "diags": [d.to_json() for d in diags]}
        self.dirty = True

    def save(self, checked=()) -> None:
        """Write the index, merged with what other runs wrote since it was read (the newer entry of
        each file wins; entries of files that no longer exist are dropped)."""
        if not self.dirty:
            return
        checked = set(checked)
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError:
            return  # a read-only tree: run without a cache
        with _locked(os.path.join(self.dir, "index.lock")):
            files, modules = self._read()
            self.entries = _merge(files, self.entries)
            self.modules = _merge(modules, self.modules)
            self.entries = {p: e for p, e in self.entries.items() if p in checked or os.path.exists(p)}
            self.modules = {p: e for p, e in self.modules.items() if os.path.exists(p)}
            self._write()

    def _write(self) -> None:
        try:
            tag = os.path.join(self.dir, "CACHEDIR.TAG")
            if not os.path.exists(tag):
                with open(tag, "w", encoding="ascii") as fh:
                    fh.write("Signature: 8a477f597d28d172789f06886806bc55\n"
                             "# This file is a cache directory tag created by shapecheck.\n")
                with open(os.path.join(self.dir, ".gitignore"), "w", encoding="ascii") as fh:
                    fh.write("# Created by shapecheck automatically.\n*\n")
            data = json.dumps({"format": FORMAT, "files": self.entries, "modules": self.modules}, separators=(",", ":"))
            write_atomic(self.file, data.encode("utf-8"))
        except OSError:
            pass  # a read-only tree: run without a cache


def _merge(disk: dict, ours: dict) -> dict:
    """Entries by path: ours, except where the one on disk was written later."""
    out = dict(disk)
    for p, e in ours.items():
        d = out.get(p)
        if not isinstance(d, dict) or e.get("written", 0) >= d.get("written", 0):
            out[p] = e
    return out


@contextlib.contextmanager
def _locked(path: str):
    """An exclusive lock on ``path`` while the index is read, merged and written (where ``fcntl`` exists;
    elsewhere the atomic rename alone keeps the index whole)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        fh = open(path, "a+b")
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        fh.close()
