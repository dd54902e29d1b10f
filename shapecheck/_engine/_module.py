"""One analysed file as the engine sees it: its imports, functions, classes, constants and aliases.

A :class:`ModuleInfo` also builds the ``self`` of user modules (their ``__init__`` analysed) and
resolves names imported from other analysed files through the project.
"""

from __future__ import annotations

import ast

from .._core._algebra import const, sym
from .._core._ops._facts import lookup_op
from .._core._annot import AnnotError, Imports, collect_imports, from_module, import_statements, read_annotation
from .._core._settings import Settings
from .._core._shape import ANY_SHAPE, Shape
from ._dialects import adopt_project_typing
from ._common import is_super_call, last_name, own_nodes, param_defaults
from ._memo import ModuleMemo
from ._values import ClassRef, FuncRef, ModuleVal, SelfVal
from ._subclass import init_arguments
from ._walk import FunctionAnalysis

__all__ = ["ModuleInfo", "ClassInfo"]


class ClassInfo:
    def __init__(self, node: ast.ClassDef, info: "ModuleInfo"):
        self.node = node
        self.info = info
        self.name = node.name
        self.qualname = f"{info.modname}.{node.name}" if info.modname else node.name
        self.methods = _class_methods(node.body)
        self.base_nodes = node.bases
        self._module: bool | None = None
        self._replaced: frozenset | None = None

    def _base_refs(self):
        """Each base defined in analysed code: a ``ClassInfo`` of this file, or a ``ClassRef`` of
        another (which a dropped module's summary may answer)."""
        for b in self.base_nodes:
            if isinstance(b, ast.Name) and b.id in self.info.classes and b.id != self.name:
                yield self.info.classes[b.id]
                continue
            q = self.info.imports.qualify(b)
            if q:
                target = self.info.resolve_import(q)
                if isinstance(target, ClassRef):
                    yield target

    def bases(self):
        for b in self._base_refs():
            cls = b.cls if isinstance(b, ClassRef) else b
            if cls is not None:
                yield cls

    @property
    def known_module(self) -> bool | None:
        """Whether it is an ``nn.Module``, when that was decided already (else None)."""
        return self._module

    @property
    def is_module(self) -> bool:
        if self._module is None:
            self._module = False
            for b in self.base_nodes:
                q = self.info.imports.qualify(b) or ""
                if q.startswith("torch.nn") and q.endswith("Module") or q.endswith("nn.Module") \
                        or q == "torch.nn.Sequential":
                    self._module = True
            if not self._module:
                self._module = any(c.is_module for c in self._base_refs()) or self.extended_layer is not None
        return self._module

    @property
    def library_layer(self) -> str | None:
        """``torch.nn.Linear`` for ``class Linear(nn.Linear)`` that keeps the layer's constructor (no
        ``__init__`` of its own): such a subclass (one that casts the weight's dtype in its ``forward``)
        takes and gives the shapes of the layer it extends. So does one whose ``__init__`` hands its
        ``*args, **kwargs`` to the layer's (``super().__init__(*args, **kwargs)``), keeping keywords of its own
        (a ``norm`` popped from the keywords, a ``scale=1.0`` parameter) that change no size. A ``forward`` of
        its own must hand its input to the layer's op as it came (``F.linear(x, ...)``, ``super().forward(x)``,
        a dtype cast such as ``x.float()`` allowed): one that permutes it first (a channels-first
        ``LayerNorm``) is another layer, analysed as user code (``_subclass``)."""
        if "__init__" in self.methods and not _forwards_to_base(self.methods["__init__"]):
            return None
        if "forward" in self.methods and not _input_reaches_layer(self.methods["forward"], self.info.imports):
            return None
        return self.extended_layer

    @property
    def extended_layer(self) -> str | None:
        """``torch.nn.Conv2d`` for ``class Conv2d(nn.Conv2d)``, with or without a constructor of its own: the
        library layer (one with a shape rule) the class extends, its first base. Other bases after it are mixins
        (``class Linear(nn.Linear, RelevanceMixin)``): the layer's constructor and ``forward`` come first."""
        layers = [self._library_layer(b) for b in self.base_nodes]
        if not layers or layers[0] is None or any(layers[1:]):
            return None
        return layers[0]

    def _library_layer(self, base) -> str | None:
        q = self.info.imports.qualify(base) or ""
        if not q.startswith("torch.nn.") or q.endswith("Module"):
            return None
        rule = lookup_op(q)
        return q if rule is not None and rule.module else None

    @property
    def is_sequential(self) -> bool:
        """``class ConvBNReLU(nn.Sequential)`` built by ``super().__init__(conv, norm, act)``: a chain of
        the layers its constructor gives, applied in order where it has no ``forward`` of its own, or by
        ``super().forward(x)`` in one (``_subclass.super_forward``)."""
        return any((self.info.imports.qualify(b) or "") == "torch.nn.Sequential" for b in self.base_nodes)

    def replaced_attrs(self) -> frozenset:
        """The attributes a method other than ``__init__`` assigns from its own values (a parameter or a local, not
        only the module's state and the file's imports), other than updates of themselves (``self.h =
        self.h.detach()``)."""
        if self._replaced is None:
            imported = set(self.info.imports.names)
            names = set()
            for mname, fn in self.methods.items():
                if mname == "__init__":
                    continue
                for node in ast.walk(fn):
                    if not isinstance(node, ast.Assign) or not {
                            n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} - {"self"} - imported:
                        continue
                    own = {n.attr for n in ast.walk(node.value) if _self_attribute(n)}
                    names.update(t.attr for target in node.targets for t in _bound(target)
                                 if _self_attribute(t) and t.attr not in own)
            self._replaced = frozenset(names)
        return self._replaced

    def find_method(self, name: str, depth: int = 0):
        if name in self.methods:
            return self.methods[name], self.info
        if depth > 5:
            return None
        for base in self.bases():
            if base is self:
                continue
            r = base.find_method(name, depth + 1)
            if r is not None:
                return r
        return None

    def class_int(self, name: str, depth: int = 0) -> int | None:
        """``expansion = 4`` in the class body (or a base's): the int a method reads as ``self.expansion``."""
        for st in self.node.body:
            if isinstance(st, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in st.targets) \
                    or isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.target.id == name:
                v = st.value
                return v.value if isinstance(v, ast.Constant) and type(v.value) is int else None
        if depth > 5:
            return None
        for base in self.bases():
            if base is not self:
                r = base.class_int(name, depth + 1)
                if r is not None:
                    return r
        return None


_LAYER_SIZES = frozenset({"weight", "bias", "in_channels", "out_channels", "in_features", "out_features",
                          "kernel_size", "stride", "padding", "dilation", "groups", "normalized_shape",
                          "num_features", "embedding_dim", "num_embeddings"})


def _forwards_to_base(init) -> bool:
    """``def __init__(self, *args, **kwargs)`` whose only call of the base's constructor is
    ``super().__init__(*args, **kwargs)`` (or ``super(Cls, self).__init__``) with both handed on whole, and
    which sets none of the layer's sizes or parameters itself."""
    a = init.args
    if a.vararg is None or a.kwarg is None:
        return False
    forwards = 0
    for n in own_nodes(init.body):
        if isinstance(n, ast.Call) and is_super_call(n, "__init__"):
            if [type(x) for x in n.args] != [ast.Starred] or not isinstance(n.args[0].value, ast.Name) \
                    or n.args[0].value.id != a.vararg.arg or len(n.keywords) != 1 \
                    or n.keywords[0].arg is not None or not isinstance(n.keywords[0].value, ast.Name) \
                    or n.keywords[0].value.id != a.kwarg.arg:
                return False
            forwards += 1
        elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for t in n.targets if isinstance(n, ast.Assign) else [n.target]:
                if isinstance(t, ast.Attribute) and t.attr in _LAYER_SIZES:
                    return False
    return forwards == 1


_LAYER_OPS = frozenset({"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                        "linear", "layer_norm", "group_norm", "batch_norm", "instance_norm", "embedding", "rms_norm"})
_CASTS = frozenset({"float", "half", "bfloat16", "double", "to", "type", "type_as", "contiguous"})


def _input_reaches_layer(forward, imports) -> bool:
    """Whether ``forward(self, x)`` gives ``x`` (or a dtype cast of it) as it came to the layer's own op: a
    function (``F.conv2d``, ``F.linear``, ``F.layer_norm``, ...: not a pad, which changes the sizes the layer
    computes), ``super().forward``, or the layer's ``_conv_forward``,
    before any statement rebinds ``x``."""
    params = forward.args.posonlyargs + forward.args.args
    if len(params) < 2:
        return False
    x = params[1].arg

    def is_x(e) -> bool:
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _CASTS:
            e = e.func.value
        return isinstance(e, ast.Name) and e.id == x

    first_call = first_bind = None
    for n in own_nodes(forward.body):
        line = getattr(n, "lineno", None)
        if line is None:
            continue
        if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
            targets = n.targets if isinstance(n, ast.Assign) else \
                [i.optional_vars for i in n.items if i.optional_vars] if isinstance(n, ast.With) else [n.target]
            if any(isinstance(t, ast.Name) and t.id == x for tt in targets if tt for t in ast.walk(tt)):
                first_bind = line if first_bind is None else min(first_bind, line)
        if isinstance(n, ast.Call) and n.args and is_x(n.args[0]):
            f = n.func
            q = imports.qualify(f) or ""
            layer_op = q.rsplit(".", 1)[-1] in _LAYER_OPS and q.startswith("torch.") \
                or isinstance(f, ast.Attribute) and f.attr == "_conv_forward" or is_super_call(n, "forward")
            if layer_op:
                first_call = line if first_call is None else min(first_call, line)
    return first_call is not None and (first_bind is None or first_bind >= first_call)


class ModuleInfo:
    """One analysed file: its imports, functions, classes, constants and aliases."""

    def __init__(self, path: str, tree: ast.Module, settings: Settings, project=None, modname: str = "",
                 strict: bool = False):
        self.path = path
        self.short = path.replace("\\", "/").rsplit("/", 1)[-1]
        self.tree = tree
        self.settings = settings
        self.project = project
        self.modname = modname
        self.strict = strict
        self.lines: list | None = None  # the source's lines, when the caller has them (fixes' columns)
        self.imports: Imports = collect_imports(tree, settings.shape_modules, settings.tensor_types,
                                                settings.axis_aliases)
        # the modules of ``from m import *`` (in file order): a name this file does not define or import
        # by name is looked for there
        self.star_modules: tuple = ()
        if modname:
            self.star_modules = _add_relative_imports(tree, self.imports, modname, _is_package(path))
        adopt_project_typing(self, tree)  # ``Float``/``Tensor`` re-exported by the project's typing module
        self.functions = {}
        self.classes = {}
        self.constants = {}
        # ``_BN_PARAMS = {"eps": 1e-3, "momentum": 0.01}``: options given to layers as ``**_BN_PARAMS``
        self.option_dicts: dict = {}
        # the sizes a script's main block sets (name -> value, ``_COUNTED`` for ``len(...)``): named sizes,
        # distinct from one another but where they are set to one literal value (``d_k = d_v = 64``)
        self.main_sizes: dict = {}
        self.class_aliases: dict = {}  # ``GELU = nn.GELU if ... else GELU_``: name -> the choice's node
        self.class_tables: dict = {}  # ``_NORM_MAP = dict(batchnorm=nn.BatchNorm2d, ...)``: name -> ((key, node), ...)
        # module-level names of a parsed command line (``opt = parser.parse_args()``): objects whose fields are
        # the script's options, with the int defaults its parser gives them (``parser.add_argument("--latent_dim",
        # type=int, default=100)``): dest -> value, what ``opt.latent_dim`` is unless the script is run with
        # another. The whole file is read for the parser only where a command line is parsed.
        namespaces = frozenset(
            t.id for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
            and isinstance(n.value.func, ast.Attribute) and n.value.func.attr == "parse_args"
            for t in n.targets if isinstance(t, ast.Name))
        self.arg_defaults: dict = _argparse_int_defaults(tree) if namespaces else {}
        self.arg_namespaces = namespaces if self.arg_defaults else frozenset()
        self._instances: dict = {}
        self.memo = ModuleMemo()  # the engine's: signatures read and calls analysed in this file
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = ClassInfo(node, self)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                v = node.value
                if isinstance(v, ast.Constant) and type(v.value) is int:
                    self.constants[node.targets[0].id] = const(v.value)
                elif isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "int":
                    # ``ndf = int(opt.ndf)``: a size of the script, named after the variable
                    self.constants[node.targets[0].id] = sym(node.targets[0].id, "code")
                elif _class_table(v) is not None:
                    self.class_tables[node.targets[0].id] = _class_table(v)
                elif _option_dict(v):
                    self.option_dicts[node.targets[0].id] = v
                elif isinstance(v, ast.IfExp) and _class_name(v.body) and _class_name(v.orelse) \
                        or isinstance(v, (ast.Name, ast.Attribute)) and _class_name(v):
                    # ``GELU = nn.GELU if hasattr(nn, "GELU") else GELU_``: one of two classes; ``BatchNorm2d =
                    # nn.BatchNorm2d``: another name of one (``class_aliases``)
                    self.class_aliases[node.targets[0].id] = v
                else:
                    try:
                        ann = read_annotation(v, self.imports)
                    except AnnotError:
                        ann = None
                    if ann is not None and ann.spec is not None and isinstance(v, ast.Subscript):
                        self.imports.aliases[node.targets[0].id] = ann
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                if isinstance(node.value, ast.Constant) and type(node.value.value) is int:
                    self.constants[node.target.id] = const(node.value.value)
                elif _is_type_alias(node.annotation):
                    try:
                        ann = read_annotation(node.value, self.imports)
                    except AnnotError:
                        ann = None
                    if ann is not None:
                        self.imports.aliases[node.target.id] = ann
        # a class defined in a class body (``class Encoder: class SelfAttention(nn.Module): ...``) is analysed as
        # one at the top is, under its own name where no class at the top has it
        for outer in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            for node in outer.body:
                if isinstance(node, ast.ClassDef) and node.name not in self.classes \
                        and node.name not in self.functions:
                    self.classes[node.name] = ClassInfo(node, self)
        main_block = any(isinstance(n, ast.If) and _is_main_test(n.test) for n in tree.body)
        bindings = _module_bindings(tree) if self.option_dicts or self.constants or self.class_aliases or main_block \
            else {}
        if self.option_dicts:
            # one that any code changes (bound again, an item set, ``update``) is not one value
            changed = {n.value.id for n in ast.walk(tree) if isinstance(n, (ast.Subscript, ast.Attribute))
                       and isinstance(n.value, ast.Name) and (isinstance(n, ast.Attribute) or isinstance(n.ctx, ast.Store))}
            self.option_dicts = {k: v for k, v in self.option_dicts.items()
                                 if k not in changed and bindings.get(k, 0) <= 1}
        if self.constants or self.class_aliases or main_block:
            # a constant bound again at module level (``N = 4`` at the top, ``N = args.n`` in the script) is
            # not one value
            self.constants = {k: v for k, v in self.constants.items() if bindings.get(k, 0) <= 1}
            # a size a script sets in its main block is named after its variable (as ``ndf = int(opt.ndf)``
            # is), not its literal value: the script may be run with others, and the names say which axis
            # is which
            self.class_aliases = {k: v for k, v in self.class_aliases.items() if bindings.get(k, 0) <= 1}
            for name, value in _main_block_sizes(tree, bindings).items():
                if name not in self.constants and value > 1:
                    self.main_sizes[name] = value
                self.constants.setdefault(name, sym(name, "code") if value > 1 else const(value))

    def main_size_alike(self, name: str) -> tuple:
        """The other main-block sizes set to the same literal value as ``name`` (it may be one of them)."""
        value = self.main_sizes.get(name)
        if value is None or value == _COUNTED:
            return ()
        return tuple(o for o, v in self.main_sizes.items() if o != name and v == value)

    def resolve_import(self, q: str, depth: int = 0):
        """A function or class of another analysed file that ``q`` names, else None. A name the module
        does not define but imports (a package's ``__init__.py`` re-exporting ``from .mlp import Mlp``,
        or offering everything of ``from .norm import *``) is followed to where it is defined."""
        if self.project is None or q.startswith("shapecheck."):
            return None  # shapecheck's own helpers (reveal_shape) keep their meaning, even inside its repo
        mod, _, name = q.rpartition(".")
        if not mod:
            return None
        mod = self.project.local_name(mod, self.path)
        self.project.note_read(self.modname, mod)
        dropped = self.project.dropped(mod, self.settings)
        if dropped is not None:  # answered by its summary; parsed again only for what needs its text
            s = dropped.summary
            if name in s.functions:
                return FuncRef(name, dropped=dropped)
            if name in s.classes:
                return ClassRef(name, dropped=dropped)
            reexports, stars = s.reexports, s.star_modules
        else:
            other = self.project.module_info(mod, self.settings)
            if other is None or other is self:
                return None
            if name in other.functions:
                return FuncRef(name, other.functions[name], other)
            if name in other.classes:
                return ClassRef(name, other.classes[name])
            reexports, stars = other.imports.names, other.star_modules
        if depth >= _REEXPORT_DEPTH:
            return None
        target = reexports.get(name)
        if target is not None:
            return self.resolve_import(target, depth + 1) if target != q else None
        for star in stars:
            found = self.resolve_import(f"{star}.{name}", depth + 1)
            if found is not None:
                return found
        return None

    def resolve_star(self, name: str):
        """A function or class that ``name`` names through this file's ``from m import *``, else None."""
        for star in self.star_modules:
            found = self.resolve_import(f"{star}.{name}", 1)
            if found is not None:
                return found
        return None

    def instance_of(self, m: ModuleVal, depth: int):
        """``self`` of a user module built with these constructor arguments (its ``__init__`` analysed)."""
        key = (m.cls.qualname, _freeze(m.args), _freeze(m.kwargs))
        if key in self._instances:
            return self._instances[key]
        self._instances[key] = None  # recursion guard
        sv = SelfVal(m.cls, {})
        init = m.cls.find_method("__init__")
        if init is not None and depth < 4:
            fn, info = init
            given = init_arguments(fn, info, m.args, m.kwargs, m.cls.extended_layer is not None)
            fa = FunctionAnalysis(info, fn, self_val=sv, args=given, depth=depth + 1, report=False)
            try:
                fa.run()
            except Exception:
                if self.strict:
                    raise
            sv.learn(fa.env)
            _forget_replaced(sv)
            if _required_left_out(fn, given):
                # built with arguments the engine never saw (``mlp: Mlp``, a parameter typed with the class): its
                # sizes are whatever its builder gave, free to meet the caller's (``Mlp``'s ``dim`` is the
                # ``width`` a block normalises), not sizes distinct from them
                sv.fields = sv.alike = frozenset()
        self._instances[key] = sv
        return sv

    def forget_instances(self) -> None:
        """Drop the ``self`` values built so far (the project releases modules they may hold)."""
        self._instances.clear()

    def generic_instance(self, cls: ClassInfo, rules, args: dict | None = None):
        """``self`` for analysing a class's methods on their own: constructor arguments symbolic (but those of
        ``args``, ``{name: value}``)."""
        sv = SelfVal(cls, {})
        diags = []
        init = cls.find_method("__init__")
        if init is not None:
            fn, info = init
            fa = FunctionAnalysis(info, fn, self_val=sv, report=info is self, rules=rules, args=args)
            fa.run()
            diags = fa.diags
            sv.learn(fa.env)
            _forget_replaced(sv)
        return sv, diags


def _forget_replaced(sv: SelfVal) -> None:
    """A tensor ``__init__`` sets that another method replaces with what that method computed (``self.previous_ids =
    ids``, a cache ``__init__`` starts empty): in the other methods it is whichever was stored last, a tensor of
    unknown shape, not ``__init__``'s."""
    replaced = sv.cls.replaced_attrs() if isinstance(sv.cls, ClassInfo) else ()
    for attr in replaced:
        if isinstance(sv.attrs.get(attr), Shape):
            sv.attrs[attr] = ANY_SHAPE


def _bound(target):
    """The names and attributes an assignment target rebinds (a tuple's items; not an item of a subscript, which
    changes part of what it holds: ``self.cache_k[:b, :t] = xk``)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for e in target.elts:
            yield from _bound(e)
    elif isinstance(target, ast.Starred):
        yield from _bound(target.value)
    else:
        yield target


def _self_attribute(node) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _class_methods(body) -> dict:
    """The methods a class body defines: the last definition of a name (``@overload`` stubs come first), and
    one defined only under a class-level ``if`` or ``try`` (``if os.environ[...] == "cuda": def forward(...)``, a
    configuration choosing the implementation), the first branch's."""
    out = {n.name: n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for n in body:
        parts = (n.body, n.orelse) if isinstance(n, ast.If) else \
            (n.body, *(h.body for h in n.handlers), n.orelse, n.finalbody) if isinstance(n, ast.Try) else ()
        for part in parts:
            for name, fn in _class_methods(part).items():
                out.setdefault(name, fn)
    return out


def _is_main_test(test) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides) and \
        any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides)


def _option_dict(node) -> bool:
    """A dict of literal options by literal names (``{"eps": 1e-3, "affine": True}``)."""
    return isinstance(node, ast.Dict) and bool(node.keys) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys) \
        and all(isinstance(v, ast.Constant) for v in node.values)


def _module_bindings(tree: ast.Module) -> dict:
    """How many times the module's own code (not a function's or a class's) binds each name; a name a
    function declares ``global`` counts as bound again."""
    count: dict = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for n in ast.walk(stmt):
                if isinstance(n, ast.Global):
                    for name in n.names:
                        count[name] = count.get(name, 0) + 2
            continue
        for n in own_nodes([stmt]):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                count[n.id] = count.get(n.id, 0) + 1
    return count


def _main_block_sizes(tree: ast.Module, bindings: dict) -> dict:
    """The int sizes a script sets once in its ``if __name__ == "__main__":`` block (``d_model = 512``,
    ``d_k = d_v = 64``, ``d_ff = 4 * d_model``, ``n_class = len(word_dict)``), name -> value: the module's
    functions read them as globals.
    A name bound anywhere else at module level (``bindings``, from :func:`_module_bindings`) is left out:
    it is not one size."""
    blocks = [n for n in tree.body if isinstance(n, ast.If) and _is_main_test(n.test)]
    sizes: dict = {}
    for block in blocks:
        for stmt in block.body:
            if not (isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets)):
                continue
            value = _int_value(stmt.value, sizes)
            if value is None and _is_len(stmt.value):
                value = _COUNTED  # ``n_class = len(word_dict)``: a size whose value the code computes
            if value is None or value <= 0:
                continue
            for t in stmt.targets:
                if bindings.get(t.id) == 1:
                    sizes[t.id] = value
    return sizes


# the value :func:`_main_block_sizes` gives a size counted with ``len``: known to be a size of its own (named
# after its variable), its value unknown (never used in arithmetic: ``_int_value`` reads no size of it)
_COUNTED = 1 << 62


def _class_name(node) -> bool:
    """A class's name or dotted name, spelt with a capital (PEP 8): ``nn.GELU``, ``GELU_``."""
    return last_name(node)[:1].isupper()


def _is_len(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
        and len(node.args) == 1 and not node.keywords


def _int_value(node, known: dict) -> int | None:
    """An int literal, a size set before it, or ``+``/``*``/``//`` of them; else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        v = known.get(node.id)
        return None if v == _COUNTED else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult, ast.FloorDiv)):
        a, b = _int_value(node.left, known), _int_value(node.right, known)
        if a is None or b is None or (isinstance(node.op, ast.FloorDiv) and b == 0):
            return None
        return a + b if isinstance(node.op, ast.Add) else a * b if isinstance(node.op, ast.Mult) else a // b
    return None


def _is_type_alias(node) -> bool:
    return (isinstance(node, ast.Name) and node.id == "TypeAlias") or \
        (isinstance(node, ast.Attribute) and node.attr == "TypeAlias")


def _freeze(v):
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


_REEXPORT_DEPTH = 4  # re-exports followed from one name (a package re-exporting a subpackage's names)


def _is_package(path: str) -> bool:
    return path.replace("\\", "/").rsplit("/", 1)[-1] in ("__init__.py", "__init__.pyi")


def _add_relative_imports(tree: ast.Module, imp: Imports, modname: str, package: bool = False) -> tuple:
    """Adds the names of relative imports to ``imp`` (in a package's ``__init__.py``, ``.`` is the
    package itself); returns the modules of every ``from m import *`` of the file."""
    anchor = f"{modname}.__init__" if package else modname
    stars = []
    for node in import_statements(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        mod = from_module(node, anchor) if node.level else (node.module or "")
        for a in node.names:
            if a.name == "*":
                if mod and mod not in stars:
                    stars.append(mod)
            elif node.level:
                imp.names[a.asname or a.name] = f"{mod}.{a.name}" if mod else a.name
    return tuple(stars)


def _class_table(node) -> tuple | None:
    """``{"batchnorm": nn.BatchNorm2d, ...}`` or ``dict(batchnorm=nn.BatchNorm2d, ...)``: a table of classes
    (or functions) keyed by strings, as ``((key, value node), ...)``; else None. Each value is a plain name
    or attribute, so reading the table constructs nothing."""
    if isinstance(node, ast.Dict):
        if not node.keys or any(not (isinstance(k, ast.Constant) and isinstance(k.value, str)) for k in node.keys):
            return None
        items = tuple((k.value, v) for k, v in zip(node.keys, node.values))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
            and not node.args and node.keywords and all(k.arg is not None for k in node.keywords):
        items = tuple((k.arg, k.value) for k in node.keywords)
    else:
        return None
    if len(items) > 32 or not all(isinstance(v, (ast.Name, ast.Attribute)) for _k, v in items):
        return None
    return items


def _argparse_int_defaults(tree) -> dict:
    """``parser.add_argument("--latent_dim", type=int, default=100)`` anywhere in the file: ``{"latent_dim": 100}``
    (the option's dest: its long name, dashes read as underscores, or ``dest=``)."""
    out: dict = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg is not None}
        d = kw.get("default")
        if not (isinstance(d, ast.Constant) and type(d.value) is int and d.value > 0):
            continue
        t = kw.get("type")
        if t is not None and not (isinstance(t, ast.Name) and t.id == "int"):
            continue
        names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        dest = kw.get("dest")
        if isinstance(dest, ast.Constant) and isinstance(dest.value, str):
            name = dest.value
        else:
            long = [n for n in names if n.startswith("--")]
            if not long:
                continue
            name = long[0][2:].replace("-", "_")
        if name in out and out[name] != d.value:
            out[name] = None
        else:
            out.setdefault(name, d.value)
    return {k: v for k, v in out.items() if v is not None}


def _required_left_out(fn, given: dict) -> bool:
    """Does a call with ``given`` leave out a parameter of ``fn`` that has no default (``self`` aside)?"""
    a = fn.args
    defaulted = {p.arg for p, d in param_defaults(fn) if d is not None}
    return any(p.arg not in defaulted and p.arg not in given for p in (a.posonlyargs + a.args)[1:] + a.kwonlyargs)
