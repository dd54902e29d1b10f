"""``install_import_hook``: guard the shape-annotated functions of packages as they are imported."""

from __future__ import annotations

import dataclasses
import importlib.abc
import inspect
import sys
import warnings

from .._core._parse import AnnotationSyntaxError
from ._guard import guard_function, shape_annotated
from ._state import STATE, env_disabled

__all__ = ["ImportHook", "install_import_hook"]


def _matches(fullname: str, names: tuple) -> bool:
    return any(fullname == n or fullname.startswith(n + ".") for n in names)


def _guard_module(module, first, every) -> int:
    """Guard the functions and methods defined in ``module``; returns how many were guarded."""
    count = 0
    modname = module.__name__

    def wrap(fn):
        nonlocal count
        if getattr(fn, "__module__", None) != modname or not shape_annotated(fn):
            return None
        try:
            g = guard_function(fn, first, every, lenient=True)  # a bad annotation skips that value only
        except AnnotationSyntaxError as e:
            warnings.warn(f"shapecheck: not guarding {modname}.{fn.__qualname__}: {e}", stacklevel=2)
            return None
        except Exception as e:  # never break the user's import
            warnings.warn(f"shapecheck: not guarding {modname}.{fn.__qualname__}: internal error "
                          f"{type(e).__name__}: {e} (please report it)", stacklevel=2)
            return None
        count += 1
        return g

    for attr, val in list(vars(module).items()):
        if inspect.isfunction(val):
            g = wrap(val)
            if g is not None:
                setattr(module, attr, g)
        elif isinstance(val, type) and val.__module__ == modname:
            for mattr, m in list(vars(val).items()):
                if mattr == "__init__" and dataclasses.is_dataclass(val) and inspect.isfunction(m):
                    g = wrap(m)  # a dataclass's fields, checked as its __init__'s parameters
                    if g is not None:
                        setattr(val, mattr, g)
                    continue
                if mattr.startswith("__") and mattr.endswith("__"):
                    continue
                fn = m.__func__ if isinstance(m, (staticmethod, classmethod)) else m
                if inspect.isfunction(fn):
                    g = wrap(fn)
                    if g is not None:
                        setattr(val, mattr, type(m)(g) if isinstance(m, (staticmethod, classmethod)) else g)
    return count


class _Loader(importlib.abc.Loader):
    """Wraps the real loader: executes the module, then guards what it defined."""

    def __init__(self, inner, hook: "ImportHook"):
        self._inner = inner
        self._hook = hook

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        if not env_disabled() and STATE.mode != "off":
            self._hook.guarded[module.__name__] = _guard_module(module, self._hook.first, self._hook.every)

    def __getattr__(self, name):  # get_source, get_filename, ... for inspect and linecache
        return getattr(self._inner, name)


class ImportHook(importlib.abc.MetaPathFinder):
    """The installed hook; ``uninstall()`` (or leaving its ``with`` block) removes it.

    ``guarded`` maps each module imported through the hook to the number of functions guarded.
    Modules imported before the hook was installed are not touched.
    """

    def __init__(self, names: tuple, first=None, every=None):
        self.names = names
        self.first = first
        self.every = every
        self.guarded: dict = {}

    def find_spec(self, fullname, path=None, target=None):
        if not _matches(fullname, self.names):
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, ImportHook):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self)
                return spec
        return None

    def uninstall(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def __enter__(self) -> "ImportHook":
        return self

    def __exit__(self, *exc) -> None:
        self.uninstall()


def install_import_hook(*names, first: int | None = None, every: int | None = None) -> ImportHook:
    """Guard every shape-annotated function, method and ``forward`` of the named packages or modules
    when they are imported. Returns the hook; use it as a context manager or call ``uninstall()``."""
    flat: list = []
    for n in names:
        flat.extend([n] if isinstance(n, str) else list(n))
    if not flat or not all(isinstance(n, str) and n for n in flat):
        raise ValueError("install_import_hook() needs one or more module names, e.g. install_import_hook(\"mypkg\")")
    hook = ImportHook(tuple(flat), first, every)
    sys.meta_path.insert(0, hook)
    return hook
