"""Callables the engine cannot see into, kept where their shape behaviour is certain.

* An activation passed as a class (``act_layer=nn.GELU``, then ``self.act = act_layer()``): a
  parameter whose default is an elementwise activation of torch is taken to be one.
* Activation factories of the common libraries: ``ACT2FN[name]``, ``get_activation(name)`` (their
  tables hold elementwise activations only), ``create_act_layer("gelu")`` / ``get_act_layer("silu")``
  with a literal name of an elementwise activation (these tables also hold GLU, which halves an axis,
  so a name read from a config is not taken).
* Identity wrappers of interpretability libraries (``HookPoint()``): the output is the input.
* Layer-norm kernels the engine cannot see (apex's ``fused_rms_norm_affine(x, shape, w, eps)``, a
  project's ``fast_layer_norm`` imported from a module not analysed): a layer norm gives back its
  input's shape.

Each yields an ``nn.Identity``-like module value (or, for a kernel, its input's shape): the shape is
kept, nothing else is claimed.
"""

from __future__ import annotations

import ast
import re

from .._core._ops._facts import lookup_op
from .._core._algebra import Expr
from .._core._shape import Shape
from .._core._ops._registry import OPAQUE
from ._common import last_name
from ._values import FuncRef, ModuleVal, Obj, QualRef

# torch.nn modules whose output has their input's shape, element by element
ELEMENTWISE = frozenset(
    f"torch.nn.{n}" for n in (
        "ReLU", "ReLU6", "GELU", "SiLU", "Tanh", "Sigmoid", "ELU", "SELU", "CELU", "LeakyReLU", "Softplus",
        "Softsign", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "LogSigmoid", "Tanhshrink", "Softshrink",
        "Hardshrink", "PReLU", "Identity"))

# the names of elementwise activations in activation tables (timm, transformers, diffusers)
_ELEMENTWISE_NAMES = frozenset({
    "relu", "relu6", "gelu", "gelu_new", "gelu_fast", "gelu_tanh", "gelu_pytorch_tanh", "gelu_accurate",
    "quick_gelu", "quickgelu", "silu", "swish", "mish", "tanh", "sigmoid", "elu", "selu", "celu", "leaky_relu",
    "prelu", "softplus", "hard_swish", "hardswish", "hard_sigmoid", "hardsigmoid", "hard_mish", "identity",
    "linear"})
# transformers' ACT2FN holds instances, diffusers' ACT2CLS classes: elementwise activations only
_TABLES = {"ACT2FN": "instance", "ACT2CLS": "class"}
_FACTORIES_ANY = frozenset({"get_activation"})  # diffusers: its table is elementwise only
_FACTORIES_NAMED = frozenset({"create_act_layer", "get_act_layer", "get_act_fn"})  # timm: GLU among them
_IDENTITY_CLASSES = frozenset({"transformer_lens.hook_points.HookPoint"})

_IDENTITY = ModuleVal("torch.nn.Identity", lookup_op("torch.nn.Identity"), ())


def activation_default(default, qualify=None) -> QualRef | None:
    """``act_layer=nn.GELU``: the activation class a parameter defaults to, when elementwise. ``default`` is
    the default's node (qualified by ``qualify``) or the value the engine made of it."""
    if isinstance(default, QualRef) and qualify is None:
        q = default.qualname
    elif isinstance(default, (ast.Name, ast.Attribute)) and qualify is not None:
        q = qualify(default)
    else:
        return None
    return QualRef(q) if q in ELEMENTWISE else None


# the class names of elementwise activations written in many projects (``class GELU(nn.Module)``, ``class
# Swish(nn.Module)``): imported from a module the engine does not analyse, such a class is one of these
# (never ``GLU``, which halves an axis)
_ACTIVATION_CLASSES = frozenset(q.rsplit(".", 1)[-1] for q in ELEMENTWISE) - {"Identity", "PReLU"} | frozenset({
    "Swish", "MemoryEfficientSwish", "QuickGELU", "NewGELU", "NewGELUActivation", "GELUActivation",
    "FastGELUActivation", "QuickGELUActivation", "SquaredReLU", "HSwish", "HardSwish", "HSigmoid", "HardSigmoid"})


def unseen_activation(callee, args: list, kwargs: dict):
    """``GELU()`` or ``Swish()`` of a module the engine does not analyse (``from .activation import Swish``):
    an elementwise activation, by its name, built with no tensor; else None."""
    if not isinstance(callee, QualRef) or callee.qualname.startswith("torch."):
        return None
    if callee.qualname.rsplit(".", 1)[-1] not in _ACTIVATION_CLASSES:
        return None
    if any(isinstance(a, Shape) for a in list(args) + list(kwargs.values())):
        return None
    return _IDENTITY


def known_callable(func: ast.AST, args: list, qualify):
    """The module value a call of an activation factory or an identity wrapper gives, else None."""
    q = qualify(func) or ""
    name = q.rsplit(".", 1)[-1] if q else (func.id if isinstance(func, ast.Name) else "")
    if q in _IDENTITY_CLASSES:
        return _IDENTITY
    if name in _FACTORIES_ANY:
        return _IDENTITY
    if name in _FACTORIES_NAMED and args:
        first = args[0]
        if isinstance(first, str) and first.lower() in _ELEMENTWISE_NAMES \
                or isinstance(first, QualRef) and first.qualname in ELEMENTWISE:
            return _IDENTITY if name == "create_act_layer" else QualRef("torch.nn.Identity")
    return None


def table_activation(node: ast.Subscript, qualify):
    """``ACT2FN[config.hidden_act]``: an elementwise activation."""
    base = node.value
    name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
    kind = _TABLES.get(name)
    if kind is None:
        return None
    return _IDENTITY if kind == "instance" else QualRef("torch.nn.Identity")


# a layer or RMS norm function of another package or an unanalysed module, by name: ``fused_rms_norm``,
# ``fast_layer_norm``, ``rms_norm_affine``; not mamba's ``layer_norm_fn``, which may give back a pair
_NORM_KERNEL = re.compile(r"^(?:[a-z0-9]+_)*(?:layer|rms)_?norm(?:_affine)?$")
_PAIR_FLAGS = frozenset({"prenorm", "residual", "return_dropout_mask", "return_rstd", "return_mean"})


def norm_kernel(func: ast.AST, callee, args: list, kwargs: dict, qualify):
    """The shape a call of a layer-norm kernel the engine cannot see gives back (its input's), else None."""
    if isinstance(callee, FuncRef) or not args or not isinstance(args[0], Shape) or _PAIR_FLAGS & kwargs.keys():
        return None
    q = qualify(func) or ""
    if q.startswith("torch."):
        return None  # torch's own norms have their shape rules
    name = q.rsplit(".", 1)[-1] if q else (func.id if isinstance(func, ast.Name) else
                                           func.attr if isinstance(func, ast.Attribute) else "")
    return args[0] if _NORM_KERNEL.match(name or "") else None


# a module's normalization layer by its attribute's name: ``self.norm``, ``self.bn``, ``self.norm2``
_NORM_ATTR = re.compile(r"^(?:norm|bn)\d*$")
# ``self.dropout(attn)``, ``self.attn_drop(x)`` with the layer built where the engine cannot see (a base class of
# another file): a dropout (or stochastic depth) gives back its input's shape
_DROP_ATTR = re.compile(r"^(?:[a-z0-9]+_)*drop(?:out|_path)?\d*$")


def unread_norm(func: ast.AST, callee, args: list, kwargs: dict):
    """``x = self.norm(x)`` with ``self.norm`` a layer the engine could not read (built from an option,
    ``get_norm(norm, out_channels)``), or ``self.dropout(attn)`` with the dropout set where the engine cannot see
    (a base class of another file): a normalization or a dropout gives back its input's shape. Else None."""
    if len(args) != 1 or kwargs or not isinstance(args[0], Shape):
        return None
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"):
        return None
    if (callee is OPAQUE or isinstance(callee, Obj)) and _NORM_ATTR.match(func.attr):
        return args[0]
    # a dropout attribute the engine knows nothing of (set by a base class of another file: read as a size)
    if (callee is OPAQUE or isinstance(callee, (Obj, Expr))) and _DROP_ATTR.match(func.attr):
        return args[0]
    return None


def may_give_layer(fn) -> bool:
    """Whether a function may return a layer's class or instance, read from its text: some ``return`` (of its
    own body, or of a local it returns) gives a name or attribute of a class (``nn.LayerNorm``, ``Conv2dSame``),
    a call of one (``nn.Conv2d(...)``), an item of a table (``_NORM_MAP[name]``) or a choice of those. Classes
    are spelt with a capital (PEP 8); a function returning what another function gives is not followed."""
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    assigned: dict = {}
    returns = []
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            returns.append(node.value)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned.setdefault(node.targets[0].id, []).append(node.value)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))

    def layerish(e, local: bool) -> bool:
        if isinstance(e, ast.IfExp):
            return layerish(e.body, local) or layerish(e.orelse, local)
        if isinstance(e, ast.Call):
            e = e.func
        if isinstance(e, ast.Subscript):
            return True
        if isinstance(e, ast.Name) and local and e.id in assigned:
            return any(layerish(v, False) for v in assigned[e.id])
        return last_name(e)[:1].isupper()

    return any(layerish(r, True) for r in returns)

