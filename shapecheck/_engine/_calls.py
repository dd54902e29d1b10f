"""Calls: receivers and callees resolved, arguments evaluated, each call sent to its kind of callee.

A tensor method or a library function goes to its shape rule (``_shape_rules``), a user function,
class or module to the user-code room (``_user``); builtins and ``reveal_shape`` are answered here.
"""

from __future__ import annotations

import ast
import re

from .._core._algebra import Expr, const, sym
from .._core._diag import Diagnostic
from .._core._roles import CLASS, HEAD, name_role
from .._core._ops._facts import is_tensor_method, lookup_op, takes_size_list
from .._core._ops._registry import OPAQUE
from .._core._ops.conv import CONV_BLOCK
from .._core._ops.norm import NORM_BLOCK
from .._core._shape import ANY_SHAPE, UNKNOWN, Shape, Unknown, Variadic
from ._callables import known_callable, norm_kernel, unread_norm, unseen_activation
from ._containers import sum_of
from ._memo import per_node
from ._narrow import own_tensor, tensor_var, transposed_matrix
from ._subclass import NOT_HANDLED
from ._values import (CHOICE_MODULE, EMPTY, NAMESPACE, ONLY_FIRST, SEQUENTIAL_LAYERS, SEQUENTIAL_NAMES,
                      NORM_FACTORIES, Choice, ClassRef, DictOf, FuncRef, ListOf, ModuleVal, Obj, Partial, QualRef,
                      SelfVal, SizeOf, first_of, join)
from ._common import (BUILTIN_NAMES, CONTAINERS, RULELESS_MODULES, SIZED_LAYERS, SCALAR, SCALAR_FUNCS, SIZE_METHODS,
                      is_super_call, last_name, number, own_nodes, param_defaults, reveal_text, sanitize, size_item)


class Calls:
    """The call room of :class:`~._walk.FunctionAnalysis`."""

    def spliced(self, nodes, state) -> list | None:
        """Values of a list of expressions with ``*tuple`` spliced in; None when a starred value is unknown."""
        out = []
        for e in nodes:
            if isinstance(e, ast.Starred):
                v = self.ev(e.value, state)
                if not isinstance(v, tuple):
                    return None
                out.extend(v)
            else:
                out.append(self.ev(e, state))
        return out

    def spliced_sizes(self, node, state) -> list | None:
        """``x.view(*x.size()[:-1], h, d)`` or ``x.view(*new_shape)`` with sizes of a tensor of unknown rank
        spliced in: the sizes as one ``torch.Size`` of unknown rank (``... h d``), as ``x.view(new_shape)``
        gives them; None when more than one part is of unknown length or a keyword is given."""
        if node.keywords:
            return None
        dims: list = []
        for e in node.args:
            v = self.ev(e.value if isinstance(e, ast.Starred) else e, state)
            if not isinstance(e, ast.Starred):
                dims.append(size_item(self.as_size_sym(v)))
            elif isinstance(v, SizeOf):
                dims.extend(v.shape.dims)
            elif isinstance(v, tuple):
                dims.extend(size_item(x) for x in v)
            else:
                return None
        shape = Shape(tuple(dims))
        if sum(isinstance(d, Variadic) for d in dims) > 1:
            return None
        return [SizeOf(None, shape)]

    def call_args(self, node, state):
        args = self.spliced(node.args, state)
        if args is None:
            return None, None
        kwargs = {}
        for k in node.keywords:
            if k.arg is None:  # **dd: a dict whose keys are known (timm's device/dtype) is spliced in
                d = self.ev(k.value, state)
                if not isinstance(d, DictOf) and self.own_kwargs_unknown(k.value, d):
                    # ``self.fn(x, **kwargs)`` passing on the function's own ``**kwargs`` where no call gave them
                    # (the function analysed on its own): none
                    continue
                if not isinstance(d, DictOf) and _conv_block_name(last_name(node.func) or "") \
                        and not (self.mod.imports.qualify(node.func) or "").startswith("torch."):
                    continue  # ``_ConvBNPReLU(3, 32, 3, **kwargs)``: options of a block (its norm), no channel count
                if not isinstance(d, DictOf) and last_name(node.func) in NORM_FACTORIES:
                    # ``norm_layer(c, **({} if norm_kwargs is None else norm_kwargs))``: a norm's options
                    # (eps, momentum), never its size, which the positional argument gives
                    continue
                if not isinstance(d, DictOf) and last_name(node.func) in _RESIZES:
                    # ``F.interpolate(x, **modifier, mode=...)`` with the size or scale picked by branches: a resize
                    # to sizes the engine cannot read, which keeps the batch and the channels
                    kwargs.setdefault("scale_factor", OPAQUE)
                    continue
                if not isinstance(d, DictOf):
                    return None, None
                kwargs.update(d.items)
                continue
            kwargs[k.arg] = self.ev(k.value, state)
        # ``F.max_pool1d(y, y.size(2))``: reading a size of an argument named its axis after the argument was
        # evaluated; the argument is the tensor with that axis named, so the two can be related
        for i, a in enumerate(node.args if not any(isinstance(e, ast.Starred) for e in node.args) else ()):
            if isinstance(a, ast.Name) and _refined(args[i], state.get(a.id)):
                args[i] = state[a.id]
        return args, kwargs

    def own_kwargs_unknown(self, node, value) -> bool:
        """``node`` names the analysed function's own ``**kwargs`` parameter, unknown: the function analysed on its
        own (a call gives it the keywords no parameter takes, ``_user``)."""
        kw = getattr(getattr(self, "node", None), "args", None)
        kw = getattr(kw, "kwarg", None)
        # also when the instance is built for a method's analysis (the value then unknown, not the object)
        return kw is not None and isinstance(node, ast.Name) and node.id == kw.arg and (
            isinstance(value, Obj) and value.name == kw.arg
            or value is OPAQUE and getattr(self.node, "name", None) == "__init__")

    def call(self, node, state):
        func = node.func
        if len(node.args) == 1 and not node.keywords and isinstance(node.args[0], (ast.List, ast.Tuple)) \
                and (self.mod.imports.qualify(func) or "") == "torch.Size":
            # ``torch.Size([h, d_k])`` is the tuple of its sizes (``x.size()[:-1] + torch.Size([h, d])``)
            return self.ev(ast.Tuple(elts=node.args[0].elts, ctx=ast.Load()), state)
        read = self.dict_read(node, state)
        if read is not NOT_HANDLED:
            return read
        self.change_dict(node, state)
        if self.grow_list(node, state):
            return None
        if self.sequential_init(node, state) or self.layer_super_init(node, state) or self.user_super_init(node, state):
            return None
        applied = self.super_forward(node, state)
        if applied is not NOT_HANDLED:
            return applied
        # methods on values
        if isinstance(func, ast.Attribute) and (self.mod.imports.qualify(func) is None or self.shadowed(func, state)):
            recv = self.ev(func.value, state)
            if isinstance(recv, Shape) or isinstance(recv, Obj) or recv is OPAQUE:
                return self.tensor_method(recv, func, node, state)
            if type(recv) is str and func.attr in _STR_METHODS:
                # ``name.replace("_", "").lower()`` of a known name: the key a table of layers is read with
                args, kwargs = self.call_args(node, state)
                if args is not None and not kwargs and all(type(a) is str for a in args) and len(args) <= 2:
                    try:
                        return getattr(recv, func.attr)(*args)
                    except (TypeError, ValueError):
                        return OPAQUE
                return OPAQUE
            if isinstance(recv, ModuleVal) and func.attr in _MODULE_SELF_METHODS:
                self.call_args(node, state)
                return recv  # ``model = Net(...).to(device)``: ``nn.Module.to`` (``cuda``, ``eval``...) gives back the module
            if isinstance(recv, ModuleVal) and func.attr == "forward":
                # ``model.forward(image)``: the module called, as ``model(image)`` (hooks aside)
                args, kwargs = self.call_args(node, state)
                return self.call_value(recv, args, kwargs, node, state) if args is not None else OPAQUE
            if isinstance(recv, SelfVal):
                if func.attr == "add_module":
                    self.add_module(recv, node, state)
                    return None
                if func.attr == "register_buffer" or func.attr == "register_parameter":
                    args, kwargs = self.call_args(node, state)
                    if args and len(args) >= 2 and isinstance(args[0], str):
                        recv.attrs[args[0]] = args[1]
                    return None
        callee = self.ev(func, state)
        if callee == QualRef("torch.nn.Sequential"):
            seq = self.sequential_of(node, state)
            if seq is not None:
                return seq
        if isinstance(func, ast.Name) and func.id == "dict" or callee == QualRef("collections.OrderedDict"):
            d = self.dict_value(node, state)
            if d is not None:
                return d
        if isinstance(callee, QualRef):
            applied = self.own_parameters(callee.qualname, node, state)
            if applied is not NOT_HANDLED:
                return applied
        args, kwargs = self.call_args(node, state)
        if args is None:
            return self.layer_with_unknown_options(callee, node, state)
        if not isinstance(callee, (ModuleVal, ClassRef)):
            known = known_callable(func, args, self.mod.imports.qualify)
            if known is not None:  # an activation factory, an identity wrapper
                return known
            known = unseen_activation(callee, args, kwargs)
            if known is not None:  # ``Swish()`` of a module not analysed
                return known
            kept = norm_kernel(func, callee, args, kwargs, self.mod.imports.qualify)
            if kept is not None:  # a layer-norm kernel of another package
                return kept
            kept = unread_norm(func, callee, args, kwargs)
            if kept is not None:  # a normalization layer built from an option the engine cannot read
                return kept
        return self.call_value(callee, args, kwargs, node, state)

    def sequential_init(self, node, state) -> bool:
        """``super().__init__(conv, norm, act)`` in the constructor of an ``nn.Sequential`` subclass: ``self``
        holds those layers in order (when each is a module). True when handled."""
        sv = self.self_val
        if not (is_super_call(node, "__init__") and sv is not None and getattr(sv.cls, "is_sequential", False)
                and self.node.name == "__init__"):
            return False
        args, kwargs = self.call_args(node, state)
        if args and not kwargs and all(isinstance(a, ModuleVal) for a in args):
            sv.attrs[SEQUENTIAL_LAYERS] = tuple(args)
            sv.attrs[SEQUENTIAL_NAMES] = tuple(str(i) for i in range(len(args)))
        elif args or kwargs:  # layers the engine cannot read (an ``OrderedDict``, ``*layers``): the chain is unknown
            sv.attrs[SEQUENTIAL_LAYERS] = None
        return True

    def add_module(self, sv: SelfVal, node, state) -> None:
        """``self.add_module("conv", nn.Conv2d(...))`` in a constructor: ``self.conv`` is that layer, and in an
        ``nn.Sequential`` subclass the layer is appended to the chain (a name added again replaces its layer in
        place, as PyTorch does); a name or a layer the engine cannot read leaves the chain unknown."""
        args, kwargs = self.call_args(node, state)
        args = list(args or ()) + [kwargs[k] for k in ("name", "module") if kwargs and k in kwargs]
        name, layer = (args + [None, None])[:2]
        if type(name) is str and layer is not None:
            sv.attrs[name] = layer
        if not (getattr(sv.cls, "is_sequential", False) and self.node.name == "__init__") \
                or SEQUENTIAL_LAYERS in sv.attrs and sv.attrs[SEQUENTIAL_LAYERS] is None:
            return
        if type(name) is not str or not isinstance(layer, ModuleVal):
            sv.attrs[SEQUENTIAL_LAYERS] = None
            return
        layers = list(sv.attrs.get(SEQUENTIAL_LAYERS) or ())
        names = list(sv.attrs.get(SEQUENTIAL_NAMES) or ())
        if name in names:
            layers[names.index(name)] = layer
        else:
            names.append(name)
            layers.append(layer)
        sv.attrs[SEQUENTIAL_LAYERS], sv.attrs[SEQUENTIAL_NAMES] = tuple(layers), tuple(names)

    def layer_with_unknown_options(self, callee, node, state):
        """``nn.Conv2d(in_chs, out_chs, k, padding=padding, **kwargs)``: a convolution or a linear layer built with
        options the engine cannot read is still that layer, with its channels or features as given and every
        option left unknown (the options may change the spatial sizes, never the channels). Else unknown."""
        q = callee.qualname if isinstance(callee, QualRef) else \
            callee.library_layer if isinstance(callee, ClassRef) else None
        if q not in _OPTIONS_UNKNOWN or any(isinstance(a, ast.Starred) for a in node.args):
            return OPAQUE
        rule = lookup_op(q)
        if rule is None or not rule.module or rule.init is None:
            return OPAQUE
        args = [self.ev(a, state) for a in node.args]
        names = list(rule.init.parameters)
        # a keyword the layer does not take is a subclass's own (``Conv2d(c, d, norm=bn, **kw)``): no size
        kwargs = {k.arg: self.ev(k.value, state) for k in node.keywords if k.arg is not None and k.arg in names}
        if len(args) < 2 or len(args) > len(names):
            return OPAQUE  # the sizes that fix the channels are given by name, perhaps in the unknown dict
        for name in names[len(args):]:
            if name in _OPTIONS_UNKNOWN[q]:  # the options that change sizes; the others (bias, dtype) change none
                n = int(q[-2])  # the number of spatial axes: an unknown size for each
                kwargs.setdefault(name, UNKNOWN if name == "groups" else (UNKNOWN,) * n)
        return self.call_value(QualRef(q), args, kwargs, node, state)

    def tensor_method(self, recv, func, node, state):
        name = func.attr
        args, kwargs = self.call_args(node, state)
        if args is None and name in _SPLICED_SIZE_METHODS and isinstance(recv, Shape):
            args, kwargs = self.spliced_sizes(node, state), {}
        if args is None:
            return OPAQUE
        if recv is OPAQUE and (name == "size" or _torch_only(name, args)):
            # ``x = self.patch_embed(x)`` with a layer the engine cannot follow, then ``x.size(0)`` or
            # ``x.flatten(2)``: only a tensor has that method, so ``x`` is one, of unknown shape, whose axes its
            # uses name as they name an input's
            recv = self.sized_unknown(func.value, state, maybe_array=False)
            if recv is OPAQUE and name != "size":
                recv = ANY_SHAPE  # a value no variable holds (``self.embed(x).flatten(2)``)
        if name == "numpy" and isinstance(recv, Shape) and not args and not kwargs:
            # ``x.cpu().numpy()``: the tensor's data as a NumPy array, of its shape; NumPy's rules from here on
            # (a step of -1 slices it backwards)
            return recv.with_meta(maybe_array=True)
        if isinstance(recv, Shape) and recv.get_meta("maybe_array") and _numpy_spelling(name, kwargs):
            # ``img[:, :, None].repeat(3, axis=2)`` of what may be a NumPy array: NumPy's method, not torch's (a
            # cast, ``img.astype(np.float32)``, keeps the shape)
            return recv if name == "astype" else ANY_SHAPE.with_meta(maybe_array=True)
        if name in ("index_copy_", "index_copy") and len(args) >= 3 and isinstance(args[2], Shape) \
                and args[2].rank and isinstance(args[0], Expr) and args[0].value is not None \
                and isinstance(func.value, ast.Name) and (isinstance(recv, Obj) or recv is OPAQUE
                                                          or isinstance(recv, Shape) and recv.is_any):
            # ``cache.index_copy_(dim, index, source)``: the cache has the source's axes but the one
            # indexed (a KV cache written with the new keys)
            d = args[0].value % args[2].rank
            required = Shape(args[2].dims[:d] + (UNKNOWN,) + args[2].dims[d + 1:],
                             (args[2].origins[:d] + (None,) + args[2].origins[d + 1:]) if args[2].origins else ())
            if recv is OPAQUE or isinstance(recv, Obj):
                if state.get(func.value.id) is recv:
                    state[func.value.id] = required
                recv = required
            else:
                recv = self.narrowed_by_use(required, recv, func.value, state)
        if name == "permute":
            recv = self.narrowed_by_permute(recv, func.value, args, kwargs, state)
        elif name == "bmm" and len(args) == 1 and not kwargs:
            # both operands of a batched matrix product have three axes
            recv, other = self.narrowed_to_rank([recv, args[0]], [func.value, node.args[0]], 3, state)
            args = [other]
        known = isinstance(recv, Shape) and not recv.get_meta("unverified")
        shape = recv if isinstance(recv, Shape) else ANY_SHAPE
        if takes_size_list(name) and len(args) > 1:  # one unknown argument may be a whole tuple of sizes
            args = self.named_unknown_sizes([self.as_size_sym(a) for a in args], node, state)
        if name == "item" and known:
            return SCALAR
        if name in SIZE_METHODS:
            if name == "size":
                if not args and not kwargs:
                    if not known and isinstance(recv, Obj):
                        return SizeOf(recv.name, ANY_SHAPE)
                    return self.size_tuple(shape, func.value) if known else SizeOf(None, shape)
                i = args[0] if args else kwargs.get("dim")
                if isinstance(i, Expr) and i.value is not None:
                    var = tensor_var(func.value)
                    d = self.read_axis(var, shape, i.value, state, node) if known or isinstance(recv, Obj) \
                        else shape.axis(i.value)
                    return d if isinstance(d, Expr) else OPAQUE
                return OPAQUE
            if name in ("dim", "ndimension"):
                return const(shape.rank) if shape.rank is not None else OPAQUE
            return OPAQUE
        if not known and not is_tensor_method(name):
            return OPAQUE
        result = self.apply_shape_rule(f"torch.Tensor.{name}", (shape,) + tuple(args), kwargs, node, known=known)
        if (recv is OPAQUE or not known) and not isinstance(recv, Obj) and isinstance(result, Shape):
            # the receiver may not be a tensor at all (a NumPy array from an unknown call): what follows
            # from it is inferred, never reported
            result = result.with_meta(unverified=True)
        return result

    def named_unknown_sizes(self, args: list, node, state) -> list:
        """``y.reshape(B, H, W, -1)`` with ``H, W`` from a call the engine cannot follow: each is one size (a
        view of several arguments takes ints), and the variable holding it becomes a size named after it, as
        a tensor of unknown shape learns its axes from its uses; the name says what it is (height, width).
        A name given twice (``reshape(-1, size, size, C)``, a square grid) is one size. These sizes are not known
        to be distinct from any other. A name that says heads or classes (``nh``
        may count patches down an image) is left unknown."""
        if any(isinstance(a, ast.Starred) for a in node.args) or len(node.args) != len(args):
            return args
        out = list(args)
        named: dict = {}  # a name given twice (``reshape(-1, size, size, C)``, a square grid) is one size
        # a local holding None as a size of a view (``H, W = self.H, self.W`` with ``self.H = None`` in
        # the constructor, set by the parent before the call): the view runs only with an int there, unknown here
        for k, (a, n) in enumerate(zip(args, node.args)):
            if a is None and isinstance(n, ast.Name) and state.get(n.id, OPAQUE) is None:
                out[k] = args[k] = state[n.id] = OPAQUE
        for k, (a, n) in enumerate(zip(args, node.args)):
            if a is OPAQUE and isinstance(n, ast.Name) and n.id in named:
                out[k] = named[n.id]
                continue
            element = _grid_element(n) if a is OPAQUE else None
            if element is not None and (self.ev(n.value, state) is OPAQUE or isinstance(self.ev(n.value, state), Obj)):
                # ``x.reshape(B, size[0], size[1], C)`` with ``size`` a pair the engine cannot read: each element is
                # one size, named after it (``size[0]``), not known distinct from any other
                key = f"{element[0]}[{element[1]}]"
                if key not in named:
                    fresh = self.fresh_dim_name(key)
                    if fresh is None:
                        continue
                    named[key] = sym(fresh, "code")
                out[k] = named[key]
                continue
            if a is OPAQUE and isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
                # ``view(B, 4 * H, 4 * W, -1)`` with ``H`` from a value the engine cannot read: name the
                # opaque locals the arithmetic reads, as a bare ``H`` is named, then evaluate it again
                leaves = [m for m in ast.walk(n) if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Load)]
                opaque = [m for m in leaves if state.get(m.id) is OPAQUE]
                if opaque and all(isinstance(m, (ast.BinOp, ast.Name, ast.Constant, ast.operator, ast.expr_context,
                                                 ast.Attribute)) for m in ast.walk(n)) \
                        and not any(name_role(sym(m.id)) in (HEAD, CLASS) or m.id in self.maybe_equal_sizes()
                                    for m in opaque):
                    for m in opaque:
                        if self.view_size_named(m.id, named, state) is None:
                            break
                    else:
                        v = self.as_size_sym(self.ev(n, state))
                        if isinstance(v, Expr):
                            out[k] = v
                continue
            if a is not OPAQUE or not isinstance(n, ast.Name) or state.get(n.id) is not OPAQUE:
                continue
            if name_role(sym(n.id)) in (HEAD, CLASS) or n.id.lower().strip("_") in ("head", "heads") \
                    or n.id in self.maybe_equal_sizes():
                continue
            size = self.view_size_named(n.id, named, state)
            if size is not None:
                out[k] = size
        return out

    def view_size_named(self, name: str, named: dict, state):
        """The size a local holding what the engine cannot read stands for in a view: a size named after it, the
        same one where the view gives the name again (``named``), held by the local from then on; None for a name that
        names nothing (``_``)."""
        if name not in named:
            fresh = self.fresh_dim_name(name)
            if fresh is None:
                return None
            named[name] = sym(fresh, "code")
        state[name] = named[name]
        return named[name]

    def named_local_sizes(self, args: list, node, state) -> list:
        """``self.proj = nn.Linear(vision_width, embed_dim)`` in a constructor, with ``vision_width`` a local the
        engine cannot evaluate (``self.encoder, vision_width = create_vit(...)``, ``text_width =
        self.text_encoder.config.hidden_size``): a layer's sizes are ints, and the local holding one is a size
        the code names, after the variable, distinct from the other named sizes as a config field is. A local
        that may hold the same value as another name (``w = h``) is left unknown."""
        if getattr(self.node, "name", None) != "__init__" or not node.args \
                or any(isinstance(a, ast.Starred) for a in node.args):
            return args
        out = list(args)
        for k, (a, n) in enumerate(zip(args[:2], node.args[:2])):
            if a is not OPAQUE or not isinstance(n, ast.Name) or state.get(n.id, None) is not OPAQUE \
                    or n.id in per_node(self.mod.memo.equal_locals, self.node, lambda: _maybe_equal_locals(self.node)):
                continue
            out[k] = state[n.id] = self.code_sym(n.id)
        for k, (a, n) in enumerate(zip(args[:2], node.args[:2])):
            if a is OPAQUE and isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute)) \
                    and not n.keywords and all(isinstance(x, SIZE_TEXT_NODES) for x in ast.walk(n)) \
                    and self.own_helper(n.func):
                # ``nn.Linear(c, make_divisible(c // r, 8))``: the helper's int, named after the call, as it would
                # be after a local holding it; the same call written again is the same size
                out[k] = self.code_sym(ast.unparse(n))
        for k, (a, n) in enumerate(zip(args[:2], node.args[:2])):
            if isinstance(a, Expr) or not (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add)):
                continue
            # ``nn.Linear(emb_dim + hid_dim, out_dim)`` of two unannotated arguments: a sum the engine leaves
            # unknown elsewhere (a constructor's ``+`` may join lists or strings), but a layer's size is an int
            left, right = (self._layer_size_sum(x, state) for x in (n.left, n.right))
            if isinstance(left, Expr) and isinstance(right, Expr):
                out[k] = left + right
        return out

    def _layer_size_sum(self, n, state):
        """A term of a layer's size written as a sum (``in_channels + skip_channels + src_channels``,
        ``3 * out_channels + 4``): nested sums and whole multiples of unannotated arguments are sizes too."""
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Mult)):
            left, right = self._layer_size_sum(n.left, state), self._layer_size_sum(n.right, state)
            if isinstance(left, Expr) and isinstance(right, Expr):
                return left + right if isinstance(n.op, ast.Add) else left * right
            return OPAQUE
        return self.as_size_sym(self.ev(n, state))

    def own_helper(self, func) -> bool:
        """Is ``func`` a function of the analysed code or of no library the engine knows (not ``int``,
        ``math.ceil``, ``np.prod``, whose value the sizes it is given make)?"""
        if isinstance(func, ast.Name) and (func.id in BUILTIN_NAMES or func.id in ("divmod", "pow")):
            return False
        q = self.mod.imports.qualify(func) or ""
        return not q.startswith(("math.", "numpy.", "torch.", "builtins.", "operator.", "functools."))

    def maybe_equal_sizes(self) -> frozenset:
        """The local names that may hold the same value as another name (``H = W = int(N ** 0.5)``,
        ``w = h``, or two names assigned the same expression): never named apart (read once per function
        node and kept in the memo, whatever shapes it is analysed under)."""
        return per_node(self.mod.memo.equal_names, self.node, lambda: _maybe_equal_names(self.node))

    def call_value(self, callee, args, kwargs, node, state):
        if isinstance(callee, Partial):
            return self.call_value(callee.func, list(callee.args) + list(args), {**dict(callee.kwargs), **kwargs},
                                   node, state)
        if isinstance(callee, FuncRef) and callee.closure is not None and not callee.is_lambda \
                and _defined_in(callee.node, self.node):
            # a function defined in this one and called here reads this function's variables at the call
            callee = FuncRef(callee.name, callee.node, callee.info, closure=dict(state))
        if isinstance(callee, Obj) and callee.name.rsplit(".", 1)[-1] in NORM_FACTORIES:
            # ``norm_layer(dim)``: a normalization layer passed in as a class keeps its input's shape (an
            # activation's class keeps it only when its default is elementwise: ``_callables``)
            return self.call_qual("torch.nn.Identity", [], {}, node, state)
        if isinstance(callee, QualRef):
            if callee.alike:
                kwargs = self.layer_keywords(callee.qualname, kwargs)
            return self.call_qual(callee.qualname, args, kwargs, node, state)
        layer = _first_layer(callee.elem if isinstance(callee, ListOf) else callee)
        if layer is not None and args and node.args and not isinstance(node.args[0], ast.Starred):
            # ``self.norm(x)`` with ``x`` of unknown shape: the layer fixes what it can of ``x``
            args = [self.layer_argument(layer, args[0], node.args[0], state)] + list(args[1:])
        if isinstance(callee, ModuleVal):
            return self.call_module(callee, args, kwargs, node)
        if isinstance(callee, ClassRef):
            q = callee.library_layer
            if q is not None:
                return self.call_qual(q, args, self.layer_keywords(q, kwargs), node, state)
            args, kwargs = self.passed_layer_sizes(callee, args, kwargs, node, state)
            return self.construct_user(callee, args, kwargs, node)
        if isinstance(callee, FuncRef):
            return self.call_user(callee, args, kwargs, node)
        if isinstance(callee, ListOf) and isinstance(callee.elem, ModuleVal):
            return self.call_module(callee.elem, args, kwargs, node)
        if isinstance(callee, Choice):
            results = self.call_choice(callee, args, kwargs, node, state)
            v = results[0]
            for w in results[1:]:
                v = join(v, w)
            return v
        return OPAQUE

    @staticmethod
    def layer_keywords(q: str, kwargs: dict) -> dict:
        """The keywords the library layer ``q`` takes: a subclass's or a wrapper's own (a ``norm`` it pops or applies
        after the layer) give no size."""
        rule = lookup_op(q)
        if rule is None or rule.init is None:
            return kwargs
        return {k: v for k, v in kwargs.items() if k in rule.init.parameters}

    def call_choice(self, callee: Choice, args, kwargs, node, state) -> list:
        """Each option of a choice called with these arguments, the results in order. A diagnostic must hold
        whichever option runs: one is reported only when every option reports the same code at the same place
        (``_NORM_MAP[name](c)`` applied to a tensor without ``c`` channels), and then the first option's. An
        ``nn.Identity()`` option hands its input on unchanged, so it can make no other option's finding wrong:
        ``nn.Linear(num_classes, dim) if num_classes > 0 else nn.Identity()`` applied to ``dim`` features is
        a bug whenever the layer is built, and is reported (the options other than the identity decide)."""
        states = [dict(state) for _ in callee.options]
        try:
            if not self.reporting or any(o is None for o in callee.options):
                with self.silenced():
                    return [self.call_value(c, args, kwargs, node, s) for c, s in zip(callee.options, states)]
            results, found = self.each_option([lambda c=c, s=s: self.call_value(c, args, kwargs, node, s)
                                               for c, s in zip(callee.options, states)])
        finally:
            _agreed_state(state, states)
        deciding = [f for c, f in zip(callee.options, found) if not _is_identity(c)]
        found = deciding or found
        firsts = self.report_agreed(found)
        if len(found) == len(results) and None in firsts and len(firsts) > 1:
            # an option that fails on these arguments is not the one that runs past this call: what follows is
            # what the others give (BLIP's ``self.key``, built for ``encoder_width`` in cross-attention and for
            # ``hidden_size`` otherwise, applied to ``hidden_states``)
            return [r for r, f in zip(results, found) if not f]
        return results

    def each_option(self, runs: list) -> tuple:
        """``(results, findings)``: each run's result, and what it found (reveals aside), which is not reported."""
        start = len(self.diags)
        results, found = [], []
        for run in runs:
            mark = len(self.diags)
            results.append(run())
            found.append([d for d in self.diags[mark:] if d.code != "reveal"])
        del self.diags[start:]
        return results, found

    def report_agreed(self, found: list) -> set:
        """Report the first finding of the first option when every option's first finding is the same code at the
        same place (a diagnostic must hold whichever option runs). The set of those first findings (None for an
        option that found nothing)."""
        firsts = {(f[0].line, f[0].column, f[0].code) if f else None for f in found}
        if len(firsts) == 1 and None not in firsts:
            self.diags.extend(found[0][:1])
        return firsts

    def call_equations(self, q: str, options: tuple, args, kwargs, node, state):
        """``einsum(f"b h i d, {kv_eq} -> b h i j", q, k)`` with ``kv_eq`` one of a few literals: the call with each
        equation, what all give joined; a diagnostic is reported only when every equation reports it (as for a
        choice of callables), and what a pattern fixes of an operand is not kept (it differs between them)."""
        results, found = self.each_option([lambda eq=eq: self.call_qual(q, [eq] + list(args[1:]), kwargs, node,
                                                                         dict(state)) for eq in options])
        self.report_agreed(found)
        out = results[0]
        for r in results[1:]:
            out = join(out, r)
        return out

    def call_qual(self, q: str, args, kwargs, node, state):
        if q in _EINSUMS and node.args and isinstance(node.args[0], ast.JoinedStr) and args \
                and not isinstance(args[0], str):
            options = per_node(self.mod.memo.equations, node.args[0],
                               lambda: equation_options(node.args[0], self.node))
            if options:
                return self.call_equations(q, options, args, kwargs, node, state)
        if q == "torch.nn.Module" and not args and not kwargs:
            return SelfVal(NAMESPACE, {})  # a bare module used as a namespace of layers
        if q in ("copy.deepcopy", "copy.copy") and len(args) == 1 and not kwargs:
            return args[0]  # a copy of a layer (``clones``: ``copy.deepcopy(layer)``) is shaped as the layer
        if q in _CHECKPOINTS and args and not isinstance(node.args[0], ast.Starred):
            # ``checkpoint(self.block, x, use_reentrant=False)``: ``self.block(x)``, its activations recomputed in
            # the backward pass
            return self.call_value(args[0], list(args[1:]),
                                   {k: v for k, v in kwargs.items() if k not in _CHECKPOINT_OPTIONS}, node, state)
        if q in _REPARAMETRIZED and args and isinstance(args[0], ModuleVal):
            # ``weight_norm(nn.Conv1d(c_in, c_out, k))``: the layer itself, its weight reparametrized
            return args[0]
        if q in _FROM_DATA and len(node.args) == 1 and not isinstance(node.args[0], ast.Starred):
            lit = literal_dims(node.args[0])
            if lit is not None and not lit[0] and q not in _INFERRED_DATA and isinstance(args[0], Expr):
                # ``torch.LongTensor(2)``: a legacy constructor given one number makes that many elements
                where = f"`{q.rsplit('.', 1)[-1]}` size, {self.where(node)}"
                return Shape((args[0],), (where,)).with_meta(**({"dtype": "long"} if q in _LONG_DATA else {}))
            if lit is not None:
                # ``torch.tensor([[1, 2, 3]])``, ``torch.LongTensor([[5, 7]])``: the literal's nesting is the shape
                where = f"literal, {self.where(node)}"
                out = Shape(tuple(const(n) for n in lit[0]), (where,) * len(lit[0]))
                given = kwargs.get("dtype")
                dtype = "long" if q in _LONG_DATA or given is None and lit[1] and q in _INFERRED_DATA else None
                return out.with_meta(dtype=dtype) if dtype and given is None else out
            if q in _LONG_DATA and not isinstance(args[0], (Expr, Shape)):
                # ``torch.LongTensor(idxs)`` of a list the engine cannot read: integers, of a shape the code learns
                # from how it reads them (``.view(N, N)``), so that indexing with them is shaped
                return ANY_SHAPE.with_meta(dtype="long")
        if q in _LEGACY and not kwargs and not any(isinstance(a, ast.Starred) for a in node.args) and (
                len(args) == 1 and isinstance(args[0], Expr)
                or len(args) > 1 and all(isinstance(a, (Expr, Obj)) for a in args)):
            # ``nn.Parameter(torch.Tensor(out, in // groups, k, k))``: the legacy constructor given sizes is an
            # uninitialised tensor of that shape, as ``torch.empty`` gives (one unknown object may be its data)
            args = [self.as_size_sym(a) for a in args]
            where = f"`{q.rsplit('.', 1)[-1]}` sizes, {self.where(node)}"
            return Shape(tuple(args), (where,) * len(args))
        if q in _FROM_ARRAY and len(args) == 1 and not kwargs and not isinstance(args[0], Shape) \
                and not isinstance(node.args[0], ast.Starred):
            # ``torch.from_numpy(blobs["data"])``: a tensor, of a shape the code learns from how it reads it
            return ANY_SHAPE
        if q.startswith("math.") or q in SCALAR_FUNCS:
            return self.run_lint_rules(q, node, tuple(sanitize(a) for a in args),
                                  {k: sanitize(v) for k, v in kwargs.items()}, SCALAR)
        if q.startswith("builtins."):
            return self.builtin(q[9:], args, kwargs, node, state)
        if q == "itertools.zip_longest" and not kwargs:
            # ``for layer, e in zip_longest(self.layers, extras)``: each run takes one element of each, as ``zip``
            return self.builtin("zip", args, kwargs, node, state)
        if q in ("typing.reveal_type", "typing_extensions.reveal_type"):
            return self.builtin("reveal_type", args, kwargs, node, state)
        if q in ("shapecheck.reveal_shape",) or q.endswith(".reveal_shape"):
            v = args[0] if args else None
            text = reveal_text(v, self.env)
            if self.reporting:
                self.diags.append(Diagnostic(self.mod.path, node.lineno, node.col_offset + 1, "reveal", text, "note"))
            return v
        if q == "functools.partial" and args and isinstance(args[0], (ClassRef, QualRef, FuncRef)) \
                and not (isinstance(args[0], FuncRef) and args[0].is_lambda):
            return Partial(args[0], tuple(args[1:]), tuple(kwargs.items()))
        if q in ("torch.nn.Sequential",):
            # ``SELayer(c) if use_se else nn.Identity()`` in the chain: a layer, one of those modules
            args = [ModuleVal(CHOICE_MODULE, init=(("options", a.options),))
                    if isinstance(a, Choice) and all(isinstance(o, ModuleVal) for o in a.options) else a for a in args]
            if len(args) == 1 and not kwargs and isinstance(args[0], DictOf) and args[0].items:
                # ``nn.Sequential(OrderedDict([...]))``: its values in order, each reachable by its key
                layers = tuple(v for _k, v in args[0].items)
                if not all(isinstance(v, ModuleVal) for v in layers):
                    return OPAQUE
                return ModuleVal(q, init=args[0].items, children=layers)
            if not all(isinstance(a, ModuleVal) for a in args):
                # a layer we cannot follow is unknown, not absent: the layers before it still meet the input
                known = []
                for a in args:
                    if not isinstance(a, ModuleVal):
                        break
                    known.append(a)
                tail = []
                for a in reversed(args):
                    if not isinstance(a, ModuleVal):
                        break
                    tail.insert(0, a)
                if not (known or tail) or any(isinstance(a, ast.Starred) for a in node.args):
                    return OPAQUE
                return ModuleVal(q, children=tuple(known), unknown_after=True, tail=tuple(tail))
            written = len(node.args) == len(args) and not node.keywords \
                and not any(isinstance(a, ast.Starred) for a in node.args)
            seq = ModuleVal(q, children=tuple(args), written_out=written)
            if written:
                self.check_chain(seq, node)
            return seq
        if q in CONTAINERS:
            if (not args or args == [()]) and not kwargs and q.endswith("ModuleList"):  # ``ModuleList([])`` too
                return ListOf(OPAQUE, EMPTY)  # modules appended later (``grow_module_list``)
            elem = args[0] if args else None
            if isinstance(elem, DictOf) and q.endswith("ModuleDict"):
                return ModuleVal(q, init=elem.items)
            if isinstance(elem, ListOf):
                return ListOf(elem.elem, elem.length, elem.first, elem.items, elem.rest)
            if isinstance(elem, tuple) and elem:
                v = elem[0]
                for w in elem[1:]:
                    v = v if v == w else OPAQUE
                return ListOf(v, const(len(elem)), elem[0], elem)
            return ListOf(OPAQUE)
        if q in ("torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.Buffer"):
            return args[0] if args and isinstance(args[0], Shape) else ANY_SHAPE
        if q in _EINOPS and len(args) >= 2:
            # a pattern names the axes of an input of unknown shape
            kwargs = {k: self.as_size_sym(v) for k, v in kwargs.items()}
            arg_node = node.args[0] if node.args and not isinstance(node.args[0], ast.Starred) else None
            # a value that is no variable of unknown shape gets this call's own axes, as does a tensor of known
            # rank whose axes the pattern fills (two such tensors, one padded, need not share them)
            own = args[0] is OPAQUE or isinstance(args[0], Expr) \
                or isinstance(args[0], Shape) and args[0].rank is not None and not args[0].is_any
            req = self.pattern_input(args[1], {k: v for k, v in kwargs.items() if isinstance(v, Expr)},
                                     site=(node.lineno, node.col_offset) if own else None)
            args = [self.narrowed_by_use(req, args[0], arg_node, state, tensor_op=True)] + list(args[1:])
        if q in _EINSUMS:
            args = self.einsum_operands(q, args, node, state)
        if q == "torch.matmul" and len(args) == 2 and len(node.args) == 2 and transposed_matrix(node.args[1]):
            args = [self.narrowed_to_matrix(args[0], node.args[0], state), args[1]]
        if q in _BMM and len(args) == 2 and len(node.args) == 2:
            args = self.narrowed_to_rank(list(args), list(node.args), 3, state)
        if q in _CATS and args and isinstance(args[0], (tuple, list)):
            # every part of a ``cat`` is a tensor (or the call raises)
            args = [type(args[0])(self.cat_parts(args[0], node))] + list(args[1:])
        args = self.aligned_parts(q, args, kwargs)
        joined = self.join_list(q, args, kwargs, node)
        if joined is not None:
            return joined
        rule = lookup_op(q)
        if rule is None and q in RULELESS_MODULES:
            # a library module with no shape rule that the lint rules read where it is called (a loss held
            # as ``self.criterion``): the module, its calls handed to the lint rules (``_user.call_module``)
            self.run_lint_rules(q, node, tuple(sanitize(a) for a in args), {k: sanitize(v) for k, v in kwargs.items()},
                                OPAQUE)
            return ModuleVal(q, init=tuple(kwargs.items()))
        if rule is None and not q.startswith(("torch.", "einops.", "numpy.")):
            block = conv_block_sizes(q, args, kwargs, node)
            if block is not None:
                # ``ConvBNReLU(in_ch, out_ch, 3)`` of a module the analysis did not see: a convolution block
                return self.call_qual(CONV_BLOCK, [*block, q.rsplit(".", 1)[-1]], {}, node, state)
            if _NORM_BLOCK_NAME.fullmatch(q.rsplit(".", 1)[-1]):
                # ``LayerNorm(n_chans, dim=1)`` of a module the analysis did not see: a norm, which keeps the shape
                return self.call_qual(NORM_BLOCK, [], {}, node, state)
        if rule is None:
            if q.startswith(("torch.", "einops.")):  # no shape rule, but the lint rules may know the call
                # what it returns is unknown (a tensor, a tuple of them like meshgrid's, or no tensor)
                return self.run_lint_rules(q, node, tuple(sanitize(a) for a in args),
                                      {k: sanitize(v) for k, v in kwargs.items()}, OPAQUE)
            return OPAQUE
        if rule.module:
            if q in SIZED_LAYERS:
                args = self.named_local_sizes(list(args), node, state)
            # a tuple of sizes (``kernel_size=(3, embed)``: a kernel as wide as the embedding) holds sizes too
            args = [self.as_size_sym(a) if not isinstance(a, tuple) else tuple(self.as_size_sym(x) for x in a)
                    for a in args]
            kwargs = {k: self.as_size_sym(v) if not isinstance(v, tuple) else tuple(self.as_size_sym(x) for x in v)
                      for k, v in kwargs.items()}
            if q in _OPTIONS_UNKNOWN and rule.init is not None:
                args, kwargs = _unread_options(q, rule, args, kwargs)
            init = rule.bind_init(tuple(args), kwargs)
            if init is None:
                return OPAQUE
            if q in _GROUPED_CONVS:
                self.grouped_channels(init)
            return ModuleVal(q, rule, tuple(init.items()), built_at=self.where(node))
        if q.startswith("torch.") and args:
            args = _tensor_operands(q, rule, args)
        if takes_size_list(q) and len(args) > 1 and not q.endswith("full") or q == "torch.arange":
            # ``torch.randn(1, 1, dim)``: more than one argument, so each is one size; ``torch.arange``'s
            # bounds are numbers
            sized = [self.as_size_sym(a) for a in args]
            if not q.startswith("torch.Tensor."):
                _learn_sizes(node, args, sized, state)
            args = sized
        elif q.rsplit(".", 1)[-1] in _LONE_SIZE_FACTORIES and len(args) == 1 + q.startswith("torch.Tensor.") \
                and isinstance(args[-1], Obj) and self.whole_number(args[-1]):
            # ``torch.ones(dim)`` with ``dim`` a parameter the code reads as a whole number (``nn.Linear(dim,
            # ...)``, ``dim ** -0.5``) or named as sizes are (``dim``, ``d_model``, ``num_classes``): one size,
            # not a list of them (``torch.ones(shape)``)
            args = list(args[:-1]) + [self.as_size_sym(args[-1])]
        elif takes_size_list(q) and not q.endswith("full") and len(args) == 1 + q.startswith("torch.Tensor.") \
                and isinstance(args[-1], tuple) and any(isinstance(a, Obj) for a in args[-1]):
            # ``torch.empty(shape)`` with ``shape`` the tuple ``*shape`` took (``uniform_init(n, dim)``): each
            # element is one size, as in ``torch.empty(n, dim)``
            args = list(args[:-1]) + [tuple(self.as_size_sym(a) for a in args[-1])]
        return self.apply_shape_rule(q, tuple(args), kwargs, node, known=True, rule=rule)

    @staticmethod
    def cat_parts(parts, node) -> list:
        """The parts of a ``cat``, each a tensor (or the call raises), one the engine knows nothing of named after
        the variable that holds it (what it adds along the joined axis is named after it)."""
        elts = node.args[0].elts if node.args and isinstance(node.args[0], (ast.List, ast.Tuple)) \
            and len(node.args[0].elts) == len(parts) else [None] * len(parts)
        return [ANY_SHAPE.with_label(f"`{e.id}`" if isinstance(e, ast.Name) else None)
                if isinstance(p, Obj) or p is OPAQUE else p for p, e in zip(parts, elts)]

    def whole_number(self, v: Obj) -> bool:
        """``v``, an unknown object given alone to a tensor factory, is one size: a parameter (with no default or an
        int one) that the function reads as a whole number or that is named as sizes are, but never one it reads
        as a sequence (``len(shape)``); a name that says a shape (``normalized_shape``) only where the code reads
        it as a number (``(normalized_shape,)``). (A field of a config, ``torch.zeros(cfg.n_embd)``, is a size
        already.)"""
        name = v.name
        if "." in name or name not in self.size_params:
            return False
        numbers, sequences = per_node(self.mod.memo.whole_numbers, self.node, lambda: whole_number_params(self.node))
        if name in sequences:
            return False
        if "shape" in name.lower():
            # ``normalized_shape`` of a LayerNorm written out: one size where the code wraps it in a tuple itself
            return name in numbers
        return _WHOLE_NUMBER_NAME.fullmatch(name) is not None or name in numbers

    def _str_default(self, arg: ast.expr):
        """The string default of the parameter of this function that ``arg`` names and the function never
        rebinds (``module='LSTM'`` in ``getattr(nn, module)``), else None."""
        fn = self.node
        if not isinstance(arg, ast.Name) or not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        found = [d for p, d in param_defaults(fn) if p.arg == arg.id]
        if not (found and isinstance(found[0], ast.Constant) and type(found[0].value) is str):
            return None
        if any(isinstance(n, ast.Name) and n.id == arg.id and isinstance(n.ctx, ast.Store) for n in ast.walk(fn)):
            return None
        return found[0].value

    def grouped_channels(self, init: dict) -> None:
        """``nn.Conv2d(in_dim, dim, 3, groups=dim)``: both channel counts are multiples of the number of groups
        (PyTorch builds it only then), so a count named in code and the groups named in code may be one size
        (``in_dim`` and ``dim`` of a depthwise convolution): never distinct axes of each other."""
        groups = init.get("groups")
        g = groups.as_sym() if isinstance(groups, Expr) else None
        if g is None:
            return
        for key in ("in_channels", "out_channels"):
            c = init.get(key)
            s = c.as_sym() if isinstance(c, Expr) else None
            if s is not None and s != g:
                self.env.alike = self.env.alike | {frozenset((s.name, g.name))}

    def builtin(self, name, args, kwargs, node, state):
        if name == "getattr" and len(args) in (2, 3) and isinstance(args[0], QualRef) and not kwargs:
            attr = args[1] if type(args[1]) is str else self._str_default(node.args[1])
            if attr is not None and attr.isidentifier():
                # ``getattr(F, "gelu")``, ``getattr(nn, activation)`` with a name the analysis knows, or a
                # parameter's string default (``module='LSTM'``): that attribute of the library module
                return self.imported(f"{args[0].qualname}.{attr}")
        if name == "len" and args:
            v = args[0]
            if isinstance(v, tuple):
                return const(len(v))
            if isinstance(v, Shape):
                d = v.axis(0)
                return d if isinstance(d, Expr) else OPAQUE
            if isinstance(v, ListOf) and isinstance(v.length, Expr):
                return v.length
            return OPAQUE
        if name == "int" and args and isinstance(args[0], Expr):
            return args[0]
        if name == "int" and len(args) == 1 and isinstance(args[0], Obj) and "." not in args[0].name \
                and getattr(self.node, "name", None) == "__init__":
            # ``c_ = int(c2)`` of an unannotated constructor argument: a number, the size it names
            return self.as_size_sym(args[0])
        if name == "int" and len(node.args) == 1 and isinstance(node.args[0], ast.BinOp) \
                and isinstance(node.args[0].op, ast.Mult):
            # ``int(dim * mlp_ratio)`` with ``dim`` an unannotated argument: what ``int`` takes is a number,
            # so ``dim`` is a size, and ``dim * 4.0`` is ``4*dim``
            operands = [node.args[0].left, node.args[0].right]
            if all(isinstance(o, (ast.Name, ast.Attribute, ast.Constant)) for o in operands):
                values = [self.ev(o, state) for o in operands]
                if any(isinstance(v, Obj) for v in values) and any(isinstance(v, float) for v in values):
                    values = [self.as_size_sym(v) for v in values]
                    v = self.binop(node.args[0].op, values[0], values[1], node.args[0])
                    if isinstance(v, Expr):
                        return v
        if name == "float" and args and number(args[0]) is not None:
            return float(number(args[0]))
        if name == "sum" and args and sum_of(args[0]) is not None:
            return sum_of(args[0])
        if name in ("float", "abs", "round", "sum") and args and not isinstance(args[0], Shape):
            return SCALAR
        if name == "super":
            return OPAQUE
        if name in ("min", "max") and len(args) == 2 and all(isinstance(a, Expr) for a in args):
            a, b = args
            if a == b:
                return a
            return OPAQUE
        if name == "reveal_shape":
            return self.call_qual("shapecheck.reveal_shape", args, kwargs, node, state)
        if name == "reveal_type":  # the type checker's own reveal: a tensor's shape beside it, when asked
            if self.mod.settings.reveal_type and args and isinstance(args[0], Shape):
                return self.call_qual("shapecheck.reveal_shape", args, kwargs, node, state)
            return args[0] if args else OPAQUE
        if name == "map" and len(args) == 2 and isinstance(args[1], tuple) and len(args[1]) <= 16:
            # q, k, v = map(lambda t: rearrange(t, ...), qkv): each element is a tensor of its own
            return tuple(self.call_value(args[0], [own_tensor(x, f"map@{node.lineno}:{node.col_offset}/{i}")], {}, node, state)
                         for i, x in enumerate(args[1]))
        if name in ("tuple", "list") and args and isinstance(args[0], tuple):
            return args[0]
        if name in ("tuple", "list") and len(args) == 1 and isinstance(args[0], ListOf) and args[0].first is not None:
            return ListOf(args[0].elem, args[0].length, args[0].first)
        if name in ("zip", "enumerate") and args and not kwargs:
            z = _zipped(name, args)
            if z is OPAQUE and name == "enumerate" and len(args) == 1 and self.iter_elem(args[0]) is not OPAQUE:
                # ``for i, block in enumerate(self.blocks)``: the blocks in turn, each beside its index
                return ListOf((OPAQUE, self.iter_elem(args[0])))
            if z is OPAQUE and name == "zip" and all(isinstance(a, (tuple, ListOf, ModuleVal)) for a in args):
                # ``for lin, x in zip(self.linears, (query, key, value))``: each iteration takes one element of
                # each, as a loop over one of them does
                elems = tuple(self.iter_elem(a) for a in args)
                if any(e is not OPAQUE for e in elems):
                    return ListOf(elems)
            return z
        if name == "isinstance" and len(args) == 2 and isinstance(args[0], Expr) and len(node.args) == 2:
            # ``t if isinstance(t, tuple) else (t, t)`` with ``t`` a size: a size is an int
            return _size_isinstance(node.args[1])
        if name == "range" and 1 <= len(args) <= 3 and not kwargs:
            # ``for i in range(n)``: each element is a whole number (``w[:, i]`` picks one column, dropping the axis)
            return ListOf(SCALAR)
        return OPAQUE


# methods of a string that give a string, without options beyond strings
_STR_METHODS = frozenset({"lower", "upper", "casefold", "strip", "lstrip", "rstrip", "replace"})

# layers whose first two positional arguments fix the channels or features, however the other options are set:
# the options that change a size
_CONV_OPTIONS = frozenset({"kernel_size", "stride", "padding", "dilation", "groups"})
_OPTIONS_UNKNOWN = {"torch.nn.Conv1d": _CONV_OPTIONS, "torch.nn.Conv2d": _CONV_OPTIONS,
                    "torch.nn.Conv3d": _CONV_OPTIONS, "torch.nn.Linear": frozenset()}


def _unread_options(q: str, rule, args: list, kwargs: dict):
    """``nn.Conv2d(cin, cout, 3, stride=s)`` with ``s`` a value the engine cannot read (picked by a condition,
    ``s1, s3 = (stride, 1) if flag else (1, stride)``; a kernel made a pair by a helper, ``to_2tuple(patch_size)``):
    an option that changes the spatial sizes is an unknown size for each spatial axis (unknown groups for
    ``groups``), so the layer keeps its channels, as ``layer_with_unknown_options`` does."""
    names = list(rule.init.parameters)

    def unread(name, v):
        if v is not OPAQUE or name not in _OPTIONS_UNKNOWN[q]:
            return v
        return UNKNOWN if name == "groups" else (UNKNOWN,) * int(q[-2])  # one per spatial axis

    return [unread(names[i] if i < len(names) else "", v) for i, v in enumerate(args)], \
        {k: unread(k, v) for k, v in kwargs.items()}


# the nodes of a helper's call on sizes (``make_divisible(c // r, 8)``): names, literals, arithmetic
SIZE_TEXT_NODES = (ast.Call, ast.Name, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator,
                   ast.unaryop, ast.expr_context)


def _zipped(name: str, args):
    """``zip(dims[:-1], dims[1:])`` or ``enumerate(in_out)`` over lists whose first element is known: a list
    whose first element (what the first iteration of a loop over it takes) is known in part; OPAQUE
    when no list has a known first element."""
    if not any(isinstance(a, ListOf) and a.first is not None for a in args):
        return OPAQUE
    if name == "enumerate":
        a = args[0]
        if len(args) != 1 or not isinstance(a, ListOf):
            return OPAQUE
        # what a later element fits, beside its index (``kept_by_later``)
        rest = a.rest if a.rest is None or a.rest == ONLY_FIRST else (OPAQUE, a.rest)
        return ListOf((OPAQUE, a.elem), first=(const(0), a.first), rest=rest)
    firsts = []
    for a in args:
        f = first_of(a) if isinstance(a, (tuple, ListOf)) else None
        firsts.append(OPAQUE if f is None or f == EMPTY else f)
    # a later run takes one element of each (a list's element; unknown of a tuple, whose elements differ)
    return ListOf(tuple(a.elem if isinstance(a, ListOf) else OPAQUE for a in args), first=tuple(firsts))


def _grid_element(n):
    """``("size", 0)`` for ``size[0]`` (also ``self.size[0]``): an element, by a literal index, of a pair named by
    a variable or an attribute of ``self``; else None."""
    if not (isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and type(n.slice.value) is int
            and n.slice.value in (0, 1)):
        return None
    v = n.value
    if isinstance(v, ast.Name):
        return v.id, n.slice.value
    if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id == "self":
        return f"self.{v.attr}", n.slice.value
    return None


def _size_isinstance(cls_node):
    """``isinstance(size, tuple)``: False for ``tuple`` and ``list`` (and a tuple of those), which no size (nor
    a None standing in for one) is; OPAQUE for anything else."""
    names = cls_node.elts if isinstance(cls_node, ast.Tuple) else [cls_node]
    if not all(isinstance(n, ast.Name) and n.id in ("tuple", "list") for n in names):
        return OPAQUE
    return False


# tensor methods whose positional arguments are all sizes, given one by one or as one ``torch.Size``
_SPLICED_SIZE_METHODS = frozenset({"view", "reshape", "expand", "new_zeros", "new_ones", "new_empty"})
_EINOPS = frozenset({"einops.rearrange", "einops.reduce", "einops.repeat"})
# activation checkpointing: ``checkpoint(fn, *args)`` calls ``fn(*args)``; these keywords are its own
_CHECKPOINTS = frozenset({"torch.utils.checkpoint.checkpoint"})
_CHECKPOINT_OPTIONS = frozenset({"use_reentrant", "preserve_rng_state", "context_fn", "determinism_check", "debug"})
_LONG_DATA = frozenset({"torch.LongTensor", "torch.cuda.LongTensor", "torch.IntTensor", "torch.cuda.IntTensor"})
_INFERRED_DATA = frozenset({"torch.tensor", "torch.as_tensor"})  # the element type follows the literal's
# what gives back the layer it is given, its weight reparametrized (``weight_norm(nn.Conv1d(...))``)
_REPARAMETRIZED = frozenset(f"torch.nn.utils.{p}{f}" for p in ("", "parametrizations.")
                            for f in ("weight_norm", "spectral_norm")) | frozenset({
    "torch.nn.utils.remove_weight_norm", "torch.nn.utils.remove_spectral_norm",
    "torch.nn.utils.parametrizations.orthogonal"})
# the legacy constructors: given data (``torch.Tensor([[1, 2]])``) or sizes (``torch.Tensor(out, in, k, k)``)
_LEGACY = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor", "torch.cuda.FloatTensor"})
_FROM_DATA = _LONG_DATA | _INFERRED_DATA | _LEGACY
_FROM_ARRAY = frozenset({"torch.from_numpy"})  # always a tensor, never a size
_CATS = frozenset({"torch.cat", "torch.concat", "torch.concatenate"})
_BMM = frozenset({"torch.bmm"})  # both operands have three axes
_RESIZES = frozenset({"interpolate", "upsample", "upsample_bilinear", "upsample_nearest"})
_EINSUMS = frozenset({"torch.einsum", "torch.functional.einsum", "einops.einsum", "opt_einsum.contract"})


_GROUPED_CONVS = frozenset(f"torch.nn.Conv{k}d" for k in (1, 2, 3)) | \
    frozenset(f"torch.nn.ConvTranspose{k}d" for k in (1, 2, 3))


def _first_layer(m):
    """The library layer a module applies first to its input (itself, or a ``Sequential``'s first child)."""
    if not isinstance(m, ModuleVal):
        return None
    if m.rule is not None:
        return m
    if m.children:
        return _first_layer(m.children[0])
    return None


_ALL_TENSORS = frozenset({"torch.einsum", "torch.functional.einsum", "torch.matmul", "torch.mm", "torch.bmm",
                          "torch.baddbmm", "torch.addmm"})


_INPUT_PARAMS = frozenset({"input", "tensor", "x", "self", "a", "A", "x1", "query"})


def _tensor_operands(q: str, rule, args: list) -> list:
    """``F.softmax(x, ...)``, ``torch.matmul(q, k)``, ``torch.einsum(eq, q, k)``: an unknown object passed
    as a torch function's tensor input is a tensor (of unknown shape), or the call would raise."""
    if q in _ALL_TENSORS:
        return [ANY_SHAPE if isinstance(a, Obj) or a is OPAQUE else a for a in args]
    if not isinstance(args[0], Obj):
        return args
    first = next(iter(rule.signature.parameters), None) if rule.signature is not None else None
    if q.startswith("torch.nn.functional.") or first in _INPUT_PARAMS:
        return [ANY_SHAPE] + list(args[1:])
    return args


def _maybe_equal_names(fn) -> frozenset:
    """Names in ``fn`` assigned together with another name (``a = b = v``), from another name (``b = a``), or
    from the same expression as another name (``h = int(n ** 0.5)`` and ``w = int(n ** 0.5)``)."""
    out: set = set()
    by_value: dict = {}
    for st in ast.walk(fn):
        if not isinstance(st, ast.Assign) or isinstance(st.value, ast.Constant) and st.value.value is None:
            continue  # ``H = W = None``: no size (the view is reached where they are assigned sizes)
        names = [t.id for t in st.targets if isinstance(t, ast.Name)]
        if len(st.targets) > 1:
            out.update(names)
        if isinstance(st.value, ast.Name):
            out.update(names + [st.value.id])
        if len(names) == 1:
            by_value.setdefault(ast.dump(st.value), set()).add(names[0])
    for group in by_value.values():
        if len(group) > 1:
            out.update(group)
    return frozenset(out)


def _maybe_equal_locals(fn) -> frozenset:
    """The parameters of ``fn`` and the names it assigns that may hold the value of another name the code reads
    as a size: as :func:`_maybe_equal_names`, but a name stored into an attribute of ``self`` or of a local
    object (``config.encoder_width = vision_width``, the config then handed to a model the engine does not
    follow) stays a name of its own; stored into an attribute of a parameter (``cfg.width = width``), it may
    be read back as that config's field. A loop's variables, names assigned in a loop's body (``c_in =
    widths[i]`` takes each width in turn, the first of them a size the caller names), and names updated in
    place, are left out too."""
    a = fn.args
    params = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}
    out: set = set(params)
    by_value: dict = {}
    defaults = _number_defaults(fn)
    for loop in ast.walk(fn):
        if isinstance(loop, (ast.For, ast.AsyncFor, ast.While)):
            for st in loop.body + loop.orelse:
                for n in ast.walk(st):
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        out.add(n.id)
    for st in ast.walk(fn):
        if isinstance(st, (ast.For, ast.AsyncFor, ast.comprehension, ast.AugAssign, ast.NamedExpr, ast.withitem)):
            # a loop's variables take each element in turn (``for dec_in, dec_out in zip(chans[:-1], chans[1:])``
            # starts at a size the code names elsewhere); an updated or walrus-bound name is no one value
            target = st.optional_vars if isinstance(st, ast.withitem) else st.target
            if target is not None:
                out.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            continue
        if not isinstance(st, ast.Assign) or isinstance(st.value, ast.Constant) and st.value.value is None:
            continue
        names = [t.id for t in st.targets if isinstance(t, ast.Name)]
        shared = [t for t in st.targets if not isinstance(t, ast.Name) and not (
            isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id not in params - {"self"})]
        if len(names) + len(shared) > 1:
            out.update(names)
        if isinstance(st.value, ast.Name) and (names or shared):
            out.update(names + [st.value.id])
        if len(names) == 1 and len(st.targets) == 1:
            by_value.setdefault(ast.dump(st.value), set()).add(names[0])
            if _equal_by_default(st.value, defaults):
                out.add(names[0])
    for group in by_value.values():
        if len(group) > 1:
            out.update(group)
    return frozenset(out)


def _number_defaults(fn) -> dict:
    """``{parameter: number}`` of the parameters of ``fn`` with a literal int or float default, and of the names
    it copies one to (``cardinality = num_groups``)."""
    out = {p.arg: d.value for p, d in param_defaults(fn)
           if isinstance(d, ast.Constant) and type(d.value) in (int, float)}
    for st in fn.body:
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
                and isinstance(st.value, ast.Name) and st.value.id in out:
            out.setdefault(st.targets[0].id, out[st.value.id])
    return out


_ROUNDING = {"int": int, "round": round, "abs": abs}


def _equal_by_default(value, defaults: dict) -> bool:
    """Whether ``value``, arithmetic of names (``int(bottleneck_channels * (bottleneck_width / 64.)) *
    cardinality``), is one of the names it reads when the parameters take their defaults (``bottleneck_width=64``,
    ``cardinality=1``): the other names are given distinct values, and the result compared with theirs."""
    free = {}

    def ev(n):
        if isinstance(n, ast.Constant) and type(n.value) in (int, float):
            return n.value
        if isinstance(n, ast.Name):
            if n.id in defaults:
                return defaults[n.id]
            return free.setdefault(n.id, _PRIMES[len(free) % len(_PRIMES)])
        if isinstance(n, ast.BinOp) and type(n.op) in _ARITH:
            return _ARITH[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _ROUNDING and len(n.args) == 1 \
                and not n.keywords:
            return _ROUNDING[n.func.id](ev(n.args[0]))
        raise ValueError

    if not isinstance(value, (ast.BinOp, ast.Call)):
        return False
    try:
        result = ev(value)
    except (ValueError, ArithmeticError, TypeError):
        return False
    return len(free) <= len(_PRIMES) and result in free.values()


_PRIMES = (1009, 1013, 1019, 1021, 1031, 1033)
_ARITH = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
          ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b}


def _learn_sizes(node, before, after, state) -> None:
    """An unannotated variable given as a size (``torch.arange(0, dim, 2)``, ``torch.zeros(n, d)``) is a
    number from there on: ``arange(0, dim, 2).float() / dim`` divides by it and keeps the tensor's axes."""
    if not isinstance(node, ast.Call):
        return
    for a_node, was, now in zip(node.args, before, after):
        if isinstance(a_node, ast.Name) and isinstance(was, Obj) and isinstance(now, Expr) \
                and state.get(a_node.id) is was:
            state[a_node.id] = now


# tensor factories whose one argument may be one size or a list of them (``torch.ones(dim)``, ``torch.ones(shape)``)
_LONE_SIZE_FACTORIES = frozenset({"zeros", "ones", "empty", "rand", "randn", "new_zeros", "new_ones", "new_empty"})
# names that say a whole number: ``dim``, ``d_model``, ``hidden_dim``, ``num_classes``, ``n_embd``, ``channels``
_WHOLE_NUMBER_NAME = re.compile(
    r"(d|n|k|dim|dimension|width|channels|features|heads|[a-z0-9]+_(dim|channels|features|heads|classes|units)"
    r"|d_[a-z0-9_]+|dim_[a-z0-9_]+|n_[a-z0-9_]+|num_[a-z0-9_]+"
    r"|(hidden|embed|emb|vocab|batch|output|state|model|ffn|feature)_size)")
# layers whose positional sizes (and these keywords) must be whole numbers
_INT_SIZED_LAYERS = frozenset({"Linear", "Embedding", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
                               "ConvTranspose2d", "ConvTranspose3d", "GRU", "LSTM", "RNN", "GRUCell", "LSTMCell",
                               "RNNCell", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm",
                               "MultiheadAttention"})
_INT_SIZE_KEYWORDS = frozenset({"in_features", "out_features", "num_embeddings", "embedding_dim", "in_channels",
                                "out_channels", "input_size", "hidden_size", "num_features", "num_groups",
                                "num_channels", "embed_dim"})


def whole_number_params(fn) -> tuple:
    """``(numbers, sequences)``: the names ``fn``'s code reads as whole numbers (an operand of ``//``, ``%``, ``-``,
    ``**`` or a shift, of ``+``/``*``/``/`` beside a number, compared with an int, counted by ``range``, a size of
    a layer that takes ints, ``nn.Linear(dim, ...)``, one of several sizes of a factory, ``torch.zeros(n, 2)``, or
    the one element of a tuple, ``self.normalized_shape = (normalized_shape,)``), and those it reads as sequences
    (``len(shape)``, ``torch.Size(shape)``, ``tuple(shape)``, ``*shape``). Read once per function (the memo's
    ``whole_numbers``)."""
    found: set = set()
    sequences: set = set()

    def numeral(n) -> bool:
        return isinstance(n, ast.Constant) and type(n.value) in (int, float)

    for node in ast.walk(fn):
        picked: list = []
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, (ast.FloorDiv, ast.Mod, ast.Sub, ast.Pow, ast.LShift, ast.RShift)):
                picked = [node.left, node.right]
            elif isinstance(node.op, (ast.Add, ast.Mult, ast.Div)):
                picked = [o for o, other in ((node.left, node.right), (node.right, node.left)) if numeral(other)]
        elif isinstance(node, ast.Compare) and any(numeral(c) and type(c.value) is int
                                                   for c in [node.left, *node.comparators]):
            picked = [node.left, *node.comparators]
        elif isinstance(node, ast.Call):
            callee = last_name(node.func)
            if callee == "range" or callee in _INT_SIZED_LAYERS:
                picked = list(node.args[:2] if callee in _INT_SIZED_LAYERS else node.args)
                picked += [k.value for k in node.keywords if k.arg in _INT_SIZE_KEYWORDS]
            elif callee in _LONE_SIZE_FACTORIES and len(node.args) > 1:
                picked = list(node.args)
            if callee in ("len", "Size", "tuple", "list", "iter", "enumerate", "zip", "sum", "max", "min"):
                sequences.update(a.id for a in node.args if isinstance(a, ast.Name))
        elif isinstance(node, ast.Tuple) and len(node.elts) == 1:
            picked = list(node.elts)
        elif isinstance(node, ast.Starred) and isinstance(node.value, ast.Name):
            sequences.add(node.value.id)
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, ast.Name):
            sequences.add(node.iter.id)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            sequences.add(node.value.id)
        found.update(p.id for p in picked if isinstance(p, ast.Name))
    return frozenset(found), frozenset(sequences)


# ``nn.Module`` methods that give back the module itself (dtype casts keep the shapes)
_MODULE_SELF_METHODS = frozenset({"to", "cuda", "cpu", "eval", "train", "float", "double", "half", "bfloat16",
                                  "requires_grad_", "to_empty", "type"})


def literal_dims(node, depth: int = 0):
    """``([2, 3], all integers)`` for a rectangular nested list (or tuple) literal of numbers such as
    ``[[1, 2, 3], [4, 5, 6]]``, else None (an empty list, a name, a ragged nesting)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        if not node.elts or depth > 8:
            return None
        parts = [literal_dims(e, depth + 1) for e in node.elts]
        if any(p is None for p in parts) or any(p[0] != parts[0][0] for p in parts):
            return None
        return [len(node.elts)] + parts[0][0], all(p[1] for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return [], type(node.value) is int
    return None


# methods only a tensor has (NumPy's ``view`` takes a dtype, ``flatten`` an order, ``transpose`` every axis;
# ``split`` and ``to`` are also a string's and a batch encoding's)
_TORCH_ONLY = frozenset({"permute", "unsqueeze", "contiguous", "masked_fill", "masked_fill_", "expand", "expand_as",
                         "type_as", "softmax", "log_softmax", "chunk", "unbind", "narrow", "repeat_interleave",
                         "new_zeros", "new_ones", "new_full", "new_empty", "detach", "float", "half", "bfloat16"})
# methods NumPy also has, whose torch spelling is told by integer arguments (``view(b, -1)``, ``flatten(2)``,
# ``transpose(1, 2)``)
_TORCH_BY_SIZES = frozenset({"view", "flatten", "transpose"})


# NumPy's spelling: methods only an array has, and keywords only NumPy's methods take (``repeat(3, axis=2)``)
_NUMPY_ONLY = frozenset({"astype", "tile", "swapaxes"})
_NUMPY_KEYWORDS = frozenset({"axis", "axes", "keepdims", "order"})


def _numpy_spelling(name: str, kwargs) -> bool:
    """A method call on what may be a NumPy array, spelt as only NumPy's is."""
    return name in _NUMPY_ONLY or bool(_NUMPY_KEYWORDS & set(kwargs))


def _torch_only(name: str, args) -> bool:
    """A call of method ``name`` with ``args`` that only a torch tensor answers."""
    if name in _TORCH_ONLY:
        return True
    return name in _TORCH_BY_SIZES and bool(args) and all(isinstance(a, Expr) for a in args) \
        and (name != "transpose" or len(args) == 2)


def _defined_in(fn, outer) -> bool:
    """Is ``fn`` a function defined directly in the body of ``outer`` (not inside a class or another def)?"""
    return any(n is fn for n in own_nodes(getattr(outer, "body", [])))


def _is_identity(option) -> bool:
    """An ``nn.Identity()`` instance: applied, it hands its input on unchanged."""
    return isinstance(option, ModuleVal) and option.qualname == "torch.nn.Identity"


def _refined(old, new) -> bool:
    """``new`` is ``old`` with some of its unknown axes named since (by a read of its size), nothing else changed."""
    if not isinstance(old, Shape) or not isinstance(new, Shape) or old is new or len(old.dims) != len(new.dims) \
            or old.variadic_index != new.variadic_index:
        return False
    changed = False
    for a, b in zip(old.dims, new.dims):
        if a == b:
            continue
        if not isinstance(a, Unknown) or not isinstance(b, Expr):
            return False
        changed = True
    return changed


def equation_options(fstr: ast.JoinedStr, fn) -> tuple:
    """The strings an f-string can be (``f"b h i d, {kv_eq} -> b h i j"``) where each name it formats is bound in
    ``fn`` only to string literals or a choice of two (``kv_eq = 'b j d' if k.ndim == 3 else 'b h j d'``): at most
    eight, in order; empty when not of that form."""
    outs = [""]
    for part in fstr.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            outs = [o + part.value for o in outs]
            continue
        if not (isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) and part.conversion == -1
                and part.format_spec is None):
            return ()
        values = _string_values(part.value.id, fn)
        if not values or len(outs) * len(values) > 8:
            return ()
        outs = [o + v for o in outs for v in values]
    return tuple(dict.fromkeys(outs))


def _string_values(name: str, fn) -> list:
    """The string literals ``name`` is bound to in ``fn`` (a literal, or ``a if t else b`` of two); empty when it is
    bound otherwise anywhere in ``fn`` (a parameter, a loop, an augmented assignment)."""
    if fn is None:
        return []
    params = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)} if hasattr(fn, "args") else set()
    if name in params:
        return []
    values: list = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign):
            targets = n.targets
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr)):
            targets = [n.target]
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            if any(isinstance(t2, ast.Name) and t2.id == name for t in targets for t2 in ast.walk(t)):
                return []  # unpacked into, among others
            continue
        if not isinstance(n, ast.Assign) or len(n.targets) != 1:
            return []
        v = n.value
        branches = [v.body, v.orelse] if isinstance(v, ast.IfExp) else [v]
        if not all(isinstance(b, ast.Constant) and isinstance(b.value, str) for b in branches):
            return []
        values += [b.value for b in branches]
    return list(dict.fromkeys(values))


# a class or factory named for a convolution block (``ConvBNReLU``, ``_ConvBNPReLU``, ``Conv2dReLU``, ``BasicConv2d``,
# yolov5's ``Conv``, ``DoubleConv``, ``conv3x3``); not a recurrent cell, a whole network, a patch embedding or a
# block that keeps its width
_CONV_BLOCK_NAME = re.compile(r"(?:Conv|^_?conv)")
_NOT_CONV_BLOCK = re.compile(r"LSTM|GRU|RNN|Net|Next|Former|Mixer|Embed|Attention|Stem|Head|Encoder|Decoder", re.I)
# a class named for a norm layer (``LayerNorm``, ``LayerNorm2d``, ``RMSNorm``, ``GroupNorm32``, ``ChanLayerNorm``,
# ``AdaLayerNorm``): not a wrapper that applies another module (``PreNorm``), nor a function (``layer_norm``)
_NORM_BLOCK_NAME = re.compile(r"_?(?:[A-Z][A-Za-z0-9]*)?(?:Layer|Group|RMS|Rms|Instance|Chan|Channel)Norm"
                              r"(?:[123][dD]|32|Fp32|Nd)?")
_IN_KEYS = ("in_channels", "in_ch", "in_chs", "in_planes", "inplanes", "inp", "c1", "in_dim", "ch_in", "cin")
_OUT_KEYS = ("out_channels", "out_ch", "out_chs", "out_planes", "planes", "oup", "c2", "out_dim", "ch_out", "cout")


def _conv_block_name(name: str) -> bool:
    return bool(_CONV_BLOCK_NAME.search(name)) and not _NOT_CONV_BLOCK.search(name)


def conv_block_sizes(q: str, args, kwargs: dict, node):
    """``(in_channels, out_channels)`` of a call that builds a convolution block the analysis cannot read:
    a name that says a convolution (``_CONV_BLOCK_NAME``), its first two arguments (or their keywords) two
    channel counts; not ``(channels, kernel)``, a literal kernel size after a named count. Else None."""
    if not _conv_block_name(q.rsplit(".", 1)[-1]):
        return None
    pos = list(args[:2])
    nodes = list(node.args[:2]) if isinstance(node, ast.Call) else []
    if any(isinstance(n, ast.Starred) for n in nodes):
        return None
    if nodes and isinstance(nodes[0], (ast.List, ast.Tuple)) and isinstance(pos[0], (list, tuple)) \
            and len(pos[0]) == len(nodes[0].elts) >= 2 and all(isinstance(c, (Expr, Obj)) for c in pos[0]) \
            and not any(isinstance(e, ast.Starred) for e in nodes[0].elts):
        # ``BasicConv([in_channels * 2, out_channels], act, norm)``: a stack of convolutions given the channel counts
        # it goes through, in order (a point-cloud ``SharedMLP([3, 64, 128])``): it reads the first, gives the last
        return pos[0][0], pos[0][-1]
    if len(pos) < 2:  # ``ConvBlock(in_ch=c, out_ch=2 * c)``
        inn = next((kwargs[k] for k in _IN_KEYS if k in kwargs), None) if not pos else pos[0]
        pos = [inn, next((kwargs[k] for k in _OUT_KEYS if k in kwargs), None)]
    a, b = pos
    if not (isinstance(a, Expr) and isinstance(b, Expr)):
        return None
    if b.value is not None and b.value <= 7 and a.value is None:
        return None  # ``SeparableConv(channels, 3)``: a kernel size after the channels
    for n in nodes:
        text = ast.unparse(n).lower()
        if any(w in text for w in ("kernel", "stride", "size", "pad")):
            return None
    return a, b


def _agreed_state(state: dict, states: list) -> None:
    """Into ``state``, what every option of a choice left in its own copy of it: a variable the options narrow
    alike (``h`` applied to ``Linear(d, .)`` or ``LayerNorm(d)``) learns it, one they narrow apart (a key's
    layer built for the encoder's width under a flag, for the model's otherwise) keeps what it held."""
    for k in set().union(*states) if states else ():
        vals = [s.get(k) for s in states]
        first = vals[0]
        if all(v is first or (type(v) is type(first) and v == first) for v in vals[1:]):
            if first is None:
                state.pop(k, None)
            else:
                state[k] = first

