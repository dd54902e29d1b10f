"""Everything that depends on the mypy version lives here.

Supported: mypy >= 1.18 (``Instance.extra_attrs`` survives both cache formats and ``dmypy run``
from that release on). Older releases are refused with a clear message by :func:`check_version`.
"""

from __future__ import annotations

import re
from typing import Any

from mypy.errorcodes import ErrorCode
from mypy.types import ExtraAttrs, Instance, LiteralType, Type

MIN_MYPY = (1, 18)


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


def has_post_pass() -> bool:
    """Whether mypy calls a plugin after each module is type checked (mypy >= 2.4)."""
    from mypy.plugin import Plugin

    return hasattr(Plugin, "get_additional_indirect_deps")


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


def get_extra(inst: Instance, key: str) -> Any:
    """The str value stored under ``key`` in the instance's extra attributes, or None."""
    extra = inst.extra_attrs
    if extra is None:
        return None
    t = extra.attrs.get(key)
    if isinstance(t, LiteralType) and isinstance(t.value, str):
        return t.value
    return None


def with_extra(inst: Instance, key: str, value: str, str_type: Instance) -> Instance:
    """A copy of ``inst`` whose extra attributes hold ``value`` under ``key`` (others dropped)."""
    lit = LiteralType(value, fallback=str_type)
    out = inst.copy_modified()
    out.extra_attrs = ExtraAttrs({key: lit}, {key}, None)
    return out


def without_extra(inst: Instance) -> Instance:
    out = inst.copy_modified()
    out.extra_attrs = None
    return out


def note(api: Any, message: str, context: Any, code: ErrorCode | None) -> None:
    """A note from a type-checker hook."""
    api.msg.note(message, context, code=code)


def fail(api: Any, message: str, context: Any, code: ErrorCode) -> None:
    api.fail(message, context, code=code)


def checker_errors(api: Any) -> Any:
    """mypy's ``Errors`` object behind a checker or type-analyser API (None if unreachable)."""
    for path in (("msg", "errors"), ("errors",), ("api", "errors")):
        obj = api
        for attr in path:
            obj = getattr(obj, attr, None)
            if obj is None:
                break
        if obj is not None and hasattr(obj, "report"):
            return obj
    return None


def return_type_stack(api: Any) -> list:
    """The checker's stack of declared return types of the functions being checked."""
    return getattr(api, "return_types", None) or []


def type_context(api: Any) -> Type | None:
    ctx = getattr(api, "type_context", None)
    return ctx[-1] if ctx else None


def report_error(errors: Any, line: int, column: int, message: str, code: ErrorCode,
                 severity: str = "error") -> None:
    """Report through mypy's ``Errors`` directly (used by the post-pass, after checking)."""
    errors.report(line, column, message, code=code, severity=severity)


def current_function(api: Any) -> Any:
    """The function (``FuncItem``) whose body the checker is in, or None."""
    scope = getattr(api, "scope", None)
    fn = getattr(scope, "current_function", None)
    return fn() if callable(fn) else None


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
