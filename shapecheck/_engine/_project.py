"""The files of one run, so that calls can reach annotated code in other files (through imports).

Module names come from the package layout (directories with ``__init__.py``); a file outside a
package is importable by its stem, as a script's siblings are. Other modules are parsed lazily, once,
only when an import names them.
"""

from __future__ import annotations

import ast
import hashlib
import os

from .._core._annot import from_module, import_statements
from .._core._settings import Settings


def module_name_of(path: str) -> str:
    path = os.path.abspath(path)
    d, fname = os.path.split(path)
    stem = fname[:-4] if fname.endswith(".pyi") else fname[:-3] if fname.endswith(".py") else fname
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(d, "__init__.py")):
        d, pkg = os.path.split(d)
        parts.insert(0, pkg)
        if not pkg:
            break
    return ".".join(parts)


class Project:
    def __init__(self, files):
        self.by_module: dict = {}
        self.by_path: dict = {}
        for f in files:
            ap = os.path.abspath(str(f))
            name = module_name_of(ap)
            self.by_path[ap] = name
            self.by_module.setdefault(name, ap)
        self._infos: dict = {}
        self._digests: dict = {}
        self._hashes: dict = {}

    @classmethod
    def from_files(cls, paths) -> "Project":
        return cls(paths)

    def __getstate__(self):  # workers rebuild their own caches
        return {"by_module": self.by_module, "by_path": self.by_path, "_infos": {}, "_digests": {}, "_hashes": {}}

    def module_name(self, path: str) -> str:
        ap = os.path.abspath(path)
        return self.by_path.get(ap) or module_name_of(ap)

    def module_info(self, modname: str, settings: Settings):
        path = self.by_module.get(modname)
        if path is None:
            return None
        if modname in self._infos:
            return self._infos[modname]
        self._infos[modname] = None  # guards import cycles
        try:
            with open(path, "rb") as fh:
                source = fh.read().decode("utf-8")
            tree = ast.parse(source, filename=path)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            return None
        from ._module import ModuleInfo

        info = ModuleInfo(path, tree, settings, self, modname)
        self._infos[modname] = info
        return info

    def digest_for(self, path: str, data: bytes | None = None) -> str:
        """A hash of the project modules ``path`` imports (so a cached result is redone when they change).

        ``data`` is the file's content when the caller has already read it."""
        ap = os.path.abspath(path)
        if ap in self._digests:
            return self._digests[ap]
        try:
            if data is None:
                with open(ap, "rb") as fh:
                    data = fh.read()
            tree = ast.parse(data)
        except (OSError, SyntaxError, ValueError):
            self._digests[ap] = ""
            return ""
        me = self.module_name(ap)
        names = set()
        for node in import_statements(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            else:
                base = from_module(node, me)
                names.add(base)
                names |= {f"{base}.{a.name}" for a in node.names}
        h = hashlib.sha256()
        for n in sorted(names):
            p = self.by_module.get(n)
            if p and p != ap:
                fh_hash = self._file_hash(p)
                if fh_hash is not None:
                    h.update(n.encode() + b"\0" + fh_hash)
        self._digests[ap] = h.hexdigest()
        return self._digests[ap]

    def _file_hash(self, path: str) -> bytes | None:
        """The content hash of a project file, read once per run however many files import it."""
        if path not in self._hashes:
            try:
                with open(path, "rb") as fh:
                    self._hashes[path] = hashlib.sha256(fh.read()).digest()
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]
