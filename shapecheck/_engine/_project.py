"""The project's files, so that calls can reach code in other files (through imports).

Module names come from the package layout (directories with ``__init__.py``); a file outside a
package is importable by its stem, as a script's siblings are. Other modules are parsed lazily, only
when an import names them. A module that is not among the files the run was given is looked for
under the project's roots (:func:`project_roots`: the project root, its ``src/``, the folder above
each checked file's top package, the checked files' own folders), so that checking a few files (a
pre-commit run) still reaches the rest of the project. Parsed modules are kept while they are in
use: between two files, :meth:`Project.release` drops the least recently used parsed modules beyond
a budget of source bytes, and keeps a summary of each (``_summary``: its functions' signatures, its
classes, what it re-exports), so that a later file reaching a dropped module is answered from the
summary, and the module is parsed again only when a body is needed. What the index keeps for the
whole run is small: module names, the summaries, the modules each analysis read, and the interface
digest of each module.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import os

from .._core._settings import Settings
from ._dialects import exports_of
from ._interface import ABSENT, interface_digest
from ._summary import Dropped, summarise


def parse_module(source: str, path: str) -> ast.Module:
    """``ast.parse`` with the cyclic garbage collector paused: a parse allocates hundreds of thousands
    of nodes, none of them garbage, and each collection they trigger would walk every object alive
    (the modules held by the project among them) - on large trees, most of the time of a parse."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename=path)
    finally:
        if enabled:
            gc.enable()


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


def project_roots(root: str | None, files) -> list:
    """Where the project's top-level modules live: ``root`` (the folder with pyproject.toml, setup.cfg
    or .git) and its ``src/``, then for each file the folder above its top package and its own folder."""
    out: list = []

    def add(d):
        d = os.path.abspath(d)
        if d not in out and os.path.isdir(d):
            out.append(d)

    if root:
        add(root)
        add(os.path.join(root, "src"))
    for f in files:
        d = os.path.dirname(os.path.abspath(str(f)))
        top = d
        while os.path.isfile(os.path.join(top, "__init__.py")) and os.path.dirname(top) != top:
            top = os.path.dirname(top)
        add(top)
        add(d)
    return out


def _folder_tag(d: str) -> str:
    return hashlib.blake2b(d.encode(), digest_size=5).hexdigest()


SOURCE_BUDGET = 4 * 1024 * 1024  # bytes of source whose parsed modules stay in memory between files


class Project:
    def __init__(self, files, roots=(), budget: int | None = None):
        self.by_module: dict = {}
        self.by_path: dict = {}
        self.roots = list(roots)
        self._absent: set = set()  # module names looked for under the roots and not found
        self._listings: dict = {}  # directory -> the names in it, read once (module lookups under the roots)
        for f in files:
            ap = os.path.abspath(str(f))
            name = module_name_of(ap)
            self.by_path[ap] = name
            self.by_module.setdefault(name, ap)
        self._infos: dict = {}  # module name -> ModuleInfo (None: not parseable)
        self._sizes: dict = {}  # module name -> bytes of source held in _infos
        self._held = 0
        self.budget = SOURCE_BUDGET if budget is None else budget
        self._tick = 0  # counts the lookups of modules
        self._last: dict = {}  # module name -> the tick of its last lookup
        self._digests: dict = {}  # module name -> interface digest
        self._reads: dict = {}  # module name -> the module names its analyses asked for
        self._summaries: dict = {}  # module name -> ModuleSummary of a dropped module
        self._scopes: dict = {}  # ``models@<tag>`` -> the script folder whose own ``models`` it names
        self._local: dict = {}  # (importer's folder, module name) -> ``local_name``'s answer

    @classmethod
    def from_files(cls, paths, root: str | None = None) -> "Project":
        paths = list(paths)
        return cls(paths, project_roots(root, paths) if root is not None else ())

    def __getstate__(self):  # workers rebuild their own caches
        return {"by_module": self.by_module, "by_path": self.by_path, "roots": self.roots, "_absent": set(),
                "_listings": {},
                "_infos": {}, "_sizes": {}, "_held": 0, "budget": self.budget, "_tick": 0, "_last": {},
                "_digests": {}, "_reads": {}, "_summaries": {}, "_scopes": dict(self._scopes), "_local": {}}

    def path_of(self, modname: str) -> str | None:
        """The file of project module ``modname``: one of the run's files, else found under the roots."""
        path = self.by_module.get(modname)
        if path is not None or not modname or modname in self._absent:
            return path
        parts = modname.split(".")
        if "@" in parts[0]:  # a script's sibling module (``local_name``)
            home = self._scopes.get(parts[0]) or self._scope_home(parts[0])
            path = self._file_under(home, [parts[0].partition("@")[0]] + parts[1:]) if home else None
            if path is None:
                self._absent.add(modname)
                return None
            self.by_module[modname] = path
            return path
        if not self.roots:
            return None
        if not all(p.isidentifier() for p in parts):
            self._absent.add(modname)
            return None
        for r in self.roots:
            for cand in self._files_under(r, parts):
                canon = module_name_of(cand)
                if canon == modname or modname.endswith("." + canon):
                    # ``kospeech.models.modules`` under a root whose ``kospeech/`` has no ``__init__.py``: a
                    # namespace package holding the package ``models`` (whose own name for the file is shorter)
                    self.by_module[modname] = cand
                    self.by_path.setdefault(cand, modname)
                    return cand
        self._absent.add(modname)
        return None

    def local_name(self, modname: str, importer: str | None) -> str:
        """The name under which the file at ``importer`` reaches module ``modname``. A script (a file
        outside any package) imports its own folder's modules first, as Python puts the script's folder
        first on ``sys.path``: in a repository of scripts that each sit beside their own ``models.py``,
        ``from models import *`` is the one beside the importer. When that sibling is not the file the
        project knows by that name, the name is scoped to the folder (``models@<tag>``)."""
        if not importer or not modname:
            return modname
        d = os.path.dirname(os.path.abspath(importer))
        key = (d, modname)
        if key not in self._local:  # the answer for one folder does not change during the run
            self._local[key] = self._local_name(modname, d)
        return self._local[key]

    def _local_name(self, modname: str, d: str) -> str:
        first, _, rest = modname.partition(".")
        if not first.isidentifier() or os.path.isfile(os.path.join(d, "__init__.py")):
            return modname  # in a package, an absolute import goes by the project's roots
        names = self._listing(d)
        if first + ".py" not in names and first not in names:
            return modname
        sibling = self._file_under(d, modname.split("."))
        known = self.path_of(modname)
        if sibling is None or sibling == known:
            return modname
        if known is None:  # the only module of that name: known by it from now on
            self._absent.discard(modname)
            self.by_module[modname] = sibling
            self.by_path.setdefault(sibling, modname)
            return modname
        scope = f"{first}@{_folder_tag(d)}"
        self._scopes[scope] = d
        return f"{scope}.{rest}" if rest else scope

    def _scope_home(self, scope: str) -> str | None:
        """The folder of a scoped name met before this process resolved it (a cached result's
        dependency): one of the run's files' folders."""
        tag = scope.partition("@")[2]
        for d in {os.path.dirname(p) for p in self.by_path}:
            if _folder_tag(d) == tag:
                self._scopes[scope] = d
                return d
        return None

    def _file_under(self, d: str, parts) -> str | None:
        """The module file ``d/parts...`` (``.py``, or a package's ``__init__.py``), else None."""
        return next(self._files_under(d, parts), None)

    def _files_under(self, d: str, parts):
        """The files that may be module ``parts`` under ``d``: ``.py``, then a package's ``__init__.py``."""
        d = self._directory(d, parts[:-1])
        if d is None:
            return
        names = self._listing(d)
        last = parts[-1]
        for cand in ([os.path.join(d, last + ".py")] if last + ".py" in names else []) \
                + ([os.path.join(d, last, "__init__.py")] if last in names else []):
            if os.path.isfile(cand):
                yield cand

    def _listing(self, d: str) -> frozenset:
        names = self._listings.get(d)
        if names is None:
            try:
                names = frozenset(os.listdir(d))
            except OSError:
                names = frozenset()
            self._listings[d] = names
        return names

    def _directory(self, root: str, parts) -> str | None:
        """``root/parts...`` when each of its directories is listed in its parent, else None: a module
        that is not under a root (``numpy.linalg``, ``os``) costs one lookup in a listing per root,
        not a file-system call per candidate file."""
        d = root
        for p in parts:
            if p not in self._listing(d):
                return None
            d = os.path.join(d, p)
        return d

    def module_name(self, path: str) -> str:
        ap = os.path.abspath(path)
        return self.by_path.get(ap) or module_name_of(ap)

    def module_info(self, modname: str, settings: Settings):
        path = self.path_of(modname)
        if path is None:
            return None
        self._tick += 1
        self._last[modname] = self._tick
        if modname in self._infos:
            return self._infos[modname]
        self._infos[modname] = None  # guards import cycles
        try:
            with open(path, "rb") as fh:
                source = fh.read().decode("utf-8")
            tree = parse_module(source, path)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError):
            return None
        from ._module import ModuleInfo

        info = ModuleInfo(path, tree, settings, self, modname)
        self._infos[modname] = info
        self._sizes[modname] = len(source)
        self._held += len(source)
        return info

    def dropped(self, modname: str, settings: Settings):
        """The way back to ``modname`` when it was parsed and then dropped (a :class:`~._summary.Dropped`
        whose summary answers what other files read of it), else None (held, never parsed, or not a
        project module)."""
        if modname in self._infos:
            return None
        summary = self._summaries.get(modname)
        return Dropped(summary, self, settings) if summary is not None else None

    def release(self) -> None:
        """Between two files: drop parsed modules until what is held fits the budget, the least
        recently reached first, each leaving its summary (``_summary``: what other files read of it,
        so that reaching it again parses it only for a body). The modules kept forget the calls and
        instances they analysed (their values may hold a dropped module, and the memo keys name
        functions by the id of their node, which a later parse may reuse); their signatures of dropped
        functions go too."""
        if self._held <= self.budget:
            return
        dropped: set = set()
        for modname in sorted((m for m, info in self._infos.items() if info is not None),
                              key=lambda m: self._last.get(m, -1)):
            if self._held <= self.budget:
                break
            info = self._infos.pop(modname)
            self._held -= self._sizes.pop(modname, 0)
            self._summaries[modname] = summarise(info, self._summaries.get(modname), exports_of(info))
            dropped.update(id(n) for n in ast.walk(info.tree)
                           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
            # its classes point back at it: without them (and its memo) nothing holds it, and it is
            # freed now rather than at the next full collection
            info.classes.clear()
            info.memo.calls.clear()
            info.forget_instances()
        for info in self._infos.values():
            if info is None:
                continue
            info.memo.calls.clear()
            info.forget_instances()
            sigs = info.memo.signatures
            for key in [k for k in sigs if k in dropped]:
                del sigs[key]

    def info_at(self, path: str, settings: Settings):
        """The analysed module of the file at ``path`` (a ``conftest.py`` a test reads its fixtures from),
        added to the index under its module name when it is not there yet."""
        ap = os.path.abspath(path)
        name = self.by_path.get(ap) or module_name_of(ap)
        if self.by_module.setdefault(name, ap) != ap:
            return None  # another file has that module name: not this one
        self.by_path.setdefault(ap, name)
        return self.module_info(name, settings)

    def note_read(self, reader: str, modname: str) -> None:
        """``reader``'s analysis asked for module ``modname`` (found or not): an edge of the graph a
        cached result's dependencies are read from."""
        self._reads.setdefault(reader, set()).add(modname)

    def dependencies(self, modname: str) -> set:
        """Every module the analyses in this process reached from ``modname``, directly or through
        the modules it reached (a superset of what one file's analysis used: memoised results of
        other modules carry the reads that computed them)."""
        seen: set = set()
        todo = [modname]
        while todo:
            for m in self._reads.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        seen.discard(modname)
        return seen

    def interface_digest(self, modname: str, settings: Settings) -> str:
        """The digest of what other files can read of ``modname`` ("absent" when it is not a project
        module; a hash of its bytes when it cannot be parsed)."""
        if modname in self._digests:
            return self._digests[modname]
        path = self.path_of(modname)
        if path is None:
            d = ABSENT
        else:
            info = self.module_info(modname, settings)
            if info is not None:
                d = interface_digest(info)
            else:
                try:
                    with open(path, "rb") as fh:
                        d = "bytes:" + hashlib.blake2b(fh.read(), digest_size=16).hexdigest()
                except OSError:
                    d = ABSENT
        self._digests[modname] = d
        return d
