"""Everything that depends on the mypy version lives here.

Supported: mypy >= 2.4, the first release that calls a plugin after each module is type-checked
(``Plugin.get_additional_indirect_deps``), where the plugin runs the engine. Older releases are
refused with a clear message by :func:`check_version`. The post-pass reaches a few of mypy's
internals that the plugin API does not hand over (the build's error sink, the daemon's update);
they are read here, and only here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mypy.errorcodes import ErrorCode

MIN_MYPY = (2, 4)


class UnsupportedMypy(RuntimeError):
    """Raised from ``plugin(version)`` for a mypy release older than :data:`MIN_MYPY`."""


def parse_version(version: str) -> tuple:
    nums = re.findall(r"\d+", version.split("+", 1)[0])[:2]
    return tuple(int(n) for n in nums) + (0,) * (2 - len(nums))


def check_version(version: str) -> None:
    if parse_version(version) < MIN_MYPY:
        need = ".".join(map(str, MIN_MYPY))
        raise UnsupportedMypy(
            f"shapecheck.plugin needs mypy >= {need}, but this is mypy {version}; "
            f"upgrade mypy (pip install 'mypy>={need}') or remove shapecheck.plugin from `plugins`"
        )


def error_code(code: str, description: str) -> ErrorCode:
    return ErrorCode(code, description, "shapecheck")


def apply_disabled_codes(options: Any, codes) -> None:
    """``disable_error_code = shape-rank`` in the config, for mypy releases that read the config
    before the plugin's codes exist (they drop unknown codes; mypy 2.x keeps them)."""
    wanted = set(getattr(options, "disable_error_code", None) or ()) | _codes_in_config(options, "disable_error_code")
    enabled = set(getattr(options, "enable_error_code", None) or ()) | _codes_in_config(options, "enable_error_code")
    disabled = getattr(options, "disabled_error_codes", None)
    if disabled is None:
        return
    for c in codes:
        if c.code in wanted and c.code not in enabled:
            disabled.add(c)


class ShapecheckConfigError(Exception):
    """``[tool.shapecheck]`` could not be read (the message says why)."""


def disables_shape_codes(options: Any) -> bool:
    """Whether the config names a ``shape-*`` code to disable or enable (then the plugin's codes
    must exist when mypy reads the config; otherwise they are made at the first finding)."""
    named = set(getattr(options, "disable_error_code", None) or ()) | set(
        getattr(options, "enable_error_code", None) or ())
    named |= _codes_in_config(options, "disable_error_code") | _codes_in_config(options, "enable_error_code")
    return any(str(c).startswith("shape-") for c in named)


class InterfaceMemo:
    """Interface digests by (path, mtime_ns, size), kept in mypy's cache directory between runs as
    an append-only file of ``path<TAB>mtime_ns<TAB>size<TAB>digest`` lines (the last line of a path
    wins; a file that cannot be read or written is only a slower run)."""

    NAME = "shapecheck-interfaces.tsv"

    def __init__(self, options: Any) -> None:
        cache_dir = getattr(options, "cache_dir", None)
        usable = cache_dir and cache_dir != os.devnull and getattr(options, "incremental", True)
        self.file = os.path.join(cache_dir, self.NAME) if usable else None
        self.entries: dict | None = None

    def key(self, path: str) -> tuple | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (os.path.abspath(path), st.st_mtime_ns, st.st_size)

    def _load(self) -> dict:
        if self.entries is None:
            self.entries = {}
            latest: dict = {}  # path -> its last line's key
            lines = 0
            if self.file is not None:
                try:
                    with open(self.file, encoding="utf-8") as fh:
                        for line in fh:
                            lines += 1
                            parts = line.rstrip("\n").split("\t")
                            if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
                                key = (parts[0], int(parts[1]), int(parts[2]))
                                self.entries[key] = parts[3]
                                latest[parts[0]] = key
                except OSError:
                    pass
            if lines > 2 * len(latest) + 64:
                self._compact([(k, self.entries[k]) for k in latest.values()])
        return self.entries

    def _compact(self, keep: list) -> None:
        """Rewrite the file with the last line of each path (atomically: a concurrent run reads
        either file whole)."""
        tmp = f"{self.file}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(f"{k[0]}\t{k[1]}\t{k[2]}\t{d}\n" for k, d in keep)
            os.replace(tmp, self.file)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def get(self, key: tuple) -> str | None:
        return self._load().get(key)

    def put(self, key: tuple, digest: str) -> None:
        self._load()[key] = digest
        if self.file is not None and "\t" not in key[0] and "\n" not in key[0]:
            try:
                os.makedirs(os.path.dirname(self.file), exist_ok=True)
                with open(self.file, "a", encoding="utf-8") as fh:
                    fh.write(f"{key[0]}\t{key[1]}\t{key[2]}\t{digest}\n")
            except OSError:
                pass


    # findings of a module, one small file per (sources, settings, text) key
    def _findings_file(self, key: str) -> str | None:
        if self.file is None:
            return None
        return os.path.join(os.path.dirname(self.file), "shapecheck-findings", key[:2], key + ".json")

    def findings(self, key: str) -> dict | None:
        f = self._findings_file(key)
        if f is None:
            return None
        try:
            with open(f, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def store_findings(self, key: str, entry: dict) -> None:
        f = self._findings_file(key)
        if f is None:
            return
        tmp = f"{f}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(f), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(entry, fh)
            os.replace(tmp, f)
        except OSError:
            pass


def stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def build_of(modules: dict) -> Any:
    """mypy's ``BuildManager`` that owns ``modules`` (the dict mypy hands to ``Plugin.set_modules``).

    A plugin's post-pass gets the module's tree alone; the build's error sink hangs off the manager,
    which the plugin API does not hand over. The manager is the one object holding the modules dict
    with an ``errors`` attribute; asked once per build, when mypy sets the modules."""
    import gc

    for r in gc.get_referrers(modules):
        if type(r).__name__ == "BuildManager" and getattr(r, "modules", None) is modules \
                and hasattr(getattr(r, "errors", None), "report"):
            return r
    return None


def lost_errors(errors: Any, path: str, target: str) -> bool:
    """Whether ``path`` can take errors again and holds none with ``target`` (the daemon dropped
    them when it re-checked another module)."""
    if path in errors.flushed_files:
        return False
    return not any(getattr(i, "target", None) == target for i in errors.error_info_map.get(path, ()))


@contextmanager
def reporting_on(errors: Any, path: str, module: str, options: Any, tree: Any = None) -> Iterator[None]:
    """Errors reported inside go to ``path`` (module ``module``), with its ``# type: ignore`` lines."""
    saved = (errors.file, errors.target_module, errors.scope, errors.options)
    errors.set_file(path, module, options.clone_for_module(module) if hasattr(options, "clone_for_module")
                    else options)
    if tree is not None and path not in errors.ignored_lines:
        errors.set_file_ignored_lines(path, tree.ignored_lines, False)
    try:
        yield
    finally:
        errors.file, errors.target_module, errors.scope, errors.options = saved


def retarget(info: Any, target: str) -> None:
    """Give a reported error a target of its own: the daemon re-checks a target that had errors
    (and drops its errors first), which would drop a finding mypy's checker did not make."""
    if info is not None:
        info.target = target


def drop_reported(errors: Any, path: str, target: str) -> bool:
    """Remove the errors with ``target`` from ``path``; whether there were any."""
    infos = errors.error_info_map.get(path)
    if not infos:
        return False
    kept = [i for i in infos if getattr(i, "target", None) != target]
    errors.error_info_map[path] = kept
    return len(kept) != len(infos)


def _codes_in_config(options: Any, key: str) -> set:
    """``shape-*`` codes listed under ``key`` in the config file's global section (mypy < 2 drops
    codes it does not know yet while reading the file, before plugins are loaded)."""
    path = getattr(options, "config_file", None)
    if not path:
        return set()
    try:
        if str(path).endswith(".toml"):
            import tomllib

            with open(path, "rb") as f:
                value = tomllib.load(f).get("tool", {}).get("mypy", {}).get(key, [])
        else:
            import configparser

            cp = configparser.ConfigParser()
            cp.read(path)
            value = cp.get("mypy", key, fallback="")
    except (OSError, ValueError, configparser_error()):
        return set()
    items = value if isinstance(value, list) else str(value).split(",")
    return {str(v).strip() for v in items if str(v).strip().startswith("shape-")}


def configparser_error() -> type:
    import configparser

    return configparser.Error
