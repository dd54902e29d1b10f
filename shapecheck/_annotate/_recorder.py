"""The recorder that ``shapecheck trace`` runs inside the traced command's interpreter.

This file is run as a script (``python _recorder.py MODE TARGET ARGS...``) and imports nothing but
the standard library, so it works in any interpreter that can run the command, whatever is on its
path. It installs a meta-path finder in front of the others: every module whose file lies in the
project (under the root, outside site-packages and the interpreter's own tree) is executed by its
real loader, and then each function and method it defined is replaced by a recording wrapper. The
main script (or ``-m`` module of the project) is compiled with one call inserted after each top-level
``def`` and ``class``, which wraps what the statement defined before the script goes on.

A wrapper records the first ``max_calls`` distinct calls (calls whose record equals an earlier one
are counted, not kept; a function is watched for at most ``max_calls * CAP_FACTOR`` calls): for
every argument and the return value, the
shape and dtype of tensors (in tuples, lists and dicts too) and the value of ints, and for a method
the ints held by the instance (``self.n_embd``, ``self.config.n_embd``, ``self.conv.in_channels``)
and the int arguments its constructor was given (``Attention(dim=64)``), and the int locals of the
nearest calling function of the project (``b, t = idx.size()`` in the caller). It reads ``.shape`` and
``.dtype`` only, never tensor data, so it forces no device sync. After its last recorded call a
method wrapper puts the original function back on its class, and module functions are put back in
their module, so a long run pays nothing once every function has been seen.

What was recorded is written as JSON to ``$SHAPECHECK_TRACE_OUT`` when the command ends, also when
it raises or calls ``sys.exit``; ``shapecheck trace`` turns it into the shapes file.
"""

import ast
import atexit
import functools
import importlib.machinery
import importlib.util
import json
import os
import sys
import types
import weakref

SELF_KEY = "_shapecheck_trace_recorder"
MAX_ITEMS = 16  # elements of a tuple, list or dict that are described
MAX_DEPTH = 3
MAX_INSTANCES = 10000  # instances per class whose constructor ints are recorded
CAP_FACTOR = 20  # a function is watched for at most max_calls * CAP_FACTOR calls


class Recorder:
    def __init__(self, root, out, max_calls, exclude):
        self.root = os.path.normcase(os.path.realpath(root)) + os.sep
        self.out = out
        self.max_calls = max_calls
        self.exclude = tuple(os.path.normcase(os.path.realpath(p)) + os.sep for p in exclude)
        self.functions = {}
        self.project_codes = {}
        self.init_ints = weakref.WeakKeyDictionary()  # instance -> int arguments of its __init__
        self.written = False
        self._torch_tensor = None

    # -- which files are the project's -------------------------------------------------------
    def is_project_file(self, filename):
        if not filename or not filename.endswith(".py"):
            return False
        path = os.path.normcase(os.path.realpath(filename))
        if not path.startswith(self.root):
            return False
        if "site-packages" in path or "dist-packages" in path:
            return False
        return not any(path.startswith(x) for x in self.exclude)

    # -- describing values -------------------------------------------------------------------
    def tensor_type(self):
        t = self._torch_tensor
        if t is None:
            torch = sys.modules.get("torch")
            if torch is not None:
                t = self._torch_tensor = getattr(torch, "Tensor", None)
        return t

    def describe(self, value, depth=0):
        tensor = self.tensor_type()
        if tensor is not None and isinstance(value, tensor):
            try:
                shape = [int(s) for s in value.shape]
            except Exception:  # symbolic sizes: nothing to record
                return None
            return {"dtype": str(value.dtype).replace("torch.", ""), "shape": shape}
        kind = type(value)
        if kind is int:
            return {"int": value}
        if value is None:
            return {"none": True}
        if depth >= MAX_DEPTH:
            return None
        if kind is tuple or kind is list:
            if len(value) > MAX_ITEMS:
                return None
            items = [self.describe(v, depth + 1) for v in value]
            if not any(i is not None and ("dtype" in i or "items" in i or "dict" in i) for i in items):
                return None
            return {"items": items, "kind": "tuple" if kind is tuple else "list"}
        if kind is dict:
            if len(value) > MAX_ITEMS or not all(type(k) is str for k in value):
                return None
            items = {k: self.describe(v, depth + 1) for k, v in value.items()}
            if not any(i is not None and ("dtype" in i or "items" in i or "dict" in i) for i in items.values()):
                return None
            return {"dict": items}
        return None

    @staticmethod
    def instance_ints(obj):
        """Int attributes of ``obj``, of the plain objects it holds (``self.config.n_embd``) and of
        its submodules (``self.conv.in_channels``)."""
        out = {}
        try:
            items = list(vars(obj).items())
        except TypeError:
            return out
        held = []
        for name, v in items:
            if name == "_modules" and type(v) is dict:
                held.extend(list(v.items())[:64])
            elif name.startswith("_"):
                continue
            elif type(v) is int:
                out["self." + name] = v
            elif hasattr(v, "__dict__") and not callable(v) and not isinstance(v, type):
                held.append((name, v))
        try:
            for name, v in (RECORDER.init_ints.get(obj) or {}).items():
                out["init." + name] = v
        except TypeError:
            pass
        for name, v in held:
            try:
                sub = list(vars(v).items())
            except TypeError:
                continue
            for sname, sv in sub[:64]:
                if type(sv) is int and not sname.startswith("_"):
                    out["self." + name + "." + sname] = sv
        return out

    def caller_ints(self, frame):
        """The int locals of the nearest caller in the project (``b, t = idx.size()`` in the
        function that calls this one, through ``nn.Module.__call__``)."""
        for _ in range(8):
            if frame is None:
                return None
            code = frame.f_code
            ok = self.project_codes.get(code)
            if ok is None:
                ok = self.project_codes[code] = self.is_project_file(code.co_filename)
            if ok:
                out = {}
                for name, v in list(frame.f_locals.items())[:256]:
                    if type(v) is int and v > 1 and not name.startswith("_"):
                        out[name] = v
                return out
            frame = frame.f_back
        return None

    # -- wrapping ----------------------------------------------------------------------------
    def wrap(self, fn, owner, attr, rebuild=None):
        """A recording wrapper of ``fn``, which ``owner.attr`` (or ``owner[attr]``) holds."""
        if getattr(fn, "__shapecheck_trace__", False):
            return None
        inner = fn
        for _ in range(8):  # a decorated function (``@torch.no_grad()``): record under the inner one
            nxt = getattr(inner, "__wrapped__", None)
            if not isinstance(nxt, types.FunctionType):
                break
            inner = nxt
        code = inner.__code__
        if not self.is_project_file(code.co_filename):
            return None
        if code.co_flags & (0x20 | 0x80 | 0x200):  # generator, coroutine, async generator
            return None
        key = code.co_filename + "::" + inner.__qualname__
        entry = self.functions.get(key)
        if entry is None:
            entry = self.functions[key] = {"file": code.co_filename, "qualname": inner.__qualname__,
                                           "line": code.co_firstlineno, "calls": []}
        calls = entry["calls"]
        nargs = code.co_argcount + code.co_kwonlyargcount
        names = code.co_varnames[:nargs]
        star = code.co_varnames[nargs] if code.co_flags & 0x04 else None
        is_method = bool(names) and names[0] == "self"
        limit = self.max_calls
        recorder = self
        original = rebuild(fn) if rebuild is not None else fn

        def restore():
            try:
                if isinstance(owner, dict):
                    if owner.get(attr) is wrapper_obj:
                        owner[attr] = original
                elif owner.__dict__.get(attr) is wrapper_obj:
                    setattr(owner, attr, original)
            except Exception:
                pass

        seen = entry.setdefault("seen", 0)
        cap = limit * CAP_FACTOR
        distinct = {repr(c) for c in calls}
        state = [seen]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            n = state[0]
            if n >= cap or len(calls) >= limit:
                return fn(*args, **kwargs)
            state[0] = entry["seen"] = n + 1
            call = {}
            try:
                rec = {}
                for name, value in zip(names, args):
                    d = recorder.describe(value)
                    if d is not None:
                        rec[name] = d
                if star is not None and len(args) > len(names):
                    d = recorder.describe(tuple(args[len(names):]))
                    if d is not None:
                        rec["*" + star] = d
                for name, value in kwargs.items():
                    d = recorder.describe(value)
                    if d is not None:
                        rec[name] = d
                call["args"] = rec
                if is_method and args:
                    ints = recorder.instance_ints(args[0])
                    if ints:
                        call["ints"] = ints
                caller = recorder.caller_ints(sys._getframe(1))
                if caller:
                    call["caller"] = caller
            except Exception:  # a recorder never breaks the command
                pass
            done = False
            try:
                result = fn(*args, **kwargs)
                done = True
                try:
                    d = recorder.describe(result)
                    if d is not None:
                        call["return"] = d
                except Exception:
                    pass
                return result
            finally:
                if not done:
                    call["raised"] = True
                key = repr(call)
                if key not in distinct:
                    distinct.add(key)
                    calls.append(call)
                if len(calls) >= limit or state[0] >= cap:
                    restore()

        wrapper.__shapecheck_trace__ = True
        wrapper_obj = rebuild(wrapper) if rebuild is not None else wrapper
        return wrapper_obj

    def wrap_namespace(self, namespace, modname):
        """Wrap the functions and classes defined in module ``modname`` (its ``namespace``)."""
        for name, value in list(namespace.items()):
            self.wrap_value(namespace, name, value, modname)

    def wrap_value(self, namespace, name, value, modname):
        if isinstance(value, types.FunctionType):
            if value.__module__ == modname:
                w = self.wrap(value, namespace, name)
                if w is not None:
                    namespace[name] = w
        elif isinstance(value, type) and value.__module__ == modname:
            self.wrap_class(value)

    def wrap_init(self, cls):
        """Record the int arguments of ``cls.__init__`` per instance (``Attention(dim=64)``)."""
        init = vars(cls).get("__init__")
        if not isinstance(init, types.FunctionType) or getattr(init, "__shapecheck_trace__", False) \
                or not self.is_project_file(init.__code__.co_filename):
            return
        code = init.__code__
        names = code.co_varnames[1:code.co_argcount + code.co_kwonlyargcount]
        store = self.init_ints
        count = [0]

        @functools.wraps(init)
        def __init__(self_, *args, **kwargs):
            count[0] += 1
            if count[0] > MAX_INSTANCES:
                if cls.__dict__.get("__init__") is __init__:
                    try:
                        setattr(cls, "__init__", init)
                    except (AttributeError, TypeError):
                        pass
                return init(self_, *args, **kwargs)
            try:
                ints = {}
                for name, value in list(zip(names, args)) + list(kwargs.items()):
                    if type(value) is int:
                        ints[name] = value
                    elif hasattr(value, "__dict__") and not callable(value) and not isinstance(value, type):
                        for sname, sv in list(vars(value).items())[:64]:
                            if type(sv) is int and not sname.startswith("_"):
                                ints.setdefault(name + "." + sname, sv)
                have = store.get(self_)
                if have is None:
                    store[self_] = ints
                else:
                    for k, v in ints.items():
                        have.setdefault(k, v)
            except Exception:  # not weak-referenceable, or anything else: nothing recorded
                pass
            return init(self_, *args, **kwargs)

        __init__.__shapecheck_trace__ = True
        try:
            setattr(cls, "__init__", __init__)
        except (AttributeError, TypeError):
            pass

    def wrap_class(self, cls):
        self.wrap_init(cls)
        for attr, m in list(vars(cls).items()):
            if attr.startswith("__") and attr.endswith("__") and attr != "__call__":
                continue
            if isinstance(m, (staticmethod, classmethod)):
                fn, rebuild = m.__func__, type(m)
            else:
                fn, rebuild = m, None
            if isinstance(fn, types.FunctionType) and fn.__qualname__.startswith(cls.__qualname__ + "."):
                w = self.wrap(fn, cls, attr, rebuild)
                if w is not None:
                    try:
                        setattr(cls, attr, w)
                    except (AttributeError, TypeError):
                        pass

    # -- output ------------------------------------------------------------------------------
    def write(self, exit_code=None):
        if self.written:
            return
        self.written = True
        data = {"functions": list(self.functions.values()), "exit_code": exit_code}
        tmp = self.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.out)


class _Loader:
    """Runs the real loader, then wraps what the module defined."""

    def __init__(self, real, recorder):
        self._real = real
        self._recorder = recorder

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module):
        self._real.exec_module(module)
        try:
            self._recorder.wrap_namespace(vars(module), module.__name__)
        except Exception:
            pass

    def __getattr__(self, name):
        return getattr(self._real, name)


class _Finder:
    def __init__(self, recorder):
        self.recorder = recorder

    def find_spec(self, name, path=None, target=None):
        finders = sys.meta_path
        try:  # the finders before this one have already said no
            finders = finders[finders.index(self) + 1:]
        except ValueError:
            pass
        for finder in finders:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if (loader is not None and hasattr(loader, "exec_module") and spec.origin
                and self.recorder.is_project_file(spec.origin)):
            spec.loader = _Loader(loader, self.recorder)
        return spec


class _InsertWraps(ast.NodeTransformer):
    """After each top-level ``def`` / ``class`` of the main module, wrap what it defined."""

    def visit_Module(self, node):
        body = []
        for stmt in node.body:
            body.append(stmt)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                call = ast.parse(f"__import__('sys').modules[{SELF_KEY!r}].RECORDER"
                                 f".wrap_value(globals(), {stmt.name!r}, {stmt.name}, __name__)").body[0]
                for n in ast.walk(call):
                    ast.copy_location(n, stmt)
                    if hasattr(n, "end_lineno"):
                        n.end_lineno, n.end_col_offset = stmt.lineno, stmt.col_offset
                body.append(call)
        node.body = body
        return node


def _run_main_source(source, filename, recorder, spec=None):
    module = types.ModuleType("__main__")
    module.__file__ = filename
    module.__builtins__ = __builtins__
    if spec is not None:
        module.__spec__ = spec
        module.__loader__ = spec.loader
        module.__package__ = spec.parent
    sys.modules["__main__"] = module
    tree = ast.parse(source, filename)
    if recorder.is_project_file(filename):
        tree = _InsertWraps().visit(tree)
    exec(compile(tree, filename, "exec"), vars(module))


RECORDER = None


def main():
    global RECORDER
    sys.modules[SELF_KEY] = sys.modules[__name__]
    mode, target, *rest = sys.argv[1:]
    out = os.environ["SHAPECHECK_TRACE_OUT"]
    root = os.environ.get("SHAPECHECK_TRACE_ROOT") or os.getcwd()
    max_calls = int(os.environ.get("SHAPECHECK_TRACE_MAX_CALLS") or 10)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the shapecheck package
    exclude = [here, sys.prefix, sys.base_prefix, sys.exec_prefix]
    exclude = [p for p in exclude if not os.path.normcase(os.path.realpath(root)).startswith(
        os.path.normcase(os.path.realpath(p)) + os.sep) or p == here]
    recorder = RECORDER = Recorder(root, out, max_calls, exclude)
    sys.meta_path.insert(0, _Finder(recorder))
    atexit.register(recorder.write)
    code = 0
    try:
        if mode == "script":
            sys.argv = [target] + rest
            sys.path[0] = os.path.dirname(os.path.abspath(target))
            with open(target, "rb") as f:
                source = f.read()
            _run_main_source(source, os.path.abspath(target), recorder)
        elif mode == "module":
            sys.argv = [target] + rest
            sys.path[0] = os.getcwd()
            spec = importlib.util.find_spec(target)
            if spec is not None and spec.submodule_search_locations is not None:
                spec = importlib.util.find_spec(target + ".__main__")
            if spec is None or spec.origin is None or not recorder.is_project_file(spec.origin):
                import runpy

                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                sys.argv[0] = spec.origin
                source = spec.loader.get_source(spec.name)
                _run_main_source(source, spec.origin, recorder, spec)
        else:  # "code": python -c CODE
            sys.argv = ["-c"] + rest
            sys.path[0] = ""
            _run_main_source(target, "<string>", recorder)
    except SystemExit as e:
        c = e.code
        code = c if isinstance(c, int) else (0 if c is None else 1)
        if c is not None and not isinstance(c, int):
            print(c, file=sys.stderr)
    except BaseException as e:  # reported as python would, without the recorder's own frames
        import traceback

        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, "<recorder>"):
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb)
        code = 130 if isinstance(e, KeyboardInterrupt) else 1
    try:
        sys.stdout.flush()
    except Exception:
        pass
    recorder.write(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
