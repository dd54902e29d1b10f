"""Per-process state of one plugin instance (never module-level): the linter's engine run on each
module mypy checks, its findings delivered as mypy errors.

After mypy has type-checked a module it asks the plugin for the module's extra dependencies
(``get_additional_indirect_deps``); that is the post-pass. It runs the linter's own pipeline on the
module's file (``shapecheck._lint._runner.lint_text``: the engine, the lint rules, the
configuration of ``[tool.shapecheck]``, ``# noqa: SHPxxx`` suppressions) over a project whose
module -> file map is mypy's own, and reports every finding at its line and column
(``_report.emit``). mypy's ``# type: ignore[code]`` then applies as to any error, and mypy's cache
keeps the errors of a module that is fresh on the next run.

What a module's findings depend on in other modules is told to mypy twice: the modules the
analysis read are the module's indirect dependencies, and every module's cache metadata carries
the digest of what other modules' analyses can read of it (``_interface``), so an edit that
changes a finding elsewhere makes mypy re-check the module that has it. The daemon (dmypy) re-checks
one changed module at a time and forgets the errors of the others: the post-pass then re-runs the
modules whose analysis read the changed one, and reports the stored findings of all the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import shapecheck

from . import _compat, _report

_THIRD_PARTY = ("site-packages", "dist-packages", "typeshed")
TARGET = "shapecheck:"
_SUPPRESSION_HINT = re.compile(r"SHP\d|shapecheck\s*:", re.IGNORECASE)  # SHP003 needs the file read  # mypy's error target of a finding: no target mypy re-checks (see _emit)


def _third_party(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return any(p in parts for p in _THIRD_PARTY)


def _source_digest() -> str:
    """The digest of the sources that decide a finding (the core, the engine, the linter's pipeline,
    the lint rules and the plugin): their names, sizes and modification times, read on every run."""
    pkg = Path(shapecheck.__file__).parent
    folders = [pkg / "_core", pkg / "_engine", pkg / "_lint", Path(__file__).parent]
    import importlib.util

    rules = importlib.util.find_spec("shapecheck.rules")  # found, not imported (the lint rules' folder)
    if rules is not None and rules.origin:
        folders.append(Path(rules.origin).parent)
    h = hashlib.sha256(shapecheck.__version__.encode())
    for folder in folders:
        for p in sorted(folder.rglob("*.py")):
            try:
                st = p.stat()
            except OSError:
                continue
            h.update(f"{p.relative_to(folder.parent)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _diag_json(d: Any) -> dict:
    return {"line": d.line, "column": d.column, "code": d.code, "message": d.message, "severity": d.severity,
            "notes": list(d.notes), "help": d.help, "end_line": d.end_line, "end_column": d.end_column}


@dataclasses.dataclass
class Findings:
    """One module's last analysis: where it is, what it reported, which modules it read."""

    path: str
    diagnostics: list
    reads: frozenset


class Session:
    def __init__(self, options: Any) -> None:
        self.options = options
        self._table: Any = None
        self._digest: str | None = None
        self.memo = _compat.InterfaceMemo(options)
        self.third_party: dict = {}  # path -> whether it is an installed package
        self.configs: dict = {}  # directory -> (Settings, root) or the config error's message
        self.project: Any = None  # the engine's Project over mypy's modules, rebuilt on a change
        self.stamps: dict = {}  # module -> (mtime_ns, size) of the file the project parsed
        self.findings: dict = {}  # module -> Findings (kept for the daemon)
        self.manager: Any = None  # mypy's BuildManager of the current build, found at its first post-pass
        self.modules: Any = None  # the modules dict mypy handed over (one per build)
        self.updating = False  # inside a dmypy update, not its first build
        self.run_interfaces: dict = {}  # path -> interface digest, within one build
        self.fingerprints: dict = {}  # id(settings) -> (settings, fingerprint)

    @property
    def table(self) -> _report.CodeTable:
        if self._table is None:
            self._table = _report.CodeTable()
            _compat.apply_disabled_codes(self.options, self._table.codes())
        return self._table

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = _source_digest()
        return self._digest

    def set_build(self, modules: dict) -> None:
        """mypy set the modules of a build. The daemon loads the graph of the same build (the same
        dict) again for each changed module: that is an update."""
        self.updating = modules is self.modules and bool(getattr(self.options, "fine_grained_incremental", False))
        self.modules = modules
        self.run_interfaces = {}  # files do not change within one build; the daemon's next one starts here

    def _build(self) -> Any:
        if self.manager is None or self.manager.modules is not self.modules:
            self.manager = _compat.build_of(self.modules) if self.modules is not None else None
        return self.manager

    # -- mypy's cache -------------------------------------------------------------------------
    def config_data(self, module: str | None, path: str | None) -> dict:
        """What goes into mypy's cache metadata of a module: a change makes mypy re-check it.

        Installed packages (torch) get the version only. A user module also gets the digest of
        shapecheck's sources (an edited rule never replays stale findings) and the digest of its
        interface as the engine reads it from other modules; mypy folds this data into the
        module's interface hash, so a change there re-checks the modules that depend on it."""
        data: dict = {"shapecheck": shapecheck.__version__}
        if path is None or self.installed(path):
            return data
        data["sources"] = self.digest
        data["interface"] = self.interface(module or "", path)
        return data

    def interface(self, module: str, path: str) -> str:
        """The digest, remembered across runs by the file's size and modification time (mypy's
        cache validation asks for it on every run, for every module)."""
        hit = self.run_interfaces.get(path)
        if hit is not None:
            return hit
        key = self.memo.key(path)
        if key is None:
            return "absent"
        hit = self.memo.get(key)
        if hit is None:
            hit = self._interface_in_project(module, path) or self._interface_of(module, path)
            self.memo.put(key, hit)
        self.run_interfaces[path] = hit
        return hit

    def _interface_in_project(self, module: str, path: str) -> str | None:
        """During a build (mypy writes a module's cache before its post-pass), from the tree the
        project parses once for the module's analysis too."""
        if self.modules is None or not module:
            return None
        try:
            self._sync_project(self.modules, module, path)
            if self.project.by_module.get(module) != os.path.abspath(path):
                return None
            settings, _root = self.settings_for(path)
            if self.project.module_info(module, settings) is None:
                return None
            return self.project.interface_digest(module, settings)
        except Exception:  # noqa: BLE001 - the standalone reading decides
            return None

    def _interface_of(self, module: str, path: str) -> str:
        import ast

        from shapecheck._engine._interface import interface_digest
        from shapecheck._engine._module import ModuleInfo

        try:
            with open(path, "rb") as fh:
                data = fh.read()
            settings, _root = self.settings_for(path)
            info = ModuleInfo(path, ast.parse(data, filename=path), settings, None, module)
            return interface_digest(info)
        except Exception:  # noqa: BLE001 - unreadable or unparsable: mypy reports it
            return "bytes:" + hashlib.blake2b(data if "data" in locals() else b"", digest_size=16).hexdigest()

    def installed(self, path: str) -> bool:
        hit = self.third_party.get(path)
        if hit is None:
            hit = self.third_party[path] = _third_party(path)
        return hit

    # -- configuration ------------------------------------------------------------------------
    def settings_for(self, path: str) -> tuple:
        """The linter's settings for ``path`` (``[tool.shapecheck]`` of the nearest pyproject.toml)."""
        from shapecheck._lint._config import ConfigError, load_config

        d = os.path.dirname(os.path.abspath(path))
        hit = self.configs.get(d)
        if hit is None:
            try:
                cfg = load_config(d)
                hit = (dataclasses.replace(cfg.settings, reveal_type=True), cfg.root)
            except ConfigError as e:
                hit = str(e)
            self.configs[d] = hit
        if isinstance(hit, str):
            raise _compat.ShapecheckConfigError(hit)
        return hit

    # -- the post-pass ------------------------------------------------------------------------
    def after_check(self, tree: Any) -> set:
        """Analyse the module mypy has just checked; report its findings. Returns the project
        modules the analysis read (mypy's indirect dependencies of the module)."""
        path = getattr(tree, "path", None)
        if not path or self.installed(path):
            return set()
        manager = self._build()
        if manager is None:
            return set()
        errors = manager.errors
        module = tree.fullname
        try:
            self._sync_project(manager.modules, module, path)
            found = self.analyse(module, path)
            with _compat.reporting_on(errors, path, module, manager.options):
                self._emit(errors, found)
            if self.updating:
                self._daemon_update(errors, manager, module)
            return set(found.reads)
        except Exception as e:  # noqa: BLE001 - never crash mypy
            with _compat.reporting_on(errors, path, module, manager.options):
                _report.internal(errors, e)
            return set()

    def analyse(self, module: str, path: str) -> Findings:
        from shapecheck._lint._driver import check_source, needs_analysis
        from shapecheck._lint._runner import Job, SkipFile, decode_source, lint_text

        try:
            with open(path, "rb") as fh:
                text, _encoding = decode_source(fh.read())
        except (OSError, SkipFile):
            found = Findings(path, [], frozenset())  # mypy reports what it cannot read
        else:
            try:
                settings, root = self.settings_for(path)
            except _compat.ShapecheckConfigError as e:
                from shapecheck._core._diag import Diagnostic

                found = Findings(path, [Diagnostic(path, 1, 1, "SHP900", f"shapecheck's configuration: {e}",
                                                   "note")], frozenset())
            else:
                if not needs_analysis(text, settings) and not _SUPPRESSION_HINT.search(text):
                    found = Findings(path, [], frozenset())  # nothing the linter would analyse or report
                    self.findings[module] = found
                    return found
                stored = self._stored(module, path, text, settings)
                if stored is not None:
                    self.findings[module] = stored
                    return stored
                info = self.project.module_info(module, settings) if module in self.project.by_module else None
                if info is not None and info.path == os.path.abspath(path):
                    tree = info.tree  # parsed once, for this analysis and for the modules importing it

                    def check(source, p, s, project):
                        return check_source(source, p, s, project, tree=tree)
                else:
                    check = None
                job = Job(settings=settings, root=root, project=self.project, digests=False, check=check)
                diags = lint_text(text, path, path, job)
                reads = frozenset(m for m in self.project.dependencies(module) if m in self.project.by_module)
                found = Findings(path, diags, reads)
                self._store(module, path, text, settings, found)
                self._remember_interface(module, path, settings)
        self.findings[module] = found
        return found

    # -- findings kept between runs: mypy re-checks a whole import cycle when one file of it changes --
    def _key(self, module: str, text: str, settings: Any) -> str:
        hit = self.fingerprints.get(id(settings))
        if hit is None or hit[0] is not settings:
            from shapecheck._lint._cache import settings_fingerprint

            hit = self.fingerprints[id(settings)] = (settings, settings_fingerprint(settings))
        h = hashlib.blake2b(digest_size=16)
        for part in (self.digest, module, hit[1], text):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return h.hexdigest()

    def _deps_digest(self, reads) -> dict | None:
        out = {}
        for m in sorted(reads):
            p = self.project.by_module.get(m) if self.project is not None else None
            if p is None:
                return None
            out[m] = self.interface(m, p)
        return out

    def _stored(self, module: str, path: str, text: str, settings: Any) -> Findings | None:
        """The findings of the last analysis of this very text, when every module it read still has
        the interface it had then."""
        from shapecheck._lint._cache import diag_from_json

        entry = self.memo.findings(self._key(module, text, settings))
        if entry is None:
            return None
        try:
            if self._deps_digest(entry["reads"]) != entry["deps"]:
                return None
            return Findings(path, [diag_from_json(d, path) for d in entry["diagnostics"]], frozenset(entry["reads"]))
        except (KeyError, TypeError, ValueError):
            return None

    def _store(self, module: str, path: str, text: str, settings: Any, found: Findings) -> None:
        deps = self._deps_digest(found.reads)
        if deps is None or any(d.code == "SHP900" for d in found.diagnostics):
            return
        self.memo.store_findings(self._key(module, text, settings), {
            "reads": sorted(found.reads), "deps": deps,
            "diagnostics": [_diag_json(d) for d in found.diagnostics]})

    def _remember_interface(self, module: str, path: str, settings: Any) -> None:
        """The module's interface digest, from the tree the project parsed, kept for the next run
        (mypy writes the module's cache right after this post-pass and asks for it then)."""
        key = self.memo.key(path)
        if key is None or self.memo.get(key) is not None:
            return
        from shapecheck._engine._interface import interface_digest

        info = self.project.module_info(module, settings)
        if info is not None and _compat.stamp(path) == key[1:]:
            self.memo.put(key, interface_digest(info))

    def _emit(self, errors: Any, found: Findings) -> None:
        target = TARGET + found.path
        _compat.drop_reported(errors, found.path, target)  # reported once, however often re-emitted
        for d in found.diagnostics:
            _report.emit(errors, self.table, d, target)

    def _sync_project(self, modules: dict, module: str, path: str) -> None:
        """The engine's project over mypy's modules; a new one when this module's file is not the one
        the project read (the daemon's next update) or the build has modules the project lacks."""
        from shapecheck._engine._project import Project

        stamp = _compat.stamp(path)
        p = self.project
        stale = p is None or (module in self.stamps and self.stamps[module] != stamp) \
            or len(modules) != getattr(p, "_mypy_size", -1)
        if stale:
            p = Project(())
            for mid, f in list(modules.items()):
                fp = getattr(f, "path", None)
                if not fp or not fp.endswith((".py", ".pyi")) or self.installed(fp):
                    continue
                ap = os.path.abspath(fp)
                p.by_path[ap] = mid
                p.by_module.setdefault(mid, ap)
                self.stamps[mid] = _compat.stamp(fp)
            p._mypy_size = len(modules)
            self.project = p
        self.stamps[module] = stamp

    def _daemon_update(self, errors: Any, manager: Any, changed: str) -> None:
        """dmypy re-checked ``changed`` alone and dropped every other module's errors: re-analyse the
        modules whose analysis read it (or that were never analysed in this process), and report
        the findings of all the others again."""
        for mid, f in list(manager.modules.items()):
            fp = getattr(f, "path", None)
            if mid == changed or not fp or not fp.endswith((".py", ".pyi")) or self.installed(fp):
                continue
            if fp in errors.flushed_files:
                continue  # already printed: nothing can be added there
            old = self.findings.get(mid)
            found = old
            if old is not None and changed not in old.reads and not _compat.lost_errors(errors, fp, TARGET + fp):
                continue
            if old is None or changed in old.reads:
                try:
                    found = self.analyse(mid, fp)
                except Exception as e:  # noqa: BLE001
                    with _compat.reporting_on(errors, fp, mid, manager.options):
                        _report.internal(errors, e)
                    continue
            with _compat.reporting_on(errors, fp, mid, manager.options, f):
                self._emit(errors, found)
