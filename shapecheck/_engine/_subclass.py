"""Subclasses of library layers: ``class Conv2d(nn.Conv2d)`` with a constructor of its own.

Real code extends a library layer with options of its own (detectron2's ``Conv2d`` pops ``norm`` and
``activation`` from ``**kwargs`` and passes the rest on to ``super().__init__``) and applies the layer in
``forward`` through ``super().forward(x)`` or the functional form over its own parameters
(``F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)``). The
constructor's ``super().__init__(...)`` builds the layer (kept on ``self``); its sizes and options are
``self``'s attributes, and both forms of applying it take and give the layer's shapes.
"""

from __future__ import annotations

import ast

from .._core._algebra import Expr, const
from .._core._ops._registry import OPAQUE
from ._common import SIZED_LAYERS, is_super_call
from ._shape_rules import _came_in
from ._values import BASE_LAYER, NAMESPACE, DictOf, ModuleVal, Obj, SelfVal, sequential_chain

NOT_HANDLED = object()

# a functional form of a library layer: the layer, and its parameters in the order the function takes them
_FUNCTIONAL = {
    "torch.nn.functional.conv1d": ("torch.nn.Conv1d", ("input", "weight", "bias", "stride", "padding", "dilation",
                                                       "groups")),
    "torch.nn.functional.conv2d": ("torch.nn.Conv2d", ("input", "weight", "bias", "stride", "padding", "dilation",
                                                       "groups")),
    "torch.nn.functional.conv3d": ("torch.nn.Conv3d", ("input", "weight", "bias", "stride", "padding", "dilation",
                                                       "groups")),
    "torch.nn.functional.linear": ("torch.nn.Linear", ("input", "weight", "bias")),
}


# the keywords a library layer takes its sizes by
_SIZE_KEYWORDS = frozenset({"in_features", "out_features", "in_channels", "out_channels", "num_embeddings",
                            "embedding_dim"})


def _passed_on(init, info, extended) -> tuple[set, set]:
    """What a module's constructor gives a library layer as its sizes, unchanged: the names of its parameters
    (``nn.Linear(in_dim, out_dim)``, ``nn.Conv1d(in_channels=c_in, ...)``, ``super().__init__(in_features,
    out_features)`` of a subclass), and the positions of the call's arguments that ``*args`` passes on to the
    first two of the layer its class extends (``super().__init__(*args, **kwargs)``)."""
    a = init.args
    params = [p.arg for p in (a.posonlyargs + a.args)[1:]]
    reassigned = {t.id for n in ast.walk(init) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                  for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    names, starred = set(), set()
    for n in ast.walk(init):
        if not isinstance(n, ast.Call):
            continue
        if is_super_call(n, "__init__"):
            if extended not in SIZED_LAYERS:
                continue
        elif (info.imports.qualify(n.func) or "") not in SIZED_LAYERS:
            continue
        for i, e in enumerate(n.args[:2]):
            if isinstance(e, ast.Starred):
                if i == 0 and isinstance(e.value, ast.Name) and a.vararg is not None and e.value.id == a.vararg.arg:
                    starred |= set(range(len(params), 2))  # ``*args`` after no named parameter: both sizes
                break
            if isinstance(e, ast.Name):
                names.add(e.id)
        names |= {k.value.id for k in n.keywords if k.arg in _SIZE_KEYWORDS and isinstance(k.value, ast.Name)}
    return (names & set(params)) - reassigned, starred


def init_arguments(fn, info, args, kwargs, extends_layer: bool = False) -> dict:
    """What a constructor's parameters hold when it is called with ``args`` and ``kwargs`` (pairs): the values
    given, and the defaults the analysis reads (an int, a module constant, None, a flag or a string). For a
    library layer's subclass (``extends_layer``), ``*args`` and ``**kwargs`` take what no parameter names."""
    a = fn.args
    params = (list(a.posonlyargs) + list(a.args))[1:]
    given = {}
    for p, v in zip(params, args):
        given[p.arg] = v
    for k, v in kwargs:
        given[k] = v
    defaults = dict(zip([p.arg for p in params][len(params) - len(a.defaults):], a.defaults))
    defaults.update({p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
    for p in params + list(a.kwonlyargs):
        if p.arg not in given and p.arg in defaults:
            d = defaults[p.arg]
            if isinstance(d, ast.Constant) and type(d.value) is int:
                given[p.arg] = const(d.value)
            elif isinstance(d, ast.Name) and isinstance(getattr(info, "constants", {}).get(d.id), Expr) \
                    and info.constants[d.id].value is not None:
                given[p.arg] = info.constants[d.id]  # ``dim_head=DEFAULT_DIM_HEAD``, a module constant
            elif isinstance(d, ast.Constant) and d.value is None:
                given[p.arg] = None  # ``out_features=None`` then ``out_features or in_features``
            elif isinstance(d, ast.Constant) and type(d.value) in (bool, str):
                # ``qk=False``: ``if self.qk:`` does not run; ``data_format="channels_last"``:
                # ``if self.data_format == "channels_first":`` does not either
                given[p.arg] = d.value
    if extends_layer:
        # ``def __init__(self, *args, **kwargs)`` passing them on to the layer's constructor: the
        # arguments not named by a parameter are those of ``*args`` and ``**kwargs``
        names = {p.arg for p in params + list(a.kwonlyargs)}
        if a.vararg:
            given[a.vararg.arg] = tuple(args[len(params):])
        if a.kwarg:
            given[a.kwarg.arg] = DictOf(tuple((k, v) for k, v in kwargs if k not in names))
    return given


class LayerSubclasses:
    """The room of the analysis that builds and applies the library layer a user class extends."""

    def dict_read(self, node, state):
        """``norm = kwargs.pop("norm", None)`` (or ``get``) on a dict whose keys are known: the value given, else
        the default; ``pop`` leaves the dict without the key. ``NOT_HANDLED`` for any other call."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("pop", "get") and isinstance(func.value, ast.Name)
                and isinstance(state.get(func.value.id), DictOf) and 1 <= len(node.args) <= 2 and not node.keywords
                and isinstance(node.args[0], ast.Constant) and type(node.args[0].value) is str):
            return NOT_HANDLED
        d, key = state[func.value.id], node.args[0].value
        if any(k == key for k, _ in d.items):
            v = d.get(key)
        else:
            v = self.ev(node.args[1], state) if len(node.args) == 2 else OPAQUE
        if func.attr == "pop":
            state[func.value.id] = DictOf(tuple((k, w) for k, w in d.items if k != key))
        return v

    def user_super_init(self, node, state) -> bool:
        """``super().__init__(d, n)`` in the constructor of a subclass of a module of the code: the base's
        constructor runs on ``self`` with those arguments, and the layers it sets are ``self``'s
        (``self.fc`` of ``Base.__init__`` read in the subclass's ``forward``). False for any other call."""
        sv = self.self_val
        if not (is_super_call(node, "__init__") and sv is not None and self.node.name == "__init__"
                and sv.cls is not NAMESPACE) or self.depth >= 4:
            return False
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return False
        owner = _owner(sv.cls, self.node)
        if owner is None:
            return False
        found = next((f for b in owner.bases() if b is not owner for f in [b.find_method("__init__")] if f), None)
        if found is None or getattr(owner, "extended_layer", None) is not None:
            return False
        fn, info = found
        args = [self.ev(a, state) for a in node.args]
        kwargs = tuple((k.arg, self.ev(k.value, state)) for k in node.keywords)
        # an argument the engine could not evaluate (``SAEConfig.from_dict(...)``) is left to the base's own reading
        # of its parameter, an object whose fields are sizes named after them (``cfg.d_sae``), as when the base is
        # analysed on its own
        given = {k: v for k, v in init_arguments(fn, info, args, kwargs).items() if v is not OPAQUE}
        sub = type(self)(info, fn, self_val=sv, args=given, depth=self.depth + 1, report=False)
        try:
            sub.run()
        except Exception:
            if self.mod.strict:
                raise
            return True
        sv.learn(sub.env)
        return True

    def layer_super_init(self, node, state) -> bool:
        """``super().__init__(*args, **kwargs)`` in the constructor of a library layer's subclass: ``self``
        holds that layer, built with these arguments (when the engine can read them). True when handled."""
        sv = self.self_val
        if not (is_super_call(node, "__init__") and sv is not None and self.node.name == "__init__"):
            return False
        q = getattr(sv.cls, "extended_layer", None)
        if q is None:
            return False
        args, kwargs = self.call_args(node, state)
        if args is not None:
            layer = self.call_qual(q, args, kwargs, node, state)
            if isinstance(layer, ModuleVal) and layer.rule is not None:
                sv.attrs[BASE_LAYER] = layer
        return True

    def passed_layer_sizes(self, ref, args, kwargs, node, state) -> tuple[list, dict]:
        """``LinearNorm(in_dim, sizes)`` of a module whose constructor gives its arguments to a library layer
        as sizes (``nn.Linear(in_dim, out_dim)``, ``super().__init__(*args, **kwargs)`` of a ``Conv2d``
        subclass): those are sizes the caller names, distinct from its other named sizes, as if it had built
        the layer itself (``_calls.call_qual``)."""
        cls = ref.cls if ref.is_module else None  # (not a module: answered by a dropped module's summary)
        init = cls.find_method("__init__") if cls is not None else None
        if init is None:
            return args, kwargs
        fn, info = init
        names, starred = _passed_on(fn, info, getattr(cls, "extended_layer", None))
        if not names and not starred:
            return args, kwargs
        params = [p.arg for p in (fn.args.posonlyargs + fn.args.args)[1:]]
        # only the caller's unknown objects (its unannotated arguments, config fields) become its sizes; a local
        # of unknown value may hold one of several sizes (``in_ch = n_features if i == 0 else n_hidden``)
        args = [self.as_size_sym(v) if isinstance(v, Obj) and (i in starred or i < len(params) and params[i] in names)
                else v for i, v in enumerate(args)]
        # ``Conv2dReLU(in_channels + skip_channels, ...)`` of two unannotated arguments, given on to a layer
        # as its size: an int sum (a ``+`` elsewhere in a constructor may join lists or strings)
        if not any(isinstance(a, ast.Starred) for a in node.args):
            for i, (v, n) in enumerate(zip(args, node.args)):
                if v is OPAQUE and isinstance(n, ast.BinOp) and (i in starred or i < len(params) and params[i] in names):
                    total = self._layer_size_sum(n, state)
                    if isinstance(total, Expr):
                        args[i] = total
        return args, {k: self.as_size_sym(v) if isinstance(v, Obj) and k in names else v for k, v in kwargs.items()}

    def extended(self, value):
        """The library layer that ``value`` (a ``self`` of a subclass, or the layer itself) is, or None."""
        if isinstance(value, SelfVal):
            value = value.attrs.get(BASE_LAYER)
        return value if isinstance(value, ModuleVal) and value.rule is not None else None

    def super_forward(self, node, state):
        """``super().forward(x)`` in a library layer's subclass: the layer applied. ``NOT_HANDLED`` else."""
        layer = self.extended(self.self_val) if is_super_call(node, "forward") else None
        chain = sequential_chain(self.self_val) if layer is None and is_super_call(node, "forward") else None
        if chain is not None:
            # ``super().forward(x)`` in an ``nn.Sequential`` subclass: its layers applied in order
            args, kwargs = self.call_args(node, state)
            return OPAQUE if args is None else self.call_module(chain, args, kwargs, node)
        if layer is None:
            return NOT_HANDLED
        args, kwargs = self.call_args(node, state)
        if args is None:
            return OPAQUE
        reported = len(self.diags)
        out = self.call_module(layer, args, kwargs, node)
        if node.args and self.depth > 0 and _came_in(self.node, node.args[0], node.lineno):
            # the layer is built from what the class was built with: what it finds wrong with the input the
            # class was given, the caller gave (``self.conv(x)`` of ``_shape_rules.layer_given_what_came_in``)
            self.module_fit.extend(d for d in self.diags[reported:] if d.code != "reveal")
        return out

    def own_parameters(self, q: str, node, state):
        """``F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)``: a
        functional form given a layer's own weight, and for every other option that layer's own attribute of
        the option's name, is the layer applied to ``x``. ``NOT_HANDLED`` for anything else."""
        form = _FUNCTIONAL.get(q)
        if form is None or any(isinstance(a, ast.Starred) for a in node.args) or not node.args:
            return NOT_HANDLED
        layer_q, params = form
        given = {params[i]: a for i, a in enumerate(node.args[1:len(params)], start=1)}
        for k in node.keywords:
            if k.arg is None or k.arg not in params or k.arg in given or k.arg == "input":
                return NOT_HANDLED
            given[k.arg] = k.value
        if any(p not in given for p in params[1:] if p != "bias"):
            return NOT_HANDLED  # an option left to the function's default, perhaps not the layer's
        w = given.get("weight")
        if not (isinstance(w, ast.Attribute) and w.attr == "weight"):
            return NOT_HANDLED
        owner = ast.dump(w.value)
        for name, e in given.items():
            if not (isinstance(e, ast.Attribute) and e.attr == name and ast.dump(e.value) == owner):
                return NOT_HANDLED  # an option of its own (``stride=2``): not the layer's
        layer = self.extended(self.ev(w.value, state))
        if layer is None or layer.qualname != layer_q:
            return NOT_HANDLED
        return self.call_module(layer, [self.ev(node.args[0], state)], {}, node)


def _owner(cls, fn, depth: int = 0):
    """The class (``cls`` or one of its bases) whose method ``fn`` is."""
    if any(m is fn for m in cls.methods.values()):
        return cls
    if depth > 5:
        return None
    for b in cls.bases():
        if b is not cls:
            found = _owner(b, fn, depth + 1)
            if found is not None:
                return found
    return None
