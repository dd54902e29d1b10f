"""Entry shapes: what the project's own calls pass into unannotated code, and what that proves.

An unannotated function or module says nothing about the shapes it takes, but the project does: a
parent's ``forward``, a ``if __name__ == "__main__":`` block, a test, a dry run in ``__init__``
(``self.forward(torch.zeros(1, self.steps, self.feats))``), an ``example_input_array``. At such a call
the user-code room (``_user``) analyses the callee's body with the arguments' shapes, memoised by
those shapes and to a bounded depth; what that analysis proves wrong is reported here, in the callee,
with a note naming the call that supplied the shapes. The finding holds for that call only, so only a
call the analysis itself reports from counts: not one under ``pytest.raises``, after a ``return``,
in a branch known not to run, or in a loop's widening pass.

A callee in another file is reported on the call (the file being checked), with a note naming the
callee's file and line: a file's diagnostics depend on the files it reaches, never the reverse. So is
a module called as a layer (``self.norm(x)``) whose finding pairs one of its own tensors (``self.g``)
with what came in: the module's code holds for the sizes it was built with, and the call gave it an
input of other sizes (a norm built for ``dim_out`` given the ``dim`` channels of a convolution).

Besides functions and methods, a file's entry points are its module-level code (a script's body or
its ``__main__`` block, analysed as one more function), its tests (``test_*`` functions, whose
parameters take the value of the simple ``@pytest.fixture`` functions of that name, in the file or
its ``conftest.py`` files) and a module's ``example_input_array``.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re

from .._core._diag import Diagnostic
from .._core._ops._registry import OPAQUE
from .._core._shape import Shape
from ._common import last_name, own_nodes, param_defaults
from ._values import FuncRef, join

__all__ = ["EntryReports", "ENTRY_NOTE", "is_entry_diagnostic", "merge_entry_diagnostics", "module_code",
           "fixture_arguments"]

# every note of a diagnostic found under a call's shapes starts so (the driver prefers plain findings)
ENTRY_NOTE = "under the shapes "
_ELSEWHERE = f"{ENTRY_NOTE}this call passes, "  # the note of a callee's finding in another file
_FAILED_AT = re.compile(r"fails at (.+):(\d+)$")  # the callee's line in that note
# not reported under a call's shapes: a reveal in a callee belongs to its own analysis, not each call's;
# a softmax over an axis of size one (SHP208) is a bug when the code makes that 1 (a (d, 1) weight,
# keepdim), which the callee's own analysis finds; a 1 the call passes in is an edge case it tests
# (one-token input)
_NO_PROPAGATION = frozenset({"reveal", "SHP208"})


class EntryReports:
    """The entry-shape room of :class:`~._walk.FunctionAnalysis`: a callee's findings under this call's
    shapes, reported with the call named."""

    def report_entry(self, node, display: str, diags, at_call=()) -> None:
        """``diags``, found in a callee under this call's shapes; those whose index is in ``at_call``
        are reported on the call (the call gave a module an input it was not built for)."""
        if not self.reporting or not diags:
            return
        where = self.where(node)
        own = getattr(self, "node", None)
        for i, d in enumerate(diags):
            if d.code in _NO_PROPAGATION:
                continue
            same_file = os.path.abspath(d.path) == os.path.abspath(self.mod.path)
            if same_file and i not in at_call and own is not None and own.lineno <= d.line <= own.end_lineno \
                    and getattr(node, "lineno", 0) > d.line:
                # placed by a lint rule on this function's own code before the call (the ``cat`` whose result
                # the callee's first layer reads): this function's finding, with the values it has (not those
                # of a call further down that reached it)
                self.diags.append(dataclasses.replace(d, notes=tuple(n for n in d.notes
                                                                     if not n.startswith(ENTRY_NOTE))))
                continue
            if same_file and i not in at_call:
                note = f"{ENTRY_NOTE}the call at {where} passes to `{display}`"
                self.diags.append(dataclasses.replace(d, notes=tuple(d.notes) + (note,)))
                continue
            # a finding in another file: on the call, naming where the callee went wrong
            there = _relative(d.path, self.mod.path)
            note = f"{_ELSEWHERE}`{display}` fails at {there}:{d.line}"
            self.diags.append(Diagnostic(self.mod.path, getattr(node, "lineno", 1),
                                         getattr(node, "col_offset", 0) + 1, d.code, d.message, d.severity,
                                         (note,) + tuple(d.notes), d.help, getattr(node, "end_lineno", None),
                                         (getattr(node, "end_col_offset", None) or 0) + 1
                                         if getattr(node, "end_col_offset", None) is not None else None))

    def defined_elsewhere(self, ref) -> str | None:
        """``../models/layers.py:12`` for a callee defined in another file than this one, else None."""
        path, line = ref.place()  # a dropped module's summary knows it
        if path is None or os.path.abspath(path) == os.path.abspath(self.mod.path):
            return None
        return f"{_relative(path, self.mod.path)}:{line}"

    def note_definition(self, start: int, display: str, elsewhere: str) -> None:
        """The diagnostics from ``start`` on are about a callee of another file: they name it."""
        for i in range(start, len(self.diags)):
            d = self.diags[i]
            self.diags[i] = dataclasses.replace(d, notes=tuple(d.notes) + (f"`{display}` is defined at {elsewhere}",))

    def after_body(self) -> None:
        """After ``__init__`` of a module analysed on its own: its ``example_input_array`` goes through
        ``forward`` (as Lightning's summary does)."""
        sv = self.self_val
        if not self.reporting or sv is None or self.node.name != "__init__" or self.depth:
            return
        example = sv.attrs.get("example_input_array")
        if not (isinstance(example, Shape) or isinstance(example, tuple) and example
                and all(isinstance(x, Shape) for x in example)):
            return
        site = _assignment_to_self(self.node, "example_input_array")
        fwd = sv.cls.find_method("forward")
        if site is None or fwd is None:
            return
        args = list(example) if isinstance(example, tuple) else [example]
        self.call_user(FuncRef("forward", fwd[0], fwd[1], bound_self=sv), args, {}, site,
                       display=f"{sv.cls.name}.forward")


def is_entry_diagnostic(d: Diagnostic) -> bool:
    return any(n.startswith(ENTRY_NOTE) for n in d.notes)


def merge_entry_diagnostics(diags: list) -> list:
    """One diagnostic per bug: a finding the code proves on its own wins over a finding at the same place
    under a call's shapes (the same bug, whichever code: an untransposed key the attention rule sees
    alone, a contraction a caller's sizes prove wrong); of several calls' findings at one place the first
    is kept, whichever code; and one call's shapes give one finding (the first: what fails after it may be its
    consequence)."""
    plain = {(d.path, d.line, d.column) for d in diags if not is_entry_diagnostic(d)}
    plain_lines = {(os.path.abspath(d.path), d.line, d.code) for d in diags if not is_entry_diagnostic(d)}
    seen: set = set()
    calls: set = set()
    out = []
    for d in diags:
        if is_entry_diagnostic(d):
            k = (d.path, d.line, d.column, d.code)
            chain = tuple(n for n in d.notes if n.startswith(ENTRY_NOTE))
            if chain and chain[0].startswith(_ELSEWHERE):  # reported on the call: one per call site
                failed = _FAILED_AT.search(chain[0])
                if failed and (os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(d.path)), failed[1])),
                               int(failed[2]), d.code) in plain_lines:
                    continue  # the callee's code proves it on its own, where it is reported
                chain = (d.path, d.line, d.column)
            if k[:3] in plain or k[:3] in seen or chain in calls:
                continue
            seen.add(k[:3])
            calls.add(chain)
        out.append(d)
    return out


def module_code(tree: ast.Module) -> ast.FunctionDef | None:
    """A file's module-level statements (its ``__main__`` block included) as one function to analyse;
    definitions and imports are left out (the file's own tables hold them). None when nothing runs."""
    body = [st for st in tree.body if not isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                          ast.Import, ast.ImportFrom))
            and not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))]
    if not any(_has_call(st) for st in body):
        return None
    fn = ast.FunctionDef(name="<module>", args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                                              kw_defaults=[], kwarg=None, defaults=[]),
                         body=body, decorator_list=[], returns=None,
                         **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {}))
    fn.lineno, fn.col_offset = body[0].lineno, 0
    fn.end_lineno, fn.end_col_offset = body[-1].end_lineno, 0
    return fn


def _none_defaults(fn) -> list:
    """The parameters of ``fn`` that default to None, in signature order."""
    return [p.arg for p, d in param_defaults(fn) if isinstance(d, ast.Constant) and d.value is None]


def defaults_tested(fn) -> tuple:
    """The parameters of ``fn`` that default to None and that its body tests against None (``if cache is not
    None:``, ``x if mask is None else ...``), in signature order; the body's own functions are not read."""
    optional = _none_defaults(fn)
    if not optional:
        return ()
    tested = {n.left.id for n in own_nodes(fn.body)
              if isinstance(n, ast.Compare) and len(n.ops) == 1 and isinstance(n.ops[0], (ast.Is, ast.IsNot))
              and isinstance(n.left, ast.Name) and isinstance(n.comparators[0], ast.Constant)
              and n.comparators[0].value is None}
    return tuple(p for p in optional if p in tested)


def _a_value(node) -> bool:
    """What a parameter left to None is filled in with: anything but None."""
    return not (isinstance(node, ast.Constant) and node.value is None)


def defaults_filled_in(fn) -> tuple:
    """The parameters of ``fn`` (a constructor) that default to None and that it fills in with a value of its own
    when left out (``dim_out = dim_out or dim``, ``dim_head = default(dim_head, dim // heads)``, ``x if x is not
    None else d``, ``if head_dim is None: head_dim = dim // num_heads``, also through a copy of the parameter,
    ``head_dim = attn_head_dim``, ``norm_layer or nn.LayerNorm``) or tests against None (``downsample``)."""
    optional = _none_defaults(fn)
    if not optional:
        return ()
    tested = set(defaults_tested(fn))
    nodes = list(own_nodes(fn.body))
    copies = {n.targets[0].id: n.value.id for n in nodes if isinstance(n, ast.Assign) and len(n.targets) == 1
              and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Name)}
    filled = set()
    for n in nodes:
        if isinstance(n, ast.BoolOp) and isinstance(n.op, ast.Or) and len(n.values) == 2 \
                and isinstance(n.values[0], ast.Name) and _a_value(n.values[1]):
            filled.add(n.values[0].id)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "default" and len(n.args) == 2 \
                and isinstance(n.args[0], ast.Name) and _a_value(n.args[1]):
            filled.add(n.args[0].id)
        elif isinstance(n, ast.IfExp) and isinstance(n.test, ast.Compare) and isinstance(n.test.left, ast.Name) \
                and len(n.test.ops) == 1 and isinstance(n.test.ops[0], (ast.Is, ast.IsNot)):
            other = n.orelse if isinstance(n.test.ops[0], ast.IsNot) else n.body
            if _a_value(other):
                filled.add(n.test.left.id)
        elif isinstance(n, ast.If) and isinstance(n.test, ast.Compare) and isinstance(n.test.left, ast.Name) \
                and len(n.test.ops) == 1 and isinstance(n.test.ops[0], ast.Is) \
                and isinstance(n.test.comparators[0], ast.Constant) and n.test.comparators[0].value is None:
            name = n.test.left.id
            if any(isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)
                   and st.targets[0].id == name and _a_value(st.value) for st in n.body):
                filled.add(name)
    filled |= {copies[k] for k in filled if k in copies}
    return tuple(p for p in optional if p in filled or p in tested)


_MAX_FLAGS = 4  # flags per constructor analysed one by one
_MAX_CHOICES = 4  # values per flag (the strings a mode is compared with)
_MAX_BUILDS = 6  # modules built in all, one per value of each flag (each analyses the constructor and forward again)


def _sets_self(n) -> bool:
    """``self.<attr> = ...``."""
    return isinstance(n, ast.Assign) and any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                                             and t.value.id == "self" for t in n.targets)


def _builds_layer(nodes) -> bool:
    """Whether the statements set an attribute of ``self`` to the result of a call (a layer built)."""
    return any(_sets_self(n) and isinstance(n.value, ast.Call) for n in own_nodes(nodes))


def _flag_tests(test, flags: dict, out: dict) -> None:
    """The values ``test`` compares each flag of ``flags`` (parameter -> default) with, into ``out``: ``if
    use_mlp:``, ``if not qkv_fused:``, ``if pool == "spatial":``, ``if mode in ("a", "b"):``, ``a and b``."""
    if isinstance(test, ast.BoolOp):
        for v in test.values:
            _flag_tests(v, flags, out)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        _flag_tests(test.operand, flags, out)
    elif isinstance(test, ast.Name) and isinstance(flags.get(test.id), bool):
        out.setdefault(test.id, {True, False})
    elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) \
            and isinstance(flags.get(test.left.id), str):
        right = test.comparators[0]
        if isinstance(test.ops[0], (ast.Eq, ast.NotEq)):
            lits = [right]
        elif isinstance(test.ops[0], (ast.In, ast.NotIn)) and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
            lits = right.elts
        else:
            return
        values = {x.value for x in lits if isinstance(x, ast.Constant) and isinstance(x.value, str)}
        if values:
            out.setdefault(test.left.id, {flags[test.left.id]}).update(values)


def flag_choices(fn) -> list:
    """The flags of ``fn`` (a constructor) that choose which layers it builds, each with the values to build the
    module with: a parameter defaulting to a bool (``use_mlp=False``: True and False) or a string (``pool="avg"``:
    the default and each string an ``if`` compares it with) tested by an ``if`` (or ``a if flag else b``) of the
    constructor's own code that sets a ``self`` attribute to a call's result on either side, or inside the
    arguments of a call whose result it sets (``nn.Linear(dim, dim * (2 if glu else 1))``). ``[(name, values)]``
    in signature order, at most four flags of at most four values, six values in all (each is a module analysed
    again)."""
    flags = {p.arg: d.value for p, d in param_defaults(fn)
             if isinstance(d, ast.Constant) and isinstance(d.value, (bool, str))}
    if not flags:
        return []
    found: dict = {}
    for n in own_nodes(fn.body):
        if isinstance(n, ast.If) and (_builds_layer(n.body) or _builds_layer(n.orelse)):
            _flag_tests(n.test, flags, found)
        elif _sets_self(n) and isinstance(n.value, ast.IfExp) \
                and (isinstance(n.value.body, ast.Call) or isinstance(n.value.orelse, ast.Call)):
            _flag_tests(n.value.test, flags, found)
        elif _sets_self(n) and isinstance(n.value, ast.Call):
            # ``self.w1 = nn.Linear(dim, dim * mult * (2 if glu else 1))``: the flag sizes the layer
            for sub in ast.walk(n.value):
                if isinstance(sub, ast.IfExp):
                    _flag_tests(sub.test, flags, found)
    out, builds = [], 0
    for p in flags:
        if p in found and len(found[p]) <= _MAX_CHOICES:
            values = tuple(v for v in sorted(found[p], key=repr) if not _passes_through(fn, p, v))
            if values and builds + len(values) <= _MAX_BUILDS and len(out) < _MAX_FLAGS:
                out.append((p, values))
                builds += len(values)
    return out


def _decided(test, flag: str, value):
    """What ``test`` is when ``flag`` holds ``value``: True, False, or None when it reads anything else."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _decided(test.operand, flag, value)
        return None if inner is None else not inner
    if isinstance(test, ast.Name) and test.id == flag:
        return bool(value)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) \
            and test.left.id == flag:
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(right, ast.Constant):
            return (right.value == value) == isinstance(op, ast.Eq)
        if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.Tuple, ast.List, ast.Set)) \
                and all(isinstance(x, ast.Constant) for x in right.elts):
            return any(x.value == value for x in right.elts) == isinstance(op, ast.In)
    return None


def _passes_through(fn, flag: str, value) -> bool:
    """Whether the constructor, given ``flag=value``, sets a ``self`` attribute to None or to an ``Identity()`` on a
    side it takes: a module built so (``nn.Conv2d(inp, oup, 1) if downsample else nn.Identity()``) hands its input
    on where the other value projects it, and is built so only where the sizes allow it (``inp == oup``), which the
    engine does not know. The module is not analysed as built with that value."""
    def passing(nodes) -> bool:
        return any(_sets_self(n) and _hands_on(n.value) for n in own_nodes(nodes))

    for n in own_nodes(fn.body):
        if isinstance(n, ast.If):
            side = _decided(n.test, flag, value)
            if side is not None and passing(n.body if side else n.orelse):
                return True
        elif isinstance(n, ast.IfExp):
            side = _decided(n.test, flag, value)
            if side is not None and _hands_on(n.body if side else n.orelse):
                return True
    return False


def _hands_on(node) -> bool:
    """None, or a call of a class named ``Identity``."""
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    return isinstance(node, ast.Call) and last_name(node.func) == "Identity"


def inner_functions(fn: ast.AST, outer: frozenset = frozenset()):
    """The functions defined inside ``fn`` (at any depth, not inside a class or a lambda), each with the
    names its enclosing functions bind (``(inner, names)``): analysed on their own, an inner function
    (a callback handed to a sampler, a closure returned) sees those names as values it cannot know, not
    as the module-level names they shadow."""
    names = set(outer)
    a = getattr(fn, "args", None)
    if a is not None:
        names |= {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}
        names |= {p.arg for p in (a.vararg, a.kwarg) if p is not None}
    inner = []
    stack = list(getattr(fn, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
            inner.append(node)
            continue
        if isinstance(node, (ast.ClassDef, ast.Lambda)):
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(al.asname or al.name).split(".")[0] for al in node.names}
        stack.extend(ast.iter_child_nodes(node))
    frozen = frozenset(names)
    for node in sorted(inner, key=lambda n: n.lineno):
        yield node, frozen
        yield from inner_functions(node, frozen)


def fixture_arguments(info, fn: ast.FunctionDef, analysis_type) -> dict:
    """The values a test's parameters take from simple pytest fixtures (the file's, or its
    ``conftest.py`` files'): a fixture of that name without parameters of its own, whose ``return``
    values are analysed (silently)."""
    if not fn.name.startswith("test"):
        return {}
    out = {}
    for p in list(fn.args.posonlyargs) + list(fn.args.args):
        where, fixture = _find_fixture(info, p.arg)
        if fixture is None or fixture is fn or _takes_arguments(fixture):
            continue
        fa = analysis_type(where, fixture, depth=1, report=False)
        try:
            rets = [r for r in fa.run() if r is not None]
        except Exception:  # noqa: BLE001 - a fixture we cannot follow gives nothing
            if info.strict:
                raise
            continue
        if not rets:
            continue
        v = rets[0]
        for w in rets[1:]:
            v = join(v, w)
        if v is not OPAQUE:
            out[p.arg] = v
    return out


def _find_fixture(info, name: str):
    """The fixture ``name`` a test of ``info`` sees: the file's own, else one of the ``conftest.py``
    files of its folder and the folders above it (nearest first). ``(module info, function)``."""
    fixture = info.functions.get(name)
    if fixture is not None:
        return (info, fixture) if _is_fixture(fixture, info) else (None, None)
    project = info.project
    if project is None:
        return None, None
    d = os.path.dirname(os.path.abspath(info.path))
    for _ in range(4):
        path = os.path.join(d, "conftest.py")
        if os.path.isfile(path) and path != os.path.abspath(info.path):
            conf = project.info_at(path, info.settings)
            if conf is not None:
                project.note_read(info.modname, conf.modname)
                f = conf.functions.get(name)
                if f is not None and _is_fixture(f, conf):
                    return conf, f
        if not os.path.isfile(os.path.join(d, "__init__.py")) and not os.path.isfile(path):
            break
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return None, None


def _is_fixture(fn: ast.FunctionDef, info) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        q = info.imports.qualify(target) or ""
        if q in ("pytest.fixture", "_pytest.fixtures.fixture"):
            return True
    return False


def _takes_arguments(fn: ast.FunctionDef) -> bool:
    a = fn.args
    return bool(a.posonlyargs or a.args or a.vararg or a.kwonlyargs or a.kwarg)


def _has_call(node) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _assignment_to_self(fn: ast.FunctionDef, attr: str):
    for n in ast.walk(fn):
        if isinstance(n, (ast.Assign, ast.AnnAssign)):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr == attr and isinstance(t.value, ast.Name) \
                        and t.value.id == "self":
                    return n
    return None


def _relative(path: str, start: str) -> str:
    try:
        return os.path.relpath(path, os.path.dirname(os.path.abspath(start))).replace("\\", "/")
    except ValueError:  # another drive
        return path.replace("\\", "/")
