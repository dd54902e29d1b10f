"""Shape variables: an unannotated tensor learns its axes from how the code reads them.

A parameter with no annotation starts as an object of unknown shape. Reading one of its axes
(``x.shape[0]``, ``x.size(-1)``) names that axis — after the variable the size is assigned to
(``b = x.shape[0]`` names it ``b``), else after its position (``x[0]``) — and narrows the variable,
as if the user had unpacked it: later reads give the same axis, and every use of ``x`` sees it.

Axes read from one tensor are distinct axes of that tensor (kind ``dim:<group>``). Axes counted
from the front and from the end of a tensor of unknown rank may be the same axis, so the two
directions are two groups: only axes read in the same direction are siblings.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .._core._algebra import Expr, Sym, const, provably_distinct, sym
from .._core._ops.einsum import left_groups, operand_terms
from .._core._ops.conv import CONV_BLOCK
from .._core._ops._registry import OPAQUE
from .._core._ops._util import CONV_LEAD, batch_then_channels, batched
from .._core._shape import ANY_SHAPE, UNKNOWN, Shape, Unknown, Variadic
from .._core._unify import CALL_AXIS_GROUP
from .._core._roles import RoleOrigin
from ._common import literal_int
from ._memo import per_node
from ._values import ClassRef, ModuleVal, Obj

_GROUP = "svar"


def own_tensor(v, group: str):
    """``v`` as one tensor among others: a tensor not yet known to be one (no axes read from it) passed
    to a lambda, whose body reads its axes (``lambda t: t[:, :n]``), has axes of its own, siblings of
    one another but not of another call's (``map(..., (q, k))``: ``q``'s first axis is not ``k``'s)."""
    if isinstance(v, Shape) and v.get_meta(_GROUP) is None:
        return v.with_meta(**{_GROUP: group})
    return v


def tensor_var(node) -> str | None:
    """The variable whose tensor ``node`` reads: ``x``, also through ``x.data`` (the same tensor, its data
    outside autograd: ``nB = output.data.size(0)`` reads an axis of ``output``)."""
    while isinstance(node, ast.Attribute) and node.attr == "data":
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# ``q, k, v = x.chunk(3, dim=-1)`` on ``x`` of unknown rank: the pieces have one rank, whatever it is
PIECE_OPS = frozenset({"torch.split", "torch.Tensor.split", "torch.Tensor.split_with_sizes", "torch.split_with_sizes",
                       "torch.chunk", "torch.Tensor.chunk", "torch.unbind", "torch.Tensor.unbind"})
_PIECES = "pieces"  # meta key: (the call that split them, the pieces' axes as it made them)


def tag_pieces(q: str, args: tuple, kwargs: dict, result, call: str):
    """The pieces a split of a tensor of unknown rank gives (``split``, ``chunk``, ``unbind``), each marked
    as one of that call's pieces: when the code fixes one piece's rank (``rearrange(q, "b n (h d) -> ...")``),
    the others have it too, and every axis but the one split (:meth:`Narrowing.share_rank`)."""
    source = args[0] if args else None
    if not (isinstance(source, Shape) and source.rank is None and isinstance(result, tuple)
            and len(result) > 1 and all(isinstance(p, Shape) and p.rank is None for p in result)):
        return result
    unbind = q.endswith("unbind")
    dim = kwargs.get("dim", args[1 if unbind else 2] if len(args) > (1 if unbind else 2) else 0)
    split = None if unbind else (dim.value if isinstance(dim, Expr) else dim if type(dim) is int else UNKNOWN)
    return tuple(p.with_meta(**{_PIECES: (call, p.dims, split)}) for p in result)


# the kind of an axis a pattern named: ``dim:einops:<pattern>:<name>@<function>``
_PATTERN_KIND = "dim:einops:"  # meta key: the group name of the variable's axes


class Narrowing:
    """The shape-variable room of :class:`~._walk.FunctionAnalysis`."""

    axis_name_hint: str | None = None  # the name a size is assigned to (``b = x.shape[0]``)

    def read_axis(self, var: str | None, shape: Shape, i: int, state, node):
        """The size of axis ``i`` of the tensor held by ``var`` (whose shape is ``shape``): a known axis,
        or a new axis of the variable (which is narrowed), or OPAQUE when it cannot be named."""
        d = shape.axis(i)
        if not isinstance(d, Expr) and i >= 1:
            d = batched(shape).axis(i)  # a convolution's output read as a layer reads it: ``h.size(1)``, its channels
        if isinstance(d, Expr):
            return d
        cur = state.get(var) if var is not None else None
        if cur is None or not (isinstance(cur, Obj) and cur.name == var
                               or isinstance(cur, Shape) and cur == shape and not cur.get_meta("unverified")):
            return None
        narrowed = self._narrow(var, shape, i, node)
        if narrowed is None:
            return None
        new_shape, axis = narrowed
        if isinstance(cur, Obj):
            # ``w = image.shape[1]`` of an unknown object: a tensor, or as well a NumPy array
            new_shape = new_shape.with_meta(maybe_array=True)
        state[var] = new_shape
        return axis

    def _narrow(self, var: str, shape: Shape, i: int, node):
        dims = list(shape.dims)
        origins = list(shape.origins) if shape.origins else [None] * len(dims)
        v = shape.variadic_index
        group = shape.get_meta(_GROUP) or f"{var}@{getattr(node, 'lineno', 0)}"
        kind = f"dim:{group}" + ("" if i >= 0 else "-")
        name = self._axis_name(var, i)
        if name is None:
            return None
        axis = sym(name, kind)
        origin = f"`{var}.shape[{i}]`, {self.where(node)}"
        if v is None:
            if not -len(dims) <= i < len(dims) or not isinstance(dims[i], Unknown):
                return None
            dims[i], origins[i] = axis, self.named_axis_origin(shape, i, axis, origin)
        elif i >= 0:
            if i < v:
                if not isinstance(dims[i], Unknown):
                    return None
                dims[i], origins[i] = axis, self.named_axis_origin(shape, i, axis, origin)
            elif v == len(dims) - 1:  # nothing known after the variadic: its first axes are these
                pad = i - v
                dims = dims[:v] + [UNKNOWN] * pad + [axis, Variadic(None)]
                origins = origins[:v] + [None] * pad + [origin, None]
            elif i == 0 == v and shape.get_meta(CONV_LEAD) and len(dims) >= 4:
                # ``cur.size(0)`` of a convolution's output of unknown rank (``... c h w``, one leading axis or
                # none): the batch, read as a convolution's input is (batched)
                dims, origins = [axis] + dims[1:], [origin] + origins[1:]
            else:
                return self._unplaced(shape, axis)
        else:
            after = len(dims) - v - 1
            if -i <= after:
                if not isinstance(dims[i], Unknown):
                    return None
                dims[i], origins[i] = axis, self.named_axis_origin(shape, i, axis, origin)
            elif v == 0:  # nothing known before the variadic: its last axes are these
                pad = -i - after - 1
                dims = [Variadic(None), axis] + [UNKNOWN] * pad + dims[1:]
                origins = [None, origin] + [None] * pad + origins[1:]
            else:
                return self._unplaced(shape, axis)
        out = Shape(tuple(dims), tuple(origins), None, shape.meta).with_meta(**{_GROUP: group})
        return out, axis

    @staticmethod
    def _unplaced(shape: Shape, axis):
        """``x.size(0)`` of ``x`` of shape ``... d``: axis 0 may be ``d`` itself (``x`` of one axis), so it cannot be
        placed in ``x``'s shape; the size read is still an axis of the data, bound to whatever it meets (``view(
        x.size(0), x.size(1), h, d // h)`` keeps the names) but distinct from none of its axes, and ``x`` is left
        as it was. None for a named variadic segment (``*batch``)."""
        if shape.dims[shape.variadic_index] != Variadic(None):
            return None
        # of a kind of its own: not one of the tensor's distinct axes (it may be ``d``, or an axis read from the
        # other end)
        s = axis.as_sym()
        return shape, sym(s.name, f"{s.kind}~{s.name}")

    def _axis_name(self, var: str, i: int) -> str | None:
        hint = self.axis_name_hint
        self.axis_name_hint = None
        return self.fresh_dim_name(hint if hint is not None else f"{var}[{i}]")

    def share_rank(self, old, new, state) -> None:
        """``old``, one of the pieces of a split (:func:`tag_pieces`) as the split made it, is now known to
        have ``new``'s rank: every other piece of that split the state holds, still as the split made it,
        has that rank too."""
        tag = old.get_meta(_PIECES) if isinstance(old, Shape) and old.rank is None else None
        if tag is None or old.dims != tag[1] or not isinstance(new, Shape) or new.rank is None:
            return
        for var, v in list(state.items()):
            if isinstance(v, Shape) and v is not old and v.rank is None and v.get_meta(_PIECES) is not None:
                call, dims, split = v.get_meta(_PIECES)
                if call == tag[0] and v.dims == dims:
                    ranked = with_rank(v, new.rank)
                    if ranked is not None:
                        state[var] = _shared_axes(ranked, new, split)

    # -- narrowing by a test: ``if x.ndim == 3:``, ``isinstance(x, torch.Tensor)``, ``assert x.dim() == 1`` --
    def narrowed_branch(self, test, state, holds: bool):
        """The state of a branch taken when ``test`` is ``holds``: a variable of unknown rank tested for its
        rank has that rank there; an unknown object tested to be a tensor is a tensor of unknown shape."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And if holds else ast.Or):
            # ``assert x.dim() == 2 and x.size(1) == self.in_features``: every part holds (or, for ``or`` not
            # holding, none does)
            for part in test.values:
                state = self.narrowed_branch(part, state, holds)
            return state
        r = rank_test(test)
        if r is not None:
            var, k, negated = r
            if holds != negated:
                cur = state.get(var)
                new = with_rank(cur, k)
                if new is not None:
                    if isinstance(cur, Obj) and cur.name == var:
                        new = new.with_meta(maybe_array=True)  # ``assert image.ndim == 3``: maybe an array
                    state[var] = new
                    self.share_rank(cur, new, state)
            return state
        asserted = shape_test(test)
        if asserted is not None:
            if holds != asserted.negated:
                self.narrowed_by_shape_test(asserted, state, test)
            return state
        same = same_shape_test(test)
        if same is not None:
            a, b, negated = same
            if holds != negated and isinstance(state.get(a), Shape) and isinstance(state.get(b), Shape):
                # ``if out.size() == residual.size(): out += residual``: one shape in the branch, the first's
                state[b] = state[a]
            return state
        if holds and isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "isinstance" \
                and len(test.args) == 2 and isinstance(test.args[0], ast.Name) \
                and self.mod.imports.qualify(test.args[1]) in ("torch.Tensor", "torch.nn.Parameter"):
            var = test.args[0].id
            if isinstance(state.get(var), Obj):
                state[var] = ANY_SHAPE
            return state
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self.narrowed_branch(test.operand, state, not holds)
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "isinstance" \
                and len(test.args) == 2 and isinstance(test.args[0], ast.Name) \
                and isinstance(state.get(test.args[0].id), ModuleVal) and state[test.args[0].id].cls is not None:
            # ``for block in self.blocks: if isinstance(block, AttnBlock): x = block(x, ctx)`` over a list of
            # modules of several classes, the loop's one value an instance of the first: a branch that holds
            # for another class only (or fails for this one) is taken by another element, unknown here
            kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
            classes = [self.ev(k, {}) for k in kinds]
            if all(isinstance(c, ClassRef) and c.cls is not None for c in classes):
                have = state[test.args[0].id].cls
                one_of = any(_derives(have, c.cls) for c in classes)
                if one_of != holds:
                    state[test.args[0].id] = OPAQUE
        return state

    def narrowed_by_shape_test(self, t: ShapeTest, state, node) -> None:
        """``assert x.shape == (b, t, c)`` (``tuple(x.shape)``, ``list(x.size())``, ``x.shape[1:] == (c, h, w)``,
        or ``if x.shape != (b, n): raise``): ``x`` has that rank, and each axis is the size named, as
        ``assert x.size(1) == self.in_features`` makes it (an unknown object named there is a size named
        after it). Nothing is learnt of a tensor whose shape contradicts the assertion."""
        cur = state.get(t.var)
        if isinstance(cur, Shape) and cur.get_meta("unverified"):
            return  # a shape the engine guessed: the assertion says nothing of the axes it guessed
        was_obj = isinstance(cur, Obj) and cur.name == t.var
        if t.exact is not None:
            if isinstance(cur, Shape) and cur.rank is not None:
                if cur.rank != t.exact:
                    return
            else:
                new = with_rank(cur, t.exact)
                if new is None:
                    return
                if was_obj:
                    new = new.with_meta(maybe_array=True)  # ``.shape`` of an unknown object: maybe an array
                state[t.var] = new
        for j, elt in enumerate(t.elts):
            i = t.offset + j
            shape = state.get(t.var)
            if isinstance(shape, Obj) and shape.name == t.var:
                shape = ANY_SHAPE  # ``x.shape[-2:] == (h, w)``: axes read from the end of an unknown object
            if not isinstance(shape, Shape):
                return
            want = self.asserted_size(elt, state)
            if not isinstance(want, Expr):
                continue
            axis = self.read_axis(t.var, shape, i, state, node)
            if isinstance(axis, Expr):
                self.bind_equal([axis, want], node)

    def check_rank_assertion(self, st, state) -> None:
        """``assert x.dim() == 1`` on a tensor known to have another number of axes is reported: the assertion
        fails whenever the code gets here (as is ``assert x.shape == (b, t, c)`` on a tensor of known rank
        other than three, or whose axis is a size provably other than the one named)."""
        if self.check_shape_assertion(st, state):
            return
        r = rank_test(st.test)
        if r is None or r[2]:
            return
        var, k, _ = r
        v = state.get(var)
        if not isinstance(v, Shape) or v.get_meta("unverified"):
            return
        if v.rank is not None and v.rank != k or v.rank is None and len(v.dims) - 1 > k:
            have = f"{v.rank}" if v.rank is not None else f"at least {len(v.dims) - 1}"
            self.diag(st.test, "SHP104", f"the assertion expects `{var}` to have {k} ax{'is' if k == 1 else 'es'}, "
                                         f"but it has {have}", notes=(f"`{var}` has shape ({v})",))

    def asserted_size(self, node, state):
        """A size ``assert x.shape == (...)`` names: unknown objects in it are sizes named after them (``bs *
        beam_size`` of unannotated arguments is their product)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            left, right = self.asserted_size(node.left, state), self.asserted_size(node.right, state)
            if isinstance(left, Expr) and isinstance(right, Expr):
                return self.binop(node.op, left, right, node)
            return OPAQUE
        return self.as_size_sym(self.ev(node, state))

    def check_shape_assertion(self, st, state) -> bool:
        """Report ``assert x.shape == (b, t, c)`` that the inferred shape of ``x`` contradicts: a known rank
        other than the one asserted, or an axis whose size differs from the named one for every value of the
        sizes (``4`` against ``3``, ``d + 1`` against ``d``). True when the assertion is one of that form."""
        t = shape_test(st.test)
        if t is None:
            return False
        if t.negated:
            return True
        v = state.get(t.var)
        if not isinstance(v, Shape) or v.get_meta("unverified"):
            return True
        if t.exact is not None and (v.rank is not None and v.rank != t.exact
                                    or v.rank is None and len(v.dims) - 1 > t.exact):
            have = f"{v.rank}" if v.rank is not None else f"at least {len(v.dims) - 1}"
            self.diag(st.test, "SHP104", f"the assertion expects `{t.var}` to have {t.exact} "
                                         f"ax{'is' if t.exact == 1 else 'es'}, but it has {have}",
                      notes=(f"`{t.var}` has shape ({v})",))
            return True
        if v.rank is None:
            return True
        for j, elt in enumerate(t.elts):
            i = t.offset + j
            if not -v.rank <= i < v.rank:
                continue
            have = v.axis(i)
            want = self.asserted_size(elt, state)
            if not isinstance(have, Expr) or not isinstance(want, Expr):
                continue
            have, want = self.env.resolve(have), self.env.resolve(want)
            if provably_distinct(have, want):
                self.diag(st.test, "SHP105", f"the assertion expects axis {i} of `{t.var}` to be {want}, "
                                             f"but it is {have}", notes=(f"`{t.var}` has shape ({v})",))
                return True
        return True

    def narrowed_by_permute(self, recv, recv_node, args, kwargs, state):
        """``x.permute(0, 2, 3, 1)`` on a variable of unknown rank: a permutation of ``k`` axes says that ``x``
        has ``k`` axes (the variable is narrowed, as by ``assert x.dim() == k``). ``recv`` unchanged when
        the permutation is not a literal one or the rank is already known."""
        if not isinstance(recv_node, ast.Name) or kwargs:
            return recv
        dims = list(args)
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = list(dims[0])
        ints = [d.value if isinstance(d, Expr) else None for d in dims]
        k = len(ints)
        if k < 2 or any(v is None for v in ints) or sorted(v % k for v in ints) != list(range(k)) \
                or any(not -k <= v < k for v in ints):
            return recv
        cur = state.get(recv_node.id)
        if not (isinstance(cur, Obj) and cur.name == recv_node.id and recv is cur
                or isinstance(cur, Shape) and cur == recv and cur.rank is None):
            return recv
        new = with_rank(cur, k)
        if new is None:
            return recv
        state[recv_node.id] = new
        self.share_rank(cur, new, state)
        return new

    def narrowed_to_rank(self, values: list, nodes: list, k: int, state) -> list:
        """``torch.bmm(q, k.transpose(1, 2))``: an op that takes only tensors of ``k`` axes says that each
        operand of unknown rank has ``k`` (a value the engine could not shape is a tensor there, or the call
        raises); a variable holding one is narrowed, as by ``assert x.dim() == k``."""
        out = list(values)
        for i, v in enumerate(values):
            if v is OPAQUE or isinstance(v, Shape) and v.get_meta("unverified") and v.rank is None:
                v = ANY_SHAPE
            new = with_rank(v, k)
            if new is None:
                continue
            node = nodes[i] if i < len(nodes) else None
            if isinstance(node, ast.Name):
                cur = state.get(node.id)
                if isinstance(cur, Obj) and cur.name == node.id and values[i] is cur \
                        or isinstance(cur, Shape) and cur == values[i] and cur.rank is None:
                    state[node.id] = new
            self.share_rank(values[i], new, state)
            out[i] = new
        return out

    def narrowed_to_matrix(self, v, node, state):
        """``q @ k.transpose(-2, -1)`` (or ``torch.matmul``) with ``q`` unknown: the product of a tensor and a
        transposed matrix, as attention writes its scores, has a matrix (a batch of them) on the left, so ``q``
        has at least two axes, its own; a variable holding it is narrowed. ``v`` unchanged when anything is
        known of it."""
        if v is OPAQUE:
            v = ANY_SHAPE
        if not (isinstance(v, Obj) or isinstance(v, Shape) and v.is_any and not v.get_meta("unverified")):
            return v
        return self.narrowed_by_use(Shape((Variadic(None), UNKNOWN, UNKNOWN)), v, node, state)

    # -- narrowing by use: a layer or an einops pattern applied to a tensor of unknown shape -----------
    def narrowed_by_use(self, required: Shape | None, arg, arg_node, state, tensor_op: bool = False):
        """The argument's shape as far as ``required`` fixes it: an unknown object or a shape of unknown
        rank takes the required shape, and a variadic segment is filled from it; a variable holding it is
        narrowed. ``arg`` unchanged when nothing is learnt.

        With ``tensor_op`` (an einsum or einops pattern, which takes an array or raises), a value the engine
        could not shape (the result of an unknown call, an unknown object's attribute taken for a size) is
        a tensor: it takes the pattern's axes."""
        if required is None:
            return arg
        if tensor_op and (arg is OPAQUE or _guessed_size(arg)):
            arg = ANY_SHAPE
        if isinstance(arg, Obj) or isinstance(arg, Shape) and arg.is_any and not arg.get_meta("unverified"):
            new = required
        elif isinstance(arg, Shape) and not arg.get_meta("unverified"):
            new = _refine(arg, required)
            if new is None:
                return arg
        else:
            return arg
        new = Shape(new.dims, new.origins, getattr(arg, "label", None), getattr(arg, "meta", None) or ())
        if isinstance(arg_node, ast.Name):
            cur = state.get(arg_node.id)
            if cur is arg or cur == arg or isinstance(cur, Shape) and isinstance(arg, Shape) and cur.dims == arg.dims:
                state[arg_node.id] = new.with_label(None)
                if isinstance(arg, Obj):
                    # ``h = x`` then ``self.norm1(h)``: ``x`` (and any other name of that unannotated input,
                    # ``residual = x``) is the same tensor, and learns the same axes. Not a parameter filled
                    # with it (``if shortcut is None: shortcut = x``): a caller may give its own, and the
                    # analysis took the default
                    params = _param_names(self.node)
                    for name, other in list(state.items()):
                        if other == arg and name != arg_node.id and (name == arg.name or name not in params):
                            state[name] = new.with_label(None)
                elif isinstance(arg, Shape) and not arg.is_any:
                    # ``b = x.size(0)``, ``residual = x``, then ``self.w_q(x)``: the same partly known tensor
                    # under another name (a name the function copies it to, or from, still holding its axes)
                    # learns the same axes; not a tensor known in nothing, which any other may look like
                    copies = per_node(self.mod.memo.copies, self.node, lambda: _name_copies(self.node))
                    for name in copies.get(arg_node.id, ()):
                        other = state.get(name)
                        if isinstance(other, Shape) and other.dims == arg.dims:
                            state[name] = new.with_label(None)
        self.share_rank(arg, new, state)
        return new

    def layer_argument(self, m, arg, arg_node, state):
        """The input of library layer ``m`` as far as the layer fixes it (:meth:`narrowed_by_use`). A value
        the engine could not evaluate is a tensor there: a layer that reads its input's size (``Linear``,
        ``Conv2d``, a norm) takes nothing else, so its output's shape holds whatever the value was."""
        required = self.layer_input(m)
        if required is not None and not isinstance(arg, Obj) \
                and re.fullmatch(r"BatchNorm\dd", m.qualname.rsplit(".", 1)[-1]):
            # a batch norm fixes the rank and channels of an unannotated input only: what an unknown helper
            # gave (``self.bn(create_conv2d(...)(x))``) or an input moved first (``x.transpose(1, 3)``, to
            # normalise another axis) is left as it is
            return arg
        if required is not None and isinstance(arg, Shape) and batch_then_channels(arg) \
                and re.fullmatch(r"Conv\dd", m.qualname.rsplit(".", 1)[-1]):
            # ``? c ...`` (a ``GroupNorm`` fixed it): batched, so the convolution reads its channels in axis 1
            return arg
        if required is not None and arg is OPAQUE:
            arg = ANY_SHAPE
            if isinstance(arg_node, ast.Name) and state.get(arg_node.id) is OPAQUE:
                # ``xh = torch.cat([xt, h], 1)`` of unknown parts, then ``self.fc(xh)``: the variable held a
                # tensor all along, and learns what the layer fixes of it for its later uses
                state[arg_node.id] = ANY_SHAPE
        return self.narrowed_by_use(required, arg, arg_node, state)

    def layer_input(self, m) -> Shape | None:
        """What a library layer fixes of its input's shape: ``Linear(d, .)`` and ``LayerNorm(d)`` the last
        axis, ``Conv2d(c, .)`` axis 1 and two spatial axes after it (an optional batch axis before),
        ``GroupNorm(g, c)`` axis 1, a recurrent layer with ``batch_first=True`` a batched
        ``(batch, seq, input_size)``, an einops layer its pattern."""
        q = m.qualname.rsplit(".", 1)[-1]
        init = m.init_dict
        where = f"`{q}` input, {self.where(self.node)}"
        if q in ("Linear",):
            d = init.get("in_features")
            return Shape((Variadic(None), d), (None, where)) if _is_size(d) else None
        if q in ("LayerNorm", "RMSNorm"):
            d = init.get("normalized_shape")
            ds = d if isinstance(d, tuple) else (d,)
            if ds and all(_is_size(x) for x in ds):
                return Shape((Variadic(None),) + tuple(ds), (None,) + (where,) * len(ds))
            return None
        conv = re.fullmatch(r"Conv(\d)d", q)
        if conv:
            c = init.get("in_channels")
            n = int(conv.group(1))
            if not _is_size(c):  # channels the engine cannot read (``encoder_channels[-4]``): still a tensor
                return Shape((Variadic(None),) + (UNKNOWN,) * (n + 1))
            return Shape((Variadic(None), c) + (UNKNOWN,) * n, (None, where) + (None,) * n)
        if q in ("RNN", "LSTM", "GRU") and init.get("batch_first") is True:
            # batch_first only means something for a batched input: (batch, seq, features)
            d = init.get("input_size")
            return Shape((UNKNOWN, UNKNOWN, d), (None, None, where)) if _is_size(d) else None
        if m.qualname == CONV_BLOCK:
            # a convolution block of a module the analysis did not see: a batched map, its channels in axis 1
            c = init.get("in_channels")
            return Shape((UNKNOWN, c, Variadic(None)), (None, where, None)) if _is_size(c) else None
        if q == "GroupNorm":
            c = init.get("num_channels")
            return Shape((UNKNOWN, c, Variadic(None)), (None, where, None)) if _is_size(c) else None
        bn = re.fullmatch(r"BatchNorm([123])d", q)
        if bn:
            # ``(N, C, L)`` or ``(N, C)``, ``(N, C, H, W)``, ``(N, C, D, H, W)``: always batched, so a
            # convolution after it reads its channels in axis 1 (an unannotated input only: ``layer_argument``)
            c, n = init.get("num_features"), int(bn.group(1))
            if not _is_size(c):
                return None
            if n == 1:
                return Shape((UNKNOWN, c, Variadic(None)), (None, where, None))
            return Shape((UNKNOWN, c) + (UNKNOWN,) * n, (None, where) + (None,) * n)
        if q in ("Rearrange", "Reduce"):
            lengths = init.get("axes_lengths")
            return self.pattern_input(init.get("pattern"), lengths if isinstance(lengths, dict) else {})
        return None

    def pattern_input(self, pattern, lengths: dict, site=None) -> Shape | None:
        """The input an einops pattern describes: its axes named after the pattern, a size given as a
        keyword taken, a group ``(h d)`` the product of its parts. None when not a pattern.

        The same pattern names the same axes wherever it is used in the function (``q, k, v`` split by
        one pattern share their sequence axis). The axes are not known to be distinct from one another
        (``"i j"`` is often a square table) nor from other patterns' axes: they bind to what they meet.
        With ``site`` (a value that is no variable of unknown shape: an unknown call's result, an element of
        a tuple) the axes are that call's own: two such values under one pattern need not share them."""
        groups = left_groups(pattern)
        if groups is None:
            return None
        lhs = pattern.partition("->")[0].strip()
        dims, origins = [], []
        where = f"einops pattern, {self.where(self.node)}"
        for paren, g in groups:
            if "..." in g:
                dims.append(Variadic(None))
                origins.append(None)
                continue
            parts = []
            unknown = 0
            for e in g:
                if isinstance(e, int):
                    parts.append(const(e))
                elif isinstance(lengths.get(e), Expr):
                    parts.append(lengths[e])
                else:
                    unknown += 1
                    parts.append(self.pattern_axis(lhs, e, site))
            if unknown > 1 and paren:
                dims.append(UNKNOWN)
            else:
                d = const(1)
                for p in parts:
                    d = d * p
                dims.append(d)
            origins.append(where)
        return Shape(tuple(dims), tuple(origins))

    def einsum_operands(self, q: str, args: list, node, state) -> list:
        """``torch.einsum("bnd,dk->bnk", x, w)`` with ``x`` of unknown shape: each operand's subscripts give
        its rank and name its axes (one letter, one axis, through the equation)."""
        terms = operand_terms(q, tuple(args))
        if terms is None:
            return args
        first = 0 if q == "einops.einsum" else 1
        ops = args[first:len(args) - 1] if q == "einops.einsum" else args[first:]
        arg_nodes = [a if not isinstance(a, ast.Starred) else None for a in node.args[first:first + len(ops)]]
        listed = q != "einops.einsum" and len(ops) == 1 and isinstance(ops[0], (tuple, list)) and len(node.args) == 2 \
            and isinstance(node.args[1], (ast.List, ast.Tuple)) and len(node.args[1].elts) == len(ops[0])
        if listed:  # ``torch.einsum("bhid,bhjd->bhij", [q, k])``: the operands in one list
            ops, arg_nodes = list(ops[0]), list(node.args[1].elts)
        if len(ops) != len(terms):
            return args
        eq = ",".join(" ".join(t) for t in terms)
        out = list(args) if not listed else [args[0]] + list(ops)
        for i, (v, term) in enumerate(zip(ops, terms)):
            site = None
            if v is OPAQUE or _guessed_size(v) \
                    or isinstance(v, Shape) and v.get_meta("unverified") and v.rank is None:
                # an einsum operand is a tensor (or the call raises), with this call's own axes
                v, site = ANY_SHAPE, (node.lineno, node.col_offset)
            if not (isinstance(v, Obj) or isinstance(v, Shape) and v.rank is None):
                continue
            req = Shape(tuple(Variadic(None) if t == "..." else self.pattern_axis(eq, t, site) for t in term))
            arg_node = arg_nodes[i] if i < len(arg_nodes) else None
            out[first + i] = self.narrowed_by_use(req, v, arg_node, state, tensor_op=True)
        return out if not listed else [out[0], tuple(out[1:])]

    def pattern_axis(self, lhs: str, name: str, site=None) -> Expr:
        axes = self.__dict__.setdefault("_pattern_axes", {})
        key = (lhs, name, site)
        if key not in axes:
            at = f"@{self.qualname}" + (f":{site[0]}:{site[1]}" if site is not None else "")
            # the kind tells each name (and each call's own axes) apart: never siblings of one another
            group = CALL_AXIS_GROUP if site is not None else _PATTERN_KIND
            axes[key] = sym(self.fresh_dim_name(name) or name, f"{group}{lhs}:{name}{at}")
        return axes[key]


def is_pattern_axis(s) -> bool:
    """An axis an einops pattern or einsum subscripts named on a tensor of unknown shape: not known to be
    distinct from the other axes such patterns named (``"i j"`` is often a square table)."""
    return isinstance(s, Sym) and (s.kind or "").startswith(_PATTERN_KIND)


def _name_copies(fn) -> dict:
    """The names a function copies one to another (``residual = x``), both ways: name -> the others."""
    out: dict = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id != node.value.id:
                    out.setdefault(t.id, set()).add(node.value.id)
                    out.setdefault(node.value.id, set()).add(t.id)
    return out


def _param_names(fn) -> frozenset:
    """The names of ``fn``'s parameters (none for a module body)."""
    a = getattr(fn, "args", None)
    if not isinstance(a, ast.arguments):
        return frozenset()
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    names += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    return frozenset(names)


def _guessed_size(v) -> bool:
    """An attribute of an unknown object the engine took for a size (``layer.weight`` is the symbol
    ``weight`` of kind ``code``), here passed where only an array can go."""
    s = v.as_sym() if isinstance(v, Expr) else None
    return s is not None and s.kind == "code"


def _is_size(d) -> bool:
    return isinstance(d, Expr)


def _refine_ends(x: Shape, req: Shape) -> Shape | None:
    """``x`` known from the front (``? ? ...``, a ``cat`` along dim 1 of parts of unknown rank; ``b t ...``
    once ``x.size(0)`` and ``x.size(1)`` were read) meeting a requirement from the back (``... d``, a
    ``Linear(d, .)``): ``? ... d``, ``b ... d``. The last axes ``x`` knows may be the ones required (its rank
    may be just what it knows), so what it knows of them is left out; the result says no more than both: at
    least as many axes as ``x`` knows, the first ones it knew, the last ones required. Not when one of
    those it leaves out is a literal size (``x[:, :1]``, one position): what follows keeps it."""
    lead = list(x.dims[:-1])
    trail = list(req.dims[1:])
    keep = max(0, len(lead) - len(trail))
    if any(isinstance(d, Expr) and d.value is not None for d in lead[keep:]) \
            or not any(isinstance(d, Expr) for d in trail):
        return None
    origins = list(x.origins[:keep]) if x.origins else [None] * keep
    return Shape(tuple(lead[:keep]) + (Variadic(None),) + tuple(trail),
                 tuple(origins) + (None,) + tuple(req.origins[1:] if req.origins else (None,) * len(trail)),
                 x.label, x.meta)


def _learnt(d, o, r, ro_, dims) -> tuple | None:
    """``(size, origin)`` an unknown axis ``d`` (provenance ``o``) of a value with axes ``dims`` takes from the
    required size ``r`` (provenance ``ro_``); None when it learns nothing. A size already another axis of the value
    (``LayerNorm(dim)`` on the channels-first output of a ``Conv2d(., dim)``) is not learnt for a second one: the
    first is evidence. The axis keeps the role its producer stated (the channels a permute moved last, then
    normalised)."""
    if not (isinstance(d, Unknown) and isinstance(r, Expr)) or r.value is None and r in dims:
        return None
    role = getattr(o, "role", None)
    return r, RoleOrigin(ro_, role) if role is not None and getattr(ro_, "role", None) is None else ro_


def _refine_tails(x: Shape, req: Shape) -> Shape | None:
    """``x`` known from the back (``... n ?``, once ``n = x.shape[-2]`` was read) meeting a requirement from
    the back (``... d``, a ``Linear(d, .)``): its last axes aligned with the required ones, each unknown one taking
    the required size (``... n d``); the required axes beyond those ``x`` knows come before them. None when
    nothing is learnt."""
    xt, rt = list(x.dims[1:]), list(req.dims[1:])
    xo = list(x.origins[1:]) if x.origins else [None] * len(xt)
    ro = list(req.origins[1:]) if req.origins else [None] * len(rt)
    if len(rt) > len(xt):
        extra = len(rt) - len(xt)
        xt, xo = [UNKNOWN] * extra + xt, [None] * extra + xo
    changed = False
    for i in range(1, len(rt) + 1):
        got = _learnt(xt[-i], xo[-i], rt[-i], ro[-i], x.dims)
        if got is not None:
            xt[-i], xo[-i] = got
            changed = True
    if not changed:
        return None
    head = x.origins[0] if x.origins else None
    return Shape((x.dims[0],) + tuple(xt), (head,) + tuple(xo), x.label, x.meta)


def _refine(x: Shape, req: Shape) -> Shape | None:
    """``x`` with its unknown axes taken from ``req`` where the two line up (same rank, or ``x`` has a
    variadic segment that ``req``'s fixed rank fills); None when nothing is learnt."""
    if req.variadic_index is not None:
        if x.variadic_index is not None and x.variadic_index == len(x.dims) - 1 and req.variadic_index == 0:
            return _refine_ends(x, req)
        if x.variadic_index == 0 and req.variadic_index == 0:
            return _refine_tails(x, req)
        if x.variadic_index is not None or x.rank is None:
            return None
        k = len(req.dims) - 1
        v = req.variadic_index
        if x.rank < k:
            return None
        req = Shape(req.dims[:v] + (UNKNOWN,) * (x.rank - k) + req.dims[v + 1:],
                    tuple(req.origins[:v]) + (None,) * (x.rank - k) + tuple(req.origins[v + 1:]))
    v = x.variadic_index
    learnt_rank = False
    if v is not None:
        fixed = len(x.dims) - 1
        if fixed > len(req.dims):
            return None
        pad = len(req.dims) - fixed
        origins = list(x.origins) if x.origins else [None] * len(x.dims)
        x = Shape(x.dims[:v] + (UNKNOWN,) * pad + x.dims[v + 1:], tuple(origins[:v] + [None] * pad + origins[v + 1:]),
                  x.label, x.meta)
        learnt_rank = req.variadic_index is None
    if x.rank != req.rank:
        return None
    xo = x.origins or (None,) * len(x.dims)
    ro = req.origins or (None,) * len(req.dims)
    dims, origins, changed = [], [], learnt_rank
    for d, o, r, ro_ in zip(x.dims, xo, req.dims, ro):
        got = _learnt(d, o, r, ro_, x.dims)
        dims.append(d if got is None else got[0])
        origins.append(o if got is None else got[1])
        changed = changed or got is not None
    return Shape(tuple(dims), tuple(origins), x.label, x.meta) if changed else None


def rank_test(test):
    """``x.ndim == 3``, ``x.dim() == 3``, ``len(x.shape) == 3`` (either side): (variable, rank, negated) or
    None. ``!=`` gives ``negated``."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
        return None
    left, right = test.left, test.comparators[0]
    if isinstance(left, ast.Constant):
        left, right = right, left
    if not (isinstance(right, ast.Constant) and type(right.value) is int):
        return None
    var = None
    if isinstance(left, ast.Attribute) and left.attr == "ndim":
        var = left.value
    elif isinstance(left, ast.Call) and isinstance(left.func, ast.Attribute) and left.func.attr in ("dim", "ndimension") \
            and not left.args and not left.keywords:
        var = left.func.value
    elif isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "len" \
            and len(left.args) == 1 and isinstance(left.args[0], ast.Attribute) and left.args[0].attr == "shape":
        var = left.args[0].value
    if not isinstance(var, ast.Name):
        return None
    return var.id, right.value, isinstance(test.ops[0], ast.NotEq)


def _shared_axes(piece: Shape, other: Shape, split) -> Shape:
    """``piece``, of one split with ``other`` (both of one rank), with the axes it does not know taken from
    ``other``: the pieces share every axis but the one split along (``split``, None for ``unbind``, whose
    pieces share all; unknown: none is taken)."""
    k = piece.rank
    if isinstance(split, Unknown) or k is None or other.rank != k:
        return piece
    at = None if split is None else split + k if split < 0 else split
    dims, origins = list(piece.dims), list(piece.origins or (None,) * k)
    for i in range(k):
        if i != at and isinstance(dims[i], Unknown) and isinstance(other.dims[i], Expr):
            dims[i], origins[i] = other.dims[i], other.origin(i)
    return Shape(tuple(dims), tuple(origins), piece.label, piece.meta)


@dataclass(frozen=True)
class ShapeTest:
    """``x.shape == (b, t, c)`` read as a test: the variable, the asserted sizes (nodes), the index of the
    first (``x.shape[1:]``: 1; ``x.shape[-2:]``: -2), the rank it states (None for a prefix or a suffix
    of unknown rest) and whether the test is ``!=``."""
    var: str
    elts: tuple
    offset: int
    exact: int | None
    negated: bool


def shape_test(test) -> ShapeTest | None:
    """``x.shape == (b, t, c)``, ``x.size() == (b, t)``, ``tuple(x.shape) == (...)``, ``list(x.size()) == [...]``,
    ``x.shape == torch.Size([...])``, ``x.shape[1:] == (c, h, w)``, ``x.shape[:2] == (b, t)``,
    ``x.shape[-2:] == (h, w)`` (either side, ``==`` or ``!=``), or None."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
        return None
    for side, other in ((test.left, test.comparators[0]), (test.comparators[0], test.left)):
        elts = _sizes_literal(other)
        read = _shape_read(side)
        if elts is None or read is None:
            continue
        var, lo, hi = read
        n = len(elts)
        if lo is None and hi is None:
            offset, exact = 0, n
        elif hi is None and lo >= 0:
            offset, exact = lo, lo + n
        elif hi is None and lo < 0 and -lo == n:
            offset, exact = lo, None
        elif lo is None and hi is not None and hi == n:
            offset, exact = 0, None
        else:
            return None
        return ShapeTest(var, tuple(elts), offset, exact, isinstance(test.ops[0], ast.NotEq))
    return None


def same_shape_test(test):
    """``a.size() == b.size()`` or ``a.shape != b.shape``: (``a``, ``b``, negated), else None."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
        return None
    a, b = shape_owner(test.left), shape_owner(test.comparators[0])
    if a is None or b is None or a == b:
        return None
    return a, b, isinstance(test.ops[0], ast.NotEq)


def _shape_read(node):
    """``x.shape``, ``x.size()``, wrapped in ``tuple(...)``/``list(...)`` or sliced ``[lo:hi]`` with literal
    bounds: (variable, lo, hi) or None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tuple", "list") \
            and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    if isinstance(node, ast.Subscript):
        read = shape_slice(node)
        if read is None or read[2] is not None and read[2] < 0:
            return None
        var, lo, hi = read
        return var, None if lo == 0 else lo, hi
    var = shape_owner(node)
    return None if var is None else (var, None, None)


def shape_owner(node) -> str | None:
    """The variable ``x`` of ``x.shape`` or ``x.size()``, else None."""
    if isinstance(node, ast.Attribute) and node.attr == "shape":
        var = node.value
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size" \
            and not node.args and not node.keywords:
        var = node.func.value
    else:
        return None
    return var.id if isinstance(var, ast.Name) else None


def shape_slice(node):
    """``x.shape[lo:hi]`` or ``x.size()[lo:hi]`` with literal int bounds, no step: (``x``, lo, hi), a bound
    left out being None; else None."""
    if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Slice) or node.slice.step is not None:
        return None
    var = shape_owner(node.value)
    if var is None:
        return None
    bounds = []
    for b in (node.slice.lower, node.slice.upper):
        if b is None:
            bounds.append(None)
            continue
        try:
            v = ast.literal_eval(b)
        except ValueError:
            return None
        if type(v) is not int:
            return None
        bounds.append(v)
    return var, bounds[0], bounds[1]


def _sizes_literal(node):
    """The elements of ``(b, t, c)``, ``[b, t, c]`` or ``torch.Size([b, t, c])``; None otherwise (a starred
    element included)."""
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)) and len(node.args) == 1 \
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "Size":
        node = node.args[0]
    if isinstance(node, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in node.elts):
        return list(node.elts)
    return None


def with_rank(v, k: int):
    """A value of unknown rank (an unknown object, a shape with a variadic segment) with exactly ``k`` axes;
    None when it cannot have them or nothing is learnt."""
    if isinstance(v, Obj):
        v = ANY_SHAPE
    if not isinstance(v, Shape) or v.rank is not None or v.get_meta("unverified") or k < 0:
        return None
    i = v.variadic_index
    fixed = len(v.dims) - 1
    if fixed > k:
        return None
    origins = tuple(v.origins) if v.origins else (None,) * len(v.dims)
    pad = k - fixed
    return Shape(v.dims[:i] + (UNKNOWN,) * pad + v.dims[i + 1:], origins[:i] + (None,) * pad + origins[i + 1:],
                 None, v.meta)


def _derives(cls, base, depth: int = 0) -> bool:
    """Is the analysed class ``cls`` the class ``base`` or derived from it (through bases the engine reads)?"""
    if cls is base:
        return True
    return depth < 8 and any(_derives(b, base, depth + 1) for b in cls.bases())


def transposed_matrix(node) -> bool:
    """Is ``node`` a tensor with its last two axes swapped (``k.transpose(-2, -1)``, ``k.transpose(2, 3)``,
    ``k.mT``), the keys of attention scores?"""
    if isinstance(node, ast.Attribute) and node.attr == "mT":
        return True
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "transpose"
            and len(node.args) == 2 and not node.keywords):
        return False
    return sorted(literal_int(a) or 0 for a in node.args) in ([-2, -1], [2, 3])
