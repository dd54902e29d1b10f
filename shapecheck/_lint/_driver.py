"""Linting one file: parse, read annotations, analyse every function and method, run the rules.

``check_source`` is the entry point of the linter's analysis (the CLI adds files, config,
suppressions, caching and output). It never executes or imports the code it checks.
"""

from __future__ import annotations

import ast
import os
from dataclasses import replace
import keyword
import re

from .._core._annot import AnnotError, Imports, read_annotation
from .._core._diag import Diagnostic, Edit, Fix, is_selected
from .._core._settings import Settings
from .._engine import FunctionAnalysis
from .._core._ops._registry import OPAQUE
from .._engine._entries import (ENTRY_NOTE, defaults_filled_in, defaults_tested, fixture_arguments, flag_choices,
                                inner_functions, merge_entry_diagnostics, module_code)
from .._engine._module import ModuleInfo
from .._engine._project import parse_module
from .._engine._values import SelfVal
from ._scopes import AnnotationScopes
from ._suppress import lines_silencing

__all__ = ["check_source", "needs_analysis"]

_HINT = re.compile(r"\b(torch|jaxtyping|einops|Tensor|TensorType|reveal_shape)\b|\b(Float|Int|Bool|Shaped)\[")
_SINGLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def needs_analysis(source: str, settings: Settings | None = None) -> bool:
    """A cheap test: does this file mention anything shapecheck analyses?"""
    if _HINT.search(source):
        return True
    if settings is not None:
        return any(m.split(".")[-1] in source for m in settings.shape_modules)
    return False


def _recorded(path: str, settings: Settings) -> bool:
    """A run recorded shapes for this file (``check --shapes``): it is analysed, whatever it imports."""
    if not settings.entry_shapes:
        return False
    path = os.path.abspath(path)
    return any(p == path for p, _q, _n, _t in settings.entry_shapes)


# -- annotation hygiene ---------------------------------------------------------------------------

def _char_col(lines, lineno: int, byte_col: int) -> int:
    if 1 <= lineno <= len(lines):
        return len(lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace"))
    return byte_col


_ANNOTATION_STRING = re.compile(r"\s*[A-Za-z_][\w.]*\[[^\n]*\]\s*\Z")


def _uses_dtypes(imp: Imports) -> bool:
    return any(imp.is_dtype(q) or q == "jaxtyping" or q.startswith("jaxtyping.")
               or q.split(".")[0] in {m.split(".")[0] for m in imp.shape_modules}
               for q in imp.names.values())


def annotation_diagnostics(info: ModuleInfo, lines) -> list:
    out = []
    imp = info.imports
    if not _uses_dtypes(imp):
        return out  # no jaxtyping dtype is in scope: no dimension string to check
    seen = set()
    single = []  # one-axis dimension strings: the candidates of the opt-in SHP002
    for node in ast.walk(info.tree):
        strings = []
        if isinstance(node, ast.Subscript):
            strings.append(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "[" in node.value \
                and len(node.value) < 300 and _ANNOTATION_STRING.match(node.value):
            if any(d in node.value for d in ("Float", "Int", "Bool", "Shaped", "Num", "Real", "Integer")):
                try:
                    inner = ast.parse(node.value.strip(), mode="eval").body
                except SyntaxError:
                    continue
                if isinstance(inner, ast.Subscript):
                    try:
                        read_annotation(inner, imp)
                    except AnnotError as e:
                        out.append(_syntax_diag(info, node, e, lines))
                continue
        for sub in strings:
            if imp.is_dtype(imp.qualify(sub.value)) is None:
                continue
            sl = sub.slice
            if not (isinstance(sl, ast.Tuple) and len(sl.elts) == 2):
                continue
            dims = sl.elts[1]
            if not (isinstance(dims, ast.Constant) and isinstance(dims.value, str)) or id(dims) in seen:
                continue
            seen.add(id(dims))
            try:
                read_annotation(sub, imp)
            except AnnotError as e:
                out.append(_syntax_diag(info, dims, e, lines))
                continue
            if _SINGLE.match(dims.value) and dims.value != "_" and not keyword.iskeyword(dims.value):
                single.append(dims)
    if single and is_selected("SHP002", info.settings.select):
        out += _forward_references(info, single, lines)
    return out


def _forward_references(info, candidates, lines) -> list:
    """SHP002 where pyflakes/ruff really report F821: the string is in an annotation, its name is bound
    in no scope the annotation sees, and the line carries no ``# noqa`` that silences F821."""
    scopes = AnnotationScopes(info.tree, info.path)
    silenced = lines_silencing("\n".join(lines), "F821")
    out = []
    for dims in candidates:
        if dims.lineno in silenced or scopes.resolves(dims, dims.value):
            continue
        out.append(_single_axis(info, dims, lines))
    return out


def _syntax_diag(info, node, e: AnnotError, lines) -> Diagnostic:
    col = _char_col(lines, node.lineno, node.col_offset) + 1
    err = e.err
    return Diagnostic(info.path, node.lineno, col, "SHP001", f"invalid dimension string: {err.message}",
                      "error", (), None, getattr(node, "end_lineno", None),
                      _char_col(lines, node.end_lineno, node.end_col_offset) + 1
                      if getattr(node, "end_col_offset", None) is not None else None)


def _single_axis(info, node, lines) -> Diagnostic:
    col = _char_col(lines, node.lineno, node.col_offset)
    line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
    k = col
    while k < len(line) and line[k] in "rRuUbB":
        k += 1
    quote = line[k:k + 3] if line[k:k + 3] in ('"""', "'''") else line[k:k + 1]
    ins = k + len(quote)
    fix = None
    if quote in ('"', "'", '"""', "'''") and node.lineno == node.end_lineno:
        fix = Fix(f'add a leading space: " {node.value}"',
                  (Edit(node.lineno, ins + 1, node.lineno, ins + 1, " "),), safe=True)
    return Diagnostic(info.path, node.lineno, col + 1, "SHP002",
                      f'one-axis dimension string "{node.value}" is read as a forward reference to a name '
                      f"`{node.value}` by pyflakes/ruff (F821)", "warning", (),
                      f'write " {node.value}" (a leading space keeps it a dimension string)', fix=fix)


# -- entry --------------------------------------------------------------------------------------------

def _load_rules(settings: Settings):
    try:
        from shapecheck.rules import all_rules
    except ImportError:
        return []
    rules = []
    for r in all_rules():
        code = getattr(r, "code", "")
        if settings.select and code not in settings.select:
            continue
        if code in settings.ignore:
            continue
        rules.append(r)
    return rules


def check_source(source: str, path: str, settings: Settings | None = None, project=None,
                 strict: bool = False, tree: ast.Module | None = None) -> list:
    """Diagnostics for one file's source. Raises SyntaxError (and ValueError for NUL bytes) when the
    source is not Python; any other exception is an internal error for the caller to report.
    ``tree`` is the source already parsed by the caller (the mypy plugin's project has it)."""
    settings = settings or Settings()
    try:
        tree = tree if tree is not None else parse_module(source, path)
    except (RecursionError, MemoryError):
        raise SyntaxError("too deeply nested for the parser") from None
    if not needs_analysis(source, settings) and not _recorded(path, settings):
        return []
    lines = source.splitlines()
    modname = project.module_name(path) if project is not None else ""
    info = ModuleInfo(path, tree, settings, project, modname, strict=strict)
    info.lines = lines
    diags = annotation_diagnostics(info, lines)
    rules = _load_rules(settings)
    for name, fn in info.functions.items():
        fa = FunctionAnalysis(info, fn, args=_fixtures(info, fn, strict), rules=rules)
        _run(fa, diags, strict)
        _run_later_shapes(fa, rules, diags, strict)
        _run_defaults(info, fn, None, rules, diags, strict)
        _run_inner(info, fn, rules, diags, strict)
    for cls in info.classes.values():
        sv = None
        if cls.is_module or cls.methods:
            try:
                sv, init_diags = info.generic_instance(cls, rules)
                diags.extend(init_diags)
            except Exception:
                if strict:
                    raise
                sv = SelfVal(cls, {})
        for mname, fn in cls.methods.items():
            if mname == "__init__":
                continue
            is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
            fa = FunctionAnalysis(info, fn, self_val=None if is_static else sv, rules=rules)
            _run(fa, diags, strict)
            _run_later_shapes(fa, rules, diags, strict)
            _run_defaults(info, fn, None if is_static else sv, rules, diags, strict)
            _run_inner(info, fn, rules, diags, strict, None if is_static else sv)
        _run_built_by_default(info, cls, rules, diags, strict)
        _run_built_with_flags(info, cls, rules, diags, strict)
    script = module_code(tree)  # module-level code and the ``__main__`` block: entry shapes of the file
    if script is not None:
        _run(FunctionAnalysis(info, script, rules=rules), diags, strict)
    diags = merge_entry_diagnostics(diags)
    # one diagnostic per (line, column, code): a method analysed twice must not report twice
    uniq = {}
    for d in diags:
        uniq.setdefault((d.line, d.column, d.code, d.message), d)
    return sorted(uniq.values(), key=lambda d: d.sort_key())


def _fixtures(info: ModuleInfo, fn, strict: bool) -> dict | None:
    """A test's parameters that the file's simple pytest fixtures supply."""
    try:
        return fixture_arguments(info, fn, FunctionAnalysis) or None
    except Exception:
        if strict:
            raise
        return None


def _run_later_shapes(fa: FunctionAnalysis, rules, diags: list, strict: bool) -> None:
    """A function that reads an unannotated input before a later use teaches its axes (RepVGG's
    ``return self.fused(inputs)`` on an early-return branch, before ``self.dense(inputs)`` reads its channels)
    is analysed once more with the input shaped so from the start: it is one tensor throughout. Its findings are
    those of such a call (a finding the function proves on its own at the same place wins)."""
    if not fa.later_shapes:
        return
    names = ", ".join(f"`{p}` ({v})" for p, v in fa.later_shapes.items())
    _run_as_called(FunctionAnalysis(fa.mod, fa.node, self_val=fa.self_val, args=dict(fa.later_shapes), rules=rules),
                   f"{ENTRY_NOTE}its later uses give {names}", diags, strict)


def _run_defaults(info, fn, self_val, rules, diags: list, strict: bool) -> None:
    """A function whose optional inputs default to None and are tested (``if cache is not None:``) is
    analysed once more as a caller that leaves them out calls it: the tests are then decided, and what the
    main path computes is not joined with what an unknown cache would hold. Its findings are those of that
    call (a finding the function proves on its own at the same place wins)."""
    optional = defaults_tested(fn)
    if not optional:
        return
    left = ", ".join(f"`{p}`" for p in optional)
    _run_as_called(FunctionAnalysis(info, fn, self_val=self_val, args=dict.fromkeys(optional, None), rules=rules),
                   f"{ENTRY_NOTE}of a call that leaves {left} to None", diags, strict)


def _run_as_called(fa: FunctionAnalysis, note: str, diags: list, strict: bool) -> None:
    """Run ``fa``, a function analysed once more under the arguments of a call, and keep its findings (no reveals,
    no internal errors) with ``note`` saying which call."""
    found: list = []
    _run(fa, found, strict)
    diags.extend(replace(d, notes=tuple(d.notes) + (note,)) for d in found if d.code not in ("reveal", "SHP900"))


def _run_built_by_default(info, cls, rules, diags: list, strict: bool) -> None:
    """A module whose constructor leaves optional sizes to None and fills them in itself (``if head_dim is None:
    head_dim = dim // num_heads``, ``dim_out = dim_out or dim``), or tests them (``downsample``), has its methods
    analysed once more as built by a caller that leaves them out: the module as it is most often built, whose sizes
    are then related (``attn_dim`` is ``dim``), not unknown. No two sizes are judged distinct for their names there
    (``Env.names_distinct``): a caller that leaves a part out may give sizes that are equal (a residual block built
    without ``downsample``). Its findings are those of that module (a finding the methods prove on their own at the
    same place wins)."""
    init = cls.methods.get("__init__")
    optional = defaults_filled_in(init) if init is not None else ()
    if not optional:
        return
    methods = [fn for mname, fn in cls.methods.items() if mname != "__init__" and not any(
        isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)]

    def related(fa) -> None:
        fa.env.names_distinct = False

    left = ", ".join(f"`{p}`" for p in optional)
    note = f"{ENTRY_NOTE}of the module built with {left} left to None"
    diags.extend(replace(d, notes=tuple(d.notes) + (note,))
                 for d in _as_built(info, cls, rules, dict.fromkeys(optional, None), methods, related, strict))


def _as_built(info, cls, rules, args: dict, methods, configure, strict: bool) -> list:
    """The findings (no reveals, no internal errors) of ``methods`` of ``cls`` analysed on the module its
    constructor builds from ``args`` (the others symbolic), each analysis set up by ``configure``; none when the
    constructor cannot be analysed."""
    try:
        sv, _ = info.generic_instance(cls, rules, args=args)
    except Exception:
        if strict:
            raise
        return []
    found: list = []
    for fn in methods:
        fa = FunctionAnalysis(info, fn, self_val=sv, rules=rules)
        configure(fa)
        _run(fa, found, strict)
    return [d for d in found if d.code not in ("reveal", "SHP900")]


def _run_built_with_flags(info, cls, rules, diags: list, strict: bool) -> None:
    """A module whose constructor builds other layers under a flag (``if use_mlp: self.conv = nn.Conv1d(1, rd, 1)
    else: self.conv = nn.Conv1d(1, 1, k)``, ``if pool == "spatial":``) has its ``forward`` analysed once more per
    value of each flag (``_entries.flag_choices``), as a caller that gives that value builds it: the layers are then
    those of that value, not a choice whose options must all fail for a finding to be reported. Only ``forward``:
    another method may run for other values only (``_decode`` of a module built with ``mode="encoder"``), and
    ``forward`` reaches the methods that value runs. A branch that the analysis cannot decide may not be the path
    such a module takes, and reports nothing (BLIP's key, built for the encoder's width under
    ``is_cross_attention``, meets the encoder's states only when they are given). Its findings are those of that
    module, in the class's own lines (a finding the methods prove on their own wins): what a callee then finds
    (a block given the wrong channels by the module's ``cat``) follows from the module's bug, reported there."""
    init, forward = cls.methods.get("__init__"), cls.methods.get("forward")
    if init is None or forward is None:
        return
    here, first, last = os.path.abspath(info.path), cls.node.lineno, cls.node.end_lineno

    def own(d) -> bool:  # in the class: a callee's finding is that of a module (a function) built (called) so
        return os.path.abspath(d.path) == here and first <= d.line <= last

    def quiet(fa) -> None:
        fa.quiet_undecided = True

    for flag, values in flag_choices(init):
        for value in values:
            note = f"{ENTRY_NOTE}of the module built with `{flag}={value!r}`"
            diags.extend(replace(d, notes=tuple(d.notes) + (note,))
                         for d in _as_built(info, cls, rules, {flag: value}, [forward], quiet, strict) if own(d))


def _run_inner(info, fn, rules, diags: list, strict: bool, sv=None) -> None:
    """The functions defined inside ``fn``, each analysed on its own (a callback is often never called
    where it is defined); the names its enclosing functions bind are values it cannot know, but the
    receiver of a method (``sv``) is the module it analyses (``def stem(x): ... self.conv1(x) ...``
    inside ``forward``)."""
    a = fn.args
    first = (a.posonlyargs + a.args)[0].arg if sv is not None and (a.posonlyargs + a.args) else None
    for inner, outer in inner_functions(fn):
        closure = dict.fromkeys(outer, OPAQUE)
        receiver = first in ("self", "cls") and not _rebinds(fn, first)
        if receiver:
            closure[first] = sv
        _run(FunctionAnalysis(info, inner, self_val=sv if receiver else None, rules=rules, closure=closure),
             diags, strict)


def _rebinds(fn, name: str) -> bool:
    """Whether ``name`` is assigned anywhere in ``fn`` (its inner functions' parameters included)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, ast.arg) and node.arg == name and node is not (fn.args.posonlyargs + fn.args.args)[0]:
            return True
    return False


def _run(fa: FunctionAnalysis, diags: list, strict: bool) -> None:
    try:
        fa.run()
    except Exception as e:  # one function's failure must not hide the others' findings
        if strict:
            raise
        node = fa.node
        if not any(d.code == "SHP900" for d in diags):
            diags.append(Diagnostic(fa.mod.path, node.lineno, node.col_offset + 1, "SHP900",
                                    f"internal error while analysing `{fa.qualname}`: "
                                    f"{type(e).__name__}: {e}; please report this with the file",
                                    "error"))
    diags.extend(fa.diags)
