"""Per-run state of one plugin instance (never module-level): mypy's error sink and the shapes
the hooks inferred, which the post-pass of each module consumes and drops."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shapecheck
from mypy.options import Options
from mypy.types import Instance

from . import _compat, _report

_THIRD_PARTY = ("site-packages", "dist-packages", "typeshed")
_CORE = ("_algebra.py", "_shape.py", "_parse.py", "_unify.py")


def _third_party(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return any(p in parts for p in _THIRD_PARTY)


def _source_digest() -> str:
    h = hashlib.sha256()
    core = Path(shapecheck.__file__).parent / "_core"
    files = [core / name for name in _CORE]
    files += sorted((core / "_ops").rglob("*.py")) + sorted(Path(__file__).parent.glob("*.py"))
    for p in files:
        try:
            h.update(p.name.encode())
            h.update(p.read_bytes())
        except OSError:
            continue
    return h.hexdigest()[:16]


def _annot_file(ctx: Any) -> Any:
    from . import _annotations

    return _annotations.annotation_file(ctx)


class Session:
    def __init__(self) -> None:
        self.errors: Any = None
        self.inferred: dict = {}  # path -> {(line, column, end_line, end_column): Shape}
        self.declared: dict = {}  # path -> [(Instance, ExtraAttrs)] made by the annotation hook
        self.third_party: dict = {}  # path -> whether it is an installed package
        self.core_names: dict = {}  # mypy full name -> the rule table's name (or None)
        self.str_type: Any = None  # builtins.str, for literals made outside a hook
        self.counts: dict = {}  # id(function) -> (function, {Var: assignments}) of the module being checked

        self.digest = _source_digest()

    @classmethod
    def from_options(cls, options: Options) -> Session:
        return cls()

    def config_data(self, cache_version: str, path: str | None = None) -> dict:
        """What goes into mypy's cache metadata: a change invalidates the cache.

        Besides the version, the user's modules get a digest of the sources that decide the
        plugin's results (the plugin, the op rules, the shape core), so an edited op rule or a
        development checkout never replays stale results. Installed packages and stubs (torch)
        only get the version: their results do not depend on shapecheck's code, and re-reading
        torch costs seconds.
        """
        installed = path is not None and self._is_installed_path(path)
        data = {"shapecheck": shapecheck.__version__, "carrier": cache_version}
        if not installed:
            data["sources"] = self.digest
        return data

    def annotation_hook(self, ctx: Any) -> Any:
        from . import _annotations

        self.errors = _compat.checker_errors(ctx.api) or self.errors  # the current build's (dmypy)
        return _annotations.hook(ctx, self.declared)

    def scope_of(self, api: Any) -> Any:
        """The :class:`~._scope.Scope` of the function being checked (None outside functions)."""
        from . import _compat

        from . import _scope

        fn = _compat.current_function(api)
        if fn is None:
            return None
        hit = self.counts.get(id(fn))
        if hit is None or hit[0] is not fn:
            inferred = self.inferred.setdefault(getattr(api, "path", None), {})
            hit = (fn, _scope.Scope(_scope.bindings(fn), inferred))
            self.counts[id(fn)] = hit
        return hit[1]

    def tensor_hook(self, ctx: Any) -> Any:
        """``Tensor`` in an annotation; see ``_aliases`` (aliases, ``cast``, TypeVar bounds)."""
        from . import _aliases

        try:
            self.errors = _compat.checker_errors(ctx.api) or self.errors
            t = _aliases.analyze_tensor(ctx)
            if isinstance(t, Instance) and t.extra_attrs is not None:
                self.declared.setdefault(_annot_file(ctx), []).append((t, t.extra_attrs))
            return t
        except Exception as e:  # noqa: BLE001 - never crash mypy
            _report.internal(ctx.api, e, ctx.context, "a `Tensor` annotation")
            return ctx.api.named_type("torch._tensor.Tensor", [])

    # -- hooks ----------------------------------------------------------------------------------
    def core_name(self, fullname: str, find: Callable[[str], Any]) -> Any:
        """``find(fullname)`` remembered: the rule table does not change during a process."""
        try:
            return self.core_names[fullname]
        except KeyError:
            out = self.core_names[fullname] = find(fullname)
            return out

    def _installed(self, api: Any) -> bool:
        path = getattr(api, "path", None)
        return path is not None and self._is_installed_path(path)

    def _is_installed_path(self, path: str) -> bool:
        hit = self.third_party.get(path)
        if hit is None:
            hit = self.third_party[path] = _third_party(path)
        return hit

    def _seen(self, api: Any) -> None:
        errors = _compat.checker_errors(api)
        if errors is not None and errors is not self.errors:  # a new build (dmypy): fresh lookups
            self.errors, self.str_type = errors, None
        if self.str_type is None:
            self.str_type = api.named_generic_type("builtins.str", [])

    def _record(self, ctx: Any, t: Any) -> None:
        from . import _carrier, _scope

        c = _carrier.carried(t)
        node = ctx.context
        path = getattr(ctx.api, "path", None)
        if c is None or path is None:
            return
        self.inferred.setdefault(path, {})[_scope.key(node)] = c.shape

    def guard(self, fn: Callable[[Any], Any], where: str,
              default: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
        """``fn`` made safe: an exception becomes one ``shape-internal`` error at the expression."""

        def hook(ctx: Any) -> Any:
            try:
                if self._installed(ctx.api):
                    # torch's own code (or any installed package): mypy silences its errors, and
                    # shapes there are not annotated; skipping it keeps cold runs fast
                    return default(ctx) if default is not None else ctx.default_return_type
                self._seen(ctx.api)
                t = fn(ctx)
                self._record(ctx, t)
                return t
            except Exception as e:  # noqa: BLE001 - never crash mypy
                _report.internal(ctx.api, e, ctx.context, where)
                return default(ctx) if default is not None else ctx.default_return_type

        return hook

    def guard_signature(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def hook(ctx: Any) -> Any:
            try:
                return fn(ctx)
            except Exception as e:  # noqa: BLE001 - never crash mypy
                _report.internal(ctx.api, e, ctx.context, "a module's signature")
                return ctx.default_signature

        return hook

    def restore(self, path: str) -> None:
        """Put back carriers that mypy erased in place while checking the module.

        ``make_simplified_union`` erases differing extra attributes on the surviving instance, which
        may be a parameter's declared type; without this, the erasure would reach the cache and the
        module's callers, and a warm run would differ from a cold one.
        """
        for inst, extra in self.declared.pop(path, ()):
            if inst.extra_attrs is None:
                inst.extra_attrs = extra

    # -- after a module is checked ----------------------------------------------------------------
    def after_check(self, tree: Any) -> None:
        self.restore(tree.path)
        self.counts.clear()
        inferred = self.inferred.pop(tree.path, {})
        if tree.path is None or self._is_installed_path(tree.path):
            return
        try:
            if self.errors is None:
                return
            from . import _returns

            _returns.post_pass(tree, self.errors, inferred)
        except Exception as e:  # noqa: BLE001 - never crash mypy
            try:
                self.errors.report(1, 0, f"shapecheck failed internally in its post-pass ({type(e).__name__}: "
                                         f"{e}); please report this", code=_report.SHAPE_INTERNAL)
            except Exception:  # noqa: BLE001
                pass


