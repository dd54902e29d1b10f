"""``torch.einsum`` and the einops operations (``rearrange``, ``reduce``, ``repeat``, ``einsum``)."""

from __future__ import annotations

import re

from .._algebra import Expr, FloorDiv, const
from .._shape import UNKNOWN, Shape, Unknown, Variadic
from ._registry import Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import axes, batched, build, prod

ELL = "..."


def _is_one(d) -> bool:
    return isinstance(d, Expr) and d.value == 1


def contract(site: Site, terms: list, output: list | None, shapes: list, what: str):
    """Einsum over parsed subscripts: ``terms`` (one list of labels per operand, ``"..."`` allowed) and
    ``output`` (None: implicit, i.e. labels seen once, sorted, after the ellipsis axes)."""
    if len(terms) != len(shapes):
        site.error("SHP108", f"{what} has {len(terms)} operand subscripts for {len(shapes)} tensors")
        return None
    if not all(isinstance(s, Shape) for s in shapes):
        return None
    shapes = list(shapes)
    for j, (term, s) in enumerate(zip(terms, shapes)):
        if s.rank is not None:
            continue
        if ELL in term:
            # ``"... i d"`` on a shape of unknown rank: the names are its last axes, the ellipsis the rest
            labels = term[1:]
            fixed = len(s.dims) - 1
            if term[0] != ELL or ELL in labels or s.variadic_index != 0 or fixed > len(labels):
                return None
            origins = s.origins or (None,) * len(s.dims)
            pad = len(labels) - fixed
            shapes[j] = Shape((s.dims[0],) + (UNKNOWN,) * pad + s.dims[1:], (None,) * (pad + 1) + tuple(origins[1:]),
                              s.label)
            continue
        # a variadic segment and a subscript without "...": the subscript fixes the rank
        fixed = len(s.dims) - 1
        if fixed > len(term):
            site.error("SHP108", f"{what} subscript \"{_join(term)}\" names {len(term)} axes, the tensor has at "
                                 f"least {fixed}", notes=(f"{s.label or 'the operand'} has shape ({s})",))
            return None
        v = s.variadic_index
        origins = s.origins or (None,) * len(s.dims)
        pad = len(term) - fixed
        shapes[j] = Shape(s.dims[:v] + (UNKNOWN,) * pad + s.dims[v + 1:],
                          origins[:v] + (None,) * pad + origins[v + 1:], s.label)
    sizes: dict = {}  # label -> (dim, shape, index)
    ell_parts = []
    for term, s in zip(terms, shapes):
        n_ell = term.count(ELL)
        labels = [t for t in term if t != ELL]
        if n_ell > 1:
            site.error("SHP108", f"{what} subscript {''.join(term)!r} has more than one ellipsis")
            return None
        if s.rank is None:  # a leading ellipsis of unknown rank (above): the names are the last axes
            ell_parts.append(Shape(s.dims[:1]))
            idx = list(range(1, len(s.dims)))
        elif (n_ell == 0 and len(labels) != s.rank) or (n_ell and len(labels) > s.rank):
            site.error("SHP108", f"{what} subscript \"{_join(term)}\" names {len(labels)} axes, the tensor has {s.rank}",
                       notes=(f"{s.label or 'the operand'} has shape ({s})",))
            return None
        elif n_ell:
            k = term.index(ELL)
            n_e = s.rank - len(labels)
            ell_parts.append(Shape(s.dims[k:k + n_e], s.origins[k:k + n_e] if s.origins else ()))
            idx = list(range(k)) + list(range(k + n_e, s.rank))
        else:
            idx = list(range(s.rank))
        for lab, i in zip(labels, idx):
            d = s.dims[i]
            if lab not in sizes:
                sizes[lab] = (d, s, i)
                continue
            prev, ps, pi = sizes[lab]
            if _is_one(d) or isinstance(d, Unknown):
                continue
            if _is_one(prev) or isinstance(prev, Unknown):
                sizes[lab] = (d, s, i)
                continue
            if site.unify(prev, d) is False:
                site.error("SHP101", f"{what} pairs {qd(site.resolve(prev))} with {qd(site.resolve(d))} "
                                     f"(subscript \"{lab}\")",
                           notes=(site.axis_note(ps, pi), site.axis_note(s, i)))
                return None
    ell = site.broadcast(*ell_parts, what=f"{what} (ellipsis axes)") if ell_parts else Shape(())
    if site.failed:
        return None
    if output is None:
        counts: dict = {}
        for term in terms:
            for t in term:
                if t != ELL:
                    counts[t] = counts.get(t, 0) + 1
        output = ([ELL] if ell_parts else []) + sorted(t for t, c in counts.items() if c == 1)
    seen = set()
    out = []
    for t in output:
        if t == ELL:
            out.extend(axes(ell) if ell.rank is not None else [(Variadic(None), None)] + axes(ell)[1:]
                       if ell.variadic_index == 0 else [(Variadic(None), None)])
            continue
        if t in seen:
            site.error("SHP108", f"{what} output names \"{t}\" twice")
            return None
        seen.add(t)
        if t not in sizes:
            site.error("SHP108", f"{what} output subscript \"{t}\" does not appear in any operand")
            return None
        d, s, i = sizes[t]
        out.append((d, s.origin(i)))
    if output.count(ELL) > 1:
        return None
    return build(out)


def _join(term) -> str:
    return " ".join(term) if any(len(t) > 1 and t != ELL for t in term) else "".join(term)


def _torch_terms(eq: str):
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")

    def split(t):
        out = []
        i = 0
        while i < len(t):
            if t.startswith(ELL, i):
                out.append(ELL)
                i += 3
            elif t[i].isalpha():
                out.append(t[i])
                i += 1
            else:
                return None
        return out

    terms = [split(t) for t in lhs.split(",")]
    output = split(rhs) if arrow else None
    if any(t is None for t in terms) or (arrow and output is None):
        return None
    return terms, output


@shape_rule("torch.einsum", "torch.functional.einsum", "opt_einsum.contract",
            ok=["| 'bhnd,bhmd->bhnm', shape('b h n d'), shape('b h m d') -> b h n m",
                "| 'ij,jk', shape('n k'), shape('k m') -> n m", "| '...ij,...jk', shape('b n k'), shape('k m') -> b n m",
                "| 'ii->i', shape('n n') -> n", "| 'i,i->', shape('n'), shape('n') -> ()",
                "| 'ij,jk->ik', [shape('n k'), shape('k m')] -> n m",
                "| 'bhid,bhjd->bhij', shape('...'), shape('b h m d') -> b h _ m",
                "| '...id,...jd->...ij', shape('...'), shape('... m d') -> ... _ m",
                "| '...nd,...md->...nm', shape('*b n d'), shape('*b m d') -> ... n m"],
            bad=["| 'bhnd,bhmd->bhnm', shape('b h n d'), shape('b h d m') ! SHP101",
                 "| 'ij,jk->ik', shape('n k 2'), shape('k m') ! SHP108", "| 'ij->ik', shape('n k') ! SHP108",
                 "| 'ij,jk->ik', shape('a b c *B'), shape('k m') ! SHP108",
                 "| '...nd,de->...ne', shape('*b n d'), shape('e d') ! SHP101"])
def einsum(site: Site, equation, *operands) -> Shape | None:
    """``torch.einsum(eq, *operands)`` (or a list of operands): one letter per axis, ``...`` for broadcast
    axes; the same letter must have one size (1 broadcasts); without ``->`` the output is the letters seen
    once, in alphabetical order."""
    if not isinstance(equation, str):
        return None
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    parsed = _torch_terms(equation)
    if parsed is None:
        return None
    terms, output = parsed
    return contract(site, terms, output, list(operands), "einsum")


# -- einops -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")


class _PatternError(Exception):
    pass


def _side(text: str):
    """A side of an einops pattern as a list of groups; a group is (parenthesized, [elements])."""
    groups = []
    cur = None
    for tok in _TOKEN.findall(text):
        if tok == "(":
            if cur is not None:
                raise _PatternError("nested parentheses")
            cur = []
        elif tok == ")":
            if cur is None:
                raise _PatternError("unbalanced parentheses")
            groups.append((True, cur))
            cur = None
        elif tok == ELL or tok.isdigit() or re.match(r"[A-Za-z_]", tok):
            el = int(tok) if tok.isdigit() else tok
            if cur is not None:
                cur.append(el)
            else:
                groups.append((False, [el]))
        else:
            raise _PatternError(f"unexpected {tok!r}")
    if cur is not None:
        raise _PatternError("unbalanced parentheses")
    return groups


def _names(groups) -> list:
    return [e for _, g in groups for e in g if isinstance(e, str) and e != ELL]


def einops_apply(site: Site, x, pattern, op: str, axes_lengths: dict):
    what = f"einops.{op}"
    if not isinstance(x, Shape) or not isinstance(pattern, str):
        return None
    lhs, arrow, rhs = pattern.partition("->")
    if not arrow:
        site.error("SHP108", f"{what} pattern \"{pattern}\" has no \"->\"")
        return None
    try:
        left, right = _side(lhs), _side(rhs)
    except _PatternError as e:
        site.error("SHP108", f"{what} pattern \"{pattern}\" is malformed: {e}")
        return None
    ln, rn = _names(left), _names(right)
    for side_names, side in ((ln, "left"), (rn, "right")):
        dup = next((n for n in side_names if side_names.count(n) > 1), None)
        if dup:
            site.error("SHP108", f"{what} pattern \"{pattern}\" names \"{dup}\" twice on the {side}")
            return None
    l_ell = [i for i, (_, g) in enumerate(left) if ELL in g]
    r_ell = [i for i, (_, g) in enumerate(right) if ELL in g]
    ell_dropped = op == "reduce" and l_ell and not r_ell  # reduce may reduce the "..." axes away
    if any(p for p, g in left if ELL in g) or len(l_ell) > 1 or len(r_ell) > 1 or \
            (bool(l_ell) != bool(r_ell) and not ell_dropped):
        site.error("SHP108", f"{what} pattern \"{pattern}\" uses \"...\" where einops does not allow it")
        return None
    for side in ((left if op != "reduce" else []), (right if op != "repeat" else [])):
        for _, g in side:
            for e in g:
                if isinstance(e, int) and e != 1:
                    site.error("SHP108", f"{what} pattern \"{pattern}\" has the anonymous axis {e}; only 1 is allowed")
                    return None
    sl, sr = set(ln), set(rn)
    if op == "rearrange" and sl != sr:
        odd = sorted(sl ^ sr)
        site.error("SHP108", f"{what} pattern \"{pattern}\": \"{odd[0]}\" appears on one side only")
        return None
    if op == "reduce" and not sr <= sl:
        site.error("SHP108", f"{what} pattern \"{pattern}\": \"{min(sr - sl)}\" is not on the left")
        return None
    if op == "repeat" and not sl <= sr:
        site.error("SHP108", f"{what} pattern \"{pattern}\": \"{min(sl - sr)}\" is not on the right")
        return None
    for k in axes_lengths:
        if k not in sl and k not in sr:
            site.error("SHP108", f"{what} gets {k}=..., but \"{k}\" is not in the pattern \"{pattern}\"")
            return None
    n_left = len(left) - (1 if l_ell else 0)
    if x.rank is None and l_ell and l_ell[0] > 0:
        # ``"b (h d) ... -> b h (...) d"`` names the first axes: it reads a convolution's output batched
        x = batched(x)
    if x.rank is None:  # a variadic segment: without "..." in the pattern it stands for the missing axes
        fixed = len(x.dims) - 1
        if l_ell:
            return None  # "..." in the pattern and a variadic segment in the shape: not aligned here
        if fixed > n_left:
            site.error("SHP108", f"{what} pattern \"{lhs.strip()}\" has {n_left} axes, the tensor has at "
                                 f"least {fixed}", notes=(f"{x.label or 'the tensor'} has shape ({x})",))
            return None
        v = x.variadic_index
        origins = x.origins or (None,) * len(x.dims)
        pad = n_left - fixed
        x = Shape(x.dims[:v] + (UNKNOWN,) * pad + x.dims[v + 1:], origins[:v] + (None,) * pad + origins[v + 1:],
                  x.label)
    if (not l_ell and x.rank != n_left) or (l_ell and x.rank < n_left):
        site.error("SHP108", f"{what} pattern \"{lhs.strip()}\" has {n_left} axes, the tensor has {x.rank}",
                   notes=(f"{x.label or 'the tensor'} has shape ({x})",))
        return None
    known_sizes = {k: as_size(v) for k, v in axes_lengths.items()}
    if any(isinstance(v, Expr) and v.value is not None and v.value <= 0 for v in known_sizes.values()):
        return None  # not a positive size: einops rejects it itself
    origin: dict = {}
    xa = axes(x)
    ell_axes = []
    pos = 0
    for paren, g in left:
        if ELL in g:
            n_e = x.rank - n_left
            ell_axes = xa[pos:pos + n_e]
            pos += n_e
            continue
        d, o = xa[pos]
        pos += 1
        names = [e for e in g if isinstance(e, str)]
        if len(g) == 1 and names and not paren:
            origin[names[0]] = o
        unknown = [n for n in names if n not in known_sizes]
        known_part = prod([known_sizes[n] for n in names if n in known_sizes] +
                          [const(e) for e in g if isinstance(e, int)])
        if len(unknown) > 1:
            site.error("SHP108", f"{what} cannot infer the sizes of {', '.join(chr(34) + u + chr(34) for u in unknown)}"
                                 f" in \"({' '.join(str(e) for e in g)})\"; pass them as keyword arguments")
            return None
        if isinstance(d, Unknown) or isinstance(known_part, Unknown):
            for u in unknown:
                known_sizes[u] = UNKNOWN
            continue
        if not unknown:
            if site.unify(d, known_part) is False:
                site.error("SHP108", f"{what} splits axis {qd(site.resolve(d))} into "
                                     f"({' '.join(str(e) for e in g)}) = {qd(site.resolve(known_part))}",
                           notes=(site.axis_note(x, pos - 1),))
                return None
            continue
        dv, kv = as_int(site.resolve(d)), as_int(site.resolve(known_part))
        if dv is not None and kv is not None:
            if dv % kv:
                site.error("SHP108", f"{what} cannot split {dv} into ({' '.join(str(e) for e in g)}) with "
                                     f"{', '.join(f'{k}={v}' for k, v in axes_lengths.items())}",
                           notes=(site.axis_note(x, pos - 1),))
                return None
            known_sizes[unknown[0]] = const(dv // kv)
        else:
            q = site.resolve(d) // site.resolve(known_part)
            if any(isinstance(a, FloorDiv) for m, _ in q.terms for a, _p in m):
                site.env.add_divisible(site.resolve(d), site.resolve(known_part))
                q = site.resolve(q)
            known_sizes[unknown[0]] = q
            if len(g) == 1:
                origin[unknown[0]] = o
    if op == "repeat":
        for n in rn:
            if n not in known_sizes:
                site.error("SHP108", f"{what} needs the size of the new axis \"{n}\"; pass it as a keyword (`{n}=...`)")
                return None
    out = []
    for paren, g in right:
        if ELL in g:
            if paren:
                out.append((prod([d for d, _ in ell_axes]), None))
            else:
                out.extend(ell_axes)
            continue
        if len(g) == 1 and isinstance(g[0], str) and not paren:
            out.append((known_sizes[g[0]], origin.get(g[0])))
            continue
        out.append((prod([known_sizes[e] if isinstance(e, str) else const(e) for e in g]), None))
    return build(out)


@shape_rule("einops.rearrange",
            ok=["b n h*d | 'b n (h d) -> b h n d', h=h -> b h n d", "b c h w | 'b c h w -> b (h w) c' -> b h*w c",
                "... h*d | 'b n (h d) -> b h n d', h=h -> _ h _ d",
                "b 12 | 'b (h d) -> b h d', h=3 -> b 3 4", "b c h w | '... h w -> ... (h w)' -> b c h*w",
                "b n | 'b n -> b n 1' -> b n 1"],
            bad=["b c h w | 'b c h -> b c h' ! SHP108", "b 10 | 'b (h d) -> b h d', h=3 ! SHP108",
                 "b n | 'b n -> n' ! SHP108", "b n | 'b n -> n b', x=2 ! SHP108"])
def rearrange(site: Site, tensor, pattern, **axes_lengths) -> Shape | None:
    """``einops.rearrange(x, pattern, **sizes)``: axes named on the left (groups in parentheses split an
    axis, a size given as keyword or inferred) are reordered and merged on the right."""
    return einops_apply(site, tensor, pattern, "rearrange", axes_lengths)


@shape_rule("einops.reduce",
            ok=["b n d | 'b n d -> b d', 'mean' -> b d", "b c h w | 'b c (h 2) (w 2) -> b c h w', 'max' -> b c h//2 w//2",
                "b n c d | '... c d -> c d', 'mean' -> c d",
                "b n d | 'b n d -> b 1 d', reduction='sum' -> b 1 d"],
            bad=["b n d | 'b n d -> b e', 'mean' ! SHP108", "b n | 'b n d -> b', 'mean' ! SHP108"])
def reduce(site: Site, tensor, pattern, reduction=None, **axes_lengths) -> Shape | None:
    """``einops.reduce(x, pattern, reduction, **sizes)``: axes missing on the right are reduced."""
    return einops_apply(site, tensor, pattern, "reduce", axes_lengths)


@shape_rule("einops.repeat",
            ok=["h w | 'h w -> h w c', c=3 -> h w 3", "b n | 'b n -> b k n', k=k -> b k n", "h w | 'h w -> (h 2) w' -> h*2 w"],
            bad=["h w | 'h w -> h w c' ! SHP108", "h w | 'h w -> h' ! SHP108"])
def repeat(site: Site, tensor, pattern, **axes_lengths) -> Shape | None:
    """``einops.repeat(x, pattern, **sizes)``: new axes on the right take their size from keywords or literals."""
    return einops_apply(site, tensor, pattern, "repeat", axes_lengths)


@module_rule("einops.layers.torch.Rearrange", init="pattern, **axes_lengths",
             ok=["init: 'b c h w -> b (c h w)' | b c h w -> b c*h*w"], bad=["init: 'b c h -> b c h' | b c h w ! SHP108"])
def Rearrange(site: Site, init: dict, input) -> Shape | None:
    """``einops.layers.torch.Rearrange(pattern, **sizes)``."""
    lengths = init.get("axes_lengths")
    return einops_apply(site, input, init.get("pattern"), "rearrange", lengths if isinstance(lengths, dict) else {})


@module_rule("einops.layers.torch.Reduce", init="pattern, reduction, **axes_lengths",
             ok=["init: 'b c h w -> b c', 'mean' | b c h w -> b c"], bad=["init: 'b c h -> b', 'max' | b c h w ! SHP108"])
def Reduce(site: Site, init: dict, input) -> Shape | None:
    """``einops.layers.torch.Reduce(pattern, reduction, **sizes)``."""
    lengths = init.get("axes_lengths")
    return einops_apply(site, input, init.get("pattern"), "reduce", lengths if isinstance(lengths, dict) else {})


@shape_rule("einops.einsum", "fancy_einsum.einsum",
            ok=["b n d, b m d | 'b n d, b m d -> b n m' -> b n m", "b n d, d e | 'b n d, d e -> b n e' -> b n e",
                "b h n d | '... n d -> ... d n' -> b h d n",
                "| 'batch pos d_model, d_model n -> batch pos n', shape('b p d'), shape('d n') -> b p n"],
            bad=["b n d, b m e | 'b n d, b m d -> b n m' ! SHP101", "b n d | 'b n -> b' ! SHP108",
                 "b n d | 'b n d' ! SHP108",
                 "| 'batch pos d_model, d_model n -> batch pos n', shape('b p d') ! SHP108"])
def einops_einsum(site: Site, *tensors_and_pattern) -> Shape | None:
    """``einops.einsum(*tensors, pattern)``, or ``fancy_einsum.einsum(pattern, *tensors)`` with the
    pattern first: axis names separated by spaces, ``->`` required by einops."""
    if tensors_and_pattern and isinstance(tensors_and_pattern[0], str):  # fancy_einsum's order
        pattern, shapes, what = tensors_and_pattern[0], list(tensors_and_pattern[1:]), "fancy_einsum.einsum"
    elif tensors_and_pattern and isinstance(tensors_and_pattern[-1], str):
        pattern, shapes, what = tensors_and_pattern[-1], list(tensors_and_pattern[:-1]), "einops.einsum"
    else:
        return None
    lhs, arrow, rhs = pattern.partition("->")
    if not arrow:
        if what == "einops.einsum":
            site.error("SHP108", f"einops.einsum pattern \"{pattern}\" needs \"->\"")
        return None
    terms = [_TOKEN.findall(t) for t in lhs.split(",")]
    output = _TOKEN.findall(rhs)
    if any(not re.match(r"[A-Za-z_]|\.\.\.", tok) for t in terms + [output] for tok in t):
        return None
    return contract(site, terms, output, shapes, what)


def left_groups(pattern) -> list | None:
    """The groups of an einops pattern's left side (``(parenthesized, [names, 1s, "..."])`` each), or None
    when the pattern is not a well-formed string with ``->``."""
    if not isinstance(pattern, str) or "->" not in pattern:
        return None
    try:
        return _side(pattern.partition("->")[0])
    except _PatternError:
        return None


def operand_terms(q: str, args: tuple) -> list | None:
    """The subscripts of each operand of an einsum call (``torch.einsum(eq, *ops)`` or
    ``einops.einsum(*ops, pattern)``): one list of names (``"..."`` included) per operand, or None."""
    if q == "einops.einsum":
        if not args or not isinstance(args[-1], str) or "->" not in args[-1]:
            return None
        terms = [_TOKEN.findall(t) for t in args[-1].partition("->")[0].split(",")]
        if any(not re.match(r"[A-Za-z_]|\.\.\.", tok) for t in terms for tok in t):
            return None
        return terms
    if not args or not isinstance(args[0], str):
        return None
    parsed = _torch_terms(args[0])
    return None if parsed is None else parsed[0]
