"""Role inference: the producer of an axis says what it is for (see ``shapecheck._core._roles``).

After each call's shape rule has run, this room gives the result's axes the roles the call makes
unambiguous: a convolution, pooling or batch/instance/group norm makes ``(batch, channel, spatial...)``,
a Linear makes features (classes when its size is named so), an Embedding features, a recurrent
layer ``(batch, position, feature)`` in its ``batch_first`` order, a recurrent cell ``(batch, feature)``, ``view(-1, K)`` of data puts the
flattened batch first, a head split (``view(B, T, n, C // n)``) makes a head axis, and the
channels-first to channels-last permute ``permute(0, 2, 3, 1)`` states height, width and channel.
Roles then travel with the axes' provenance through the operator shape rules. A size that received
a role is remembered by symbol for the rest of the function (``symbol_roles``), unless it received
two different ones.
"""

from __future__ import annotations

import ast
import re

from .._core._algebra import Expr, FloorDiv, Sym
from .._core._ops._registry import as_int
from .._core._ops._util import CONV_LEAD
from .._core._ops.elementwise import binary_names
from .._core._roles import (BATCH, CHANNEL, CLASS, DEPTH, FEATURE, HEAD, HEIGHT, ONE, POSITION, SPATIAL,
                            SPATIAL_ROLES, WIDTH, RoleOrigin, name_role, role_of, with_roles)
from .._core._shape import Shape, Variadic
from .._core._unify import unnamed_size
from ._common import literal_int
from ._memo import per_node
from ._uses import use_roles

_SPATIAL = {1: (SPATIAL,), 2: (HEIGHT, WIDTH), 3: (DEPTH, HEIGHT, WIDTH)}

# (batch, channel, n spatial axes) producers, by the last part of their qualified name
_NCHW = re.compile(
    r"^(?:Conv|ConvTranspose|LazyConv|LazyConvTranspose|BatchNorm|LazyBatchNorm|InstanceNorm|LazyInstanceNorm|"
    r"MaxPool|AvgPool|AdaptiveAvgPool|AdaptiveMaxPool|LPPool|FractionalMaxPool|conv|conv_transpose|"
    r"max_pool|avg_pool|adaptive_avg_pool|adaptive_max_pool|lp_pool)([123])d$")
_NCHW_ANY = {"interpolate", "upsample", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "GroupNorm",
             "group_norm", "batch_norm", "instance_norm", "pixel_shuffle", "pixel_unshuffle", "PixelShuffle",
             "PixelUnshuffle", "SyncBatchNorm"}
_NORM = re.compile(r"^(?:BatchNorm|LazyBatchNorm|InstanceNorm|LazyInstanceNorm|SyncBatchNorm|GroupNorm|batch_norm|"
                   r"instance_norm|group_norm)")
_LINEAR = {"torch.nn.Linear", "torch.nn.LazyLinear", "torch.nn.functional.linear", "torch.nn.Bilinear"}
_EMBEDDING = {"torch.nn.Embedding", "torch.nn.functional.embedding", "torch.nn.EmbeddingBag"}
_RECURRENT = {"torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN"}
_CELLS = {"torch.nn.LSTMCell", "torch.nn.GRUCell", "torch.nn.RNNCell"}
_VIEW = {"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"}
_PERMUTE = {"torch.Tensor.permute", "torch.permute"}
_FLATTEN = {"torch.flatten", "torch.Tensor.flatten"}
_BINARY = frozenset(binary_names())
_EINOPS = {"einops.rearrange", "einops.repeat", "einops.reduce", "einops.layers.torch.Rearrange",
           "einops.layers.torch.Reduce"}
_DATA_ROLES = {BATCH, FEATURE, CLASS, CHANNEL, HEIGHT, WIDTH, DEPTH, SPATIAL, POSITION, HEAD}
_BY_SYMBOL = {BATCH, CHANNEL, HEIGHT, WIDTH, DEPTH, HEAD, CLASS}


def _per_example_flatten(node) -> bool:
    """``x.view(x.size(0), -1)`` (``x.shape[0]``, ``reshape``, ``torch.reshape(x, (x.size(0), -1))``): every axis of
    ``x`` but the first flattened into one, the first kept: the per-example flatten before a classifier head,
    whose first axis is the batch."""
    if not isinstance(node, ast.Call) or node.keywords or not isinstance(node.func, ast.Attribute) or not node.args:
        return False
    f = node.func
    if isinstance(f.value, ast.Name) and f.value.id == "torch" and f.attr == "reshape":
        src, sizes = node.args[0], node.args[1:]
    elif f.attr in ("view", "reshape"):
        src, sizes = f.value, node.args
    else:
        return False
    if len(sizes) == 1 and isinstance(sizes[0], (ast.Tuple, ast.List)):
        sizes = sizes[0].elts
    if src is None or len(sizes) != 2 or literal_int(sizes[1]) != -1:
        return False
    first = sizes[0]
    if isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute) and first.func.attr == "size" \
            and len(first.args) == 1 and literal_int(first.args[0]) == 0:
        base = first.func.value
    elif isinstance(first, ast.Subscript) and isinstance(first.value, ast.Attribute) \
            and first.value.attr == "shape" and literal_int(first.slice) == 0:
        base = first.value.value
    else:
        return False
    return ast.dump(base) == ast.dump(src)


class RoleInference:
    """The role room of :class:`~._walk.FunctionAnalysis`."""

    symbol_roles: dict | None = None  # Sym -> role ("" once two producers disagree)

    def infer_roles(self, q, args, kwargs, result, init, node=None):
        """``result`` with the roles the call ``q`` gives its axes (``node``: the call, where the code says more
        than the values, ``x.view(x.size(0), -1)``)."""
        if not q or not q.startswith(("torch.", "einops.")):
            return result
        try:
            if isinstance(result, tuple) and q in _RECURRENT and len(result) == 2:
                return (self._recurrent(result[0], init or {}), _states(result[1]))
            if q in _CELLS:
                return tuple(_cell(h) for h in result) if isinstance(result, tuple) else _cell(result)
            if not isinstance(result, Shape) or result.is_any:
                return result
            roles = self._roles_for(q, args, kwargs, result, init or {}, node)
        except Exception:  # roles are a refinement: never let them take the analysis down
            if self.mod.strict:
                raise
            return result
        if not roles:
            return result
        out = with_roles(result, roles)
        self._remember(out, roles)
        return out

    def role(self, v, i: int):
        return role_of(v, i, self.symbol_roles, self.env.resolve)

    def scope_use_roles(self) -> dict:
        """The roles the uses of this scope's values state (``_uses.use_roles``), read once per scope."""
        scope = getattr(self, "node", None)
        if scope is None:
            return {}
        def read() -> dict:
            try:
                return use_roles(scope, self.mod.imports.qualify)
            except Exception:  # roles are a refinement: never let them take the analysis down
                if self.mod.strict:
                    raise
                return {}

        return per_node(self.mod.memo.uses, scope, read)

    # -- producers ------------------------------------------------------------------------------
    def _roles_for(self, q, args, kwargs, result: Shape, init: dict, node=None) -> dict | None:
        last = q.rsplit(".", 1)[-1]
        m = _NCHW.match(last)
        if m is not None or last in _NCHW_ANY:
            roles = _nchw(result, int(m.group(1)) if m else None, norm1d=last.startswith(("BatchNorm", "batch_norm",
                                                                                          "InstanceNorm")))
            if roles and _NORM.match(last):
                # a norm keeps its input's layout and says only where its channels are: the axes after them are
                # what its input held there (a spectrogram turned to normalise its mel bins is no image)
                roles = {k: r for k, r in roles.items() if r not in (HEIGHT, WIDTH, DEPTH)}
            return roles
        if q in _LINEAR:
            size = init.get("out_features") if q != "torch.nn.functional.linear" else _weight_rows(args, kwargs)
            return {-1: CLASS if name_role(size) == CLASS else FEATURE}
        if q in _EMBEDDING:
            return {-1: FEATURE}
        if q == "torch.nn.functional.one_hot":
            return {-1: CLASS}  # the appended axis counts the classes
        if q in _VIEW:
            roles = self._view(args, kwargs, result) or {}
            if 0 not in roles and _per_example_flatten(node) and args and isinstance(args[0], Shape) \
                    and args[0].min_rank >= 3 and (self._is_data(args[0]) or args[0].get_meta(CONV_LEAD)):
                # three axes or more flattened behind the first: not a table of rows kept as it is
                roles[0] = BATCH
            merged = self._merged_grid(args[0] if args else None, result)
            if merged is not None:
                roles[merged] = POSITION
            return roles or None
        if q in _FLATTEN:
            return self._flatten(args, kwargs, result)
        if q in _BINARY:
            return self._broadcast(args, result)
        if q == "torch.Tensor.__getitem__":
            return self._sliced(args, result)
        if q in _PERMUTE:
            return self._permute(args, result)
        if q in _EINOPS:
            pattern = init.get("pattern") if q.startswith("einops.layers.") else (args[1] if len(args) > 1 else None)
            return _einops_roles(pattern, result)
        return None

    def _recurrent(self, out, init: dict):
        if not isinstance(out, Shape) or out.rank != 3:
            return out
        first = init.get("batch_first") is True
        return with_roles(out, {0: BATCH if first else POSITION, 1: POSITION if first else BATCH, 2: FEATURE})

    def _view(self, args, kwargs, result: Shape) -> dict | None:
        if not args or result.rank is None or result.rank < 2:
            return None
        src = args[0]
        sizes = list(args[1:])
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = list(sizes[0])
        for k in ("shape", "size"):
            if k in kwargs and isinstance(kwargs[k], (tuple, list)):
                sizes = list(kwargs[k])
        flat = sizes and as_int(sizes[0]) == -1 and len(sizes) == result.rank == 2
        unseen = not isinstance(src, Shape) or src.rank is None and not src.get_meta("module_state") \
            and not (src.label or "").startswith("`self.")
        if flat and unseen and self.role(result, 1) == CLASS:
            # ``logits.view(-1, vocab_size)`` of logits the engine could not shape (a model's output): one row
            # of class scores per example (a table the module holds, ``self.w.view(-1, n_classes)``, is not)
            return {0: BATCH}
        if not isinstance(src, Shape):
            return None
        roles = {}
        if sizes and as_int(sizes[0]) == -1 and len(sizes) == result.rank and self._is_data(src):
            roles[0] = BATCH  # view(-1, K) of data: the flattened leading (batch) axes
        heads = _head_split(result, self.env.resolve)
        if heads is None and result.rank is not None and result.rank >= 3 and sizes \
                and len(sizes) == result.rank and as_int(sizes[-1]) == -1 \
                and self.role(result, result.rank - 2) == HEAD:
            heads = result.rank - 2  # ``view(B, T, n_heads, -1)``: the -1 is the per-head size
        if heads is not None:
            roles[heads] = HEAD
            if result.rank is not None and heads == result.rank - 2 and heads >= 2:
                # a head split ``(B, T, H, d)`` states the per-head features (its last axis) and
                # the positions (the nearest axis before the heads that is not a literal one and not the first)
                if role_of(result, -1, None, self.env.resolve) is None:
                    roles[result.rank - 1] = FEATURE
                j = heads - 1
                while j >= 1 and isinstance(result.dims[j], Expr) and result.dims[j].value == 1:
                    j -= 1
                if j >= 1 and role_of(result, j, None, self.env.resolve) is None:
                    roles[j] = POSITION
        if self.symbol_roles:
            # ``view(B, H, W, C)`` with sizes read from a convolution's output: the axes hold what those
            # sizes held there (stored, so that the roles leave the function with the axes)
            for i, d in enumerate(result.dims):
                s = d.as_sym() if isinstance(d, Expr) else None
                r = self.symbol_roles.get(s) if s is not None else None
                if r and i not in roles and role_of(result, i, None, self.env.resolve) is None:
                    roles[i] = r
        return roles or None

    def _permute(self, args, result: Shape) -> dict | None:
        if not args or not isinstance(args[0], Shape) or args[0].rank not in (4, None) or result.rank != 4:
            return None  # (a permutation of four axes says that a tensor of unknown rank has four)
        rest = list(args[1:])
        if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
            rest = list(rest[0])
        perm = [as_int(v) for v in rest]
        if perm != [0, 2, 3, 1] or any(self.role(args[0], i) for i in (1, 2, 3)):
            return None
        # channels-first to channels-last on a 4-axis tensor whose roles are not known: the layout
        # conversion itself states them
        return {1: HEIGHT, 2: WIDTH, 3: CHANNEL}

    def _broadcast(self, args, result: Shape) -> dict | None:
        """An elementwise op's axes are its operands' axes broadcast together: an axis whose size the op
        could not decide (a convolution's output added to its input) keeps the role its operands agree on."""
        if result.rank is None:
            return None
        shapes = [a for a in args[:2] if isinstance(a, Shape) and a.rank is not None]
        roles = {}
        for i in range(1, result.rank + 1):
            if role_of(result, -i, None, self.env.resolve) is not None:
                continue  # (a role known only by symbol is stored, so that it leaves the function with the axis)
            found = {self.role(x, -i) for x in shapes if x.rank >= i} - {None, ONE}
            if len(found) == 1:
                roles[-i] = found.pop()
        return roles or None

    def _sliced(self, args, result: Shape) -> dict | None:
        """``x[:, 1:]``: a slice keeps what its axis holds (the positions after the class token are still
        positions), although its size changes."""
        if len(args) < 2 or not isinstance(args[0], Shape):
            return None
        src, index = args[0], args[1]
        items = list(index) if isinstance(index, tuple) else [index]
        if not items or any(not (isinstance(it, slice) or it is None) for it in items):
            return None  # an int, an Ellipsis or a tensor index moves the axes: only plain slices are followed
        if sum(isinstance(it, slice) for it in items) > _leading_axes(src) \
                or len(items) > _leading_axes(result):
            return None
        roles = {}
        p = 0
        for k, it in enumerate(items):
            if it is None:
                continue
            r = self.role(src, p)
            if r is not None and r != ONE and self.role(result, k) is None:
                roles[k] = r
            p += 1
        return roles or None

    def _spatial(self, src: Shape, lo: int, hi: int) -> bool:
        """Are axes ``lo..hi`` of ``src`` (at least two) all spatial (height, width, depth, a length)?"""
        return hi > lo and all(self.role(src, i) in SPATIAL_ROLES for i in range(lo, hi + 1))

    def _flatten(self, args, kwargs, result: Shape) -> dict | None:
        """``x.flatten(2)`` of a ``(batch, channel, height, width)`` map: the merged spatial axes are the
        positions of the image (its tokens)."""
        src = args[0] if args else kwargs.get("input")
        if not isinstance(src, Shape) or src.rank is None or result.rank is None:
            return None
        n = src.rank
        s = as_int(kwargs.get("start_dim", args[1] if len(args) > 1 else 0))
        e = as_int(kwargs.get("end_dim", args[2] if len(args) > 2 else -1))
        if s is None or e is None or not (-n <= s < n and -n <= e < n):
            return None
        s, e = s % n, e % n
        return {s: POSITION} if self._spatial(src, s, e) and result.rank == n - (e - s) else None

    def _merged_grid(self, src, result: Shape) -> int | None:
        """The axis of a ``view``/``reshape`` that merges two or more spatial axes of ``src`` and nothing
        else (``reshape(B, C, -1)`` of a ``(B, C, H, W)`` map): the axes before and after it are ``src``'s own, as
        the bindings stand."""
        if not isinstance(src, Shape) or src.rank is None or result.rank is None or result.rank >= src.rank:
            return None
        n, r = src.rank, result.rank
        p = 0
        res = self.env.resolve
        while p < r - 1 and _same(src.dims[p], result.dims[p], res):
            p += 1
        t = 0
        while t < r - 1 - p and _same(src.dims[n - 1 - t], result.dims[r - 1 - t], res):
            t += 1
        if p + t != r - 1:
            return None
        return p if self._spatial(src, p, n - 1 - t) else None

    def _is_data(self, v: Shape) -> bool:
        """Does the tensor hold examples (some axis has the role a layer or the data gave it)?"""
        n = len(v.dims)
        for k in range(n):
            if isinstance(v.dims[k], Variadic):
                continue
            i = k if v.variadic_index is None or k < v.variadic_index else k - n
            if self.role(v, i) in _DATA_ROLES:
                return True
        return False

    def named_axis_origin(self, old: Shape, i: int, d, origin):
        """The provenance of axis ``i`` of ``old`` named anew as the size ``d`` (``B, C, H, W = y.shape`` after a
        convolution, ``h = y.size(2)``): it keeps the role the axis's producer stated, and ``d`` is
        remembered with that role for the rest of the function (``view(B, H, W, C)`` holds height and width)."""
        try:
            r = self.role(old, i)
        except Exception:  # roles are a refinement: never let them take the analysis down
            if self.mod.strict:
                raise
            return origin
        if r is None or r == ONE or not isinstance(d, Expr):
            return origin
        self._remember(Shape((d,)), {0: r})
        return RoleOrigin(origin, r)

    def _remember(self, out: Shape, roles: dict) -> None:
        for i, role in roles.items():
            if role not in _BY_SYMBOL:
                continue
            try:
                d = out.dims[i]
            except IndexError:
                continue
            s = d.as_sym() if isinstance(d, Expr) else None
            if s is None:
                continue
            if self.symbol_roles is None:
                self.symbol_roles = {}
            old = self.symbol_roles.get(s)
            self.symbol_roles[s] = role if old in (None, role) else ""


def _leading_axes(v: Shape) -> int:
    """How many leading axes of ``v`` are known by position."""
    return v.rank if v.rank is not None else v.variadic_index


def _same(a, b, resolve) -> bool:
    """One size, not a literal, as the function's bindings stand (``C`` unpacked from the input and the
    ``dim`` channels a convolution gave it)."""
    return isinstance(a, Expr) and isinstance(b, Expr) and a.value is None and (a == b or resolve(a) == resolve(b))


def _states(h):
    """A recurrent layer's final states ``(layers * directions, batch, hidden)`` (a pair for an LSTM)."""
    if isinstance(h, tuple):
        return tuple(_states(x) for x in h)
    if isinstance(h, Shape) and h.rank == 3:
        return with_roles(h, {1: BATCH, 2: FEATURE})
    return h


def _cell(h):
    """A recurrent cell's new state: ``(batch, hidden)`` for a batched step, the hidden features alone for an
    unbatched one."""
    if not isinstance(h, Shape) or h.rank not in (1, 2):
        return h
    return with_roles(h, {0: BATCH, 1: FEATURE} if h.rank == 2 else {0: FEATURE})


def _nchw(result: Shape, n: int | None, norm1d: bool = False) -> dict | None:
    rank = result.rank
    if rank is None:
        if n is None or len(result.dims) - 1 - (result.variadic_index or 0) < n + 1:
            return None
        roles = {-(n + 1): CHANNEL}  # (..., C, H, W): batched or not, the trailing axes are known
        roles.update({k - n: r for k, r in enumerate(_SPATIAL[n])})
        return roles
    if n is None:
        if not 3 <= rank <= 5:
            return None
        n = rank - 2
    if rank == n + 2:
        roles = {0: BATCH, 1: CHANNEL}
        roles.update({2 + k: r for k, r in enumerate(_SPATIAL[n])})
        return roles
    if norm1d and n == 1 and rank == 2:
        return {0: BATCH, 1: CHANNEL}
    if rank == n + 1 and not norm1d:  # an unbatched input (C, H, W)
        roles = {0: CHANNEL}
        roles.update({1 + k: r for k, r in enumerate(_SPATIAL[n])})
        return roles
    return None


def _weight_rows(args, kwargs):
    w = kwargs.get("weight", args[1] if len(args) > 1 else None)
    return w.dims[0] if isinstance(w, Shape) and w.rank == 2 else None


def _head_split(result: Shape, resolve) -> int | None:
    """The axis a head split made: the one that divides the last axis (``view(B, T, n, C // n)``)."""
    dims = result.dims
    last = dims[-1]
    if not isinstance(last, Expr):
        return None
    found = None
    for i, d in enumerate(dims[:-1]):
        if not isinstance(d, Expr) or d.value is not None or unnamed_size(resolve(d)):
            continue  # (a size the code never named, the -1 of another view, divides the last axis by chance)
        if _divides(last, d) or _divides(resolve(last), resolve(d)):
            if found is not None:
                return None
            found = i
    return found


def _divides(e, den) -> bool:
    if not isinstance(e, Expr) or not isinstance(den, Expr):
        return False
    s = den.as_sym()
    for mono, _coef in e.terms:
        for atom, power in mono:
            if isinstance(atom, FloorDiv) and atom.den == den:
                return True
            if power < 0 and isinstance(atom, Sym) and s == atom:
                return True
    return False


_EINOPS_BATCH = {"b", "batch", "bs", "bsz"}
_GRID_NAMES = {"h", "w", "t", "f"}  # a patch grid's axes in einops patterns (``(f h w)`` for video)
_EINOPS_SEQ = {"n", "seq", "l", "t"}  # the sequence axis in einops patterns (tokens, length, time)
_EINOPS_HEADS = {"h", "heads", "nh", "num_heads", "n_heads"}


def _einops_groups(side: str):
    """The axes of one side of an einops pattern: a name, or a list of names for a group."""
    out, group = [], None
    for tok in side.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            group = []
        elif tok == ")":
            out.append(group or [])
            group = None
        elif group is not None:
            group.append(tok)
        else:
            out.append(tok)
    return out


def _einops_roles(pattern, result: Shape) -> dict | None:
    """Roles an einops pattern's names state for the output's axes: a leading ``b`` is the batch,
    ``h`` split out of a group with other names (``(h d)``) is a head count unless the pattern also
    has ``w``, and ``h w`` (with ``c``) are height and width (and channels)."""
    if not isinstance(pattern, str) or "->" not in pattern or "..." in pattern or result.rank is None:
        return None
    lhs, rhs = pattern.split("->", 1)
    left, right = _einops_groups(lhs), _einops_groups(rhs)
    if len(right) != result.rank:
        return None
    names = {n for g in left + right for n in ([g] if isinstance(g, str) else g)}
    grouped_left = {n for g in left if isinstance(g, list) and len(g) > 1 for n in g}
    singles = {g: i for i, g in enumerate(right) if isinstance(g, str)}
    roles = {}
    for name, i in singles.items():
        if name in _EINOPS_BATCH and i == 0:
            roles[i] = BATCH
        elif name in _EINOPS_HEADS and "w" not in names and (name != "h" or name in grouped_left):
            roles[i] = HEAD
        elif name in _EINOPS_SEQ and i > 0 and name not in grouped_left:
            roles[i] = POSITION  # ``b n (h d) -> b h n d``: the sequence's positions
    split_from = {n: k for k, g in enumerate(left) if isinstance(g, list) and len(g) >= 2 for n in g}
    for i, g in enumerate(right):
        if isinstance(g, list) and len(g) >= 2 and set(g) <= _GRID_NAMES and {"h", "w"} <= set(g):
            roles[i] = POSITION  # ``b c h w -> b (h w) c``: the grid's positions, one token each
        elif isinstance(g, list) and len(g) >= 2 and i < len(right) - 1 and all(n in split_from for n in g) \
                and len({split_from[n] for n in g}) >= 2:
            # ``b (h p1) (w p2) d -> (b h w) (p1 p2) d``: the cells of a window, cut out of two axes and
            # merged into one axis of tokens (not the last axis, where ``(p1 p2)`` would be a patch's pixels
            # as features)
            roles[i] = POSITION
    if "h" in singles and "w" in singles and singles["h"] < singles["w"] and "h" not in grouped_left:
        roles[singles["h"]], roles[singles["w"]] = HEIGHT, WIDTH
        if "c" in singles:
            roles[singles["c"]] = CHANNEL
    return roles or None
