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

from .._core._diag import CODES, resolve_selector
from .._core._settings import Settings

try:  # Python 3.11+
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None

__all__ = ["ConfigError", "Config", "load_config", "find_config", "load_codes", "resolve_selectors",
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


def resolve_selectors(selectors, where: str) -> frozenset:
    """Codes named by a list of selectors (codes, prefixes or rule names); a dud is an error."""
    load_codes()
    out: set[str] = set()
    for sel in selectors:
        if not isinstance(sel, str):
            raise ConfigError(f"{where}: expected a code, a code prefix or a rule name, got {sel!r}")
        codes = resolve_selector(sel)
        if not codes:
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
            out[key] = resolve_selectors(_str_list(value, where), where)
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


def load_config(start: str, config_path: str | None = None, isolated: bool = False, *,
                select=None, ignore=None, extend_select=None, per_file_ignores=None) -> Config:
    """Settings for a run: the config file (found or given) overlaid with command-line selectors.

    ``select``/``ignore``/``extend_select`` are lists of selector strings from the command line:
    ``select`` replaces the file's, ``ignore`` and ``extend_select`` add to it.
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
        sel = set(resolve_selectors(select, "--select"))
    ext = set(values.get("extend-select", ()))
    if extend_select:
        ext |= resolve_selectors(extend_select, "--extend-select")
    if sel:
        sel |= ext
    ign = set(values.get("ignore", ())) | set(values.get("extend-ignore", ()))
    if ignore:
        ign |= resolve_selectors(ignore, "--ignore")
    pfi = tuple(values.get("per-file-ignores", ()))
    if per_file_ignores:
        pfi += tuple(per_file_ignores)
    settings = Settings(
        select=frozenset(sel),
        ignore=frozenset(ign),
        per_file_ignores=pfi,
        exclude=tuple(values.get("exclude", DEFAULT_EXCLUDE)),
        extend_exclude=tuple(values.get("extend-exclude", ())),
        shape_modules=tuple(values.get("shape-modules", ())),
        tensor_types=tuple(values.get("tensor-types", ())),
        axis_aliases=tuple(values.get("axis-aliases", ())),
    )
    return Config(settings=settings, root=root, source=source)
