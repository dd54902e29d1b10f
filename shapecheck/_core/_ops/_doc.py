"""The operator reference (docs/ops.md), rendered from the rule table: names, docstrings, examples.

``python -m shapecheck._core._ops._doc > docs/ops.md`` regenerates it.
"""

from __future__ import annotations

from . import all_rules

_HEAD = """# Operator shape rules

Generated from the rule table by `python -m shapecheck._core._ops._doc > docs/ops.md`; do not edit by hand.

Each rule computes an operation's result shape from its input shapes and static arguments, or
records a mismatch; an operation it cannot decide is unknown, never an error. The examples are
tests: `inputs | static arguments -> result` must hold, `... ! CODE` must be rejected with that code
(`init: ...` gives a module's constructor arguments). Every rule is also checked against PyTorch
on random shapes (`python -m tests.test_differential`).
"""

_GROUPS = (
    ("elementwise", "Elementwise operations"), ("activations", "Shape-preserving operations"),
    ("linalg", "Matrix products, linear and embedding"), ("einsum", "einsum and einops"),
    ("reduce", "Reductions and operations along a dim"), ("layout", "Axis order, reshape, expand"),
    ("join", "Joining and splitting"), ("index", "Indexing and selection"), ("create", "Factories"),
    ("conv", "Convolution and pooling"), ("norm", "Normalisation"), ("attention", "Attention"),
    ("loss", "Losses"),
)


def render() -> str:
    rules = all_rules()
    by_module: dict = {}
    for r in rules:
        mod = r.fn.__module__.rsplit(".", 1)[-1]
        by_module.setdefault(mod, []).append(r)
    out = [_HEAD]
    titles = dict(_GROUPS)
    order = [m for m, _ in _GROUPS] + sorted(m for m in by_module if m not in titles)
    for mod in order:
        if mod not in by_module:
            continue
        out.append(f"\n## {titles.get(mod, mod.capitalize())}\n")
        for r in sorted(by_module[mod], key=lambda r: r.names[0]):
            names = ", ".join(f"`{n}`" for n in r.names)
            out.append(f"\n### {r.names[0].rsplit('.', 1)[-1]}\n\n{names}\n\n{r.doc}\n")
            examples = [f"    {e}" for e in r.ok] + [f"    {e}" for e in r.bad]
            if examples:
                out.append("\n" + "\n".join(examples) + "\n")
    return "".join(out)


if __name__ == "__main__":
    print(render(), end="")
