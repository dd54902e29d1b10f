"""Checks for annotated locals: rewrite the guarded function's AST once, at decoration time.

After every ``name: Float[Tensor, "..."] = value`` in the function body (not in nested functions
or classes) we insert ``if <env> is not None: <env>.check(i, name)``, where ``<env>`` is a hidden
keyword-only parameter the wrapper fills in. Line numbers are kept; the new code object gets the
original closure cells. When the source is unavailable or anything does not fit, the function is
left as it is (no local checks, no error).

The source is what ``inspect.getsource`` reads now, which may differ from what was imported (the
file was edited since). So the unmodified source is compiled the same way too, and its bytecode
compared with the function's own: when they differ, the locals are left unchecked with a warning,
and the function that runs is always the imported one.
"""

from __future__ import annotations

import ast
import copy
import dis
import inspect
import textwrap
import types
import warnings

from ._spec import eval_annotation, has_shape, to_spec

__all__ = ["has_checked_locals", "rewrite_locals"]

ENV_PARAM = "_shapecheck_env_"


class _Inserter(ast.NodeTransformer):
    def __init__(self, fn):
        self.fn = fn
        self.specs: list = []

    def _block(self, stmts: list) -> list:
        out = []
        for st in stmts:
            out.append(self.visit(st))
            if (isinstance(st, ast.AnnAssign) and st.value is not None and isinstance(st.target, ast.Name)):
                spec = self._spec_of(st.annotation)
                if spec is not None:
                    idx = len(self.specs)
                    self.specs.append((st.target.id, spec))
                    check = ast.parse(f"if {ENV_PARAM} is not None: {ENV_PARAM}.check({idx}, {st.target.id})").body[0]
                    for nd in ast.walk(check):
                        ast.copy_location(nd, st)
                        nd.end_lineno, nd.end_col_offset = st.end_lineno, st.end_col_offset
                    out.append(check)
        return out

    def _spec_of(self, ann):
        hint = eval_annotation(ast.unparse(ann), self.fn)
        if hint is None and isinstance(ann, ast.Constant) and isinstance(ann.value, str):
            hint = eval_annotation(ann.value, self.fn)
        if hint is None:
            return None
        try:
            spec = to_spec(hint)
        except Exception:
            return None
        return spec if has_shape(spec) else None

    def generic_visit(self, node):
        for fname in ("body", "orelse", "finalbody"):
            val = getattr(node, fname, None)
            if isinstance(val, list) and val and isinstance(val[0], ast.stmt):
                setattr(node, fname, self._block(val))
        for h in getattr(node, "handlers", ()) or ():
            h.body = self._block(h.body)
        for c in getattr(node, "cases", ()) or ():
            c.body = self._block(c.body)
        return node

    def visit_FunctionDef(self, node):  # nested functions keep their own locals
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        return node

    def visit_Lambda(self, node):
        return node


def _find_code(code: types.CodeType, name: str, marker: bool = True):
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            if c.co_name == name and (ENV_PARAM in c.co_varnames) == marker:
                return c
            found = _find_code(c, name, marker)
            if found is not None:
                return found
    return None


def rewrite_locals(fn):
    """``(new function, ((name, spec), ...))`` or None when there is nothing to check or it cannot
    be done."""
    try:
        return _rewrite(fn)
    except Exception:
        return None


def has_checked_locals(fn) -> bool:
    """True when ``fn`` has annotated locals that a guard directly on it would check."""
    try:
        fdef = _source_def(fn)
        if fdef is None:
            return False
        ins = _Inserter(fn)
        ins._block(fdef.body)
        return bool(ins.specs)
    except Exception:
        return False


def _source_def(fn):
    code = getattr(fn, "__code__", None)
    if code is None or fn.__name__ == "<lambda>":
        return None
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return None
    if ":" not in src or "=" not in src:
        return None
    tree = ast.parse(textwrap.dedent(src))
    if not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    fdef = tree.body[0]
    if fdef.name != fn.__name__:
        return None
    return fdef


_SKIP_OPS = frozenset({"PRECALL", "CACHE", "PUSH_NULL", "NOP", "RESUME", "EXTENDED_ARG", "KW_NAMES"})
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _fingerprint(code: types.CodeType) -> tuple:
    """What a code object does, line by line, up to the compiler's choices that depend on the rest
    of the module (a method call on an imported name is ``LOAD_ATTR``, on another ``LOAD_METHOD``)."""
    out = []
    for ins in dis.get_instructions(code):
        if ins.opname in _SKIP_OPS:
            continue
        name = "LOAD_ATTR" if ins.opname == "LOAD_METHOD" else ins.opname
        arg = ins.argval
        if ins.opcode in _JUMPS or isinstance(arg, types.CodeType):
            arg = None
        line = ins.positions.lineno if ins.positions is not None else None
        out.append((name, repr(arg), line))
    return tuple(out), code.co_varnames, code.co_freevars


def _compile_def(fn, fdef, marker: bool):
    """Compile ``fdef`` as ``fn`` was compiled (inside its class, with its free variables) and
    return the code object of the function."""
    code = fn.__code__
    fdef = copy.deepcopy(fdef)
    fdef.decorator_list = []
    if marker:
        fdef.args.kwonlyargs.append(ast.arg(ENV_PARAM))
        fdef.args.kw_defaults.append(ast.Constant(None))
    tree = ast.Module([fdef], [])
    ast.increment_lineno(tree, code.co_firstlineno - 1)
    node: ast.stmt = fdef
    qual = fn.__qualname__.split(".")
    if len(qual) > 1 and qual[-2] != "<locals>" or "__class__" in code.co_freevars:
        owner = qual[-2] if len(qual) > 1 and qual[-2] != "<locals>" else "_Owner"
        node = ast.ClassDef(owner, [], [], [fdef], [])
    free = [n for n in code.co_freevars if n != "__class__"]
    factory_args = ast.arguments([], [ast.arg(n) for n in free], None, [], [], None, [])
    factory = ast.FunctionDef("_shapecheck_factory_", factory_args, [node, ast.Pass()], [], None)
    mod = ast.Module([factory], [])
    ast.fix_missing_locations(mod)
    compiled = compile(mod, code.co_filename, "exec", dont_inherit=True)
    return _find_code(compiled, fn.__name__, marker)


def _rewrite(fn):
    fdef = _source_def(fn)
    if fdef is None:
        return None
    code = fn.__code__
    ins = _Inserter(fn)
    body = ins._block(copy.deepcopy(fdef).body)
    if not ins.specs:
        return None
    same = _compile_def(fn, fdef, False)
    if same is None or _fingerprint(same) != _fingerprint(code):
        warnings.warn(f"shapecheck: the annotated locals of {fn.__qualname__}() are not checked: its source "
                      "file changed since it was imported (re-import it to check them)", stacklevel=5)
        return None
    fdef.body = body
    new_code = _compile_def(fn, fdef, True)
    if new_code is None:
        return None
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    if any(n not in cells for n in new_code.co_freevars):
        return None
    closure = tuple(cells[n] for n in new_code.co_freevars) or None
    new = types.FunctionType(new_code, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    new.__kwdefaults__ = {**(fn.__kwdefaults__ or {}), ENV_PARAM: None}
    new.__qualname__ = fn.__qualname__
    new.__module__ = fn.__module__
    new.__doc__ = fn.__doc__
    new.__dict__.update(fn.__dict__)
    return new, tuple(ins.specs)
