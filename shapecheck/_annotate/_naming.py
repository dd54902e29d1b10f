"""From recorded calls to annotations: dtype categories, ranks, and axis names that mean something.

How an axis (one position of one tensor in one signature, seen across the recorded calls) is named,
first rule that applies:

1. always size 1 (or 0): the literal;
2. an int in scope with the same size in every call (an int argument whose value varied across
   the calls or that the function passes to a call as a size, ``self.n_embd``, ``self.config.vocab_size``, ``self.conv.in_channels``) takes its
   name if the function mentions it, or its class passes it to a call (``nn.Linear(n_embd,
   vocab_size)``); when several ints fit, the one the body mentions, and when that does not settle
   it, none of them;
3. a local that holds the size (``B, T, C = x.size()``, ``n = x.shape[0]``), as a word
   (``B`` -> ``batch``, ``T`` -> ``seq``, ``H, W`` beside each other -> ``height``, ``width``);
3b. a size that varied: the int local that held it, in every call, in the calling function of
   the project (``for b, h, w in sizes: net(torch.randn(b, 3, h, w))``), as a word;
4. after every function had rules 1-3: the one name the rest of the project gave to all the sizes
   this axis took (so a callee agrees with its caller: ``Block.forward`` gets ``batch seq n_embd``
   from the attention's ``B, T`` and ``self.n_embd``); a size that varied takes only a name that
   varied, a fixed size only a name that was always that size; two or more names that fit are
   ambiguous and give none, unless the body mentions exactly one of them;
5. the literal size when it never varied, otherwise a placeholder ``dimN``.

A name is never used where the guard or the linter would read it as a different size (an int of
that name in scope with another value), and one name stands for one size in every call. Ranks that
vary across calls give ``*batch`` for the leading axes, followed by the trailing axes that never
varied.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ._findings import Finding, contradictions, dtype_category
from ._static import FunctionFacts, class_size_args

__all__ = ["Finding", "FunctionPlan", "plan_project", "render", "dtype_category", "is_word", "WORDS"]

# the conventional one- and two-letter spellings of an axis, as the word a reader knows
_ABBREV = {"b": "batch", "bs": "batch", "bsz": "batch", "batch_size": "batch", "n_batch": "batch", "nb": "batch",
           "t": "seq", "l": "seq", "s": "seq", "seq_len": "seq", "seqlen": "seq", "seq_length": "seq",
           "n_ctx": "seq", "c": "channels", "ch": "channels", "n_channels": "channels", "nh": "heads",
           "hs": "head_size", "d": "dim", "e": "embed"}
_CONV = {"n": "batch", "h": "height", "w": "width", "d": "depth"}
# words counted as recognisable besides any name with a part of three or more letters
WORDS = set(_ABBREV.values()) | set(_CONV.values())


@dataclass
class Leaf:
    """One tensor position of a signature (an argument, the return value, an element of either)."""

    where: str
    param: str | None
    obs: list  # (call index, shape tuple, dtype)
    variadic: bool = False
    k: int = 0  # named trailing axes
    tokens: list = field(default_factory=list)


@dataclass
class Slot:
    leaf: Leaf
    j: int
    vector: list  # (call index, size)
    local: str | None
    name: str | None = None
    kind: str = ""  # literal | int | local | caller | global | placeholder
    cands: set = field(default_factory=set)


@dataclass
class FunctionPlan:
    qualname: str
    line: int
    params: dict = field(default_factory=dict)  # name -> annotation text
    returns: str | None = None
    names: list = field(default_factory=list)  # (name, kind) of each named axis inserted
    findings: list = field(default_factory=list)
    slots: list = field(default_factory=list)


# -- types -------------------------------------------------------------------------------------------

def _build(where, param, descs):
    present = [(ci, d) for ci, d in descs if d is not None]
    rest = [(ci, d) for ci, d in present if "none" not in d]
    optional = len(rest) < len(present)
    if not rest:
        return ("none",) if present else None
    if all("dtype" in d for _, d in rest):
        return ("tensor", Leaf(where, param, [(ci, tuple(d["shape"]), d["dtype"]) for ci, d in rest]), optional)
    if all(d.get("kind") == "tuple" for _, d in rest) and len({len(d["items"]) for _, d in rest}) == 1:
        n = len(rest[0][1]["items"])
        elems = [_build(f"{where}[{i}]", None, [(ci, d["items"][i]) for ci, d in rest]) for i in range(n)]
        if any(e is None for e in elems):
            return None
        return ("tuple", elems, optional)
    if all(d.get("kind") == "list" for _, d in rest):
        obs = []
        for ci, d in rest:
            items = d["items"]
            if not items or not all(i is not None and "dtype" in i for i in items):
                return None
            if len({(tuple(i["shape"]), i["dtype"]) for i in items}) != 1:
                return None
            obs.append((ci, tuple(items[0]["shape"]), items[0]["dtype"]))
        return ("list", Leaf(where + "[]", None, obs), optional)
    return None


def _leaves(t):
    if t is None or t[0] == "none":
        return
    if t[0] in ("tensor", "list"):
        yield t[1]
    else:
        for e in t[1]:
            yield from _leaves(e)


def _layout(leaf: Leaf):
    ranks = {len(s) for _, s, _ in leaf.obs}
    if len(ranks) == 1:
        leaf.k = ranks.pop()
        return
    leaf.variadic = True
    k = 0
    while k < min(ranks) and len({s[len(s) - k - 1] for _, s, _ in leaf.obs}) == 1:
        k += 1
    leaf.k = k


def _vector(leaf: Leaf, j: int):
    return [(ci, s[len(s) - leaf.k + j]) for ci, s, _ in leaf.obs]


def _call_ints(call) -> dict:
    out: dict = {}
    bad = set()
    for name, d in (call.get("args") or {}).items():
        if isinstance(d, dict) and type(d.get("int")) is int:
            out[name] = d["int"]
    for key, v in (call.get("ints") or {}).items():
        short = key.rsplit(".", 1)[-1]
        if type(v) is not int:
            continue
        if short in out and out[short] != v:
            bad.add(short)
        out[short] = v
    for b in bad:
        out.pop(b, None)
    return out


def _word(local: str, facts: FunctionFacts | None) -> str:
    low = local.lower()
    conv = facts is not None and any({"h", "w"} <= {n.lower() for n in group} for group in facts.unpacked)
    if conv and low in _CONV:
        return _CONV[low]
    return _ABBREV.get(low, local)


def is_word(name: str) -> bool:
    """A name a reader recognises: a conventional axis word, or one with a part of 3+ letters."""
    if name in WORDS:
        return True
    return any(len(p) >= 3 and p.isalpha() for p in name.split("_"))


# -- planning ----------------------------------------------------------------------------------------

class _Fn:
    def __init__(self, qualname, record, facts: FunctionFacts | None, used=frozenset()):
        self.qualname = qualname
        self.used = set(used)
        self.record = record
        self.facts = facts
        self.calls = [c for c in record.get("calls", []) if isinstance(c, dict)]
        self.ints = [_call_ints(c) for c in self.calls]
        self.callers = [c.get("caller") or {} for c in self.calls]
        self.int_params = {n for c in self.calls for n, d in (c.get("args") or {}).items()
                           if isinstance(d, dict) and "int" in d}
        self.types: dict = {}
        self.slots: list[Slot] = []
        self.plan = FunctionPlan(qualname, facts.line if facts else record.get("line", 0))

    def scope_names(self) -> set:
        return set().union(*self.ints) if self.ints else set()

    def clashes(self, name: str, vector) -> bool:
        """``name`` is an int in scope with another size in some call (the guard would bind it)."""
        return any(name in self.ints[ci] and self.ints[ci][name] != v for ci, v in vector)


def _prepare(fn: _Fn):
    facts = fn.facts
    params = facts.params if facts else []
    skip_first = bool(params) and params[0] in ("self", "cls")
    for i, p in enumerate(params):
        if i == 0 and skip_first:
            continue
        descs = [(ci, (c.get("args") or {}).get(p)) for ci, c in enumerate(fn.calls)]
        t = _build(p, p, descs)
        if t is not None and t[0] != "none":
            if p in facts.defaults_none:  # a default of None: the annotation says so
                t = (t[0], t[1], True)
            fn.types[p] = t
    descs = [(ci, c.get("return")) for ci, c in enumerate(fn.calls) if not c.get("raised")]
    t = _build("return", None, descs)
    if t is not None and t[0] != "none":
        fn.types["return"] = t
    for t in fn.types.values():
        for leaf in _leaves(t):
            _layout(leaf)
            for j in range(leaf.k):
                local = None
                if facts and leaf.param:
                    rank_fixed = not leaf.variadic
                    local = facts.axis_locals.get((leaf.param, j - leaf.k))
                    if local is None and rank_fixed:
                        local = facts.axis_locals.get((leaf.param, j))
                fn.slots.append(Slot(leaf, j, _vector(leaf, j), local))


def _first_pass(fn: _Fn):
    referenced = fn.facts.referenced if fn.facts else set()
    # the function's own int parameters, and what its class passes to calls (``nn.Linear(d, vocab)``)
    used = referenced | fn.used | (set(fn.facts.params) if fn.facts else set())
    scope = fn.scope_names()
    for s in fn.slots:
        values = [v for _, v in s.vector]
        if max(values) <= 1 and len(set(values)) == 1:
            s.name, s.kind = str(values[0]), "literal"
            continue
        if min(values) > 1:
            cands = {n for n in scope if all(fn.ints[ci].get(n) == v for ci, v in s.vector)}
            if len(set(values)) == 1:  # an argument equal to a fixed size may be a coincidence,
                own = fn.facts.size_args if fn.facts else set()  # unless the function uses it as a size
                cands -= fn.int_params - own
        else:
            cands = set()
        mentioned = cands & referenced
        if len(mentioned) == 1:
            s.name, s.kind = mentioned.pop(), "int"
            continue
        if s.local is not None:
            w = _word(s.local, fn.facts)
            if w.isidentifier() and not fn.clashes(w, s.vector):
                s.name, s.kind = w, "local"
                continue
        # an int the function does not mention counts only where its class uses it as a size
        # (``nn.Linear(n_embd, cfg.vocab_size)``); otherwise it may share the size by chance
        s.cands = cands & used if not mentioned else set()
        if len(s.cands) == 1 and len(cands) == 1:
            s.name, s.kind = next(iter(s.cands)), "int"
            continue
        # a size that varied: the one int local of the callers that held it in every call
        if len(set(values)) > 1:
            held = None
            for ci, v in s.vector:
                here = {n for n, x in fn.callers[ci].items() if x == v}
                held = here if held is None else held & here
            conv = any({"h", "w"} <= {n.lower() for n in c} for c in fn.callers)
            words = {_CONV[n.lower()] if conv and n.lower() in _CONV else _word(n, None) for n in held or ()}
            words = {w for w in words if w.isidentifier() and not fn.clashes(w, s.vector)}
            if len(words) == 1:
                s.name, s.kind = words.pop(), "caller"


def _global_map(fns) -> dict:
    """Name -> every size it was given by rules 2 and 3, anywhere in the project."""
    sizes: dict = defaultdict(set)
    for fn in fns:
        for s in fn.slots:
            if s.kind in ("int", "local", "caller"):
                sizes[s.name].update(v for _, v in s.vector if v > 1)
    return sizes


def _second_pass(fn: _Fn, sizes: dict):
    referenced = fn.facts.referenced if fn.facts else set()
    for s in fn.slots:
        if s.name is not None:
            continue
        values = {v for _, v in s.vector if v > 1}
        if values:
            # a size that varied takes a name that varied over at least these sizes; a fixed size
            # takes a name that only ever had this one size (never ``batch`` for a fixed 2)
            if len(values) > 1:
                names = {n for n, vs in sizes.items() if len(vs) > 1 and values <= vs}
            else:
                names = {n for n, vs in sizes.items() if vs == values}
            names = {n for n in names | s.cands if not fn.clashes(n, s.vector)}
            if len(names) > 1 and len(names & referenced) == 1:
                names &= referenced
            if len(names) == 1:
                s.name, s.kind = names.pop(), "global"
                continue
        vs = [v for _, v in s.vector]
        if len(set(vs)) == 1:
            s.name, s.kind = str(vs[0]), "literal"


def _settle(fn: _Fn):
    """One size per name in every call; placeholders for what is still unnamed."""
    bound: list[dict] = [dict() for _ in fn.calls]
    placeholders: dict = {}
    used = {s.name for s in fn.slots if s.name and s.kind != "literal"}

    def fits(name, vector):
        return all(bound[ci].get(name, v) == v for ci, v in vector)

    for s in fn.slots:
        if s.kind != "literal" and s.name is not None and not fits(s.name, s.vector):
            s.name = None
        if s.name is None:
            vs = {v for _, v in s.vector}
            if len(vs) == 1:
                s.name, s.kind = str(vs.pop()), "literal"
            else:  # the placeholder of an axis with the same size in every call both were seen in
                mine = dict(s.vector)
                for name, theirs in placeholders.items():
                    common = mine.keys() & theirs.keys()
                    if common and all(mine[c] == theirs[c] for c in common):
                        theirs.update(mine)
                        break
                else:
                    n = len(placeholders)
                    while f"dim{n}" in used:
                        n += 1
                    name = f"dim{n}"
                    placeholders[name] = mine
                    used.add(name)
                s.name, s.kind = name, "placeholder"
        if s.kind != "literal":
            for ci, v in s.vector:
                bound[ci][s.name] = v
    # leading axes that vary in number: one variadic name per distinct prefix
    prefixes: dict = {}
    for t in fn.types.values():
        for leaf in _leaves(t):
            if not leaf.variadic:
                continue
            key = tuple((ci, s[:len(s) - leaf.k]) for ci, s, _ in leaf.obs)
            if key not in prefixes:
                base = "batch" if "batch" not in used else "dims"
                name, n = base, 2
                while name in used:
                    name, n = f"{base}{n}", n + 1
                used.add(name)
                prefixes[key] = name
            leaf.tokens = ["*" + prefixes[key]]
    for s in fn.slots:
        s.leaf.tokens.append(s.name)
    fn.plan.slots = fn.slots


def _category(leaf: Leaf) -> str:
    cats = {dtype_category(d) for _, _, d in leaf.obs}
    return cats.pop() if len(cats) == 1 else "Shaped"


def _dims(leaf: Leaf) -> str:
    text = " ".join(leaf.tokens)
    # one name alone is read as a forward reference by pyflakes/ruff: a leading space keeps it dims
    return " " + text if text.isidentifier() else text


def render(t, tensor: str = "Tensor") -> str:
    if t[0] == "none":
        return "None"
    if t[0] == "tensor":
        leaf = t[1]
        text = f'{_category(leaf)}[{tensor}, "{_dims(leaf)}"]'
    elif t[0] == "list":
        leaf = t[1]
        text = f'list[{_category(leaf)}[{tensor}, "{_dims(leaf)}"]]'
    else:
        text = "tuple[" + ", ".join(render(e, tensor) for e in t[1]) + "]"
    return text + " | None" if t[2] else text


def plan_project(files: dict, every_param: bool = False) -> dict:
    """Plans for every recorded function: ``files`` maps a path to (its recorded functions, the
    ``_static.analyse`` facts of its source). Names are chosen across all files together, so a
    callee in one file agrees with its caller in another. With ``every_param`` the plans hold the
    recorded signature of annotated parameters and returns too (entry shapes for the analysis)."""
    fns = {}
    for path, (records, facts) in files.items():
        used = class_size_args(facts)
        fns[path] = [_Fn(q, r, facts.get(q), used.get(q, ())) for q, r in records.items()]
    everything = [fn for group in fns.values() for fn in group]
    for fn in everything:
        _prepare(fn)
        _first_pass(fn)
    sizes = _global_map(everything)
    out = {}
    for path, group in fns.items():
        for fn in group:
            _second_pass(fn, sizes)
            _settle(fn)
            fn.plan.findings.extend(contradictions(fn))
            facts = fn.facts
            for p, t in fn.types.items():
                if p == "return":
                    if facts is None or (facts.returns is not None and not every_param):
                        continue
                    fn.plan.returns = render(t)
                elif facts is not None and (every_param or p not in facts.annotations):
                    fn.plan.params[p] = render(t)
                else:
                    continue
                leaves = list(_leaves(t))
                fn.plan.names.extend((s.name, s.kind) for s in fn.slots
                                     if any(s.leaf is leaf for leaf in leaves) and s.kind != "literal")
        out[path] = [fn.plan for fn in group]
    return out
