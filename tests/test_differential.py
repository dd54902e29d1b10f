"""Differential test of the operator shape rules against PyTorch (meta tensors) and einops.

For every generated case (tests/test_differential_gen.py: random shapes and static arguments from a
fixed seed, valid and invalid ones) the same call runs three times:

* in PyTorch on ``device="meta"`` tensors: the true output shape, or an error;
* through the rule with literal sizes (``Shape`` of ints);
* through the rule with named axes (each name has a distinct size; the rule's symbolic result is
  evaluated by substituting the sizes).

Outcomes per op: ``agree`` (same shape, or both reject), ``unknown`` (the rule returned None),
``missed`` (the rule accepts what torch rejects), ``false alarm`` (the rule rejects what torch
accepts) and ``wrong`` (both accept, different shapes). False alarms and wrong shapes are bugs in
either mode. A missed error is allowed only where the rule cannot know: with named axes (a size
that only the numbers decide, e.g. a reshape's element count or a kernel larger than an axis), and
for the documented literal-mode cases in ``LITERAL_MISSES_ALLOWED``.

Run ``python -m pytest -s tests/test_differential.py`` or ``python -m tests.test_differential`` to
see the per-op agreement table.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_differential_gen_layers  # noqa: F401  (registers the layer generators)
import pytest
import torch
from test_differential_gen import GENERATORS, Case, Mod, Ten, Z

from shapecheck._core._algebra import Expr, Sym, const, sym
from shapecheck._core._ops import lookup
from shapecheck._core._ops._registry import Site
from shapecheck._core._shape import Shape, Unknown, Variadic

SEED = 0
CASES_PER_GENERATOR = 150

# literal-mode misses that a rule cannot see, by op label -> reason. Empty: with literal sizes every
# rejection is seen (a boolean mask's count of True values is data, but the rule leaves that axis
# unknown rather than accepting a wrong size, and the CPU run uses an all-True mask).
LITERAL_MISSES_ALLOWED: dict = {}

_DTYPES = {"long": "long", "bool": "bool", "float": "float32"}


def _torch_dtype(name):
    return {"long": torch.long, "bool": torch.bool, None: torch.float32, "float": torch.float32,
            "cfloat": torch.complex64}[name]


CPU_CHECK_LIMIT = 100_000  # elements: meta kernels skip some checks, so small calls are confirmed on CPU


def materialize(v, mode: str, sizes: dict):
    """A generated argument for torch (tensors, ints) or for the rule (Shapes; ints or Exprs)."""
    if isinstance(v, Ten):
        dims = [_dim(d, mode, sizes) for d in v.dims]
        if mode in ("torch", "cpu"):
            dt = _torch_dtype(v.dtype)
            if mode == "cpu":  # zeros are valid indices; a mask of ones selects everything
                return torch.ones(dims, dtype=dt) if dt is torch.bool else torch.zeros(dims, dtype=dt)
            return torch.empty(dims, dtype=dt, device="meta")
        shape = Shape(tuple(dims))
        return shape.with_meta(dtype=v.dtype) if v.dtype else shape
    if isinstance(v, Z):
        return _dim(v, mode, sizes) if mode == "named" else _eval(v, sizes)
    if isinstance(v, Mod):  # a module passed to a constructor (nn.TransformerEncoder(layer, n))
        args, kwargs = materialize(v.args, mode, sizes), materialize(v.kwargs, mode, sizes)
        if mode in ("torch", "cpu"):
            return v.cls(*args, **kwargs)
        return _ModuleValue(lookup(v.name).bind_init(tuple(args), kwargs))
    if v == "meta" and mode == "cpu" and isinstance(v, str):
        return "cpu"
    if isinstance(v, tuple):
        return tuple(materialize(x, mode, sizes) for x in v)
    if isinstance(v, list):
        return [materialize(x, mode, sizes) for x in v]
    if isinstance(v, slice):
        return slice(materialize(v.start, mode, sizes), materialize(v.stop, mode, sizes),
                     materialize(v.step, mode, sizes))
    if isinstance(v, dict):
        return {k: materialize(x, mode, sizes) for k, x in v.items()}
    return v


class _ModuleValue:
    """What the engine passes for a module object: its bound constructor arguments (``init_dict``)."""

    def __init__(self, init_dict):
        self.init_dict = init_dict or {}


def _eval(z, sizes: dict):
    return eval(str(z), {"__builtins__": {}}, dict(sizes))


def _dim(d, mode: str, sizes: dict):
    if isinstance(d, int):
        return d if mode in ("torch", "cpu") else const(d)
    if mode in ("torch", "cpu", "literal"):
        v = _eval(d, sizes)
        return v if mode in ("torch", "cpu") else const(v)
    if isinstance(d, Z):
        return eval(str(d), {"__builtins__": {}}, {n: sym(n) for n in sizes})
    return sym(d)


def torch_outcome(case: Case, sizes: dict):
    """('ok', [shape tuples or None]) or ('error', message).

    The call runs on meta tensors; when it succeeds (or the meta kernel cannot run it) and the inputs
    are small, it runs again on CPU zeros, because some meta kernels skip checks (softmax's dim,
    conv_transpose's channels and output_padding).
    """
    verdict = _run(case, sizes, "torch")
    small = _numel(case.args, sizes) + _numel(case.init_args, sizes) <= CPU_CHECK_LIMIT
    if small and (verdict[0] == "ok" or "meta" in verdict[1]):
        return _run(case, sizes, "cpu") + (True,)
    return verdict + (False,)


def _numel(v, sizes) -> int:
    if isinstance(v, Ten):
        n = 1
        for d in v.dims:
            n *= d if isinstance(d, int) else _eval(d, sizes)
        return n
    if isinstance(v, (tuple, list)):
        return sum(_numel(x, sizes) for x in v)
    if isinstance(v, (Z, int)) and not isinstance(v, bool):
        return 0
    return 0


def _run(case: Case, sizes: dict, mode: str):
    args = materialize(case.args, mode, sizes)
    kwargs = materialize(case.kwargs, mode, sizes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case.module is not None:
                with torch.device("meta" if mode == "torch" else "cpu"):
                    iargs = materialize(case.init_args, mode, sizes)
                    ikw = materialize(case.init_kwargs, mode, sizes)
                    mod = case.module(*iargs, **ikw)
                out = mod(*args, **kwargs)
            else:
                out = case.fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001  (torch rejects the call with any exception type)
        return "error", f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
    return "ok", _flatten_out(out)


def _flatten_out(out):
    """Output shapes as nested lists of shape tuples (LSTM's ``(out, (h, c))`` stays nested)."""
    if isinstance(out, torch.Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_flatten_out(o) for o in out]
    return None


def rule_outcome(case: Case, sizes: dict, mode: str):
    """('ok', [dims...]) / ('error', code) / ('unknown', None)."""
    rule = lookup(case.name)
    if rule is None:
        raise AssertionError(f"no rule registered for {case.name}")
    mat = "named" if mode == "variadic" else mode
    args = materialize(case.args, mat, sizes)
    kwargs = materialize(case.kwargs, mat, sizes)
    if mode == "variadic":
        args = _with_variadic(args)
        if args is None:
            return "skip", None
    init = None
    if case.module is not None:
        init = rule.bind_init(tuple(materialize(case.init_args, mat, sizes)),
                              materialize(case.init_kwargs, mat, sizes))
        assert init is not None, f"constructor arguments do not fit {case.name}"
    site = Site(case.name.rsplit(".", 1)[-1])
    result = rule.apply(site, tuple(args), kwargs, init)
    if site.problems:
        return "error", site.problems[0].code + " " + site.problems[0].message
    if result is None:
        return "unknown", None
    try:
        return "ok", _rule_values(result, site, sizes, mode)
    except _Unknown:
        return "unknown", None


class _Unknown(Exception):
    pass


def _rule_values(result, site, sizes, mode):
    if result is None:
        return None
    if isinstance(result, tuple):
        return [_rule_values(o, site, sizes, mode) for o in result]
    if not isinstance(result, Shape) or (result.rank is None and mode != "variadic"):
        raise _Unknown
    return tuple(_value(site.resolve(d), sizes) for d in result.dims)


def _with_variadic(args):
    """The arguments with the leading axis of the first tensor of 2+ axes made a variadic ``*B``
    (zero or more axes); None when there is no such tensor."""
    done = []

    def walk(v):
        if isinstance(v, Shape) and not done and v.rank is not None and v.rank >= 2:
            done.append(True)
            return Shape((Variadic("B"),) + v.dims[1:], label=v.label, meta=v.meta)
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    out = walk(tuple(args))
    return out if done else None


def _value(d, sizes: dict):
    if isinstance(d, Unknown):
        return "?"
    if isinstance(d, Variadic):
        return "*"
    if isinstance(d, Expr):
        v = d.subst({Sym(n): const(s) for n, s in sizes.items()}).value
        return v if v is not None else f"<{d}>"
    return f"<{d!r}>"


def _same(r, t) -> bool:
    """The rule's (nested) result matches torch's; a None from the rule is an unknown part."""
    if r is None:
        return True
    if isinstance(r, list) or isinstance(t, list):
        return isinstance(r, list) and isinstance(t, list) and len(r) == len(t) and all(map(_same, r, t))
    if t is None:
        return False
    if "*" in r:  # a variadic result: its fixed prefix and suffix must match
        k = r.index("*")
        pre, post = r[:k], r[k + 1:]
        return len(pre) + len(post) <= len(t) and _match(pre, t[:len(pre)]) and _match(post, t[len(t) - len(post):])
    return len(r) == len(t) and _match(r, t)


def _match(r, t) -> bool:
    return all(a == "?" or a == b for a, b in zip(r, t))


def classify(rule_res, torch_res) -> str:
    rk, rv = rule_res
    tk, tv = torch_res[:2]
    if rk == "unknown":
        return "unknown"
    if rk == "error":
        return "agree" if tk == "error" else "false alarm"
    if tk == "error":
        return "missed"
    return "agree" if _same(rv, tv) else "wrong"


# the generators by op family: each family is one test, so the families run in parallel
FAMILIES = {
    "elementwise": ("g_binary", "g_inplace", "g_where", "g_masked_fill", "g_unary", "g_unary_module", "g_clamp"),
    "linalg": ("g_matmul", "g_mm_bmm", "g_transpose_attr", "g_einsum", "g_einops_einsum"),
    "reduce": ("g_reduction", "g_softmax", "g_topk", "g_softmax_module", "g_along"),
    "layout": ("g_transpose", "g_reshape", "g_view_heads", "g_flatten", "g_expand", "g_rearrange"),
    "join_index": ("g_join", "g_split", "g_chunk_symbolic", "g_getitem", "g_select", "g_factory", "g_meshgrid"),
    "layers": ("g_linear", "g_embedding", "g_conv", "g_conv_block", "g_conv_transpose", "g_pool", "g_pad", "g_norm", "g_sdpa",
               "g_mha", "g_recurrent", "g_recurrent_cell", "g_transformer", "g_resample", "g_instance_norm",
               "g_embedding_bag", "g_norm_block"),
    "loss_misc": ("g_loss", "g_loss_more", "g_misc", "g_misc_ops", "g_complex", "g_fft"),
}


def _new_table():
    return defaultdict(lambda: {**{m: defaultdict(int) for m in MODES}, "torch_err": 0})


def run_all(seed: int = SEED, per_generator: int = CASES_PER_GENERATOR, only=None):
    """Runs the generators (those named in ``only``, every one by default); returns (table, failures)
    where table[op][mode][outcome] counts. The draws are one seeded stream over every generator, so a
    family run sees exactly the cases it sees in a full run."""
    rng = random.Random(seed)
    table = _new_table()
    failures = []
    for gen in GENERATORS:
        for _ in range(per_generator):
            case, sizes = gen(rng)
            if case is None or (only is not None and gen.__name__ not in only):
                continue
            COVERED.add(case.name)
            t = torch_outcome(case, sizes)
            rs = {mode: rule_outcome(case, sizes, mode) for mode in MODES}
            if not t[2] and any(classify(r, t) in ("false alarm", "wrong", "missed") for r in rs.values()):
                t = _run(case, sizes, "cpu") + (True,)  # a disagreement on a large call: ask the CPU too
            row = table[case.label]
            row["torch_err"] += t[0] == "error"
            for mode in MODES:
                r = rs[mode]
                if r[0] == "skip":
                    continue
                c = classify(r, t)
                row[mode][c] += 1
                bad = c in ("false alarm", "wrong") or (c == "missed" and mode == "literal"
                                                           and case.label not in LITERAL_MISSES_ALLOWED)
                if bad:
                    failures.append(f"[{mode}] {case.label}: {c}: {case.describe()} sizes={sizes} "
                                    f"torch={t} rule={r}")
    return table, failures


MODES = ("literal", "named", "variadic")
COVERED: set = set()  # qualified names the generators called

OUTCOMES = ("agree", "unknown", "missed", "false alarm", "wrong")


def format_table(table) -> str:
    """One row per op: cases, torch rejections, then per mode agree/unknown/missed/false alarm/wrong."""
    short = "agr unk mis FA wr"
    head = f"{'op':34} {'n':>4} {'t.err':>5}"
    for m in MODES:
        head += f" | {m[:3]}: " + " ".join(f"{o:>4}" for o in short.split())
    lines = [head]
    tot = {m: defaultdict(int) for m in MODES}
    n_all = 0
    for op in sorted(table):
        row = table[op]
        n = sum(row["literal"].values())
        n_all += n
        line = f"{op[:34]:34} {n:>4} {row['torch_err']:>5}"
        for m in MODES:
            for o in OUTCOMES:
                tot[m][o] += row[m][o]
            line += f" | {m[:3]}: " + " ".join(f"{row[m][o]:>4}" for o in OUTCOMES)
        lines.append(line)
    line = f"{'TOTAL':34} {n_all:>4} {'':>5}"
    for m in MODES:
        line += f" | {m[:3]}: " + " ".join(f"{tot[m][o]:>4}" for o in OUTCOMES)
    lines.append(line)
    for m in MODES:
        n_m = sum(tot[m].values())
        agree = tot[m]["agree"]
        lines.append(f"{m}: {agree}/{n_m} agree ({100.0 * agree / max(n_m, 1):.1f}%), "
                     f"{tot[m]['unknown']} unknown, {tot[m]['missed']} missed, "
                     f"{tot[m]['false alarm']} false alarms, {tot[m]['wrong']} wrong")
    lines.append("(variadic: the first tensor of 2+ axes gets a leading *B instead of its first axis; "
                 "missed and unknown are expected there)")
    return "\n".join(lines)


_RESULT = {}


def _family_results(family: str):
    if family not in _RESULT:
        _RESULT[family] = run_all(only=FAMILIES[family])
    return _RESULT[family]


def _results():
    """Every family's results, merged."""
    table, failures = _new_table(), []
    for family in FAMILIES:
        t, f = _family_results(family)
        failures += f
        for op, row in t.items():
            table[op]["torch_err"] += row["torch_err"]
            for m in MODES:
                for o, n in row[m].items():
                    table[op][m][o] += n
    return table, failures


def test_every_generator_belongs_to_one_family():
    names = [g.__name__ for g in GENERATORS]
    in_families = [n for members in FAMILIES.values() for n in members]
    assert sorted(in_families) == sorted(names)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_rules_agree_with_torch(family):
    table, failures = _family_results(family)
    print()
    print(format_table(table))
    assert table, family
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:40])


@pytest.mark.slow
def test_every_generated_op_has_a_rule_and_cases():
    table, _ = _results()
    assert len(table) >= 60, sorted(table)
    for op, row in table.items():
        n = sum(row["literal"].values())
        assert n > 0, op


@pytest.mark.slow
def test_every_rule_is_exercised():
    """Each registered rule (under one of its names) is called by some generator."""
    from shapecheck._core._ops import all_rules
    _results()
    covered = {id(lookup(n)) for n in COVERED}
    missing = [r.names[0] for r in all_rules() if id(r) not in covered]
    assert not missing, f"rules without differential cases: {missing}"


@pytest.mark.slow
def test_generators_exercise_rejections():
    """The draws include invalid calls: torch rejects a fair share, and the rules see most of them."""
    table, _ = _results()
    torch_errors = sum(row["torch_err"] for row in table.values())
    total = sum(sum(row["literal"].values()) for row in table.values())
    assert torch_errors > total // 10
    both_reject_or_missed = sum(row["literal"]["missed"] for row in table.values())
    assert both_reject_or_missed < torch_errors


@pytest.mark.slow
def test_unknown_is_rare():
    table, _ = _results()
    total = sum(sum(row["literal"].values()) for row in table.values())
    unknown = sum(row["literal"]["unknown"] for row in table.values())
    assert unknown < total * 0.1, f"{unknown} of {total} literal-size calls were unknown"


def main() -> int:
    table, failures = run_all()
    print(format_table(table))
    if failures:
        print(f"\n{len(failures)} disagreements:")
        for f in failures:
            print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
