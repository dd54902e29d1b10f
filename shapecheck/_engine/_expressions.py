"""Expressions: names, attributes, subscripts and operators evaluated to abstract values."""

from __future__ import annotations

import ast
import re
import sys

from .._core._algebra import Expr, const, sym
from .._core._ops._registry import OPAQUE, Opaque
from .._core._shape import ANY_SHAPE, Shape, Unknown
from .._core._unify import NE, code_size, compare
from ._values import (BASE_LAYER, EMPTY, NAMESPACE, NORM_FACTORIES, Choice, ClassRef, DictOf, FuncRef, ListOf,
                      ModuleVal, Obj, QualRef, SelfVal, SizeOf, join, list_join)
from ._memo import per_node
from ._narrow import rank_test, same_shape_test, tensor_var, transposed_matrix
from ._callables import activation_default, table_activation
from ._common import BUILTIN_NAMES, SCALAR, SCALAR_CONSTANTS, is_number, number, param_defaults, size, size_item


# a string key of a config read as a dict that names one size (``ddconfig["z_channels"]``, ``cfg["n_embd"]``)
_SIZE_KEY = re.compile(r"([a-z0-9]+_)*(dim|channels|chans|heads|embd|width|units|classes)(_?[0-9]+)?"
                       r"|([a-z0-9]+_)+(size|features)|(n|num|d)_[a-z][a-z0-9_]*")


class Expressions:
    """The expression room of :class:`~._walk.FunctionAnalysis`: ``ev`` evaluates an expression in a
    state (calls go to the call room)."""

    def ev(self, node, state):
        try:
            return self._ev(node, state)
        except RecursionError:
            return OPAQUE

    def _ev(self, node, state):
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            v = node.value
            if type(v) is int:
                return const(v)
            return v
        if isinstance(node, ast.Name):
            if node.id in state:
                v = state[node.id]
                return v.with_label(f"`{node.id}`") if isinstance(v, Shape) else v
            return self.global_value(node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, state)
        if isinstance(node, ast.Call):
            return self.call(node, state)
        if isinstance(node, ast.BinOp):
            left = self.ev(node.left, state)
            before = state.get(node.left.id) if isinstance(node.left, ast.Name) else None
            right = self.ev(node.right, state)
            if isinstance(node.op, ast.MatMult) and transposed_matrix(node.right):
                left = self.narrowed_to_matrix(left, node.left, state)  # ``q @ k.transpose(-2, -1)``
                before = None
            if before is not None and state.get(node.left.id) is not before \
                    and (isinstance(before, (Shape, Obj)) or before is OPAQUE) and isinstance(state.get(node.left.id), Shape) \
                    and not any(isinstance(n, ast.NamedExpr) for n in ast.walk(node.right)):
                # ``x + self.conv(x)``: the layer on the right narrowed ``x`` (the same tensor) to its input
                left = self.ev(node.left, state)
            return self.binop(node.op, left, right, node)
        if isinstance(node, ast.UnaryOp):
            v = self.ev(node.operand, state)
            if isinstance(node.op, ast.USub) and isinstance(v, Expr):
                return -v
            if isinstance(node.op, ast.USub) and isinstance(v, (int, float)) and not isinstance(v, bool):
                return -v
            if isinstance(v, Shape) and not isinstance(node.op, ast.Not):
                return v
            if isinstance(node.op, ast.Not) and isinstance(v, bool):
                return not v  # ``if not self.qk:`` with the flag known
            return OPAQUE
        if isinstance(node, (ast.Tuple, ast.List)):
            out = self.spliced(node.elts, state)
            if out is None and node.elts and isinstance(node.elts[0], (ast.Name, ast.Attribute)):
                # ``dims = [init_dim, *map(lambda m: dim * m, dim_mults)]``: a list of sizes of unknown length
                # whose first one is known (what a loop over it meets first)
                head = self.ev(node.elts[0], state)
                return ListOf(OPAQUE, first=head) if isinstance(head, (Expr, Obj)) else OPAQUE
            return OPAQUE if out is None else tuple(out)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, state)
        if isinstance(node, ast.IfExp):
            known = self.ev(node.test, state)
            if known is not True and known is not False:
                known = self.distinct_sizes_test(node.test, state)
            if known is True or known is False:  # ``t if isinstance(t, tuple) else (t, t)`` with ``t`` a size
                return self.ev(node.body if known else node.orelse, state)
            filled = self.filled_if_none(node, state)
            if filled is not None:
                return filled
            return join(self.ev(node.body, state), self.ev(node.orelse, state))
        if isinstance(node, ast.Compare):
            vals = [self.ev(node.left, state)] + [self.ev(c, state) for c in node.comparators]
            if isinstance(vals[0], Shape) and len(vals) == 2 and isinstance(node.ops[0], (ast.Eq, ast.NotEq, ast.Lt,
                                                                                             ast.LtE, ast.Gt, ast.GtE)):
                name = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
                        ast.Gt: "__gt__", ast.GtE: "__ge__"}[type(node.ops[0])]
                return self.apply_shape_rule(f"torch.Tensor.{name}", (vals[0], vals[1]), {}, node, known=True)
            if len(vals) == 2 and isinstance(node.comparators[0], ast.Constant) \
                    and node.comparators[0].value is None and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
                if vals[0] is None:
                    return isinstance(node.ops[0], ast.Is)  # ``mask is None`` where ``mask`` is known to be None
                if self.never_none(node.left, state):
                    # ``out_channels = in_channels if out_channels is None else out_channels`` with ``out_channels:
                    # int`` and no default: a caller gives an int
                    return isinstance(node.ops[0], ast.IsNot)
                if self.depth > 0 and isinstance(vals[0], (Shape, Expr, ModuleVal)) \
                        and not (isinstance(vals[0], Shape) and vals[0].get_meta("maybe_none")):
                    # under a call's shapes: the call passed a tensor (or a size, a module), not None
                    return isinstance(node.ops[0], ast.IsNot)
                if self.quiet_undecided and isinstance(vals[0], ModuleVal):
                    # a module built with a flag given: the layer that flag built (an optional one is a choice)
                    return isinstance(node.ops[0], ast.IsNot)
            return _decided(node, vals)
        if isinstance(node, ast.BoolOp):
            return self.bool_op(node, state)
        if isinstance(node, ast.Dict):
            d = self.dict_value(node, state)
            return OPAQUE if d is None else d
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.comprehension(node, state)
        if isinstance(node, ast.NamedExpr):
            v = self.ev(node.value, state)
            self.assign(node.target, v, state, node)
            return v
        if isinstance(node, ast.Starred):
            return self.ev(node.value, state)
        if isinstance(node, ast.Lambda):
            return FuncRef("<lambda>", node, self.mod, closure=dict(state))
        return OPAQUE

    def bool_op(self, node, state):
        """``qk_scale or head_dim ** -0.5``: a number when every operand that is not None is a number or an
        unknown object (a tensor in ``or`` must have one element, which broadcasts like a number)."""
        values = [self.ev(node.values[0], state)]
        scope = state
        for before, v in zip(node.values, node.values[1:]):
            # a later operand runs only where the earlier ones gave False (``or``) or True (``and``):
            # ``x.size() != prev.size() or torch.any(x != prev)`` compares tensors of one shape
            if same_shape_test(before) is not None or rank_test(before) is not None:
                scope = self.narrowed_branch(before, dict(scope), isinstance(node.op, ast.And))
            values.append(self.ev(v, scope))
        if all(type(v) is bool for v in values):  # ``i == 1 or i == ndim - 1`` of known numbers
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node.op, ast.And) and any(v is False for v in values):
            return False  # ``x.ndim == 2 and flag`` on a tensor of three axes: false whatever the flag
        if isinstance(node.op, ast.Or):
            rest = [v for v in values if v is not None]
            if not rest:
                return None  # ``a or b`` where both are None
            if len(rest) == 1:
                return rest[0]  # ``None or dim``
            sizes = all(isinstance(v, (Expr, Obj)) for v in rest) and any(isinstance(v, Expr) for v in rest)
            if sizes and all(v == rest[0] for v in rest):
                return rest[0]
            if sizes and isinstance(rest[0], Expr) and values[0] is rest[0] and self.given_size(node.values[0], rest[0]):
                # ``hidden_features or in_features`` in a module built with ``hidden_features=dim * 4``: the
                # caller gave the size, and a size is never 0, so it is the one used
                return rest[0]
            if sizes and isinstance(rest[0], Obj):
                # ``out_features or in_features``: a size, one of the two; not a name distinct from the other
                return code_size(rest[0].name)
            if sizes and isinstance(rest[0], Expr) and values[0] is rest[0] and isinstance(node.values[0], ast.Name) \
                    and self.given_args.get(node.values[0].id) is rest[0]:
                return rest[0]  # ``out_features or in_features`` where the call gave ``out_features``: that size
            if sizes and isinstance(rest[0], Expr) and values[0] is rest[0] and self.optional_parameter(node.values[0]):
                # ``embed_dim or in_features`` with ``embed_dim: int = None``: one size, the one given or the
                # other; named after the expression, so that it is neither ``embed_dim`` (a size the caller
                # names, distinct from others) nor ``in_features``
                return sym(f"({ast.unparse(node)})", "code")
            if any(is_number(v) for v in rest) and all(is_number(v) or isinstance(v, Obj) for v in rest):
                return SCALAR
            if isinstance(rest[0], Obj) and rest[0].name in NORM_FACTORIES \
                    and not any(isinstance(v, (Shape, Expr)) for v in rest):
                return rest[0]  # ``norm_layer or nn.LayerNorm``: a normalization layer's class either way
            if len(rest) == 2 and isinstance(rest[0], Obj) and values[0] is rest[0] \
                    and isinstance(node.values[0], ast.Name) and rest[0].name == node.values[0].id \
                    and self.optional_parameter(node.values[0]):
                filled = self.fill_optional(rest[0].name, rest[1])
                if filled is not None:
                    return filled
            if rest and all(isinstance(v, Obj) for v in rest):
                # ``embed_dim or in_features`` (two unannotated parameters): the first when it is set; used
                # as a size, it is one size throughout (``embed_dim * 2`` is never ``embed_dim``), distinct
                # from no other name unless the first is a size the caller must give
                return rest[0]
        return OPAQUE

    def distinct_sizes_test(self, test, state):
        """In a constructor, a test of sizes the code names differently (``in_planes != planes``, ``stride != 1
        or in_ch != out_ch``, ``dim == dim_out``): True or False as those sizes are distinct axes, else OPAQUE.
        The layers a constructor builds for sizes that differ are the ones built (``self.shortcut``, ``res_conv
        = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()``), as the other methods take
        these sizes for distinct axes."""
        if getattr(self.node, "name", None) != "__init__":
            return OPAQUE
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            v = self.distinct_sizes_test(test.operand, state)
            return not v if isinstance(v, bool) else OPAQUE
        if isinstance(test, ast.BoolOp):
            values = [self.distinct_sizes_test(v, state) for v in test.values]
            stop = isinstance(test.op, ast.Or)  # ``or``: one true part decides; ``and``: one false part
            if any(v is stop for v in values):
                return stop
            return (not stop) if all(v is (not stop) for v in values) else OPAQUE
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
            return OPAQUE
        if not all(isinstance(n, SIZE_TEXT) for side in (test.left, test.comparators[0]) for n in ast.walk(side)):
            return OPAQUE  # sizes written with names and arithmetic only: evaluated again, nothing is called twice
        a, b = (self.ev(test.left, state), self.ev(test.comparators[0], state))
        if not all(isinstance(v, (Expr, Obj)) for v in (a, b)):
            return OPAQUE
        a, b = self.as_size_sym(a), self.as_size_sym(b)
        if not (isinstance(a, Expr) and isinstance(b, Expr)) or a.value is not None or b.value is not None:
            return OPAQUE  # a size against a literal (``stride != 1``) may go either way
        if compare(a, b, self.env) != NE:
            return OPAQUE
        return isinstance(test.ops[0], ast.NotEq)

    def comprehension(self, node, state):
        if len(node.generators) != 1:
            return OPAQUE
        gen = node.generators[0]
        # ``enumerate(x.shape)``: the sequence it numbers, evaluated once
        enum = isinstance(gen.iter, ast.Call) and isinstance(gen.iter.func, ast.Name) \
            and gen.iter.func.id == "enumerate" and "enumerate" not in state and len(gen.iter.args) == 1 \
            and not gen.iter.keywords and not isinstance(gen.iter.args[0], ast.Starred)
        src = gen.iter.args[0] if enum else gen.iter
        seq = self.ev(src, state)
        items = self.unrolled_items(seq, src, enum, state) \
            if isinstance(node, ast.ListComp) and not gen.ifs and not gen.is_async else None
        if items is not None:
            # ``[d if i == 1 else 1 for i, d in enumerate(x.shape)]`` over a sequence of known length: one element
            # each, evaluated with its own values
            out = []
            for item in items:
                inner = dict(state)
                self.assign(gen.target, item, inner, node)
                out.append(self.ev(node.elt, inner))
            return tuple(out)
        it = self.builtin("enumerate", [seq], {}, gen.iter, state) if enum else seq
        inner = dict(state)
        length = None
        if isinstance(gen.iter, ast.Call) and isinstance(gen.iter.func, ast.Name) and gen.iter.func.id == "range" \
                and len(gen.iter.args) == 1:
            length = self.ev(gen.iter.args[0], state)
            self.assign(gen.target, SCALAR, inner, node)  # a whole number each time
        else:
            self.assign(gen.target, self.iter_elem(it), inner, node)
        elem = self.ev(node.elt, inner)
        return ListOf(elem, length)

    def unrolled_items(self, v, src, enum: bool, state) -> tuple | None:
        """The elements a comprehension's loop takes from ``v`` (the value of ``src``; numbered where ``enum``),
        when it is a short sequence the analysis knows element by element (a tuple, the sizes of a tensor of
        known rank); None otherwise."""
        if isinstance(v, SizeOf) and v.shape.rank is not None and v.shape.rank <= 8:
            items = []
            for i in range(v.shape.rank):
                d = self.read_axis(v.var, v.shape, i, state, src)
                items.append(d if isinstance(d, Expr) else OPAQUE)
            v = tuple(items)
        if not isinstance(v, tuple) or not 0 < len(v) <= 8:
            return None
        return tuple((const(i), x) for i, x in enumerate(v)) if enum else v

    def global_value(self, name: str):
        info = self.mod
        if name in info.functions:
            return FuncRef(name, info.functions[name], info)
        if name in info.classes:
            return ClassRef(name, info.classes[name])
        q = info.imports.names.get(name)
        if q is not None:
            return self.imported(q)
        if name in getattr(info, "main_sizes", ()):
            # ``n_class = len(word_dict)``, ``n_hidden = 128`` in the script's main block: sizes the code names,
            # distinct unless set to one literal value
            size = self.code_sym(name)
            mine = size.as_sym().name
            others = {self.code_sym(o, named=False).as_sym().name for o in info.main_size_alike(name)}
            self.env.alike = self.env.alike | {frozenset((mine, o)) for o in others if o != mine}
            return size
        if name in info.constants:
            return info.constants[name]
        if name in getattr(info, "class_aliases", ()):  # ``GELU = nn.GELU if ... else GELU_``
            return self.ev(info.class_aliases[name], {})
        if name in getattr(info, "option_dicts", ()):  # ``**_BN_PARAMS``: literal options by name
            return self.ev(info.option_dicts[name], {})
        if name in info.class_tables:  # ``_NORM_MAP``: a table of classes keyed by strings
            return DictOf(tuple((k, self.ev(v, {})) for k, v in info.class_tables[name]))
        if name in BUILTIN_NAMES:
            return QualRef(f"builtins.{name}")
        if info.star_modules:
            target = info.resolve_star(name)
            if target is not None:
                return target
            for m in info.star_modules:
                layer = unread_layer(f"{m}.{name}")
                if layer is not None:
                    return layer  # ``from layers_ours import *`` then ``Linear(d, h)``: a layer named after one
            if any(own_constant(f"{m}.{name}") for m in info.star_modules) and not self.called_name(name):
                return Obj(name)  # ``from params import *`` then ``nn.Linear(EMBED_SIZE, ...)``
        if name in getattr(info, "arg_namespaces", ()):  # ``opt = parser.parse_args()``: ``opt.latent_dim``
            return Obj(name)
        return OPAQUE

    def imported(self, q: str):
        """What the imported name ``q`` is: a function or class of analysed code, else the library object it names;
        a class the engine cannot read named after a library layer is that layer (:func:`unread_layer`); a
        constant of the code's own modules (``from params import EMBED_SIZE``) is an object named after it,
        a size where it is used as one."""
        found = self.mod.resolve_import(q) or unread_layer(q)
        if found is not None:
            return found
        return Obj(q.rpartition(".")[2]) if own_constant(q) and not self.called_name(q.rpartition(".")[2]) \
            else QualRef(q)

    def called_name(self, name: str) -> bool:
        """The file calls ``name`` (``GELU()``): a class or a function, not a constant."""
        called = per_node(self.mod.memo.called, self.mod.tree, lambda: frozenset(
            n.func.id for n in ast.walk(self.mod.tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)))
        return name in called

    def attribute(self, node, state):
        q = self.mod.imports.qualify(node)
        if q is not None and not self.shadowed(node, state):
            if q in SCALAR_CONSTANTS:
                return SCALAR
            return self.imported(q)
        base = self.ev(node.value, state)
        attr = node.attr
        if isinstance(base, Expr) and _unset_self_attribute(node.value, state):
            # ``self.cfg.d_model`` where a parent class (not seen) set ``self.cfg``: what has attributes is an
            # object (a config), not the size it was taken for
            base = Obj(f"self.{node.value.attr}")
        if isinstance(base, Shape):
            if attr == "shape":
                return self.size_tuple(base, node.value)
            if attr == "ndim":
                return const(base.rank) if base.rank is not None else OPAQUE
            if attr in ("T", "mT", "mH", "H"):
                return self.apply_shape_rule(f"torch.Tensor.{attr}", (base,), {}, node, known=True)
            if attr in ("data", "real", "imag"):
                return base
            if attr in ("dtype", "device", "is_cuda", "requires_grad", "grad_fn"):
                return OPAQUE
            return OPAQUE
        if isinstance(base, SelfVal):
            if attr in base.attrs and base.attrs[attr] is OPAQUE:
                # what a method other than ``__init__`` cached on the module (analysed before this one)
                cached = self.set_elsewhere(base, attr)
                if cached is not None:
                    return cached
            if attr in base.attrs:
                v = base.attrs[attr]
                # ``module_state``: a tensor of the module, also once cast or held by a local (``_shape_rules``)
                return v.with_label(f"`self.{attr}`").with_meta(module_state=True) if isinstance(v, Shape) else v
            meth = base.cls.find_method(attr)
            if meth is not None:
                return FuncRef(attr, meth[0], meth[1], bound_self=base)
            if base.cls is NAMESPACE:  # ``nn.Module()`` as a namespace: only what was assigned to it
                return OPAQUE
            if BASE_LAYER in base.attrs:  # a library layer's subclass: the layer's sizes and options (``_subclass``)
                return self.module_attr(base.attrs[BASE_LAYER], attr)
            k = base.cls.class_int(attr) if hasattr(base.cls, "class_int") else None
            if k is not None:  # ``expansion = 4`` in the class body: ``planes * self.expansion``
                return const(k)
            cached = self.set_elsewhere(base, attr)
            if cached is not None:
                return cached
            # an attribute __init__ did not set (a parent class's): a size, but not one known to be
            # distinct from the others (a parent may set two names to one value)
            return self.code_sym(attr, named=False) if self.looks_like_size(attr) else OPAQUE
        if isinstance(base, ClassRef) and base.cls is not None:
            meth = base.cls.find_method(attr)
            if meth is not None and any(isinstance(d, ast.Name) and d.id == "staticmethod"
                                        for d in meth[0].decorator_list):
                # ``Attention.weights(q, k)``: a static method called through its class is that function
                return FuncRef(attr, meth[0], meth[1])
            k = base.cls.class_int(attr) if meth is None and hasattr(base.cls, "class_int") else None
            if k is not None:  # ``planes * block.expansion`` with ``block`` the class ``BasicBlock``
                return const(k)
        if isinstance(base, Obj):
            if attr in ("shape",):
                return SizeOf(base.name.removesuffix(".data"), ANY_SHAPE)
            if attr == "data":
                # ``output.data``: a tensor's data outside autograd, whose axes are the tensor's own
                # (``nB = output.data.size(0)`` reads an axis of ``output``); never a size named "data"
                return Obj(f"{base.name}.data")
            if not self.looks_like_size(attr):
                return Obj(f"{base.name}.{attr}")
            return self.code_sym(attr, read=True, option=base.name in getattr(self.mod, "arg_namespaces", ()))
        if isinstance(base, ModuleVal):
            return self.module_attr(base, attr)
        if isinstance(base, QualRef):
            return QualRef(f"{base.qualname}.{attr}")
        if attr == "shape" and base is OPAQUE:
            shape = self.sized_unknown(node.value, state)
            if isinstance(shape, Shape):
                return SizeOf(node.value.id, shape)
        return OPAQUE

    @staticmethod
    def sized_unknown(node, state, maybe_array: bool = True):
        """``x.shape`` of a variable holding what a call the engine cannot follow gave (``x =
        self.patch_embed(x)``): ``x`` is a tensor (or, ``maybe_array``, an array) of unknown shape, whose axes
        its uses name as those of an unannotated input are. Else OPAQUE."""
        if not (isinstance(node, ast.Name) and state.get(node.id) is OPAQUE):
            return OPAQUE
        shape = state[node.id] = ANY_SHAPE.with_meta(maybe_array=True) if maybe_array else ANY_SHAPE
        return shape

    def never_none(self, node, state) -> bool:
        """``node`` names a parameter annotated ``int`` without a default, still holding what the call gave."""
        if not isinstance(node, ast.Name) or not isinstance(state.get(node.id), (Expr, Obj)):
            return False
        a = self.node.args
        defaulted = {p.arg for p, d in param_defaults(self.node) if d is not None}
        return any(p.arg == node.id and p.arg not in defaulted and isinstance(p.annotation, ast.Name)
                   and p.annotation.id == "int" for p in a.posonlyargs + a.args + a.kwonlyargs)

    def optional_parameter(self, node) -> bool:
        """``node`` names a parameter of the function analysed whose default is None, and that the call
        analysed did not give (``Mlp(2, out_features=num_heads)``: ``out_features`` is ``num_heads``)."""
        if not isinstance(node, ast.Name) or self.given_args.get(node.id) is not None:
            return False
        d = next((d for p, d in param_defaults(self.node) if p.arg == node.id), None)
        return isinstance(d, ast.Constant) and d.value is None

    def given_size(self, node, value: Expr) -> bool:
        """``node`` names a parameter whose value at this call is the size ``value`` the caller passed (or
        an int default), not 0: analysed generically, a parameter is given nothing."""
        if not isinstance(node, ast.Name) or node.id not in self.given_args:
            return False
        given = self.given_args[node.id]
        return isinstance(given, Expr) and given == value and given.value != 0

    def set_elsewhere(self, sv, attr: str):
        """The tensor another method of the module caches as ``self.<attr>`` from the module's own tensors
        (LeViT's ``train`` setting ``self.ab = self.attention_biases[:, self.attention_bias_idxs]``, which
        ``forward`` reads when not training): the one such assignment, evaluated on the module, when it reads
        nothing but the module and the file's imports and gives a tensor of known rank; else None."""
        cache = sv.elsewhere
        if attr in cache:
            return cache[attr]
        cache[attr] = None  # while it is evaluated (an assignment that reads itself)
        methods = getattr(sv.cls, "methods", None) or {}
        found = []
        for mname, fn in methods.items():
            if mname == "__init__":
                continue
            local = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs} - {"self"}
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Attribute) and node.targets[0].attr == attr \
                        and isinstance(node.targets[0].value, ast.Name) and node.targets[0].value.id == "self":
                    found.append((node.value, local))
        if len(found) != 1:
            return None
        value, local = found[0]
        names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        if names & local or not names - {"self"} <= set(self.mod.imports.names):
            return None
        with self.silenced():
            v = self.ev(value, {"self": sv})
        if isinstance(v, Shape) and v.rank is not None:
            cache[attr] = v
            return v
        return None

    @staticmethod
    def looks_like_size(attr: str) -> bool:
        """An attribute that may hold one size: not private, not a class, and not named for a whole shape or
        a list of sizes (``state.latent_shape``, ``cfg.dims``, ``self.sizes``)."""
        return not attr.startswith("_") and not attr[:1].isupper() \
            and not attr.lower().endswith(("shape", "shapes", "sizes", "dims"))

    def module_attr(self, m: ModuleVal, attr: str):
        init = m.init_dict
        if m.qualname.endswith("ModuleDict") or m.qualname.endswith("Sequential") and init:
            v = init.get(attr)
            return OPAQUE if v is None else v
        if m.rule is not None:
            if attr == "weight" and m.qualname.endswith("Linear") and "in_features" in init:
                return _weight(m, "out_features", "in_features")
            if attr == "weight" and m.qualname.endswith("Embedding") and "num_embeddings" in init:
                return _weight(m, "num_embeddings", "embedding_dim")
            if attr in init:
                v = init[attr]
                return v if isinstance(v, (Expr, tuple, str, bool)) else OPAQUE
            return OPAQUE
        if m.cls is not None:
            sv = self.mod.instance_of(m, self.depth)
            if sv is not None and attr in sv.attrs:
                return sv.attrs[attr]
        return OPAQUE

    def shadowed(self, node, state) -> bool:
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and node.id in state

    def size_tuple(self, shape: Shape, of_node):
        if shape.rank is not None and not any(isinstance(d, Unknown) for d in shape.dims):
            return tuple(shape.dims)
        var = tensor_var(of_node)
        return SizeOf(var, shape)

    def subscript(self, node, state):
        base = self.ev(node.value, state)
        if not isinstance(base, (Shape, tuple, SizeOf, ListOf, ModuleVal)):
            act = table_activation(node, self.mod.imports.qualify)
            if act is not None:  # ``ACT2FN[config.hidden_act]``
                return act
        if isinstance(base, (tuple, SizeOf)):
            idx = self.ev(node.slice, state)
            seq = base if isinstance(base, tuple) else None
            if isinstance(idx, Expr) and idx.value is not None:
                i = idx.value
                if seq is not None:
                    return seq[i] if -len(seq) <= i < len(seq) else OPAQUE
                d = self.read_axis(base.var, base.shape, i, state, node)
                return d if isinstance(d, Expr) else OPAQUE
            if isinstance(node.slice, ast.Slice) and seq is None:
                return self.slice_size_of(base, node.slice, state)
            if isinstance(node.slice, ast.Slice) and seq is not None:
                lo, hi, step = (self.ev(x, state) if x is not None else None
                                for x in (node.slice.lower, node.slice.upper, node.slice.step))
                parts = []
                for x in (lo, hi, step):
                    if x is None:
                        parts.append(None)
                    elif isinstance(x, Expr) and x.value is not None:
                        parts.append(x.value)
                    else:
                        return OPAQUE
                return seq[slice(*parts)]
            return OPAQUE
        if isinstance(base, Obj) and isinstance(node.value, ast.Name) and base.name == node.value.id \
                and state.get(node.value.id) is base and _array_index(node.slice):
            # ``x[:, :1]``: only an array takes a tuple of slices, and it slices a tensor's axes alike; it
            # may as well be a NumPy array, which is marked so that what only a tensor refuses (a
            # negative step) is not reported of it
            base = state[node.value.id] = ANY_SHAPE.with_meta(maybe_array=True)
        if isinstance(base, Shape) and base.rank is None and base.variadic_index == len(base.dims) - 1 \
                and isinstance(node.value, ast.Name) and state.get(node.value.id) == base and _array_index(node.slice):
            # ``x[:, 1:]`` of a tensor of unknown rank: it has these leading axes, named as ``x.shape[i]`` names them
            for i in range(len(base.dims) - 1, sum(isinstance(e, ast.Slice) for e in node.slice.elts)):
                if not isinstance(self.read_axis(node.value.id, state[node.value.id], i, state, node), Expr):
                    break
            base = state[node.value.id]
        if isinstance(base, Shape):
            if base.get_meta("maybe_array") and _stepped(node.slice, state, self):
                # ``img[::-1, :, :]`` of what may be a NumPy array: reversing is fine there
                return ANY_SHAPE.with_meta(maybe_array=True)
            idx = self.index_value(node.slice, state)
            if idx is OPAQUE:
                return ANY_SHAPE if base.rank is None else OPAQUE
            out = self.apply_shape_rule("torch.Tensor.__getitem__", (base, idx), {}, node, known=True)
            if base.get_meta("maybe_array") and isinstance(out, Shape):
                out = out.with_meta(maybe_array=True)  # a part of what may be an array may be one too
            return out
        if isinstance(base, ListOf):
            if isinstance(node.slice, ast.Slice):
                s = node.slice
                keeps_first = s.lower is None or isinstance(s.lower, ast.Constant) and s.lower.value == 0
                return ListOf(base.elem, first=base.first if keeps_first and s.step is None else None)
            i = node.slice.value if isinstance(node.slice, ast.Constant) and type(node.slice.value) is int else None
            if i is not None and base.items is not None and -len(base.items) <= i < len(base.items):
                return base.items[i]  # ``self.convs[1]`` of ``nn.ModuleList([a, b])``
            later = self.later_index
            if later is not None and isinstance(node.slice, ast.Name) and node.slice.id == later[0] \
                    and base.rest is not None and base.rest == later[1]:
                return base.rest  # ``self.layers[i]`` in a loop's later iterations (``kept_by_later``)
            if base.first is not None and (i == 0 or isinstance(node.slice, ast.Name)
                                           and self.ev(node.slice, state) == const(0)):
                return base.first  # ``self.layers[i]`` in the first iteration of ``enumerate(self.layers)``
            return base.elem
        if isinstance(base, (DictOf, ModuleVal)) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str):
            v = _item(base, node.slice.value)
            return OPAQUE if v is None else v
        if isinstance(base, DictOf) and base.items and all(isinstance(v, _CALLABLES) for _k, v in base.items):
            # ``_NORM_MAP[name]`` of a table of classes: the one its key names, or with the key unknown, one of
            # them (a call of it gives what every one of them gives)
            key = self.ev(node.slice, state)
            if type(key) is str:
                v = base.get(key)
                return OPAQUE if v is None else v
            v = base.items[0][1]
            for _k, w in base.items[1:]:
                v = join(v, w)
            return v
        if isinstance(base, ModuleVal) and base.children:
            idx = self.ev(node.slice, state)
            if isinstance(idx, Expr) and idx.value is not None and -len(base.children) <= idx.value < len(base.children) \
                    and not (base.unknown_after and idx.value < 0):
                return base.children[idx.value]
        if isinstance(base, Obj) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) \
                and _SIZE_KEY.fullmatch(node.slice.value):
            # ``ddconfig["z_channels"]``: a config read as a dict, whose key names a size as ``cfg.z_channels``
            # would (the name bridge), when the key is named as sizes are
            return self.code_sym(node.slice.value, read=True)
        if isinstance(node.value, ast.Attribute) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str) and _SIZE_KEY.fullmatch(node.slice.value):
            # ``config.transformer["num_heads"]``: a nested config read as a dict, the key named as
            # sizes are (the attribute itself evaluates to a size, or to nothing)
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and isinstance(state.get(root.id), Obj):
                return self.code_sym(node.slice.value, read=True)
        return OPAQUE

    def slice_size_of(self, base: SizeOf, sl: ast.Slice, state):
        """``x.size()[:-1]`` of a tensor of unknown rank: drop known trailing axes."""
        if sl.lower is not None or sl.step is not None or sl.upper is None:
            return OPAQUE
        k = self.ev(sl.upper, state)
        kv = k.value if isinstance(k, Expr) else None
        dims = base.shape.dims
        v = base.shape.variadic_index
        if kv is None or kv >= 0 or v is None or -kv > len(dims) - v - 1:
            return OPAQUE
        return SizeOf(None, Shape(dims[:kv]))

    def index_value(self, sl, state):
        """The index representation of the ``__getitem__`` rule: ints, slices, None, Ellipsis, Shape, tuples."""
        if isinstance(sl, ast.Tuple):
            out = []
            for e in sl.elts:
                v = self.index_value(e, state)
                if v is OPAQUE:
                    return OPAQUE
                out.append(v)
            return tuple(out)
        if isinstance(sl, ast.Slice):
            parts = []
            for x in (sl.lower, sl.upper, sl.step):
                if x is None:
                    parts.append(None)
                    continue
                v = self.ev(x, state)
                parts.append(v if isinstance(v, Expr) else OPAQUE)
            return slice(*parts)
        if isinstance(sl, ast.Constant) and sl.value is None:
            return None
        if isinstance(sl, ast.Constant) and sl.value is Ellipsis:
            return Ellipsis
        v = self.ev(sl, state)
        if isinstance(sl, ast.Attribute) and isinstance(v, Expr) and v.value is None:
            return OPAQUE  # ``y[:, data.flags]``: an unknown attribute may be a mask or an index tensor
        if isinstance(v, (Expr, Shape)):
            return v
        if v is SCALAR and isinstance(sl, ast.Name):
            # ``w[:, i]`` with ``i`` a whole number of unknown value (``for i in range(k)``): one entry, the axis
            # dropped; a symbol of its own, never a size of the code
            return sym(f"{sl.id}@{sl.lineno}:{sl.col_offset}", "index")
        return OPAQUE

    # -- operators ----------------------------------------------------------------------------------
    def as_size_sym(self, v):
        """An unknown object used as a size (``C // n_head`` with ``n_head`` unannotated) is a symbol from code."""
        if isinstance(v, Obj):
            return self.code_sym(v.name.rsplit(".", 1)[-1], named="." in v.name or v.name in self.size_params
                                 or v.name in self.filled, read="." in v.name,
                                 option=v.name.split(".", 1)[0] in getattr(self.mod, "arg_namespaces", ()))
        return v

    def filled_if_none(self, node: ast.IfExp, state):
        """``in_channels if out_channels is None else out_channels`` (or ``out_channels if out_channels is
        not None else in_channels``) with ``out_channels=None`` a parameter: the fill of
        :meth:`fill_optional`, as ``out_channels or in_channels`` is. None for any other conditional."""
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.IsNot))
                and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
                and isinstance(test.left, ast.Name)):
            return None
        name = test.left.id
        kept, fill = (node.orelse, node.body) if isinstance(test.ops[0], ast.Is) else (node.body, node.orelse)
        if not (isinstance(kept, ast.Name) and kept.id == name) or not self.optional_parameter(test.left) \
                or state.get(name) != Obj(name):
            return None
        return self.fill_optional(name, self.ev(fill, state))

    def fill_optional(self, name: str, other):
        """``if not mid_channels: mid_channels = out_channels`` (``mid_channels = mid_channels or
        out_channels``) with ``mid_channels=None`` a parameter: ``Obj(name)`` again, now a size the code names
        (distinct from the others) that may be ``other``'s size (``Env.alike``), and so may any size filled
        from the same one. None when ``other`` is no size the code names."""
        if isinstance(other, Obj) and "." not in other.name and (other.name in self.size_params
                                                                 or other.name in self.filled):
            fill = other.name
        elif isinstance(other, Expr) and other.as_sym() is not None and other.as_sym().name in self.env.fields:
            fill = other.as_sym().name
        elif _default_layer(other):
            # ``activation = default(activation, nn.GELU)`` (``activation or nn.GELU``) with ``activation=None`` a
            # parameter: the module built by default applies that elementwise activation, as it does for
            # ``act_layer=nn.GELU`` (an activation a caller gives is its own, unchecked); so for an instance
            # (``default(activation, nn.Identity())``) and for a module class of the code (``default(activation,
            # LocalGELU)``), whose ``forward`` the engine follows, or a choice of them (``GELU = nn.GELU if
            # hasattr(nn, "GELU") else GELU_``)
            return other
        elif other is OPAQUE:
            # ``if not rd_channels: rd_channels = make_divisible(channels * rd_ratio)``: the size given, or one
            # computed by a call the engine cannot follow: a size the code names, distinct from the others as a
            # parameter's size is (a fill the engine can read, ``channels // 16``, is joined by ``join``)
            self.filled = {**self.filled, name: None}
            return Obj(name)
        else:
            return None
        self.filled = {**self.filled, name: fill}
        group, grew = {name, fill}, True
        while grew:  # what is filled from one size (or from what that size was filled from) may be one size
            more = {k for k, f in self.filled.items() if k in group or f in group} | \
                {f for k, f in self.filled.items() if (k in group or f in group) and f is not None}
            grew = not more <= group
            group |= more
        names = {self.code_sym(n, named=False).as_sym().name for n in group}
        self.env.alike = self.env.alike | {frozenset((x, y)) for x in names for y in names if x != y}
        return Obj(name)

    def binop(self, op, left, right, node):
        if isinstance(left, Expr) and isinstance(right, Obj) or isinstance(left, Obj) and isinstance(right, Expr):
            if isinstance(op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.LShift, ast.RShift)):
                left, right = self.as_size_sym(left), self.as_size_sym(right)
        elif isinstance(left, Obj) and isinstance(right, Obj) and isinstance(op, (ast.FloorDiv, ast.Mult)) \
                and getattr(self.node, "name", None) == "__init__":
            # ``self.head_dim = dim // num_heads`` or ``inner_dim = heads * dim_head`` of two unannotated arguments
            # of a constructor: a size (a constructor divides and multiplies sizes; elsewhere they may be tensors,
            # and a sum may join strings or lists)
            left, right = self.as_size_sym(left), self.as_size_sym(right)
        if isinstance(op, ast.Pow) and isinstance(left, Obj) and isinstance(right, float) \
                and getattr(self.node, "name", None) == "__init__":
            # ``self.scale = key_dim ** -0.5`` of an unannotated constructor argument: a number, not a tensor that
            # would broadcast the scores it scales to an unknown rank
            return SCALAR
        if isinstance(op, ast.Mult) and (isinstance(left, Expr) and _whole(right) or _whole(left) and isinstance(right, Expr)):
            # ``int(dim * 4.0)``, ``int(dim * mlp_ratio)`` with ``mlp_ratio=4.``: a whole multiple of a size
            left, right = (left, const(int(right))) if isinstance(left, Expr) else (const(int(left)), right)
        elif isinstance(op, ast.Mult) and (isinstance(left, Expr) and _part(right) or _part(left) and isinstance(right, Expr)):
            # ``int(2 * c2 * e)`` with ``e=0.5``: a size halved (``int`` of a non-negative number floors it)
            size, f = (left, right) if isinstance(left, Expr) else (right, left)
            return size // const(round(1 / f))
        if isinstance(left, Expr) and isinstance(right, Expr):
            try:
                if isinstance(op, ast.Add):
                    return left + right
                if isinstance(op, ast.Sub):
                    return left - right
                if isinstance(op, ast.Mult):
                    return left * right
                if isinstance(op, (ast.FloorDiv, ast.Div)):  # int(a / b) is a // b for sizes
                    if right.value is not None and right.value <= 0:
                        return OPAQUE
                    return left // right
                if isinstance(op, (ast.LShift, ast.RShift)) and right.value is not None and 0 <= right.value <= 16:
                    # ``d_model << 1``: a size doubled (``>> 1`` halves it, flooring)
                    f = const(2 ** right.value)
                    return left * f if isinstance(op, ast.LShift) else left // f
                if isinstance(op, ast.Pow) and right.value is not None and 0 <= right.value <= 4:
                    out = const(1)
                    for _ in range(right.value):
                        out = out * left
                    return out
            except (ZeroDivisionError, TypeError):
                return OPAQUE
            return OPAQUE
        if isinstance(left, tuple) and isinstance(right, tuple) and isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Add) and isinstance(left, tuple) and left and isinstance(right, ListOf) \
                and right.length != EMPTY:
            # ``[nn.Linear(d_in, w)] + [nn.Linear(w, w) for _ in range(n)]``: the written-out part comes first, and
            # what follows it is what each later element fits (``kept_by_later``)
            rest = (list_join(left[1:], right) if len(left) > 1 else right).elem
            return ListOf(list_join(left, right).elem, first=left[0],
                          rest=rest if isinstance(rest, (ModuleVal, Choice)) else None)
        if isinstance(op, ast.Add) and isinstance(left, SizeOf) and isinstance(right, tuple):
            return SizeOf(None, Shape(left.shape.dims + tuple(size_item(v) for v in right)))
        if isinstance(op, ast.Add) and isinstance(left, tuple) and isinstance(right, SizeOf):
            return SizeOf(None, Shape(tuple(size_item(v) for v in left) + right.shape.dims))
        if is_number(left) and is_number(right):
            a, b = number(left), number(right)
            if a is not None and b is not None:  # 3 + 1.0: a known number, kept
                try:
                    return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                            ast.Div: lambda: a / b, ast.FloorDiv: lambda: a // b}.get(type(op), lambda: SCALAR)()
                except (ZeroDivisionError, OverflowError, TypeError):
                    return SCALAR
            return SCALAR
        if isinstance(left, Shape) or isinstance(right, Shape):
            name = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
                    ast.Mod: "mod", ast.Pow: "pow", ast.MatMult: "matmul", ast.BitAnd: "and", ast.BitOr: "or",
                    ast.BitXor: "xor"}.get(type(op))
            if name is None:
                return OPAQUE
            operands = (node.left, node.right) if isinstance(node, ast.BinOp) else \
                (node.target, node.value) if isinstance(node, ast.AugAssign) else ()
            rebound = any(isinstance(o, ast.Name) and o.id in self.flag_rebound for o in operands)
            if (self.flag_branches or rebound) and name in ("add", "sub") and self.env.names_distinct:
                # ``x + self.body(x)`` in a branch a constructor's flag opens (``if self.residual:``): the callers
                # that set the flag may give only sizes that fit, so no two are distinct there for their names; so
                # for a name one path under such a flag rebinds (``identity``, kept where the flag is off)
                self.env.names_distinct = False
                try:
                    return self.binary_op(node, left, right, name)
                finally:
                    self.env.names_distinct = True
            return self.binary_op(node, left, right, name)
        return OPAQUE

    def binary_op(self, node, left, right, name: str):
        """``left <op> right`` of which one is a tensor: the broadcasting op's rule (``__add__``, ``__rmatmul__``)."""
        if isinstance(left, Shape):
            return self.apply_shape_rule(f"torch.Tensor.__{name}__", (left, self.operand(right)), {}, node, known=True)
        if (left is OPAQUE or isinstance(left, Obj)) and name == "matmul":
            return OPAQUE
        return self.apply_shape_rule(f"torch.Tensor.__r{name}__", (right, self.operand(left)), {}, node, known=True)

    @staticmethod
    def operand(v):
        if v is SCALAR:
            return 1.0
        if isinstance(v, (Shape, Expr, float, int)) and not isinstance(v, bool):
            return v
        if isinstance(v, bool):
            return v
        return ANY_SHAPE


# Library layers that third-party code wraps under the same name, the layer's sizes first: detectron2's
# `Conv2d(in_channels, out_channels, kernel_size, norm=..., activation=...)`, fairseq's and XLM's `Linear(in, out)`
# functions, a repository's own `Linear` with another initialisation, in a file read alone.
_ALIKE_LAYERS = frozenset({"Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                           "ConvTranspose3d", "Embedding"})
_SYNCED_NORM = re.compile(r"(?:Sync|Synchronized)?BatchNorm([123])d")
# frameworks whose classes of those names take other arguments (haiku's and sonnet's `Linear(output_size)`,
# peft's `Linear(base_layer, adapter_name)`), or are not PyTorch layers
_OTHER_FRAMEWORKS = frozenset({"jax", "flax", "haiku", "sonnet", "tensorflow", "keras", "tf_keras", "mlx", "paddle",
                               "trax", "objax", "equinox", "peft", "numpy", "shapecheck"})


_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")


def own_constant(q: str) -> bool:
    """``q`` names a constant (``EMBED_SIZE``, ``NUM_HEADS``) of a module that is neither the standard library's nor
    a framework's: the code's own configuration, which the engine does not read."""
    mod, _, name = q.rpartition(".")
    top = mod.split(".", 1)[0]
    return bool(mod) and _CONSTANT_NAME.fullmatch(name) is not None and any(c.isalpha() for c in name) \
        and top not in sys.stdlib_module_names and top not in _KNOWN_LIBRARIES and top not in _OTHER_FRAMEWORKS


# libraries whose constants are no sizes of the code (``torch.float32``, ``np.PI``)
_KNOWN_LIBRARIES = frozenset({"torch", "torchvision", "torchaudio", "numpy", "scipy", "einops", "transformers",
                              "timm", "PIL", "cv2", "sklearn", "pandas", "matplotlib", "tqdm", "typing_extensions",
                              "jaxtyping", "beartype", "shapecheck"})


def unread_layer(q: str):
    """The library layer that an imported class the engine cannot read stands for, when it is named after one
    (``detectron2.layers.Conv2d`` -> ``torch.nn.Conv2d``), else None. Of norm layers only batch norms are taken (also
    synchronised ones, ``SynchronizedBatchNorm2d``), which normalise axis 1 in every repository: a repository's own
    ``LayerNorm`` is as often channels-first (ConvNeXt's) as the library's."""
    mod, _, name = q.rpartition(".")
    top = mod.split(".", 1)[0]
    if not mod or top == "torch" or top in _OTHER_FRAMEWORKS:
        return None
    norm = _SYNCED_NORM.fullmatch(name)
    if norm is not None:
        # a batch norm synchronised across devices (``SynchronizedBatchNorm2d``): it normalises axis 1 as the
        # library's does, whatever the repository
        return QualRef(f"torch.nn.BatchNorm{norm.group(1)}d", alike=True)
    return QualRef(f"torch.nn.{name}", alike=True) if name in _ALIKE_LAYERS else None


def _array_index(index) -> bool:
    """A tuple of slices, ``None`` and ``...`` (at least one slice): the index of an array, not of a dict."""
    if not isinstance(index, ast.Tuple) or len(index.elts) < 2:
        return False
    ok = all(isinstance(e, ast.Slice) or isinstance(e, ast.Constant) and e.value in (None, Ellipsis)
             for e in index.elts)
    return ok and any(isinstance(e, ast.Slice) for e in index.elts)


def _stepped(index, state, analysis) -> bool:
    """An index with a slice whose step may not be positive (``x[::-1]``, ``x[:, ::s]`` of an unknown ``s``):
    a tensor refuses it where a NumPy array reverses. A positive step (``x[:, ::2]``) slices both alike."""
    elts = index.elts if isinstance(index, ast.Tuple) else [index]
    for e in elts:
        if isinstance(e, ast.Slice) and e.step is not None:
            st = analysis.ev(e.step, state)
            if not (isinstance(st, Expr) and st.value is not None and st.value > 0):
                return True
    return False


# what a table of layers may hold: classes, functions, library names
_CALLABLES = (QualRef, ClassRef, FuncRef)


def _item(container, key: str):
    """``d["key"]`` of a dict or an ``nn.ModuleDict`` known statically."""
    if isinstance(container, DictOf):
        return container.get(key)
    if container.qualname.endswith("ModuleDict"):
        return container.init_dict.get(key)
    return None


def _decided(node: ast.Compare, vals) -> bool | Opaque:
    """A comparison of ranks or sizes known exactly (``x.ndim == 2`` of a 3-axis tensor): True or False."""
    if len(vals) == 2 and all(type(v) is str for v in vals) and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
        # ``self.data_format == "channels_last"`` where the attribute holds a known string
        return (vals[0] == vals[1]) == isinstance(node.ops[0], ast.Eq)
    if len(vals) == 2 and type(vals[1]) is bool and type(vals[0]) is bool and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
        # ``act is True`` where the module was built with ``act`` left at its default, ``True``
        return (vals[0] is vals[1]) == isinstance(node.ops[0], ast.Is)
    if len(vals) != 2 or not all(isinstance(v, Expr) and v.value is not None for v in vals):
        return OPAQUE
    a, b = vals[0].value, vals[1].value
    op = node.ops[0]
    table = {ast.Eq: a == b, ast.NotEq: a != b, ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b}
    return table.get(type(op), OPAQUE)


# the nodes of a size written with names and arithmetic (``self.expansion * planes``)
SIZE_TEXT = (ast.Name, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.expr_context)


def _unset_self_attribute(node, state) -> bool:
    """``self.<name>`` where ``self`` is the module analysed and ``__init__`` did not set ``<name>``."""
    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
        return False
    sv = state.get(node.value.id)
    return isinstance(sv, SelfVal) and node.attr not in sv.attrs and sv.cls.find_method(node.attr) is None


def _default_layer(v) -> bool:
    """A layer a parameter left to None is filled with for the module built by default: an elementwise
    activation's class or instance, a module class of the code, or a choice of them."""
    if isinstance(v, Choice):
        return bool(v.options) and all(o is not None and _default_layer(o) for o in v.options)
    if isinstance(v, ModuleVal):
        return not v.children and activation_default(QualRef(v.qualname)) is not None
    return activation_default(v) is not None or isinstance(v, ClassRef) and v.is_module and v.cls is not None


def _part(v) -> bool:
    """A float that is one whole part of a unit (``0.5``, ``0.25``): multiplying a size by it divides it."""
    return isinstance(v, float) and 0 < v < 1 and (1 / v).is_integer()


def _whole(v) -> bool:
    """A float of whole positive value (``4.0``): multiplying a size by it gives a size."""
    return isinstance(v, float) and v.is_integer() and 0 < v < 2 ** 31


def _weight(m: ModuleVal, rows: str, cols: str) -> Shape:
    """A library layer's weight, whose two axes say they are the sizes chosen where the layer is built: a
    contradiction far away (the weight multiplied by hand, its product split and fed on) names that line."""
    init = m.init_dict
    dims = (size(init[rows]), size(init[cols]))
    if m.built_label is None:
        return Shape(dims)
    return Shape(dims, tuple(f"`{key}` of {m.built_label}" for key in (rows, cols)))
