"""Assignment: binding values to targets, unpacking tuples and sizes (``B, T, C = x.size()``)."""

from __future__ import annotations

import ast
import re

from .._core._algebra import Expr, provably_distinct
from .._core._ops._registry import OPAQUE
from .._core._roles import POSITION, with_roles
from .._core._shape import ANY_SHAPE, Shape, Unknown
from .._core._unify import NE, compare
from ._values import ListOf, ModuleVal, Obj, SelfVal, SizeOf, join
from ._common import SCALAR, dim_sym
from ._narrow import shape_slice, with_rank


class Assignment:
    """The assignment room of :class:`~._walk.FunctionAnalysis`."""

    def assign(self, target, value, state, st) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, Shape):
                value = value.with_label(None)
            state[target.id] = value
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            elts = target.elts
            star = next((i for i, e in enumerate(elts) if isinstance(e, ast.Starred)), None)
            values = self.unpack(value, len(elts), target, st, state, star is not None)
            if values is None:
                for e in elts:
                    self.assign(e.value if isinstance(e, ast.Starred) else e, OPAQUE, state, st)
                return
            if star is None:
                for e, v in zip(elts, values):
                    self.assign(e, v, state, st)
            else:
                n_after = len(elts) - star - 1
                for e, v in zip(elts[:star], values[:star]):
                    self.assign(e, v, state, st)
                rest = values[star: len(values) - n_after]
                self.assign(elts[star].value, tuple(rest), state, st)
                for e, v in zip(elts[star + 1:], values[len(values) - n_after:]):
                    self.assign(e, v, state, st)
            return
        if isinstance(target, ast.Attribute):
            # ``self.x = ...``, and ``self.mid.block_1 = ...`` on a namespace module (``_values.Namespace``)
            owner = state.get(target.value.id) if isinstance(target.value, ast.Name) else \
                self.ev(target.value, state) if isinstance(target.value, ast.Attribute) else None
            if isinstance(owner, SelfVal):
                owner.attrs[target.attr] = _positional_table(target.attr, value)
            elif isinstance(owner, ModuleVal) and target.attr == "weight" and isinstance(value, Shape):
                self.check_tied_weight(owner, target, value, st)
            return
        if isinstance(target, ast.Subscript):
            self.set_item(target, value, state)
            return
        if isinstance(target, ast.Starred):
            self.assign(target.value, value, state, st)

    def check_tied_weight(self, layer: ModuleVal, target: ast.Attribute, value: Shape, st) -> None:
        """``self.classifier.weight = self.embedder.weight``: a layer's weight tied to a tensor of another shape (a
        ``Linear(d, vocab)``'s ``(vocab, d)`` to an ``Embedding(vocab, d)``'s ``(vocab, d)`` is right; to a
        ``Linear(vocab, d)``'s, wrong). Reported when the ranks differ or an axis is provably another size."""
        own = self.module_attr(layer, "weight")
        if not isinstance(own, Shape) or own.rank is None or value.rank is None or value.get_meta("unverified"):
            return
        name = ast.unparse(target)
        # tied under a test of the constructor's own parameters (``if tie_weights:``): its callers ask for the tie
        # only with sizes that allow it (``nhid == ninp``), so only a provable difference is one
        flagged = _under_parameter_test(self.node, st)
        differ = (lambda a, b: isinstance(a, Expr) and isinstance(b, Expr) and provably_distinct(
            self.env.resolve(a), self.env.resolve(b))) if flagged else (lambda a, b: compare(a, b, self.env) == NE)
        if own.rank == value.rank and not any(differ(a, b) for a, b in zip(own.dims, value.dims)):
            return
        other = ast.unparse(st.value) if isinstance(st, ast.Assign) else "the tensor"
        where = layer.built_label
        self.diag(st, "SHP107", f"`{name}` is ({', '.join(map(str, own.dims))}) for its "
                                f"`{layer.qualname.rsplit('.', 1)[-1]}`, but is tied to `{other}` of shape "
                                f"({', '.join(map(str, value.dims))})",
                  notes=("a tied weight must have the shape the layer was built for",)
                  + ((f"the weight's sizes are chosen where `{ast.unparse(target.value)}` is built ({where})",)
                     if where else ()))

    def unpack(self, value, n, target, st, state, has_star):
        if isinstance(value, tuple):
            if (len(value) == n) or (has_star and len(value) >= n - 1):
                return list(value)
            return None
        if isinstance(value, SizeOf) and not has_star:
            # B, T, C = x.size(): name the axes after the targets, and learn x's rank
            names = [self.fresh_dim_name(e.id if isinstance(e, ast.Name) else f"d{i}")
                     for i, e in enumerate(target.elts)]
            if value.var:
                # ``x_0, x_1, _, x_3 = x.size()``: the axis left unnamed is still an axis of its own, named as
                # ``x.size(2)`` is when read (``x[2]``)
                names = [nm if nm is not None or not _anonymous(e) else self.fresh_dim_name(f"{value.var}[{i}]")
                         for i, (nm, e) in enumerate(zip(names, target.elts))]
            group = f"dim:{value.var}@{st.lineno}"
            origin = f"`{value.var}.size()`, {self.mod.short}:{st.lineno}" if value.var else None
            if value.shape.rank == n:
                dims = [d if not isinstance(d, Unknown) else dim_sym(names[i], group)
                        for i, d in enumerate(value.shape.dims)]
            elif value.shape.is_any or value.shape.rank is None:
                dims = self.fill_variadic(value.shape, n, names, group)
                if dims is None:
                    return None
            else:
                return None
            if value.var and value.var in state and isinstance(state[value.var], (Shape, Obj)):
                old = state[value.var] if isinstance(state[value.var], Shape) else ANY_SHAPE
                origins = tuple(self.unpacked_origin(old, i, n, dims[i], origin) for i in range(n))
                new = Shape(tuple(dims), origins, None, old.meta)
                if isinstance(state[value.var], Obj):
                    # ``_, w, _ = image.shape`` of an unknown object: a tensor, or as well a NumPy array
                    new = new.with_meta(maybe_array=True)
                state[value.var] = new
            return dims
        if isinstance(value, Shape) and value.rank is not None:
            if value.rank == 0:
                return None
            first = value.dims[0]
            if isinstance(first, Expr) and first.value is not None and (first.value == n or has_star):
                count = first.value
                return [Shape(value.dims[1:], value.origins[1:] if value.origins else ())] * count \
                    if (count == n or has_star) else None
            return None
        if isinstance(value, ListOf) and value.items is not None and len(value.items) == n and not has_star:
            return list(value.items)  # ``for block1, block2, attn, down in self.downs`` of ``nn.ModuleList([...])``
        if isinstance(value, ListOf) and not has_star:
            return [value.elem] * n
        return None

    def unpacked_origin(self, old: Shape, i: int, n: int, d, origin):
        """The provenance of axis ``i`` of ``old`` unpacked into ``n`` names: a known size keeps where it was chosen
        (``_, _, H, W = x.shape`` after a convolution keeps its channels' "output channels of the `Conv2d` built at
        model.py:12", also where ``x``'s rank was unknown); an axis named anew is the unpacking's."""
        j = _old_index(old, i, n)
        if j is None:
            return origin
        if isinstance(old.axis(j), Expr) and (old.rank == n or old.origin(j)):
            return old.origin(j)
        return self.named_axis_origin(old, j, d, origin)

    def fresh_dim_name(self, name: str) -> str | None:
        """The name of an axis learnt by unpacking; a name unpacked again from another tensor is another
        size (``channels'``), and ``_`` names nothing."""
        if name == "_" or name.startswith("_") and name.strip("_") == "":
            return None
        taken = self.dim_names
        if self.depth > 0:
            # a function or a module's method called under a caller's shapes (``B, H, W, dim = q.shape`` in a helper
            # of a module built with ``dim``; ``..., num_channels = x.shape`` in a block its model calls after
            # reading its own input's ``num_channels``) names axes of its own: a spelling the caller's sizes use is
            # another axis
            taken = taken | self.env.fields | {s.name for s in self.env.bindings} | self.outer_names
        elif self.self_val is not None and name in self.env.fields:
            # ``src_len, bsz, out_channels = key.size()`` in a module built with ``out_channels``: the local names
            # the input's axis, which may be another size (fairseq's is the width ``embed_dim``); an axis of the
            # data, it binds to the size it meets
            taken = taken | {name}
        while name in taken:
            name += "'"
        self.dim_names.add(name)
        return name

    def fill_variadic(self, shape: Shape, n: int, names, group):
        v = shape.variadic_index
        known_pre = list(shape.dims[:v])
        known_post = list(shape.dims[v + 1:])
        k = n - len(known_pre) - len(known_post)
        if k < 0:
            return None
        mid = [dim_sym(names[len(known_pre) + i], group) for i in range(k)]
        dims = known_pre + mid + known_post
        return [d if not isinstance(d, Unknown) else dim_sym(names[i], group) for i, d in enumerate(dims)]

    def iter_elem(self, it):
        if isinstance(it, ListOf):
            return it.elem
        if isinstance(it, ModuleVal) and it.children:
            if it.unknown_after:
                return OPAQUE
            first = it.children[0]
            return first if all(c == first for c in it.children) else OPAQUE
        if isinstance(it, tuple) and it:
            if all(isinstance(w, Expr) and w.value is not None for w in it) and len(set(it)) > 1:
                return SCALAR  # ``for s in (1, 2, 3, 6)``: a number, one of them
            v = it[0]
            for w in it[1:]:
                v = join(v, w)
            return v
        if isinstance(it, Shape) and it.rank:
            return Shape(it.dims[1:], it.origins[1:] if it.origins else ())
        return OPAQUE

    # -- checks -------------------------------------------------------------------------------------
    def unpack_spliced_size(self, target, value_node, state, st) -> bool:
        """``b, n, _, h = *x.shape, self.heads``: the starred size of a tensor of unknown rank takes the
        targets the other elements leave; it is unpacked as ``b, n, _ = x.shape`` would be. True when
        handled."""
        if not (isinstance(target, ast.Tuple) and isinstance(value_node, ast.Tuple)) \
                or any(isinstance(e, ast.Starred) for e in target.elts):
            return False
        stars = [i for i, e in enumerate(value_node.elts) if isinstance(e, ast.Starred)]
        if len(stars) != 1:
            return False
        i = stars[0]
        after = len(value_node.elts) - i - 1
        n = len(target.elts) - i - after
        if n < 1:
            return False
        mid = ast.Tuple(elts=target.elts[i:i + n], ctx=ast.Store())
        star = value_node.elts[i].value
        if _sliced_axes(star, n) is not None:
            # ``height, width, heads = *x.shape[-2:], self.heads``: the slice is unpacked as ``H, W = x.shape[-2:]``
            others = [self.ev(e, state) for e in value_node.elts[:i]], [self.ev(e, state) for e in value_node.elts[i + 1:]]
            if not self.unpack_sliced_size(mid, star, state, st):
                return False
            for e, v in zip(target.elts[:i] + target.elts[i + n:], others[0] + others[1]):
                self.assign(e, v, state, st)
            return True
        sized = self.ev(star, state)
        if not isinstance(sized, SizeOf):
            return False
        others = [self.ev(e, state) for e in value_node.elts[:i]], [self.ev(e, state) for e in value_node.elts[i + 1:]]
        dims = self.unpack(sized, n, mid, st, state, False)
        if dims is None:
            return False
        for e, v in zip(target.elts, others[0] + list(dims) + others[1]):
            self.assign(e, v, state, st)
        return True

    def unpack_sliced_size(self, target, value_node, state, st) -> bool:
        """``H, W = x.shape[-2:]`` (or ``x.shape[2:]``, ``B, C = x.size()[:2]``): each target names the axis it
        reads, as ``H = x.shape[-2]`` would (the variable is narrowed). True when handled."""
        if not isinstance(target, ast.Tuple) or not all(isinstance(e, ast.Name) for e in target.elts):
            return False
        idx = _sliced_axes(value_node, len(target.elts))
        if idx is None:
            return False
        var, axes, rank = idx
        cur = state.get(var)
        if not isinstance(cur, (Shape, Obj)) or isinstance(cur, Shape) and cur.rank is not None and (any(
                not -cur.rank <= i < cur.rank for i in axes) or rank is not None and cur.rank != rank):
            return False
        if rank is not None and (isinstance(cur, Obj) and cur.name == var or isinstance(cur, Shape) and cur.rank is None):
            # ``h, w = x.shape[2:]``: x has exactly four axes
            ranked = with_rank(cur, rank)
            if ranked is not None:
                state[var] = ranked
        values = []
        for e, i in zip(target.elts, axes):
            cur = state.get(var)
            shape = cur if isinstance(cur, Shape) else ANY_SHAPE
            if isinstance(cur, Shape) and cur.rank is not None and i >= 0 and any(i < 0 for i in axes):
                return False
            self.axis_name_hint = e.id if e.id.strip("_") else None
            try:
                d = self.read_axis(var, shape, i, state, value_node)
            finally:
                self.axis_name_hint = None
            values.append(d if isinstance(d, Expr) else OPAQUE)
        for e, v in zip(target.elts, values):
            self.assign(e, v, state, st)
        return True


# ``self.pos_embed``, ``self.absolute_pos_embed``, ``self.position_embeddings``, ``self.pos_emb``: a learnt
# table of positional embeddings
_POSITIONAL = re.compile(r"^_*(?:absolute_|abs_|learned_|learnt_)?(?:pos|position|positional)_?"
                         r"(?:embed|embeds|embedding|embeddings|emb)$")


def _anonymous(e) -> bool:
    """``_`` (or ``__``) as an unpacking target: a name that names nothing."""
    return isinstance(e, ast.Name) and e.id.strip("_") == ""


def _positional_table(attr: str, value):
    """A positional embedding table assigned to ``self`` (``nn.Parameter(torch.zeros(1, num_patches, dim))``
    or ``(max_len, dim)``) holds one row per position: its axis -2 is the positions, which an input it is
    added to then shares."""
    if not isinstance(value, Shape) or not _POSITIONAL.match(attr):
        return value
    if value.rank == 3 and isinstance(value.dims[0], Expr) and value.dims[0].value == 1 or value.rank == 2:
        return with_roles(value, {-2: POSITION})
    return value


def _sliced_axes(node, k: int):
    """``x.shape[lo:hi]`` / ``x.size()[lo:hi]`` with constant bounds unpacked into ``k`` names: the variable
    and the indices of the axes read (negative when counted from the end), else None."""
    read = shape_slice(node)
    if read is None:
        return None
    owner, lo, hi = read
    if lo is not None and lo < 0 and hi is None and -lo == k:  # x.shape[-2:]
        return owner, list(range(lo, 0)), None
    lo = lo or 0
    if lo >= 0 and (hi is None or hi >= 0 and hi - lo == k):  # x.shape[2:], x.shape[:2], x.shape[1:3]
        return owner, list(range(lo, lo + k)), lo + k if hi is None else None
    return None


def _old_index(old: Shape, i: int, n: int) -> int | None:
    """The index in ``old`` of axis ``i`` of the ``n`` axes it is unpacked into: ``i`` itself, or counted from
    the end for an axis after ``old``'s variadic part (``... C H W`` unpacked into four names)."""
    if old.rank == n:
        return i
    v = old.variadic_index
    if v is None:
        return None
    if i < v:
        return i
    after = len(old.dims) - v - 1
    return i - n if n - i <= after else None


def _under_parameter_test(fn, st) -> bool:
    """Is ``st`` in a branch of an ``if`` in ``fn`` whose test reads only ``fn``'s parameters (``if tie_weights:``,
    ``if emb_src_trg_weight_sharing and share:``)?"""
    args = getattr(fn, "args", None)
    if args is None:
        return False
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    for n in ast.walk(fn):
        if not isinstance(n, ast.If) or not any(m is st for b in n.body + n.orelse for m in ast.walk(b)):
            continue
        names = {m.id for m in ast.walk(n.test) if isinstance(m, ast.Name)}
        if names and names <= params and not any(isinstance(m, (ast.Call, ast.Attribute)) for m in ast.walk(n.test)):
            return True
    return False
