"""The abstract values of the inference engine, and how branches join them.

A value is one of: a :class:`~shapecheck._core._shape.Shape` (a tensor), an ``Expr`` (an int size),
a plain Python constant (bool, float, str, None), a tuple of values, :data:`OPAQUE`, or one of the
reference records below (objects whose attributes are sizes from code, modules, functions, classes).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .._core._algebra import Expr, sym
from .._core._ops._registry import OPAQUE, Opaque, Rule
from .._core._shape import UNKNOWN, Shape, Variadic
from .._core._unify import code_size
from ._signature import signature_of

__all__ = ["OPAQUE", "Opaque", "Obj", "QualRef", "ModuleVal", "FuncRef", "ClassRef", "SelfVal", "SizeOf", "DictOf", "Choice",
           "ListOf", "Partial", "first_of", "join", "join_states", "list_join", "is_tensor"]


@dataclass(frozen=True)
class Obj:
    """An object we know nothing about except its name (a config, an unannotated argument).

    Its int attributes are symbols from code named after the attribute (``cfg.d_model`` is
    ``d_model``); used as a tensor it has an unknown shape.
    """

    name: str


@dataclass(frozen=True)
class QualRef:
    """A library name not yet called: ``torch.nn.functional.softmax``, ``torch.nn.Linear``. ``alike``: a class of
    code the engine cannot read, named after this library layer (its keywords the layer does not take are its own)."""

    qualname: str
    alike: bool = False


# the qualified name of a module that is one of several (``SELayer(c) if use_se else nn.Identity()`` held in an
# ``nn.Sequential``): its ``init`` holds the options, and a call of it is a call of the ``Choice`` of them
CHOICE_MODULE = "shapecheck.choice"


@dataclass(frozen=True)
class ModuleVal:
    """An ``nn.Module`` instance: a library module with a rule, or a class defined in analysed code."""

    qualname: str
    rule: Rule | None = None
    init: Any = None  # bound constructor arguments (dict) — frozen as a tuple of items
    cls: Any = None  # ClassInfo for user classes
    args: tuple = ()  # constructor call: positional values
    kwargs: tuple = ()  # constructor call: ((name, value), ...)
    children: tuple = ()  # nn.Sequential: the modules in order
    repeated: bool = False  # nn.Sequential(*layers): its one child repeated an unknown number of times
    # nn.Sequential(*layers) whose first layer is known (the one child): what each later layer fits
    later: Any = None
    # nn.Sequential(a, b, c) with its layers written out in the call: a chain broken whatever it is given is
    # reported there, where it is built (``_user.check_chain``)
    written_out: bool = field(default=False, compare=False)
    # nn.Sequential(nn.Conv2d(304, 256, 3), BatchNorm(256), ...) with a layer the engine cannot follow (built by a
    # class passed in): ``children`` are the layers before it, and what the chain gives is unknown after them
    unknown_after: bool = False
    # the layers after the last one it cannot follow (``nn.Sequential(ACT[name](), nn.Dropout(p), nn.Linear(d, v))``):
    # what they give of a tensor of unknown shape is what the chain gives (``... v``)
    tail: tuple = ()
    # where a library layer is built (``model.py:42``): the sizes of its output are named after it in notes
    built_at: str | None = field(default=None, compare=False)

    @property
    def init_dict(self) -> dict:
        return dict(self.init or ())

    @property
    def built_label(self) -> str | None:
        """``the `Linear` built at model.py:42``, where the layer is known to be built: how a note names the line
        that chose a size of it."""
        return f"the `{self.qualname.rsplit('.', 1)[-1]}` built at {self.built_at}" if self.built_at else None


class _NamedRef:
    """A reference equal to another of its class that names the same definition, wherever it came from
    (a held module's tree or a dropped module's summary)."""

    __slots__ = ()

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.name == other.name

    def __hash__(self):
        return hash((self.name,))

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class FuncRef(_NamedRef):
    """A function defined in analysed code (``info`` is the module it lives in).

    A function of a module the project has dropped is known by the module's summary (``dropped``, a
    :class:`~._summary.Dropped`): its signature and its place answer a call that needs no body, and
    ``node`` and ``info`` parse the module again when first read. Two references are equal when
    they name the same function, wherever they came from."""

    __slots__ = ("name", "_node", "_info", "bound_self", "closure", "_dropped")

    def __init__(self, name: str, node: Any = None, info: Any = None, bound_self: Any = None,
                 closure: Any = None, dropped: Any = None):
        self.name = name
        self._node, self._info = node, info
        self.bound_self = bound_self
        self.closure = closure  # the variables a lambda saw
        self._dropped = dropped

    def _load(self) -> None:
        d, self._dropped = self._dropped, None
        info = d.load()
        fn = info.functions.get(self.name) if info is not None else None
        if fn is not None:
            self._node, self._info = fn, info

    @property
    def node(self):
        if self._dropped is not None:
            self._load()
        return self._node

    @property
    def info(self):
        if self._dropped is not None:
            self._load()
        return self._info

    def _facts(self):
        return self._dropped.summary.functions[self.name] if self._dropped is not None else None

    @property
    def is_lambda(self) -> bool:
        return self._dropped is None and isinstance(self._node, ast.Lambda)

    def signature(self):
        """The callee's :class:`~._signature.Signature` (from the summary while that knows it); None
        when the function is gone (its module no longer parses)."""
        facts = self._facts()
        if facts is not None and facts.signature is not None:
            return facts.signature
        node = self.node
        return signature_of(node, self.info) if node is not None else None

    def gives_layer(self) -> bool:
        """Whether the function may return a layer (from the summary while the module is dropped)."""
        facts = self._facts()
        if facts is not None:
            return facts.gives_layer
        from ._callables import may_give_layer
        from ._memo import per_node
        node, info = self.node, self.info
        return node is not None and info is not None and per_node(info.memo.factories, node,
                                                                  lambda: may_give_layer(node))

    @property
    def axis_aliases(self):
        if self._dropped is not None:
            return self._dropped.summary.axis_aliases
        return self.info.imports.axis_aliases

    def place(self) -> tuple:
        """``(path, line)`` of the definition (path None when unknown)."""
        facts = self._facts()
        if facts is not None:
            return self._dropped.summary.path, facts.lineno
        info = self.info
        return (info.path if info is not None else None), getattr(self._node, "lineno", 1)


class ClassRef(_NamedRef):
    """A class defined in analysed code (``cls`` its ``ClassInfo``). A class of a dropped module is
    known by the module's summary: whether it is an ``nn.Module`` is answered there while it knows,
    and the library layer it is;
    ``cls`` parses the module again when first read."""

    __slots__ = ("name", "_cls", "_dropped")

    def __init__(self, name: str, cls: Any = None, dropped: Any = None):
        self.name = name
        self._cls = cls
        self._dropped = dropped

    @property
    def cls(self):
        if self._dropped is not None:
            d, self._dropped = self._dropped, None
            info = d.load()
            self._cls = info.classes.get(self.name) if info is not None else None
        return self._cls

    @property
    def is_module(self) -> bool:
        if self._dropped is not None:
            known = self._dropped.summary.classes[self.name].is_module
            if known is not None:
                return known
        cls = self.cls
        return cls is not None and cls.is_module

    @property
    def library_layer(self) -> str | None:
        """The library layer the class is (``ClassInfo.library_layer``), from the summary of a dropped module."""
        if self._dropped is not None:
            return self._dropped.summary.classes[self.name].library_layer
        cls = self.cls
        return cls.library_layer if cls is not None else None


@dataclass
class SelfVal:
    """``self`` inside a method: the attributes learnt from ``__init__``."""

    cls: Any
    attrs: dict
    facts: set = field(default_factory=set)  # divisibility learnt in __init__ (assert d % n == 0)
    fields: frozenset = frozenset()  # the sizes __init__ named (constructor arguments, config fields)
    alike: frozenset = frozenset()  # pairs of them that may be one size (the same literal default)
    defaults: dict = field(default_factory=dict)  # their literal int defaults (``Env.defaults``)
    read: frozenset = frozenset()  # those read off an object, a configuration's fields (``Env.read``)
    # tensors another method caches on the module (``self.ab = self.attention_biases[:, self.idxs]`` in
    # ``train``), read where ``__init__`` left them unset (``_expressions.set_elsewhere``)
    elsewhere: dict = field(default_factory=dict)

    def __hash__(self) -> int:
        return id(self)

    def learn(self, env) -> None:
        """What ``__init__``'s analysis (its final ``Env``) tells the other methods of the sizes it named."""
        self.facts = set(env.divisible)
        self.fields = env.unrelated_fields()
        self.alike = env.alike
        self.defaults = env.defaults
        self.read = env.read


class Namespace:
    """The class of ``nn.Module()`` built bare and used as a namespace of layers (``self.mid = nn.Module()``,
    ``self.mid.block_1 = ResnetBlock(...)``): no methods, no class attributes; its ``SelfVal`` holds what is
    assigned to it."""

    name = "Module"
    qualname = "torch.nn.Module"
    is_sequential = False
    extended_layer = None

    def find_method(self, name: str, depth: int = 0):
        return None

    def class_int(self, name: str, depth: int = 0):
        return None


NAMESPACE = Namespace()
BASE_LAYER = "<base layer>"  # SelfVal.attrs key: the library layer a subclass's ``super().__init__(...)`` built
SEQUENTIAL_LAYERS = "<sequential layers>"  # SelfVal.attrs key: the layers ``super().__init__(...)`` gave a Sequential
# (and ``self.add_module(name, layer)`` appended), None when one of them is not known
SEQUENTIAL_NAMES = "<sequential names>"  # SelfVal.attrs key: the names of those layers, in order


def sequential_chain(sv) -> ModuleVal | None:
    """The ``self`` of an ``nn.Sequential`` subclass as the chain of the layers its constructor gave, or None."""
    layers = sv.attrs.get(SEQUENTIAL_LAYERS) if isinstance(sv, SelfVal) else None
    return ModuleVal("torch.nn.Sequential", children=layers) if layers else None


@dataclass(frozen=True)
class SizeOf:
    """``x.shape`` / ``x.size()`` of a tensor of unknown rank (unpacking it names the axes)."""

    var: str | None
    shape: Shape


@dataclass(frozen=True)
class ListOf:
    """A homogeneous container (``nn.ModuleList``, a list comprehension): element value, length."""

    elem: Any
    length: Any = None
    # the first element, when known (``layers.append(...)`` in a loop appends it first; ``nn.ModuleList([a,
    # b])`` holds ``a`` first), and every element in order when the list was written out
    first: Any = None
    items: tuple | None = None
    # a ``nn.ModuleList()`` attribute filled by appends outside any loop (``self.conv.append(nn.Conv2d(...))``
    # then ``if bn: self.conv.append(nn.BatchNorm2d(c))``): it holds ``first`` for sure, and ``rest`` is what
    # each later element fits (ONLY_FIRST when nothing follows it); None when that is not known
    rest: Any = None


EMPTY = "empty"  # the length of a ``nn.ModuleList()`` built empty, before anything is appended to it
ONLY_FIRST = "only first"  # the ``rest`` of a list known to hold its first element alone


@dataclass(frozen=True)
class DictOf:
    """A dict with string keys known statically (``dict(wte=..., h=...)``): ``((key, value), ...)``."""

    items: tuple

    def get(self, key: str):
        for k, v in self.items:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class Partial:
    """``functools.partial(ResnetBlock, groups=8)``: a class or function with some arguments given; a call
    adds its own (``block_klass(dim * 2, dim)`` builds ``ResnetBlock(dim * 2, dim, groups=8)``)."""

    func: Any
    args: tuple = ()
    kwargs: tuple = ()  # ((name, value), ...)


@dataclass(frozen=True)
class Choice:
    """One of several callables (``nn.LayerNorm(d) if qk_norm else nn.Identity()``): a call joins them."""

    options: tuple


def is_tensor(v) -> bool:
    return isinstance(v, Shape)


def _join_dim(a, b):
    if a == b:
        return a
    return UNKNOWN


def _join_shapes(a: Shape, b: Shape) -> Shape:
    """What two shapes have in common: an axis both give (with its origin when both agree on it, or on
    its role), and when their ranks differ or are unknown, the trailing axes both have behind an
    unknown prefix (``b t c`` and ``t c`` join to ``... t c``: every shape of either branch has at least
    those last axes)."""
    if a.rank is not None and a.rank == b.rank:
        idx = range(len(a.dims))
        dims = tuple(_join_dim(a.dims[i], b.dims[i]) for i in idx)
        return Shape(dims, _join_origins(a, b) or (), None, _common_meta(a, b))
    n = min(_fixed_suffix(a), _fixed_suffix(b))
    if n == 0:
        return Shape((Variadic(None),))
    tail_a, tail_b = a.dims[len(a.dims) - n:], b.dims[len(b.dims) - n:]
    dims = (Variadic(None),) + tuple(_join_dim(x, y) for x, y in zip(tail_a, tail_b))
    origins = (None,) + tuple(a.origin(i) if x == y and a.origin(i) == b.origin(j) else None
                              for i, j, x, y in zip(range(-n, 0), range(-n, 0), tail_a, tail_b))
    return Shape(dims, origins if any(o is not None for o in origins) else (), None,
                 _suffix_meta(a, b, n))


def _suffix_meta(a: Shape, b: Shape, n: int) -> tuple:
    """The facts two branches of different ranks state alike (or each otherwise, ``either:``) about the last ``n``
    axes both keep: those whose axis counts from the end within them (a softmax over ``dim=-1`` of scores that one
    branch broadcast against a mask of unknown rank), and those that are only where they were made."""
    def fits(v) -> bool:
        if _made_at(v):
            return True
        return isinstance(v, tuple) and v and type(v[0]) is int and -n <= v[0] < 0 and _made_in(v)

    a2 = Shape(a.dims, a.origins, a.label, tuple(kv for kv in a.meta if fits(kv[1])))
    b2 = Shape(b.dims, b.origins, b.label, tuple(kv for kv in b.meta if fits(kv[1])))
    return _common_meta(a2, b2)


def _common_meta(a: Shape, b: Shape) -> tuple:
    """The facts the engine carries on a value (``Shape.meta``) that both branches state alike: the
    softmax that normalised attention weights, whether heads were mixed after it in one branch or not (a fact
    each branch made at its own line, the first branch's). A fact the branches made otherwise (a softmax over
    another axis in one of them) is kept as the facts of either branch (``either:<key>``).
    The doubt ``unverified`` (the value may not be a tensor) is no such fact and is not joined here: it
    stays as it was, kept only when the branches' values carry the same meta."""
    other, mine = dict(b.meta), dict(a.meta)
    kept = [kv for kv in a.meta if kv[0] != "unverified" and not kv[0].startswith(EITHER)
            and (kv in b.meta or _made_at(kv[1]) and _made_at(other.get(kv[0])))]
    same = {k for k, _ in kept}
    for k, va in a.meta:
        vb = other.get(k)
        if k in same or k == "unverified" or k.startswith(EITHER) or not (_made_in(va) and _made_in(vb)):
            continue
        # a fact each branch made otherwise (the softmax of one branch over another axis): either may hold
        kept.append((EITHER + k, tuple(dict.fromkeys(mine.get(EITHER + k, ()) + other.get(EITHER + k, ()) + (va, vb)))))
    made = {k for k, _ in kept}
    for k, va in a.meta:
        # the facts of either branch of an earlier ``if``, which both paths still carry alike (neither branch of
        # this one touched them: one returned the weights viewed and viewed back): one of them still holds
        if k.startswith(EITHER) and k not in made and other.get(k) == va:
            kept.append((k, va))
    return tuple(kept)


# the meta key of the facts two branches made otherwise, one of which holds on each path: ``either:<key>``
EITHER = "either:"


def _made_in(v) -> bool:
    """A fact that names where it was made (a tuple holding a syntax node: a softmax's axis and the call)."""
    return isinstance(v, tuple) and any(isinstance(n, ast.AST) for n in v)


def _made_at(v) -> bool:
    """A fact whose value is only where it was made (a tuple of syntax nodes: the product that made attention
    scores): two branches that each make it state the same fact, at their own lines."""
    return isinstance(v, tuple) and bool(v) and all(isinstance(n, ast.AST) for n in v)


def _fixed_suffix(s: Shape) -> int:
    """How many axes a shape has after its variadic part (all of them when it has none)."""
    v = s.variadic_index
    return len(s.dims) if v is None else len(s.dims) - v - 1


def _join_origins(a: Shape, b: Shape):
    """Per axis, the provenance both branches share, or one that states the role both agree on (the
    positions padded in one branch are still positions after the join); None elsewhere."""
    if not a.origins or not b.origins:
        return None
    out = []
    for x, y, da, db in zip(a.origins, b.origins, a.dims, b.dims):
        if x == y and da == db and getattr(x, "role", None) == getattr(y, "role", None):
            out.append(x)
        elif getattr(x, "role", None) is not None and getattr(x, "role", None) == getattr(y, "role", None):
            out.append(x)
        else:
            out.append(None)
    return tuple(out) if any(o is not None for o in out) else None


def _without_mixed(meta) -> tuple:
    return tuple((k, v) for k, v in meta if k != "mixed")


def join(a, b):
    """The value both branches agree on."""
    if a is b:
        return a
    if isinstance(a, Shape) and isinstance(b, Shape):
        if a == b:
            if a.meta == b.meta:
                out = a
            elif _without_mixed(a.meta) == _without_mixed(b.meta):
                out = a if a.get_meta("mixed") else b  # mixed in one branch: mixed after the join
            else:
                out = Shape(a.dims, a.origins, a.label, _common_meta(a, b))
        else:
            out = _join_shapes(a, b)
        # what may be a NumPy array on one path may be one after the join
        return out.with_meta(maybe_array=True) if a.get_meta("maybe_array") or b.get_meta("maybe_array") else out
    if isinstance(a, Expr) and isinstance(b, Expr):
        return a if a == b else OPAQUE
    if isinstance(a, Obj) and isinstance(b, Expr) or isinstance(a, Expr) and isinstance(b, Obj):
        # ``head_dim = attn_head_dim`` then ``if head_dim is None: head_dim = dim // num_heads``: a size,
        # one of the two, named after the object but not distinct from other names
        obj = a if isinstance(a, Obj) else b
        size = code_size(obj.name)
        other = b if obj is a else a
        if any(t.name != size.as_sym().name for t in other.symbols()):
            # ``rows, cols = res, split`` on one branch and ``cols, rows = res, split`` on the other: one of two
            # sizes, not the size of the object itself (the window is ``res*split`` either way, never ``res*res``)
            return sym(size.as_sym().name + "'", "code")
        return size
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(join(x, y) for x, y in zip(a, b))
    if isinstance(a, (tuple, ListOf)) and isinstance(b, (tuple, ListOf)):
        # a list grown in a loop: its length is unknown, its elements fit each
        return a if a == b else list_join(a, b)
    try:
        if type(a) is type(b) and a == b:
            return a
    except Exception:  # values with odd equality
        return OPAQUE
    callables = (ModuleVal, FuncRef, ClassRef, QualRef, Choice)
    if isinstance(a, callables) and isinstance(b, callables):
        opts = (a.options if isinstance(a, Choice) else (a,)) + (b.options if isinstance(b, Choice) else (b,))
        opts = tuple(o for i, o in enumerate(opts) if o not in opts[:i])
        # a choice among more than 8 is unknown: what holds of some options need not hold of the others
        return Choice(opts) if len(opts) <= 8 else OPAQUE
    if isinstance(a, callables) and b is None or a is None and isinstance(b, callables):
        # an optional layer (``norm_layer(d) if mid_norm else None``): wherever it is called, it is this one;
        # a choice of one, so that a test of it against None stays undecided
        c = a if b is None else b
        return c if isinstance(c, Choice) else Choice((c,))
    if isinstance(a, Shape) and b is None or a is None and isinstance(b, Shape):
        # an optional tensor: wherever it is used as a tensor, it is this one (but it may be None)
        return (a if b is None else b).with_meta(maybe_none=True)
    if isinstance(a, Shape) or isinstance(b, Shape):
        # an array on one path, an object nothing is known of on the other (``if flip: img = img[:, ::-1]``
        # of an unannotated ``img``, or what a call the engine cannot follow gave): it may be a NumPy array
        maybe_array = isinstance(a, Obj) or isinstance(b, Obj) or a is OPAQUE or b is OPAQUE \
            or (a if isinstance(a, Shape) else b).get_meta("maybe_array")
        return Shape((Variadic(None),)).with_meta(maybe_array=True) if maybe_array else Shape((Variadic(None),))
    return OPAQUE


# parameters that conventionally hold a normalization layer's class (timm's ``norm_layer``)
NORM_FACTORIES = frozenset({"norm_layer", "norm_act_layer", "norm_cls", "norm_class"})


def join_states(states: list) -> dict:
    """Join variable maps of branches that fall through (a missing variable becomes opaque)."""
    states = [s for s in states if s is not None]
    if not states:
        return None
    if len(states) == 1:
        return dict(states[0])
    keys = set()
    for s in states:
        keys |= s.keys()
    out = {}
    for k in keys:
        vals = [s.get(k, OPAQUE) for s in states]
        v = vals[0]
        for w in vals[1:]:
            v = join(v, w)
        if k in NORM_FACTORIES and Obj(k) in vals and not any(isinstance(w, (Shape, Expr)) for w in vals):
            # ``if norm_layer is None: norm_layer = RmsNorm``: still a normalization layer's class
            v = Obj(k)
        out[k] = v
    return out


def first_of(v):
    """The first element of a list (a tuple or a ListOf) when known, EMPTY for an empty one, else None."""
    if isinstance(v, tuple):
        return v[0] if v else EMPTY
    if isinstance(v, ListOf):
        return EMPTY if v.length == EMPTY else v.first
    return None


def list_join(a, b) -> "ListOf":
    """A list of unknown length holding the elements of both (a ListOf or a tuple each); its first element
    is known when both agree on it (or one is empty: a loop that may not have run yet)."""
    fa, fb = first_of(a), first_of(b)
    first = fb if fa is EMPTY else fa if fb is EMPTY else fa if fa == fb else None
    first = None if first is EMPTY else first
    elems = []
    for x in (a, b):
        if isinstance(x, ListOf) and x.length == EMPTY:
            continue  # ``nn.ModuleList([])`` before a loop appends to it: no element yet
        elems.extend((x.elem,) if isinstance(x, ListOf) else x)
    if not elems:
        return ListOf(OPAQUE)
    v = elems[0]
    for w in elems[1:]:
        v = join(v, w)
    ra, rb = rest_of(a), rest_of(b)
    if ra is not None and rb is not None and first is None and fa is not EMPTY and fb is not EMPTY:
        # ``if bias: self.conv.append(nn.Conv2d(c, d, 3))`` ``else: ...(nn.Conv2d(c, d, 3, bias=False))``:
        # a list that holds one of the two first
        first = join(fa, fb)
        first = first if isinstance(first, Choice) else None
    rest = None if first is None or ra is None or rb is None else \
        rb if ra == ONLY_FIRST else ra if rb == ONLY_FIRST else join(ra, rb)
    if rest is not ONLY_FIRST and not isinstance(rest, (ModuleVal, Choice)):
        rest = None
    return ListOf(v, first=first, rest=rest)


def rest_of(v):
    """What each element after the first of a list known to hold a first one fits (ONLY_FIRST when none
    follows it), else None."""
    return v.rest if isinstance(v, ListOf) else None
