"""SHP002 single-axis-string: opt-in, and reported only where pyflakes/ruff really report F821.

A one-axis dimension string (``"batch"``) in an annotation is read by pyflakes as a forward
reference; it reports F821 only when the name is bound in no scope the annotation sees (the scope
of the annotation, enclosing functions, the module, the builtins). The differential test runs
pyflakes itself on the same sources when it is installed; the linter never depends on it.
"""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from shapecheck._lint._config import load_config
from shapecheck._lint import check_source
from shapecheck._core._settings import Settings

from _cli_support import shapecheck, write

HEAD = "from jaxtyping import Float\nfrom torch import Tensor\n"
ON = Settings(select=frozenset({"SHP002"}))


def shp002(src: str, settings: Settings = ON) -> list:
    source = HEAD + textwrap.dedent(src)
    return sorted({d.line for d in check_source(source, "m.py", settings, strict=True) if d.code == "SHP002"})


# (name, source, lines (by a marker comment) that pyflakes reports F821 on for the string)
CASES = {
    "unbound-parameter": ('''
def f(x: Float[Tensor, "batch"]) -> Float[Tensor, "batch"]:  # F821
    return x
''', True),
    "module-constant": ('''
batch = 8


def f(x: Float[Tensor, "batch"]) -> Float[Tensor, "batch"]:
    return x
''', False),
    "bound-later-in-the-module": ('''
def f(x: Float[Tensor, "batch"]):
    return x


batch = 8
''', False),
    "imported-name": ('''
from config import d_model


def f(x: Float[Tensor, "d_model"]):
    return x
''', False),
    "own-parameter-is-not-visible": ('''
def f(x: Float[Tensor, "x"]):  # F821
    return x
''', True),
    "builtin": ('''
def f(x: Float[Tensor, "input"]):
    return x
''', False),
    "class-attribute-for-a-method": ('''
class M:
    dim = 4

    def f(self, x: Float[Tensor, "dim"]):
        return x
''', False),
    "class-attribute-not-seen-in-nested-function": ('''
class M:
    dim = 4

    def f(self):
        def g(x: Float[Tensor, "dim"]):  # F821
            return x
        return g
''', True),
    "enclosing-function-local": ('''
def outer(seq: int):
    def inner(x: Float[Tensor, "seq"]):
        return x
    return inner
''', False),
    "local-annotation-sees-locals": ('''
def f(x, hidden: int):
    y: Float[Tensor, "hidden"] = x
    z: Float[Tensor, "other"] = x  # F821
    return y, z
''', True),
    "bare-annotation-counts": ('''
chans: int


def f(x: Float[Tensor, "chans"]):
    return x
''', False),
    "loop-with-except-and-walrus-bindings": ('''
for width in range(3):
    pass
with open("f") as height:
    pass
if (depth := 3):
    pass


def f(a: Float[Tensor, "width"], b: Float[Tensor, "height"], c: Float[Tensor, "depth"]):
    return a
''', False),
    "not-an-annotation": ('''
Vector = Float[Tensor, "n"]


def f(x):
    return isinstance(x, Float[Tensor, "m"])
''', False),
    "type-alias-value-is-an-annotation": ('''
from typing import TypeAlias

Vector: TypeAlias = Float[Tensor, "n"]  # F821
''', True),
    "star-import": ('''
from sizes import *


def f(x: Float[Tensor, "batch"]):
    return x
''', False),
}


def expected_lines(src: str) -> list:
    source = HEAD + textwrap.dedent(src)
    return [i for i, ln in enumerate(source.splitlines(), 1) if ln.rstrip().endswith("# F821")]


@pytest.mark.parametrize("name", sorted(CASES))
def test_reported_exactly_where_f821_is(name):
    src, reports = CASES[name]
    want = expected_lines(src)
    assert bool(want) == reports
    assert shp002(src) == want


@pytest.mark.parametrize("name", sorted(CASES))
def test_off_by_default(name):
    assert shp002(CASES[name][0], Settings()) == []


@pytest.mark.skipif(importlib.util.find_spec("pyflakes") is None, reason="pyflakes is not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_pyflakes(name):
    from pyflakes import api, reporter

    class Collect(reporter.Reporter):
        def __init__(self):
            self.lines = []

        def flake(self, message):
            if type(message).__name__ == "UndefinedName":
                self.lines.append(message.lineno)

        def unexpectedError(self, *a):  # pragma: no cover - the sources are valid
            raise AssertionError(a)

        def syntaxError(self, *a):  # pragma: no cover
            raise AssertionError(a)

    src = CASES[name][0]
    rep = Collect()
    api.check(HEAD + textwrap.dedent(src), "m.py", rep)
    assert sorted(set(rep.lines)) == shp002(src)


@pytest.mark.parametrize("comment,reported", [
    ("  # noqa: F821", False),
    ("  # noqa: F722, F821", False),
    ("  # noqa:F821", False),
    ("  # noqa", False),  # flake8 and ruff report nothing on this line
    ("  # noqa: F722", True),
    ("  # a comment", True),
])
def test_noqa_f821_is_honoured(comment, reported):
    src = f'''
def f(x: Float[Tensor, "batch"]):{comment}
    return x
'''
    assert bool(shp002(src)) == reported


def test_keywords_are_not_names():
    assert shp002('''
def f(x: Float[Tensor, "None"]):
    return x
''') == []


CLEAN = HEAD + '''

def f(x: Float[Tensor, "batch"]) -> Float[Tensor, " batch"]:
    return x
'''


def test_a_clean_file_exits_0_by_default(tmp_path):
    write(tmp_path, {"m.py": CLEAN})
    r = shapecheck("check", "--no-cache", cwd=tmp_path)
    assert r.code == 0 and "SHP002" not in r.out, r.out


def test_selected_explicitly(tmp_path):
    write(tmp_path, {"m.py": CLEAN})
    for args in (["--select", "SHP002"], ["--extend-select", "SHP002"], ["--select", "single-axis-string"]):
        r = shapecheck("check", "--no-cache", *args, cwd=tmp_path)
        assert r.code == 1 and "SHP002" in r.out, (args, r.out)
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nextend-select = ["SHP002"]\n'})
    assert "SHP002" in shapecheck("check", "--no-cache", cwd=tmp_path).out


def test_a_prefix_does_not_select_an_opt_in_code(tmp_path):
    write(tmp_path, {"m.py": CLEAN})
    for sel in ("SHP", "SHP0", "ALL"):
        r = shapecheck("check", "--no-cache", "--select", sel, cwd=tmp_path)
        assert r.code == 0 and "SHP002" not in r.out, (sel, r.out)


def test_extend_select_keeps_the_default_codes(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nextend-select = ["SHP002"]\n'})
    s = load_config(str(tmp_path)).settings
    assert {"SHP002", "SHP001", "SHP101"} <= s.select
    assert "SHP002" not in load_config(str(tmp_path), isolated=True).settings.select


def test_noqa_for_an_unselected_opt_in_code_is_not_unused(tmp_path):
    write(tmp_path, {"m.py": HEAD + '\n\ndef f(x: Float[Tensor, "batch"]):  # noqa: SHP002\n    return x\n'})
    r = shapecheck("check", "--no-cache", cwd=tmp_path)
    assert r.code == 0 and "SHP003" not in r.out, r.out
