"""Runs a rule's worked examples (the mini-language described in ``_registry``)."""

from __future__ import annotations

import ast

from .._parse import parse_shape
from .._shape import Shape
from ._registry import Rule, Site


def _kwargs(text: str) -> tuple[list, dict]:
    if not text.strip():
        return [], {}
    call = ast.parse(f"f({text})", mode="eval").body
    args = [ast.literal_eval(a) for a in call.args]
    return args, {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def _shapes(text: str) -> list:
    text = text.strip()
    if text == "":
        return []
    parts = [p.strip() for p in text.split(",")]
    out = []
    for i, p in enumerate(parts):
        out.append(parse_shape(p).to_shape().with_label(f"`arg{i}`"))
    return out


def run_example(rule: Rule, example: str, expect_ok: bool) -> str | None:
    """None when the example holds, else a sentence saying how it failed."""
    text = example
    init = None
    if text.startswith("init:"):
        init_text, _, text = text[5:].partition("|")
        iargs, ikw = _kwargs(init_text)
        init = rule.bind_init(tuple(iargs), ikw)
        if init is None:
            return f"constructor arguments do not fit: {init_text!r}"
    if expect_ok:
        lhs, _, out_text = text.partition("->")
    else:
        lhs, _, out_text = text.partition("!")
    shapes_text, _, static = lhs.partition("|")
    args = _shapes(shapes_text)
    pargs, kwargs = _kwargs(static)
    site = Site(rule.display)
    result = rule.apply(site, tuple(args) + tuple(pargs), kwargs, init)
    if expect_ok:
        if site.problems:
            return f"unexpected problem: {site.problems[0].message}"
        expected = [p.strip() for p in out_text.split(";")] if ";" in out_text else [out_text.strip()]
        got = list(result) if isinstance(result, tuple) else [result]
        if len(got) != len(expected):
            return f"expected {len(expected)} results, got {got!r}"
        for g, e in zip(got, expected):
            if not isinstance(g, Shape):
                return f"expected {e!r}, got {g!r}"
            want = parse_shape(e).to_shape()
            if tuple(site.resolve(d) for d in g.dims) != want.dims:
                return f"expected {e!r}, got {str(g)!r}"
        return None
    if not site.problems:
        return f"expected a problem, got {result!r}"
    code = out_text.strip()
    if code and not any(p.code == code for p in site.problems):
        return f"expected {code}, got {[p.code for p in site.problems]}"
    return None
