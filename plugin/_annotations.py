"""Reading jaxtyping annotations: ``Float[Tensor, "batch seq"]`` as seen by mypy.

Under ``TYPE_CHECKING`` jaxtyping's dtypes are ``typing.Annotated``; mypy asks the plugin about
``typing.Annotated`` and hands over the written name (``Float``, ``jt.Float32``), the array type
and the dimension string (a ``RawExpressionType``, or an ``UnboundType`` for a single word).
"""

from __future__ import annotations

from mypy.plugin import AnalyzeTypeContext
from mypy.types import (
    AnyType,
    Instance,
    RawExpressionType,
    Type,
    TypeOfAny,
    UnboundType,
    get_proper_type,
)
from shapecheck._core._parse import AnnotationSyntaxError, parse_shape

from . import _carrier, _report

ANNOTATED = ("typing.Annotated", "typing_extensions.Annotated")


def dim_string(arg: Type) -> str | None:
    """The dimension string of a jaxtyping subscript's second argument, or None."""
    if isinstance(arg, RawExpressionType):
        if isinstance(arg.literal_value, str) and arg.base_type_name == "builtins.str":
            return arg.literal_value
        return None
    if isinstance(arg, UnboundType) and arg.original_str_expr is not None and not arg.args:
        return arg.original_str_expr
    return None


def _where(ctx: AnalyzeTypeContext) -> str:
    sem = getattr(ctx.api, "api", None)
    errors = getattr(sem, "errors", None)
    path = getattr(errors, "file", None) or getattr(sem, "cur_mod_id", "?")
    return f"annotation, {path.rsplit('/', 1)[-1]}:{ctx.context.line}"


def analyze_annotated(ctx: AnalyzeTypeContext) -> Type:
    """The hook for ``typing.Annotated``: plain Annotated as mypy does it, jaxtyping with a carrier."""
    t = ctx.type
    if not t.args:
        return AnyType(TypeOfAny.from_error)
    base = ctx.api.analyze_type(t.args[0])
    written = t.name.rsplit(".", 1)[-1]
    if written == "Annotated" or len(t.args) != 2:
        return base
    text = dim_string(t.args[1])
    if text is None:
        return base
    p = get_proper_type(base)
    if not _carrier.is_tensor(p):
        return base
    try:
        spec = parse_shape(text)
    except AnnotationSyntaxError as e:
        _report.annotation(ctx.api, f"{e.message} in `{written}[..., \"{text}\"]`", ctx.context)
        return base
    where = _where(ctx)
    origins = tuple(where for _ in spec.axes)
    str_type = ctx.api.named_type("builtins.str", [])
    assert isinstance(p, Instance)
    return _carrier.attach_text(p, text, origins, str_type)


def annotation_file(ctx: AnalyzeTypeContext) -> str | None:
    return getattr(getattr(getattr(ctx.api, "api", None), "errors", None), "file", None)


def hook(ctx: AnalyzeTypeContext, declared: dict | None = None) -> Type:
    """The guarded hook; ``declared`` (path -> [(instance, extra attributes)]) records carriers."""
    try:
        t = analyze_annotated(ctx)
        if declared is not None and isinstance(t, Instance) and t.extra_attrs is not None:
            declared.setdefault(annotation_file(ctx), []).append((t, t.extra_attrs))
        return t
    except Exception as e:  # noqa: BLE001 - never crash mypy
        _report.internal(ctx.api, e, ctx.context, "a jaxtyping annotation")
        if ctx.type.args:
            try:
                return ctx.api.analyze_type(ctx.type.args[0])
            except Exception:  # noqa: BLE001
                pass
        return AnyType(TypeOfAny.from_error)


