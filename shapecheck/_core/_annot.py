"""Reading jaxtyping annotations out of Python source (``ast`` nodes), import-aware.

Recognises ``Float[Tensor, "b n"]`` / ``jaxtyping.Float[torch.Tensor, "b n"]`` (any jaxtyping dtype,
also re-exported from the configured ``shape-modules``), string annotations (``"Float[Tensor, 'b n']"``,
``from __future__ import annotations`` needs nothing special with ``ast``), module-level aliases
(``Batch = Float[Tensor, "batch ..."]``), ``Optional[...]``/``X | None`` around them, plain
``Tensor`` (a tensor of unknown shape), torchtyping's ``TensorType["batch", "pos"]``, and the
single-string ``Float["b n d"]`` of a project's own typing module (a shape module).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace

from ._parse import AnnotationSyntaxError, ShapeSpec, parse_shape

__all__ = ["DTYPES", "Imports", "TensorAnnot", "read_annotation", "collect_imports"]

DTYPES = frozenset(
    "Shaped Bool Num Inexact Float Float8e4m3b11fnuz Float8e4m3fn Float8e4m3fnuz Float8e5m2 Float8e5m2fnuz "
    "BFloat16 Float16 Float32 Float64 Complex Complex64 Complex128 Integer UInt UInt2 UInt4 UInt8 UInt16 "
    "UInt32 UInt64 Int Int2 Int4 Int8 Int16 Int32 Int64 Real Key".split()
)
TENSOR_TYPES = frozenset({"torch.Tensor", "torch._tensor.Tensor", "torch.nn.Parameter",
                          "torch.nn.parameter.Parameter"})


@dataclass(frozen=True)
class TensorAnnot:
    """A tensor annotation: ``spec`` is None for a plain ``Tensor`` (shape unknown)."""

    spec: ShapeSpec | None
    dtype: str | None
    line: int
    col: int
    members: tuple = ()  # a union of tensor annotations of different shapes: each member's annotation


@dataclass
class Imports:
    """Local names bound by imports: ``F`` -> ``torch.nn.functional``."""

    names: dict
    shape_modules: tuple = ()
    tensor_types: frozenset = TENSOR_TYPES
    aliases: dict = None  # module-level alias name -> TensorAnnot (or an error)
    axis_aliases: dict = None  # axis name -> the canonical name it stands for (config ``axis-aliases``)

    def qualify(self, node: ast.AST) -> str | None:
        """The qualified name an expression refers to through imports (``F.softmax``), or None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.names.get(node.id)
        if base is None:
            return None
        parts.append(base)
        return ".".join(reversed(parts))

    def is_dtype(self, q: str | None) -> str | None:
        if not q:
            return None
        mod, _, name = q.rpartition(".")
        if name in DTYPES and (mod == "jaxtyping" or mod in self.shape_modules or mod.startswith("jaxtyping.")):
            return name
        return None


def import_statements(tree: ast.Module):
    """Every import statement, at any depth, without walking into expressions (imports are statements)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        for attr in ("body", "orelse", "finalbody", "handlers", "cases"):
            sub = getattr(node, attr, None)
            if sub:
                stack.extend(sub)


def from_module(node: ast.ImportFrom, modname: str) -> str:
    """The absolute module an ``ImportFrom`` names, relative imports resolved against ``modname``."""
    if not node.level:
        return node.module or ""
    parts = modname.split(".")
    return ".".join(parts[: len(parts) - node.level] + ([node.module] if node.module else []))


def rename_axes(spec: ShapeSpec, names: dict) -> ShapeSpec:
    """The spec with axis names replaced (``seq`` -> ``pos`` under ``axis-aliases``)."""
    if not names or not (spec.names() & names.keys()):
        return spec
    from ._algebra import Sym, sym

    mapping = {Sym(a): sym(c) for a, c in names.items()}
    axes = []
    for ax in spec.axes:
        if ax.name in names:
            ax = replace(ax, name=names[ax.name])
        if ax.expr is not None:
            ax = replace(ax, expr=ax.expr.subst(mapping))
        axes.append(ax)
    return ShapeSpec(spec.text, tuple(axes))


def collect_imports(tree: ast.Module, shape_modules=(), tensor_types=(), axis_aliases=()) -> Imports:
    names: dict = {}
    for node in import_statements(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    names[a.asname or a.name] = f"{node.module}.{a.name}"
            if any(a.name == "*" for a in node.names) and (node.module == "jaxtyping"
                                                           or node.module in shape_modules):
                for d in DTYPES:
                    names.setdefault(d, f"{node.module}.{d}")
    imp = Imports(names, tuple(shape_modules), TENSOR_TYPES | frozenset(tensor_types), {}, dict(axis_aliases))
    return imp


class AnnotError(Exception):
    def __init__(self, err: AnnotationSyntaxError, node: ast.AST, in_string: bool):
        super().__init__(err.message)
        self.err = err
        self.node = node
        self.in_string = in_string


def read_annotation(node: ast.AST | None, imp: Imports, depth: int = 0):
    """A TensorAnnot for a tensor annotation, None for anything else; raises AnnotError on bad syntax."""
    if node is None or depth > 4:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            inner = ast.parse(node.value.strip(), mode="eval").body
        except SyntaxError:
            return None
        for n in ast.walk(inner):  # positions of a string annotation: point at the string
            if hasattr(n, "lineno"):
                n.lineno, n.col_offset = node.lineno, node.col_offset
        return read_annotation(inner, imp, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None, X | Y
        return _union([node.left, node.right], imp, depth)
    if isinstance(node, ast.Subscript):
        q = imp.qualify(node.value)
        if q in TORCHTYPING:
            return _torchtyping(node, imp)
        dtype = imp.is_dtype(q)
        if dtype is not None:
            sl = node.slice
            if isinstance(sl, ast.Constant) and isinstance(sl.value, str) and not q.startswith("jaxtyping."):
                # ``Float["b n d"]``: a project's own typing module fixes the array type
                try:
                    spec = parse_shape(sl.value)
                except AnnotationSyntaxError as e:
                    raise AnnotError(e, sl, True) from None
                return TensorAnnot(rename_axes(spec, imp.axis_aliases), dtype, node.lineno, node.col_offset)
            if isinstance(sl, ast.Tuple) and len(sl.elts) == 2:
                arr, dims = sl.elts
                if not _is_tensor_type(arr, imp):
                    return None
                if isinstance(dims, ast.Constant) and isinstance(dims.value, str):
                    try:
                        spec = parse_shape(dims.value)
                    except AnnotationSyntaxError as e:
                        raise AnnotError(e, dims, True) from None
                    return TensorAnnot(rename_axes(spec, imp.axis_aliases), dtype, node.lineno, node.col_offset)
                return None
            return None
        if q in ("typing.Optional", "typing_extensions.Optional"):
            return read_annotation(node.slice, imp, depth + 1)
        if q in ("typing.Union", "typing_extensions.Union"):
            members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return _union(members, imp, depth)
        if q in ("typing.Annotated", "typing_extensions.Annotated") and isinstance(node.slice, ast.Tuple):
            return read_annotation(node.slice.elts[0], imp, depth + 1)
        return None
    if isinstance(node, ast.Name) and imp.aliases and node.id in imp.aliases:
        return imp.aliases[node.id]
    if _is_tensor_type(node, imp) or imp.qualify(node) in TORCHTYPING:
        return TensorAnnot(None, None, node.lineno, node.col_offset)
    return None


TORCHTYPING = frozenset({"torchtyping.TensorType", "torchtyping.tensor_type.TensorType"})


def _torchtyping(node: ast.Subscript, imp: Imports) -> TensorAnnot:
    """torchtyping's ``TensorType["batch", "pos"]``, ``TensorType["b", 3]``, ``TensorType[..., "d"]``,
    ``TensorType["batch": 8]`` (named and sized), ``TensorType["extra": ...]`` (named variadic); a dtype
    or detail (``float``, ``is_named``) says nothing of the shape. A form not read here is a tensor of
    unknown shape."""
    elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    dims = []
    for e in elts:
        if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value.isidentifier():
            dims.append(e.value)
        elif isinstance(e, ast.Constant) and type(e.value) is int and e.value >= 0:
            dims.append(str(e.value))
        elif isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant) \
                and e.operand.value == 1:
            dims.append("_")  # -1: any size
        elif isinstance(e, ast.Constant) and e.value is Ellipsis:
            dims.append("...")
        elif isinstance(e, ast.Slice) and isinstance(e.lower, ast.Constant) and isinstance(e.lower.value, str) \
                and e.lower.value.isidentifier() and e.step is None:
            up = e.upper
            if isinstance(up, ast.Constant) and up.value is Ellipsis:
                dims.append("*" + e.lower.value)
            elif isinstance(up, ast.Constant) and type(up.value) is int and up.value >= 0:
                dims.append(f"{e.lower.value}={up.value}")
            else:
                return TensorAnnot(None, None, node.lineno, node.col_offset)
        elif isinstance(e, (ast.Name, ast.Attribute)):
            continue  # a dtype or a detail
        else:
            return TensorAnnot(None, None, node.lineno, node.col_offset)
    if not dims and not any(isinstance(e, ast.Constant) and e.value == () for e in elts):
        return TensorAnnot(None, None, node.lineno, node.col_offset)  # a dtype alone: any shape
    try:
        spec = parse_shape(" ".join(dims))
    except AnnotationSyntaxError:
        return TensorAnnot(None, None, node.lineno, node.col_offset)  # torchtyping rejects it itself
    return TensorAnnot(rename_axes(spec, imp.axis_aliases), None, node.lineno, node.col_offset)


def _union(members, imp: Imports, depth: int):
    """A union of tensor annotations: the shape when all agree, else a tensor of unknown shape."""
    found = []
    others = 0  # members that are not tensors (``str``, ``List[str]``)
    for side in members:
        if isinstance(side, ast.Constant) and side.value is None:
            continue
        r = read_annotation(side, imp, depth + 1)
        if r is not None:
            found.append(r)
        else:
            others += 1
    if not found:
        return None
    first = found[0]
    if all(r.spec == first.spec for r in found[1:]):
        return first
    # per-member analysis only for a union of tensor shapes alone: with other members (a string, a
    # list) or of other element types, which member arrives is tied to other arguments the analysis
    # does not relate to it
    alone = not others and all(r.spec is not None and r.dtype == first.dtype for r in found)
    return TensorAnnot(None, first.dtype, first.line, first.col, tuple(found) if alone else ())


def _is_tensor_type(node: ast.AST, imp: Imports) -> bool:
    q = imp.qualify(node)
    if q in imp.tensor_types:
        return True
    return isinstance(node, ast.Constant) and node.value in ("Tensor", "torch.Tensor") and "Tensor" in imp.names
