"""Regression cases for defects of the runtime guards: stale source for annotated locals, locals
under another decorator, message text, odd values, the import hook on a bad annotation."""

from __future__ import annotations

import importlib
import sys
import textwrap
import typing
import warnings

import jaxtyping
import pytest
import torch
from jaxtyping import Float, Shaped
from torch import Tensor

import shapecheck
from shapecheck import ShapeError, guard


def _module(tmp_path, monkeypatch, name: str, src: str):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(src))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return importlib.import_module(name), path


_LOCALS = '''
import torch
from torch import Tensor
from jaxtyping import Float

def f(x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
    h: Float[Tensor, "b d"] = x[:, :1] if x.shape[0] == 7 else x
    return h
'''


def test_locals_are_checked_from_the_imported_source(tmp_path, monkeypatch):
    mod, _ = _module(tmp_path, monkeypatch, "sc_locals_fresh", _LOCALS)
    g = guard(mod.f)
    assert g.__shapecheck_plan__.locals_specs
    with pytest.raises(ShapeError, match='f\\(\\): `h` has 1 at the last axis where its annotation of local "b d" says "d"'):
        g(torch.zeros(7, 3))


def test_locals_are_not_compiled_from_a_source_edited_after_import(tmp_path, monkeypatch):
    mod, path = _module(tmp_path, monkeypatch, "sc_locals_edited", _LOCALS)
    path.write_text(_LOCALS.replace("return h", "return h * 100"))
    with pytest.warns(UserWarning, match="source file changed since it was imported"):
        g = guard(mod.f)
    assert not g.__shapecheck_plan__.locals_specs
    assert g(torch.ones(2, 3)).sum() == 6  # the imported code runs, not the edited one


def test_locals_under_another_decorator_are_reported_unchecked():
    with pytest.warns(UserWarning, match="annotated locals of .*f\\(\\) are not checked: @guard sits above"):
        @guard
        @torch.no_grad()
        def f(x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
            h: Float[Tensor, "b d"] = x
            return h
    assert f(torch.zeros(2, 3)).shape == (2, 3)
    with pytest.raises(ShapeError):
        f(torch.zeros(2))  # the arguments are still checked


def test_no_warning_without_annotated_locals_under_another_decorator():
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @guard
        @torch.no_grad()
        def f(x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
            return x

    assert f(torch.zeros(2, 3)).shape == (2, 3)


def test_message_keeps_qualified_jaxtyping_names():
    @guard
    def f(x: typing.Union[list[jaxtyping.Float[Tensor, "n"]], int], y: dict[str, typing.Optional[int]]):
        return x

    with pytest.raises(ShapeError) as info:
        f(1, 3)
    assert "dict[str, Optional[int]]" in str(info.value)
    assert "jaxFloat" not in str(info.value)
    from shapecheck._runtime._errors import hint_text
    assert hint_text(list[jaxtyping.Float]) == "list[jaxtyping.Float]"


def test_torch_size_for_an_array_type_is_a_shape_error():
    @guard
    def f(s: Shaped[torch.Size, "2"]):
        return s

    with pytest.raises(ShapeError, match=r'argument `s` of `[\w.]*f` is `torch.Size` where its annotation is `Shaped\[Size, "2"\]`'):
        f(torch.Size([2, 3]))


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_strided_nested_tensor_is_a_shape_error():
    @guard
    def f(x: Float[Tensor, "a b"]) -> Float[Tensor, "a b"]:
        return x

    nt = torch.nested.nested_tensor([torch.zeros(2, 3), torch.zeros(4, 3)])
    with pytest.raises(ShapeError, match=r'argument `x` of `[\w.]*f` has no fixed shape \(a nested tensor\?\) where its annotation is "a b"'):
        f(nt)

    @guard
    def g(x: Float[Tensor, "a b"]) -> Float[Tensor, "a b"]:
        return nt

    with pytest.raises(ShapeError, match=r'g\(\): the return value has no fixed shape'):
        g(torch.zeros(2, 3))


def test_guard_of_none_is_an_error():
    with pytest.raises(TypeError, match="not None"):
        guard(None)
    assert callable(guard())
    assert callable(guard(first=2))


def test_import_hook_guards_the_well_formed_annotations_of_a_function(tmp_path, monkeypatch):
    pkg = tmp_path / "sc_hook_bad"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "m.py").write_text(textwrap.dedent('''
        import dataclasses
        from torch import Tensor
        from jaxtyping import Float

        def f(x: Float[Tensor, "n d"], y: Float[Tensor, "(b n) d"], z: Float[Tensor, "bar qux foo=bar+qux"]):
            return x

        @dataclasses.dataclass
        class Pair:
            a: Float[Tensor, "n"]
            b: Float[Tensor, "n"]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(UserWarning, match=r"f\(\): argument y is not checked: .*groups axes with parentheses"):
        with shapecheck.install_import_hook("sc_hook_bad") as hook:
            m = importlib.import_module("sc_hook_bad.m")
    assert hook.guarded["sc_hook_bad.m"] == 2
    m.Pair(torch.zeros(2), torch.zeros(2))
    with pytest.raises(ShapeError, match="Pair.__init__"):
        m.Pair(torch.zeros(2), torch.zeros(3))
    m.f(torch.zeros(2, 3), "anything", torch.zeros(1, 2, 3))
    with pytest.raises(ShapeError, match="argument `x` of `f` has 1 axes"):
        m.f(torch.zeros(2), "anything", torch.zeros(1, 2, 3))
    with pytest.raises(ShapeError, match='argument `z` of `f` has 4 at the last axis where "foo=bar\\+qux" is 3'):
        m.f(torch.zeros(2, 3), "anything", torch.zeros(1, 2, 4))


def test_an_arithmetic_axis_over_a_never_bound_name_is_an_error():
    @guard
    def f(x: Float[Tensor, " 2*dim"]):
        return x

    with pytest.raises(ShapeError, match='argument `x` of `[\\w.]*f`: axis "2\\*dim" uses "dim", which no annotation checked before it binds'):
        f(torch.zeros(4))
