"""Shape rules applied at a call: arguments prepared, the op's rule run, its findings reported.

The rules themselves live in ``shapecheck._core._ops`` (pure functions over shapes); this room adapts
the engine's values to them (sizes from code, size lists, einops patterns, a leading ``...``) and
turns what a rule records on its ``Site`` into diagnostics.
"""

from __future__ import annotations

import ast
import re

from .._core._algebra import Expr, Sym, sym
from .._core._ops import lookup
from .._core._ops._facts import DIM_PARAMS, SIZE_PARAMS, is_pattern_op, is_view, takes_size_list
from .._core._ops._registry import OPAQUE, Site, as_int
from .._core._ops._util import batched, sizes_arg
from .._core._unify import INFERRED_GROUP
from .._core._wording import op_name
from .._core._shape import ANY_SHAPE, UNKNOWN, Shape, Unknown, Variadic
from ._values import Obj
from ._common import after_error, sanitize
from ._dtypes import INDICES_SECOND, result_dtype
from ._narrow import PIECE_OPS, tag_pieces


class ShapeRules:
    """The shape-rule room of :class:`~._walk.FunctionAnalysis`."""

    recorder = None  # an observer (``shapecheck graph``): ``op(node, name, args, kwargs, result, problems)``

    def apply_shape_rule(self, q: str, args: tuple, kwargs: dict, node, known: bool = True, rule=None, init=None,
                   module_q=None):
        rule = rule or lookup(q)
        if rule is None:
            return OPAQUE
        dtype = result_dtype(q, tuple(args), kwargs)
        if q == "torch.reshape" and args and not isinstance(args[0], Shape):
            # ``torch.reshape(t, sizes)`` of a tensor the engine lost has the sizes given, as
            # ``t.reshape(sizes)`` has
            args = (ANY_SHAPE,) + tuple(args[1:])
        args, kwargs = self.size_arguments(rule, args, kwargs)
        args = tuple(sanitize(a) for a in args)
        kwargs = {k: sanitize(v) for k, v in kwargs.items()}
        sizes = list(args[1 if q.startswith("torch.Tensor.") else 0:])
        if takes_size_list(q) and not (q in _FACTORIES and len(args) > 1) and not (
                q in _RESHAPES and _one_size_each(sizes, kwargs)) and any(
                v is OPAQUE or (isinstance(v, tuple) and any(x is OPAQUE for x in v))
                for v in sizes + [kwargs[k] for k in ("size", "shape", "dims", "sizes") if k in kwargs]):
            # a size list we could not evaluate (``x.view(new_shape)``): the result's shape is unknown
            return ANY_SHAPE
        site = Site((op_name(q) or rule.display) if not module_q else module_q.rsplit(".", 1)[-1], self.env, self.where(node))
        if is_pattern_op(q) and len(args) >= 2:
            args = (_expand_for_pattern(args[0], args[1]),) + tuple(args[1:])
        if init is None and args and _nonnegative_dim(rule, args, kwargs) and batched(args[0]) is not args[0] \
                and not _batch_of_one(q, args, kwargs):
            # ``torch.flatten(y, 1)``, ``y.mean(1)`` on a convolution's output of unknown rank: axis 0 is its batch
            args = (batched(args[0]),) + tuple(args[1:])
        source = args[0] if args else None  # before a leading "..." stands in as one axis
        lead = _leading_variadic_call(rule, args, kwargs) if init is None else None
        if lead is not None:
            args = (lead,) + tuple(args[1:])
        try:
            result = rule.apply(site, args, kwargs, init)
            if lead is not None:
                result = _restore_variadic(result, args[0])
        except Exception:  # a rule must never take the analysis down; unknown instead
            if self.mod.strict:
                raise
            result = None
        upstream = after_error(args) | after_error(tuple(kwargs.values()))
        # a torch layer takes only a tensor: what reaches it through an unknown object's own methods
        # (``images.reshape(-1, 784)`` of a data loader's batch) was a tensor all along, if the call runs, and
        # is shaped as torch shapes it; not so a value mixed with such a one (``x + table`` broadcasts to what
        # the unknown ``table`` really is)
        layer_input = init is not None and module_q and args and isinstance(args[0], Shape) \
            and not args[0].get_meta("mixed")
        checked = args[1:] if layer_input else args
        unverified = any(isinstance(a, Shape) and a.get_meta("unverified") for a in checked)
        if unverified:
            known = False  # inferred from a value that may not be a tensor: never reported
            if isinstance(result, Shape):
                mixed = any(isinstance(a, Shape) and (a.get_meta("mixed") or not a.get_meta("unverified"))
                            for a in args)
                result = result.with_meta(unverified=True, mixed=True) if mixed else result.with_meta(unverified=True)
        if known and self.reporting and site.problems:
            # read only where the call failed: ``layer_given_what_came_in`` walks the function's code
            state_operand = self.depth > 0 and self.self_val is not None and (any(
                isinstance(a, Shape) and ((a.label or "").startswith("`self.") or a.get_meta("module_state"))
                for a in args) or _reads_module_tensor(node, self.node) or layer_input and self.layer_given_what_came_in(node))
            for p in site.problems:
                if p.code not in upstream:  # the same error again, as a consequence of one reported upstream
                    self.diag(node, p.code, p.message, p.notes, p.help)
                    if state_operand and self.diags:
                        self.module_fit.append(self.diags[-1])
        if is_view(q) and isinstance(result, Shape) and not site.problems:
            result = _name_inferred_size(q, args, kwargs, result, node)
        if known and is_view(q) and isinstance(result, Shape) and args and isinstance(args[0], Shape) \
                and not site.problems:
            if self.check_reshape_order(args[0], result, node):
                result = result.with_meta(reinterpreted=True)
        elif q == "torch.Tensor.__getitem__" and isinstance(result, Shape) and args \
                and isinstance(args[0], Shape) and args[0].get_meta("reinterpreted"):
            result = result.with_meta(reinterpreted=True)  # a slice of reinterpreted memory stays so
        if site.problems and isinstance(result, Shape):
            # the operation failed: its value is unknown downstream, so the one bug is reported once
            result = ANY_SHAPE.with_label(result.label)
        if result is None and known and not site.problems:
            result = _unlocated_pieces(q, args, kwargs)
        if result is None:
            result = OPAQUE
        elif q in PIECE_OPS and not site.problems:
            result = tag_pieces(q, (source,) + tuple(args[1:]), kwargs, result,
                                f"{self.qualname}:{node.lineno}:{node.col_offset}")
        if dtype is not None and isinstance(result, Shape):
            result = result.with_meta(dtype=dtype)
        if q in INDICES_SECOND and isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Shape):
            result = (result[0], result[1].with_meta(dtype="long"))  # ``values, indices = x.topk(k)``
        if self.recorder is not None:
            self.recorder.op(node, site.op, args, kwargs, result, tuple(site.problems) if known else ())
        return self.run_lint_rules(module_q or q, node, args, kwargs, result, init,
                              problems=frozenset(p.code for p in site.problems) if known else frozenset())

    def layer_given_what_came_in(self, node) -> bool:
        """``self.conv(x)`` in a module called as a layer, where ``x`` is what the module was given (a
        parameter, through views and pools but through none of the module's own layers or methods) and
        the layer was built for the module's input: its first constructor argument is no size the
        module computes (``hidden``, ``out_...``, ``planes``). What such a layer finds wrong with its
        input, the module was given: the module is right and its caller gave it what it was not built
        for. A layer built from a computed size (``nn.Linear(hidden, dim)`` first) is the module's own
        mistake, and stays the module's; so is a layer built against the order of the module's own sizes
        (``nn.Conv2d(c_out, c_in)`` in a module built with ``(c_in, c_out)``: it takes in what the module
        names after what it gives)."""
        attr, appended = _self_layer(node), False
        if attr is None:
            # ``for l in self.conv: x = l(x)``: the layers of a ``nn.ModuleList`` in turn, the first of
            # them (``self.conv.append(nn.Conv2d(in_channels, ...))``) meeting what came in
            attr, appended = _looped_layer(self.node, node), True
        if attr is None or not node.args or self.self_val is None:
            return False
        if not _came_in(self.node, node.args[0], node.lineno):
            return False
        init = self.self_val.cls.find_method("__init__")
        if init is None:
            return False
        built = _first_appended(init[0], attr) if appended else _constructor_call(init[0], attr)
        if built is None:
            return False
        sizes = _size_args(built)
        first = sizes[0]
        if len(sizes) > 1 and _against_signature(init[0], first, sizes[1]):
            return False
        if isinstance(first, ast.Constant):
            # ``nn.Conv2d(3, 64)`` in a module that takes no sizes is built for its input; in one built
            # with ``in_channels``, a literal first is the module's own choice (or its mistake)
            a = init[0].args
            return len(a.posonlyargs) + len(a.args) <= 1 and not a.kwonlyargs and not a.vararg and not a.kwarg
        if not isinstance(first, (ast.Name, ast.Attribute)):
            return False
        words = re.split(r"[^a-z]+", ast.unparse(first).lower())
        return not any(w.startswith(_COMPUTED_SIZE_WORDS) for w in words if w and w != "self")

    def size_arguments(self, rule, args, kwargs):
        """Unknown objects passed where the op takes a size (``split(self.n_embd)`` with ``n_embd`` an
        unannotated constructor argument), or in a list of sizes there (``split([self.key_dim, self.key_dim,
        self.d], dim=3)``), are sizes from code."""
        if not any(_holds_obj(a) for a in list(args[1:]) + list(kwargs.values())):
            return args, kwargs
        bound = rule.bind(tuple(args), kwargs)
        if bound is None:
            return args, kwargs
        names = list(bound.arguments)
        args = list(args)
        for i, a in enumerate(args):
            if i > 0 and i < len(names) and names[i] in SIZE_PARAMS:
                args[i] = self.as_sizes(names[i], a)
        kwargs = {k: self.as_sizes(k, v) if k in SIZE_PARAMS else v for k, v in kwargs.items()}
        return tuple(args), kwargs

    def as_sizes(self, param: str, v):
        """``v`` given for the size parameter ``param``: an unknown object a size from code, and each one of the
        list of sizes ``split`` takes."""
        if isinstance(v, (list, tuple)) and param in ("split_size_or_sections", "split_size"):
            return type(v)(self.as_size_sym(x) for x in v)
        return self.as_size_sym(v)


def _holds_obj(v) -> bool:
    """An unknown object, or a list or tuple holding one."""
    return isinstance(v, Obj) or isinstance(v, (list, tuple)) and any(isinstance(x, Obj) for x in v)


# ``torch.randn(1, n, d)``: more than one argument, each is one axis (an unknown one an axis of unknown size)
_FACTORIES = frozenset({"torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn"})
_RESHAPES = frozenset({"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"})


def _name_inferred_size(q: str, args: tuple, kwargs: dict, result: Shape, node) -> Shape:
    """``y.view(b, -1, heads, d)`` of a tensor whose size is unknown: the ``-1`` is one axis of the result, of
    a size no other axis of it has, so it is a size of its own (``-1@67``, a sibling of nothing: it binds to
    what it meets), not unknown. A later view can then tell that it moved across ``heads``."""
    given = dict(kwargs)
    shape = given.get("shape", given.get("size"))
    sizes = sizes_arg((shape,) if shape is not None else tuple(args[1:]))
    if sizes is None or len(sizes) != result.rank or sizes.count(-1) != 1:
        return result
    k = sizes.index(-1)
    if not isinstance(result.dims[k], Unknown) or any(isinstance(d, Unknown) for i, d in enumerate(result.dims)
                                                      if i != k):
        return result
    line = getattr(node, "lineno", 0)
    fresh = sym(f"-1@{line}", f"{INFERRED_GROUP}{line}:{getattr(node, 'col_offset', 0)}")
    return Shape(result.dims[:k] + (fresh,) + result.dims[k + 1:], result.origins, result.label, result.meta)


def _one_size_each(sizes: list, kwargs: dict) -> bool:
    """Are the sizes of a reshape written one by one (``view(B, C, H, W)``, ``reshape(x, (B, -1))``), so that
    an unknown one is one unknown size and not a whole sequence of them?"""
    if kwargs or not sizes:
        return False
    if len(sizes) == 1:
        return isinstance(sizes[0], tuple) and len(sizes[0]) >= 1
    return not any(isinstance(v, tuple) for v in sizes)


def _expand_for_pattern(x, pattern):
    """``rearrange(t, "b n (h d) -> ...")`` on ``"... e"``: a pattern without ``...`` fixes the rank."""
    if not isinstance(x, Shape) or not isinstance(pattern, str) or x.variadic_index != 0 or "->" not in pattern:
        return x
    lhs = pattern.split("->", 1)[0]
    if "..." in lhs:
        return x
    depth = 0
    count = 0
    for tok in lhs.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            if depth == 0:
                count += 1
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0:
            count += 1
    k = count - (len(x.dims) - 1)
    if k < 0:
        return x
    origins = ((None,) * k + tuple(x.origins[1:])) if x.origins else ()
    return Shape((UNKNOWN,) * k + tuple(x.dims[1:]), origins, x.label, x.meta)


def _reads_module_tensor(node, fn=None) -> bool:
    """Is an operand of this operation a tensor of the module, seen through an index or a view
    (``self.weight[:, None, None] * x``, ``x * self.g.view(1, -1, 1, 1)``), or a name the function ``fn`` binds
    only to such a tensor or to products of it (``weight = self.weight``, then ``weight = weight * self.scale``
    under a flag, then ``F.linear(x, weight)``)?"""
    state_names = _state_names(fn) if fn is not None else frozenset()
    if isinstance(node, ast.BinOp):
        operands = [node.left, node.right]
    elif isinstance(node, ast.Call):
        operands = list(node.args) + ([node.func.value] if isinstance(node.func, ast.Attribute) else [])
    else:
        return False
    for e in operands:
        while True:
            if isinstance(e, ast.Subscript):
                e = e.value
            elif isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _VIEWS:
                e = e.func.value
            else:
                break
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
            return True
        if isinstance(e, ast.Name) and e.id in state_names:
            return True
    return False


def _state_names(fn) -> frozenset:
    """The names ``fn`` binds only to a tensor of the module (``self.weight``) or to a product of such a name with
    another (``weight * self.weight_scaler.unsqueeze(-1)``)."""
    binds: dict = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            binds.setdefault(n.targets[0].id, []).append(n.value)
        elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
            for t in ast.walk(n):
                if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store):
                    binds.setdefault(t.id, []).append(None)

    def state(e, name) -> bool:
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
            return True
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
            return any(isinstance(o, ast.Name) and o.id == name for o in (e.left, e.right))
        return False

    return frozenset(name for name, values in binds.items()
                     if any(v is not None and isinstance(v, ast.Attribute) for v in values)
                     and all(v is not None and state(v, name) for v in values))


_COMPUTED_SIZE_WORDS = ("out", "hidden", "inner", "mid", "planes", "width", "expan", "bottleneck", "reduc",
                        "squeeze", "ff", "proj", "inter")


def _self_layer(node) -> str | None:
    """The attribute of the module's own layer applied here (``conv`` of ``self.conv(x)``), else None."""
    return _self_attr(node.func) if isinstance(node, ast.Call) else None


def _self_attr(e) -> str | None:
    """``conv`` of ``self.conv``, else None."""
    if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self":
        return e.attr
    return None


def _looped_layer(fn, node) -> str | None:
    """``layers`` of ``l(x)`` in ``for l in self.layers:`` of ``fn``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    for st in ast.walk(fn):
        if isinstance(st, ast.For) and isinstance(st.target, ast.Name) and st.target.id == node.func.id \
                and _self_attr(st.iter) is not None \
                and any(n is node for b in st.body for n in ast.walk(b)):
            return st.iter.attr
    return None


def _first_appended(init: ast.FunctionDef, attr: str):
    """The layer ``self.<attr>.append(nn.X(first, ...))`` appends first in ``__init__`` (the same in each
    branch: ``nn.Conv2d(c_in, c_out, k)`` or ``nn.Conv2d(c_in, c_out, k, bias=False)``), else None."""
    calls = [n.args[0] for n in ast.walk(init) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "append" and len(n.args) == 1 and isinstance(n.args[0], ast.Call)
             and _self_attr(n.func.value) == attr]
    if not calls:
        return None
    calls.sort(key=lambda c: (c.lineno, c.col_offset))
    kind = ast.unparse(calls[0].func)
    same = [c for c in calls if ast.unparse(c.func) == kind]
    firsts = {ast.unparse(_size_args(c)[0]) if _size_args(c) else None for c in same}
    if len(firsts) != 1 or None in firsts or isinstance(_size_args(calls[0])[0], ast.Starred):
        return None
    return calls[0]


def _constructor_call(init: ast.FunctionDef, attr: str):
    """The one construction ``self.<attr> = nn.X(first, ...)`` in ``__init__``, else None (built
    elsewhere, twice, or with its sizes given neither by position nor by their keywords)."""
    found = []
    for st in ast.walk(init):
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Attribute) \
                and isinstance(st.targets[0].value, ast.Name) and st.targets[0].value.id == "self" \
                and st.targets[0].attr == attr:
            found.append(st.value)
    if len(found) != 1 or not isinstance(found[0], ast.Call) or not _size_args(found[0]) \
            or isinstance(_size_args(found[0])[0], ast.Starred):
        return None
    return found[0]


def _size_args(call: ast.Call) -> list:
    """The first two arguments of a layer's construction, given by position or as its sizes' keywords
    (``nn.Conv1d(in_channels=c_in, out_channels=c_out, ...)``)."""
    if call.args:
        return list(call.args[:2])
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    for first, second in (("in_channels", "out_channels"), ("in_features", "out_features")):
        if first in kw:
            return [kw[first]] + ([kw[second]] if second in kw else [])
    return []


def _against_signature(init: ast.FunctionDef, takes, gives) -> bool:
    """Do a layer's input size ``takes`` and output size ``gives`` name two parameters of ``__init__``, the
    one it takes after the one it gives (``Conv2d(c2, c1)`` in ``__init__(self, c1, c2)``)?"""
    if not (isinstance(takes, ast.Name) and isinstance(gives, ast.Name)) or takes.id == gives.id:
        return False
    a = init.args
    order = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    return takes.id in order and gives.id in order and order.index(takes.id) > order.index(gives.id)


def _came_in(fn, expr, line: int) -> bool:
    """Is ``expr`` (at ``line`` of ``fn``) what ``fn`` was given: its parameters, through local names and
    operations but through no call on ``self`` (the module's layers and methods)?"""
    a = fn.args
    params = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs} - {"self"}
    stores = [st for st in ast.walk(fn) if isinstance(st, (ast.Assign, ast.AugAssign, ast.AnnAssign))
              and st.lineno < line]
    local = set(params) | {n.id for st in ast.walk(fn) for n in ast.walk(st)
                           if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    fresh = set(params)

    def clean(e) -> bool:
        for n in ast.walk(e):
            if isinstance(n, ast.Call):
                root = n.func
                while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                    root = root.func if isinstance(root, ast.Call) else root.value
                if isinstance(root, ast.Name) and root.id == "self":
                    return False
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in local and n.id not in fresh:
                return False
        return True

    for st in sorted(stores, key=lambda s: (s.lineno, s.col_offset)):
        if st.value is None:
            continue
        ok = clean(st.value) and (not isinstance(st, ast.AugAssign) or clean(st.target))
        targets = st.targets if isinstance(st, ast.Assign) else [st.target]
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    (fresh.add if ok else fresh.discard)(n.id)
    return clean(expr)


_VIEWS = frozenset({"view", "reshape", "unsqueeze", "expand", "expand_as", "to", "type", "float", "type_as"})


_LEAD = Sym("__leading_axes__", "code")


def _leading_variadic_call(rule, args, kwargs):
    """``x.chunk(3, dim=-1)`` on ``"... d"``: when every dim argument counts from the end, the op only
    touches the known trailing axes, so the leading ``...`` can stand in as one placeholder axis."""
    if not args or not isinstance(args[0], Shape):
        return None
    x = args[0]
    if x.variadic_index != 0 or len(x.dims) < 2 or x.dims[0] != Variadic(None):
        return None
    bound = rule.bind(args, kwargs)
    if bound is None:
        return None
    dims = [v for k, v in bound.arguments.items() if k in DIM_PARAMS]
    if not dims:
        return None
    flat = []
    for v in dims:
        flat.extend(v if isinstance(v, tuple) else [v])
    m = len(x.dims) - 1
    for v in flat:
        iv = v.value if isinstance(v, Expr) else (v if isinstance(v, int) and not isinstance(v, bool) else None)
        if iv is None or not -m <= iv < 0:
            return None
    placeholder = Expr(((((_LEAD, 1),), 1),))
    return Shape((placeholder,) + x.dims[1:], x.origins, x.label, x.meta)


def _batch_of_one(q: str, args, kwargs) -> bool:
    """``x.unsqueeze(0)``: a new leading axis, the idiom that makes a batch of one of an unbatched tensor; it
    reads no axis of ``x``, so a convolution's output of unknown rank is not read batched there."""
    if q not in ("torch.unsqueeze", "torch.Tensor.unsqueeze"):
        return False
    return as_int(kwargs.get("dim", args[1] if len(args) > 1 else None)) == 0


def _nonnegative_dim(rule, args, kwargs) -> bool:
    """Does the call name an axis by a non-negative index (``dim=1``, ``start_dim=1``, ``permute(0, 2, 3, 1)``)?"""
    if not isinstance(args[0], Shape):
        return False
    bound = rule.bind(args, kwargs)
    if bound is None:
        return False
    for k, v in bound.arguments.items():
        if k not in DIM_PARAMS:
            continue
        for x in v if isinstance(v, tuple) else (v,):
            iv = x.value if isinstance(x, Expr) else (x if isinstance(x, int) and not isinstance(x, bool) else None)
            if iv is not None and iv >= 0:
                return True
    return False


def _restore_variadic(result, lead: Shape):
    if isinstance(result, tuple):
        out = tuple(_restore_variadic(r, lead) for r in result)
        return None if any(r is None and o is not None for r, o in zip(out, result)) else out
    if not isinstance(result, Shape):
        return result
    dims = list(result.dims)
    if not dims or dims[0] != lead.dims[0] or any(_LEAD in d.symbols() for d in dims[1:] if isinstance(d, Expr)):
        return None
    return Shape((Variadic(None),) + tuple(dims[1:]), result.origins, result.label, result.meta)


_CHUNKS = frozenset({"torch.chunk", "torch.Tensor.chunk"})
_SPLITS = frozenset({"torch.split", "torch.Tensor.split"})


def _unlocated_pieces(q: str, args: tuple, kwargs: dict):
    """``shift, scale = self.ada(c).chunk(2, dim=1)`` of a tensor of unknown rank whose axis the rule cannot
    locate (or ``split`` into listed sizes): as many tensors as the call makes if the code runs (the targets that
    unpack them must match), each of a shape unknown here; not unknown objects, so what they meet is checked.
    None for anything else (the shape rules themselves never guess a number of pieces)."""
    if not args or not isinstance(args[0], Shape) or args[0].is_any or args[0].rank is not None:
        return None
    second = args[1] if len(args) > 1 else kwargs.get("chunks", kwargs.get("split_size_or_sections",
                                                                         kwargs.get("split_size")))
    n = as_int(second) if q in _CHUNKS and not isinstance(second, bool) else None
    if n is not None and 0 < n <= 8:
        return (ANY_SHAPE,) * n
    if q in _SPLITS and isinstance(second, (tuple, list)) and 0 < len(second) <= 8:
        return (ANY_SHAPE,) * len(second)
    return None
