"""Values and conversions shared by the engine's rooms (no analysis state here)."""

from __future__ import annotations

import ast

from .._core._algebra import Expr, const, sym
from .._core._ops._registry import OPAQUE
from .._core._shape import UNKNOWN, Shape
from .._core._unify import Env
from ._values import ListOf, SelfVal, SizeOf

MAX_DEPTH = 3  # how deep calls into unannotated user code are followed
SIZE_METHODS = frozenset({"size", "dim", "ndimension", "numel", "nelement"})
CONTAINERS = frozenset({"torch.nn.ModuleList", "torch.nn.ModuleDict", "torch.nn.ParameterList"})
SCALAR_FUNCS = frozenset({"math", "builtins.float", "builtins.abs", "numpy.sqrt", "numpy.log", "numpy.exp"})
# module constants that are Python numbers (``y_embed * (2 * math.pi)`` scales a tensor and keeps its shape)
SCALAR_CONSTANTS = frozenset({"math.pi", "math.e", "math.tau", "math.inf", "numpy.pi", "numpy.e", "numpy.inf",
                              "torch.pi", "torch.e", "torch.inf"})
EXPECTS_ERROR = frozenset({"pytest.raises", "unittest.TestCase.assertRaises"})
BUILTIN_NAMES = frozenset({"len", "range", "int", "min", "max", "isinstance", "print", "list", "tuple", "super",
                           "getattr", "reveal_shape", "reveal_type", "float", "sum", "abs", "round", "enumerate", "zip", "map"})


class _Scalar:
    """A Python number whose value is unknown (``math.sqrt(d)``, ``float(x)``, ``t.item()``)."""

    def __repr__(self) -> str:
        return "SCALAR"


SCALAR = _Scalar()


def is_number(v) -> bool:
    return v is SCALAR or isinstance(v, (Expr, float)) or (isinstance(v, int) and not isinstance(v, bool))


def number(v):
    """The value of a number known exactly (a literal size, an int or a float), else None."""
    if isinstance(v, Expr):
        return v.value
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    return None


def sanitize(v):
    """Values the shape rules understand; anything else is OPAQUE."""
    if v is SCALAR:
        return OPAQUE  # a number of unknown value (an arange bound, a size): not a value to compute with
    if v is None or isinstance(v, (Shape, Expr, bool, int, float, str, slice)) or v is Ellipsis:
        return v
    if isinstance(v, tuple):
        return tuple(sanitize(x) for x in v)
    if isinstance(v, SizeOf):
        return v.shape  # a torch.Size: the rules take a Shape for it
    return OPAQUE


def size_item(v):
    return v if isinstance(v, Expr) else UNKNOWN


def size(v):
    if isinstance(v, Expr):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return const(v)
    return UNKNOWN


def dim_sym(name: str | None, group: str):
    return UNKNOWN if name is None else sym(name, group)


def freeze_value(v):
    if isinstance(v, Shape):
        return ("shape", v.dims)
    if isinstance(v, (SelfVal, ListOf, dict, list)):
        return ("id", id(v))
    return v


def after_error(values) -> frozenset:
    """The codes already reported upstream of these values (the same code is not reported again)."""
    out = frozenset()
    for v in values:
        if isinstance(v, Shape) and v.get_meta("after_error"):
            out |= v.get_meta("after_error")
        elif isinstance(v, tuple):
            out |= after_error(v)
    return out


def reveal_text(v, env: Env) -> str:
    if isinstance(v, Shape):
        return " ".join(str(env.resolve(d)) if isinstance(d, Expr) else str(d) for d in v.dims)
    if isinstance(v, tuple) and all(isinstance(x, Shape) for x in v) and v:
        return ", ".join(reveal_text(x, env) for x in v)
    return "..."


# library modules with no shape rule whose calls the lint rules read (CTC's log-probabilities): the module is a
# ``ModuleVal`` and its calls are handed to the lint rules, what they give being unknown
RULELESS_MODULES = frozenset({"torch.nn.CTCLoss"})

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def is_super_call(node, attr: str) -> bool:
    """``node`` is a call ``super().<attr>(...)`` (``super().__init__(*args, **kwargs)``, ``super().forward(x)``)."""
    func = getattr(node, "func", None)
    return isinstance(func, ast.Attribute) and func.attr == attr and isinstance(func.value, ast.Call) \
        and isinstance(func.value.func, ast.Name) and func.value.func.id == "super"


def param_defaults(fn) -> list:
    """``(parameter, default node)`` of each parameter of ``fn`` that has a default, positional ones first."""
    a = fn.args
    pos = a.posonlyargs + a.args
    return list(zip(pos[len(pos) - len(a.defaults):], a.defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))


def own_nodes(nodes):
    """The nodes at and below ``nodes`` (a function's ``body``, a statement in a list) that belong to the
    scope they are in: a function, class or lambda defined there is given, not walked into."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, SCOPES):
            todo.extend(ast.iter_child_nodes(node))


# library layers whose first two arguments are sizes (features, channels, a table's rows and width)
SIZED_LAYERS = frozenset({"torch.nn.Linear", "torch.nn.Embedding"}) | frozenset(
    f"torch.nn.{c}{k}d" for c in ("Conv", "ConvTranspose") for k in (1, 2, 3))


def last_name(node) -> str:
    """The last name of a name or a dotted name (``F.softmax``: ``softmax``, ``rearrange``: itself); ``""`` for
    anything else."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def literal_int(node) -> int | None:
    """The value of an int literal (``2``, ``-1``), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value if type(node.operand.value) is int else None
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None
