"""What a graph's nodes and edges say: shapes in jaxtyping syntax, an op named by its code, the axis a
contraction joins, the axes a broadcast adds."""

from __future__ import annotations

import ast

from .._core._algebra import Expr
from .._core._shape import Shape

MAX_LABEL = 48
CONV_PREFIXES = ("conv", "Conv")
ELEMENTWISE = {"add", "sub", "mul", "div", "floordiv", "mod", "pow", "masked_fill", "where", "maximum",
               "minimum", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"}


# -- shapes as text ---------------------------------------------------------------------------------

def shape_text(v, env=None) -> str | None:
    """``b h s s`` for a tensor, ``a, b`` for a tuple of tensors, None for anything else."""
    if isinstance(v, Shape):
        if not v.dims:
            return "scalar"
        return " ".join(_dim(d, env) for d in v.dims)
    if isinstance(v, tuple) and v and all(isinstance(x, Shape) for x in v):
        return ", ".join(shape_text(x, env) for x in v)
    return None


def _dim(d, env) -> str:
    if isinstance(d, Expr) and env is not None:
        d = env.resolve(d)
    return str(d).replace(" ", "")


def is_tensor(v) -> bool:
    return isinstance(v, Shape) or isinstance(v, tuple) and any(isinstance(x, Shape) for x in v)


# -- labels -----------------------------------------------------------------------------------------

def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def op_label(node: ast.AST, source: str, drawn: set, tensor_names: set) -> str:
    """The op named by its code: ``q @ k.transpose(-2, -1)``, ``softmax(dim=-1)``, ``self.c_proj``,
    ``.transpose(1, 2)`` for a method on the result of another op."""
    seg = ast.get_source_segment(source, node) or type(node).__name__
    if not isinstance(node, ast.Call):
        return _short(seg)
    func = node.func
    statics = [a for a in node.args if not _is_tensor_expr(a, drawn, tensor_names)]
    kws = [k for k in node.keywords if not _is_tensor_expr(k.value, drawn, tensor_names)]
    inner = ", ".join([ast.get_source_segment(source, a) or "?" for a in statics]
                      + [f"{k.arg}={ast.get_source_segment(source, k.value)}" if k.arg
                         else f"**{ast.get_source_segment(source, k.value)}" for k in kws])
    if isinstance(func, ast.Attribute) and _is_tensor_expr(func.value, drawn, tensor_names):
        recv = func.value
        head = f"{recv.id}." if isinstance(recv, ast.Name) else "."
        return _short(f"{head}{func.attr}({inner})")
    if len(statics) == len(node.args) and len(kws) == len(node.keywords) and node.args:
        # no tensor among the arguments: a module called on something we cannot see, keep the code
        return _short(seg)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
        return _short(ast.get_source_segment(source, func) or func.attr)  # a submodule: `self.c_proj`
    name = func.attr if isinstance(func, ast.Attribute) else (ast.get_source_segment(source, func) or "?")
    if isinstance(func, ast.Attribute) and not isinstance(func.value, (ast.Name, ast.Attribute)):
        name = ast.get_source_segment(source, func) or name
    return _short(f"{name}({inner})")


def _is_tensor_expr(e, drawn: set, tensor_names: set) -> bool:
    if id(e) in drawn:
        return True
    if isinstance(e, ast.Name):
        return e.id in tensor_names
    if isinstance(e, (ast.Tuple, ast.List, ast.Starred)):
        return any(_is_tensor_expr(x, drawn, tensor_names) for x in ast.iter_child_nodes(e))
    return False


def contracted_axis(ev, env) -> str | None:
    """The axis a contraction joins (its name on the first operand), or None (also when unknown)."""
    text = _contracted(ev, env)
    if text is None or "?" in text or "..." in text or text.startswith("*"):
        return None
    return text


def _contracted(ev, env) -> str | None:
    name = ev.name
    shapes = [a for a in ev.args if isinstance(a, Shape)]
    if name in ("matmul", "bmm", "mm") and len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        if not a.dims or not b.dims:
            return None
        left = _dim(a.dims[-1], env)
        right = _dim(b.dims[-2] if len(b.dims) >= 2 else b.dims[-1], env)
        return left if left == right else f"{left} ≠ {right}"
    if name in ("linear", "Linear") and shapes and shapes[0].dims:
        return _dim(shapes[0].dims[-1], env)
    if name.startswith(CONV_PREFIXES) and shapes and shapes[0].dims and name[-2:-1].isdigit():
        n = int(name[-2])
        return _dim(shapes[0].dims[-(n + 1)], env) if len(shapes[0].dims) > n else None
    if name == "einsum":
        return _einsum_contracted(ev, shapes, env)
    return None


def broadcast_axes(ev, env) -> str | None:
    """An elementwise op on tensors of different shapes: the result's axes that some operand had no
    axis for (a leading axis added) or had size 1 at; None when nothing was broadcast or it is unknown."""
    if ev.name not in ELEMENTWISE or not isinstance(ev.result, Shape):
        return None
    shapes = [a for a in ev.args if isinstance(a, Shape)]
    out = ev.result.dims
    if len(shapes) < 2 or any(_has_variadic(x.dims) for x in shapes + [ev.result]):
        return None
    added = []
    for i in range(1, len(out) + 1):
        d = _dim(out[-i], env)
        for x in shapes:
            if i > len(x.dims) or _dim(x.dims[-i], env) == "1" and d != "1":
                added.append(d)
                break
    return " ".join(reversed(added)) or None


def _has_variadic(dims) -> bool:
    return any(not isinstance(d, Expr) and str(d).startswith(("*", "...")) for d in dims)


def _einsum_contracted(ev, shapes, env) -> str | None:
    eq = next((a for a in list(ev.args) + list(ev.kwargs.values()) if isinstance(a, str) and "->" in a), None)
    if eq is None or "..." in eq:
        return None
    lhs, rhs = eq.split("->", 1)
    parts = lhs.split(",")
    spaced = " " in eq.strip()
    terms = [p.split() if spaced else list(p.strip()) for p in parts]
    out = set(rhs.split() if spaced else rhs.strip())
    joined = []
    for term in terms:
        for letter in term:
            if letter not in out and letter not in joined:
                joined.append(letter)
    axes = []
    for letter in joined:
        for t, term in enumerate(terms):
            if letter in term and t < len(shapes) and len(shapes[t].dims) == len(term):
                axes.append(_dim(shapes[t].dims[term.index(letter)], env))
                break
        else:
            axes.append(letter)
    return " ".join(axes) or None
