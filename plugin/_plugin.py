"""The mypy ``Plugin`` subclass: it only dispatches full names to the hooks of the other modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mypy.nodes import MypyFile, TypeAlias, TypeInfo
from mypy.options import Options
from mypy.plugin import (
    AttributeContext,
    FunctionContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import FunctionLike, Type

from . import _compat, _report, _session

REVEAL = ("shapecheck.reveal_shape",)
_NOT_ALIASES = ("builtins.", "typing.", "typing_extensions.", "collections.", "torch.", "jaxtyping.", "numpy.")
CACHE_VERSION = "1"


class ShapecheckPlugin(Plugin):
    def __init__(self, options: Options) -> None:
        super().__init__(options)
        _compat.apply_disabled_codes(options, _report.CODES)
        self._session = _session.Session.from_options(options)
        self._modules_cache: tuple | None = None

    # -- configuration ----------------------------------------------------------------------
    def report_config_data(self, ctx: ReportConfigContext) -> Any:
        return self._session.config_data(CACHE_VERSION, getattr(ctx, "path", None))

    # -- semantic analysis --------------------------------------------------------------------
    def get_type_analyze_hook(self, fullname: str):
        _aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks = self._heavy()
        if fullname in _annotations.ANNOTATED:
            return self._session.annotation_hook
        if fullname == _carrier.TENSOR:
            return self._session.tensor_hook
        if fullname.startswith(_NOT_ALIASES):
            return None
        node = self._node(fullname)
        if isinstance(node, TypeAlias) and _carrier.has_carrier(node.target):
            # mypy expands an alias of a bare class to a fresh instance, dropping the carrier
            return lambda ctx: _aliases.alias_type(node)
        return None

    # -- type checking ----------------------------------------------------------------------
    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        _aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks = self._heavy()
        if fullname in REVEAL:
            return self._guard(lambda ctx: _op_hooks.reveal(ctx, self._scope(ctx)), "`reveal_shape`")
        core = self._session.core_name(fullname, _op_hooks.function_core_name)
        if core is not None:
            return self._guard(lambda ctx: _op_hooks.run_rule(core, ctx, None, self._scope(ctx)), f"`{core}`")
        node = self._node(fullname)
        if isinstance(node, TypeInfo) and node.has_base(_modules.MODULE):
            layer = _modules.core_name(node)
            if layer is None:
                return None
            return self._guard(lambda ctx: _modules.construct(ctx, layer), f"`{layer}`")
        sig = _calls.callable_of(node)
        if _calls.is_annotated(sig):
            name = fullname.rsplit(".", 1)[-1]
            return self._guard(lambda ctx: _calls.check_call(ctx, sig, name, self._scope(ctx)),
                               f"the call of `{name}`")
        return None

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        _aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks = self._heavy()
        cls, _, method = fullname.rpartition(".")
        if method != "__call__":
            return None
        info = self._info(cls)
        if info is None or _calls.forward_of(info) is None:
            return None
        return self._guard_sig(_calls.module_signature)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        _aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks = self._heavy()
        cls, _, method = fullname.rpartition(".")
        info = self._info(cls)
        if info is None:
            return None
        if info.has_base(_carrier.TENSOR):
            core = self._session.core_name("torch.Tensor." + method, lambda _: _op_hooks.method_core_name(method))
            if core is None:
                return None

            def tensor_method(ctx: MethodContext) -> Type:
                scope = self._scope(ctx)
                return _op_hooks.run_rule(core, ctx, _arguments.receiver(ctx, method, scope), scope)

            return self._guard(tensor_method, f"`{core}`")
        if method == "__call__":
            fwd = _calls.forward_of(info)
            if fwd is not None:
                return self._guard(
                    lambda ctx: _calls.check_call(ctx, _calls.bound(fwd), info.name, self._scope(ctx)),
                    f"the call of `{info.name}`")
            layer = _modules.core_name(info) if info.has_base(_modules.MODULE) else None
            if layer is not None:
                return self._guard(lambda ctx: _modules.call(ctx, layer, self._scope(ctx)), f"`{layer}`")
            return None
        sig = _calls.callable_of(info.get_method(method))
        if _calls.is_annotated(sig) and sig is not None and sig.arg_types:
            b = _calls.bound(sig)
            return self._guard(lambda ctx: _calls.check_call(ctx, b, method, self._scope(ctx)),
                               f"the call of `{method}`")
        return None

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        _aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks = self._heavy()
        cls, _, attr = fullname.rpartition(".")
        info = self._info(cls)
        # attributes are named by the class that declares them (`torch._C.TensorBase.T`)
        if info is None or not (info.has_base(_carrier.TENSOR) or info.fullname == _carrier.TENSOR_BASE):
            return None
        core = _op_hooks.method_core_name(attr)
        if core is None:
            return None
        return self._session.guard(lambda ctx: _op_hooks.run_attribute(core, ctx, self._scope(ctx)), f"`{core}`",
                                   default=lambda ctx: ctx.default_attr_type)

    # -- the post-pass ------------------------------------------------------------------------
    def get_additional_indirect_deps(self, file: MypyFile) -> set[str]:
        self._session.after_check(file)
        return set()

    # -- helpers ------------------------------------------------------------------------------
    def _node(self, fullname: str) -> Any:
        try:
            sym = self.lookup_fully_qualified(fullname)
        except (AssertionError, KeyError, AttributeError):
            return None
        return sym.node if sym is not None else None

    def _info(self, fullname: str) -> TypeInfo | None:
        node = self._node(fullname)
        return node if isinstance(node, TypeInfo) else None

    def _heavy(self) -> tuple:
        """The modules behind the hooks, imported on first use: a warm run that re-checks nothing
        never asks for a hook and only pays for the cache configuration."""
        if self._modules_cache is None:
            from . import _aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks

            self._modules_cache = (_aliases, _annotations, _arguments, _calls, _carrier, _modules, _op_hooks)
        return self._modules_cache

    def _scope(self, ctx: Any) -> Any:
        return self._session.scope_of(ctx.api)

    def _guard(self, fn: Callable[[Any], Type], where: str) -> Callable[[Any], Type]:
        return self._session.guard(fn, where)

    def _guard_sig(self, fn: Callable[[Any], FunctionLike]) -> Callable[[Any], FunctionLike]:
        return self._session.guard_signature(fn)
