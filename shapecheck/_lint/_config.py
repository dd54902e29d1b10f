"""Configuration: ``[tool.shapecheck]`` in pyproject.toml, merged with the command line.

Discovery walks up from the starting directory to the nearest ``pyproject.toml`` that has a
``[tool.shapecheck]`` table (``--config`` names one file, ``--isolated`` reads none). Every key is
validated: an unknown key (with a did-you-mean), a value of the wrong type or a selector that names
no code raises :class:`ConfigError`, which the CLI prints and turns into exit status 2.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass

from .._core._diag import CODES, default_codes, resolve_selector
from .._core._settings import Settings

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None

__all__ = ["ConfigError", "Config", "load_config", "parse_per_file_ignores", "find_config", "load_codes", "resolve_selectors",
           "DEFAULT_EXCLUDE", "KEYS"]

# Directories nobody wants linted; ``exclude`` replaces this list, ``extend-exclude`` adds to it.
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".mypy_cache", ".nox", ".pytest_cache", ".ruff_cache",
    ".shapecheck_cache", ".svn", ".tox", ".venv", "__pycache__", "__pypackages__", "_build", "buck-out",
    "build", "dist", "node_modules", "site-packages", "venv",
)

# key -> expected kind ("codes": list of selectors, "strings": list of str, "table": str -> ...)
KEYS = {
    "select": "codes",
    "ignore": "codes",
    "extend-select": "codes",
    "extend-ignore": "codes",
    "per-file-ignores": "per-file",
    "exclude": "strings",
    "extend-exclude": "strings",
    "shape-modules": "strings",
    "tensor-types": "strings",
    "axis-aliases": "aliases",
}


class ConfigError(Exception):
    """A configuration problem the user must fix; the message says where and how."""


@dataclass(frozen=True)
class Config:
    settings: Settings
    root: str  # the project root: relative patterns and the cache directory hang off it
    source: str | None = None  # the file the settings came from (None: defaults)


_codes_loaded = False


def load_codes() -> None:
    """Make sure every code is registered: the engine and the rules register theirs on import."""
    global _codes_loaded
    if _codes_loaded:
        return
    _codes_loaded = True
    for mod in ("shapecheck._lint._driver", "shapecheck.rules"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def _did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def resolve_selectors(selectors, where: str, selecting: bool = False) -> frozenset:
    """Codes named by a list of selectors (codes, prefixes or rule names); a dud is an error.

    ``selecting``: a prefix leaves out the opt-in codes (see ``resolve_selector``)."""
    load_codes()
    out: set[str] = set()
    for sel in selectors:
        if not isinstance(sel, str):
            raise ConfigError(f"{where}: expected a code, a code prefix or a rule name, got {sel!r}")
        codes = resolve_selector(sel, selecting)
        if not codes and not resolve_selector(sel):
            names = list(CODES) + [c.name for c in CODES.values()]
            raise ConfigError(f"{where}: `{sel}` is not a shapecheck code, code prefix or rule name"
                              f"{_did_you_mean(sel.strip(), names)}")
        out |= codes
    return frozenset(out)


def _str_list(value, where: str) -> tuple:
    if isinstance(value, str):
        raise ConfigError(f"{where}: expected a list of strings, got the string {value!r} (write [{value!r}])")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {_show(value)}")
    return tuple(value)


def _show(value) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})"


def find_config(start: str) -> str | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.shapecheck]`` table."""
    d = os.path.abspath(start)
    if os.path.isfile(d):
        d = os.path.dirname(d)
    while True:
        cand = os.path.join(d, "pyproject.toml")
        if os.path.isfile(cand):
            try:
                with open(cand, "rb") as fh:
                    if b"tool.shapecheck" in fh.read():
                        return cand
            except OSError:
                pass
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def find_root(start: str) -> str:
    """The project root without a config: the nearest directory with pyproject.toml or .git."""
    d = os.path.abspath(start)
    if os.path.isfile(d):
        d = os.path.dirname(d)
    here = d
    while True:
        if os.path.exists(os.path.join(d, "pyproject.toml")) or os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return here
        d = parent


def _read_table(path: str) -> dict:
    if _toml is None:  # pragma: no cover - Python 3.10 without tomli
        raise ConfigError(f"{path}: reading TOML on this Python needs the `tomli` package")
    try:
        with open(path, "rb") as fh:
            data = _toml.load(fh)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror or e}") from None
    except _toml.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    tool = data.get("tool", {})
    if isinstance(tool, dict) and "shapecheck" in tool:
        table = tool["shapecheck"]
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.shapecheck] must be a table, got {_show(table)}")
        return table
    if os.path.basename(path) == "pyproject.toml":
        return {}
    # a dedicated file (shapecheck.toml): the keys sit at the top level
    return data


def _parse_table(table: dict, path: str) -> dict:
    where0 = f"{path}: [tool.shapecheck]"
    out: dict = {}
    for key, value in table.items():
        kind = KEYS.get(key)
        if kind is None:
            alt = key.replace("_", "-")
            hint = f" (did you mean `{alt}`?)" if alt in KEYS else _did_you_mean(key, KEYS)
            raise ConfigError(f"{where0}: unknown key `{key}`{hint}; known keys: {', '.join(KEYS)}")
        where = f"{where0} {key}"
        if kind == "codes":
            out[key] = resolve_selectors(_str_list(value, where), where, key in ("select", "extend-select"))
        elif kind == "strings":
            out[key] = _str_list(value, where)
        elif kind == "per-file":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table of glob = [codes], got {_show(value)}")
            pfi = []
            for pattern, codes in value.items():
                sub = f"{where} {pattern!r}"
                pfi.append((pattern, resolve_selectors(_str_list(codes, sub), sub)))
            out[key] = tuple(pfi)
        elif kind == "aliases":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table of alias = \"axis name\", got {_show(value)}")
            pairs = []
            for alias, name in value.items():
                if not isinstance(name, str) or not name.strip():
                    raise ConfigError(f"{where} {alias!r}: expected an axis name (a string), got {_show(name)}")
                pairs.append((alias, name.strip()))
            out[key] = tuple(pairs)
    return out


def parse_per_file_ignores(items, where: str) -> tuple:
    """``PATTERN:CODES`` items from the command line as (pattern, codes) pairs.

    An item is ``tests/**:SHP1`` or, after splitting on commas, a bare code that continues the
    previous pattern's list, so ``"tests/**:SHP101,SHP102"`` and ``"a.py:SHP1,b.py:SHP2"`` both read
    as meant. The last colon separates the pattern from the codes.
    """
    pairs: list = []
    for item in items:
        pattern, colon, codes = item.rpartition(":")
        if colon:
            pattern = pattern.strip()
            if not pattern:
                raise ConfigError(f"{where}: `{item}` has no file pattern before the `:` (write PATTERN:CODES)")
            pairs.append((pattern, [codes.strip()] if codes.strip() else []))
        elif pairs:
            pairs[-1][1].append(item.strip())
        else:
            raise ConfigError(f"{where}: `{item}` is not PATTERN:CODES (for example `tests/**:SHP101`)")
    out = []
    for pattern, codes in pairs:
        sub = f"{where} {pattern!r}"
        if not codes:
            raise ConfigError(f"{sub}: no codes after the `:` (write PATTERN:CODES)")
        out.append((pattern, resolve_selectors(codes, sub)))
    return tuple(out)


def load_config(start: str, config_path: str | None = None, isolated: bool = False, *,
                select=None, ignore=None, extend_select=None, extend_ignore=None, per_file_ignores=None,
                extend_per_file_ignores=None, exclude=None, extend_exclude=None) -> Config:
    """Settings for a run: the config file (found or given) overlaid with the command line.

    The keyword arguments come from the command line, with the semantics of the config keys of the
    same names. ``select``/``ignore``/``extend_select``/``extend_ignore`` are lists of selector
    strings: ``select`` replaces the file's, the others add to it. ``per_file_ignores`` and
    ``extend_per_file_ignores`` are lists of ``PATTERN:CODES`` strings (see
    :func:`parse_per_file_ignores`): the first replaces the file's table, the second adds to it.
    ``exclude`` replaces the file's ``exclude`` (or the default list), ``extend_exclude`` adds
    to its ``extend-exclude``.
    """
    load_codes()
    source = None
    values: dict = {}
    if not isolated:
        source = os.path.abspath(config_path) if config_path else find_config(start)
        if config_path and not os.path.isfile(source):
            raise ConfigError(f"--config: no such file: {config_path}")
        if source:
            values = _parse_table(_read_table(source), source)
    root = os.path.dirname(source) if source else find_root(start)

    sel = set(values.get("select", ()))
    if select is not None:
        sel = set(resolve_selectors(select, "--select", selecting=True))
    ext = set(values.get("extend-select", ()))
    if extend_select:
        ext |= resolve_selectors(extend_select, "--extend-select", selecting=True)
    if ext:
        sel = (sel or set(default_codes())) | ext  # extending the default selection (opt-in codes)
    ign = set(values.get("ignore", ())) | set(values.get("extend-ignore", ()))
    if ignore:
        ign |= resolve_selectors(ignore, "--ignore")
    if extend_ignore:
        ign |= resolve_selectors(extend_ignore, "--extend-ignore")
    pfi = tuple(values.get("per-file-ignores", ()))
    if per_file_ignores is not None:
        pfi = parse_per_file_ignores(per_file_ignores, "--per-file-ignores")
    if extend_per_file_ignores:
        pfi += parse_per_file_ignores(extend_per_file_ignores, "--extend-per-file-ignores")
    excl = tuple(values.get("exclude", DEFAULT_EXCLUDE))
    if exclude is not None:
        excl = tuple(exclude)
    ext_excl = tuple(values.get("extend-exclude", ()))
    if extend_exclude:
        ext_excl += tuple(extend_exclude)
    settings = Settings(
        select=frozenset(sel),
        ignore=frozenset(ign),
        per_file_ignores=pfi,
        exclude=excl,
        extend_exclude=ext_excl,
        shape_modules=tuple(values.get("shape-modules", ())),
        tensor_types=tuple(values.get("tensor-types", ())),
        axis_aliases=tuple(values.get("axis-aliases", ())),
    )
    return Config(settings=settings, root=root, source=source)
