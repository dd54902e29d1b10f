"""Runtime guards: modes (off, sampled), torch.compile, the import hook, and no data access."""

import importlib
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from jaxtyping import Float
from torch import Tensor, nn

import shapecheck
from shapecheck import ShapeError, guard, runtime_mode, set_mode
from shapecheck._runtime import get_compile_mode, set_compile_mode


def z(*shape):
    return torch.zeros(*shape)


@pytest.fixture(autouse=True)
def _restore_modes():
    yield
    set_mode("on")
    set_compile_mode("check")


def plain(x: Float[Tensor, "b n"], y: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x


# -- modes ------------------------------------------------------------------------------------------

def test_off_before_decorating_returns_the_original_object():
    set_mode("off")
    assert guard(plain) is plain
    assert guard(first=2, every=3)(plain) is plain
    assert shapecheck.get_mode() == "off"


def test_env_var_is_read_at_decoration_time(monkeypatch):
    monkeypatch.setenv("SHAPECHECK_RUNTIME", "0")
    assert guard(plain) is plain
    monkeypatch.setenv("SHAPECHECK_RUNTIME", "1")
    assert guard(plain) is not plain


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
def test_env_var_switches_off_a_fresh_process():
    code = ("import shapecheck, torch\n"
            "def f(x: 'jaxtyping.Float[torch.Tensor, \"n\"]'): return x\n"
            "print(shapecheck.get_mode(), shapecheck.guard(f) is f)")
    env = dict(os.environ, SHAPECHECK_RUNTIME="off", PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.stdout.strip() == "off True", out.stderr


def test_off_after_decorating_skips_checks_and_on_restores_them():
    g = guard(plain)
    with runtime_mode("off"):
        assert g(z(2, 3), z(4, 5)) is not None
    with pytest.raises(ShapeError):
        g(z(2, 3), z(4, 5))


def _failures(g, calls):
    bad = 0
    for _ in range(calls):
        try:
            g(z(2, 3), z(4, 5))
        except ShapeError:
            bad += 1
    return bad


def test_global_sampling_checks_first_n_then_every_kth():
    g = guard(plain)
    with runtime_mode("sample", first=3, every=5):
        assert shapecheck.get_mode() == "sample"
        # calls 1-3 checked, then calls 8, 13, 18 -> 6 of 20
        assert _failures(g, 20) == 6
    assert shapecheck.get_mode() == "on"


def test_per_guard_sampling():
    g = guard(first=1, every=4)(plain)
    assert _failures(g, 9) == 3  # calls 1, 5, 9
    h = guard(sample=(0, 2))(plain)
    assert _failures(h, 6) == 3
    with runtime_mode("off"):
        assert _failures(g, 4) == 0


def test_bad_mode_arguments():
    with pytest.raises(ValueError, match="unknown runtime mode 'loud'"):
        set_mode("loud")
    with pytest.raises(ValueError, match="`every` must be an int >= 1"):
        set_mode("sample", every=0)
    with pytest.raises(ValueError, match="only apply to mode"):
        set_mode("on", first=3)
    with pytest.raises(ValueError, match="sampling needs"):
        guard(plain, first=-1)
    with pytest.raises(ValueError, match="unknown compile mode"):
        set_compile_mode("maybe")


# -- torch.compile -------------------------------------------------------------------------------

class Mix(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.d = d
        self.lin = nn.Linear(d, d)

    @guard
    def forward(self, x: Float[Tensor, "b d"], y: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
        h: Float[Tensor, "b d"] = self.lin(x)
        return h + y


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
@pytest.mark.parametrize("mode", ["check", "skip"])
@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_fullgraph_passes_correct_calls(mode, dynamic):
    set_compile_mode(mode)
    assert get_compile_mode() == mode
    torch._dynamo.reset()
    g = guard(plain)
    c = torch.compile(g, fullgraph=True, backend="eager", dynamic=dynamic)
    x = torch.ones(2, 3)
    assert torch.equal(c(x, x), x)
    assert c(torch.ones(5, 7), torch.ones(5, 7)).shape == (5, 7)
    m = Mix(4)
    cm = torch.compile(m, fullgraph=True, backend="eager", dynamic=dynamic)
    assert cm(torch.ones(3, 4), torch.ones(3, 4)).shape == (3, 4)


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
@pytest.mark.parametrize("dynamic", [False, True])
def test_compile_traces_tensor_locals_with_arithmetic_and_variadic_axes(dynamic):
    @guard
    def grow(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n+1"]:
        y: Float[Tensor, "b n+1"] = torch.cat([x, x[:, :1]], 1)
        w: Float[Tensor, "*batch m"] = y
        return w

    torch._dynamo.reset()
    c = torch.compile(grow, fullgraph=True, backend="eager", dynamic=dynamic)
    assert c(z(2, 3)).shape == (2, 4)
    assert c(z(5, 6)).shape == (5, 7)


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
def test_compile_reports_a_bad_local():
    @guard
    def f(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        y: Float[Tensor, "n b"] = x * 2
        return y

    torch._dynamo.reset()
    with pytest.raises(Exception) as info:
        torch.compile(f, fullgraph=True, backend="eager")(z(2, 3))
    assert "f(): `y` does not match its annotation (under torch.compile" in str(info.value)
    torch._dynamo.reset()
    with pytest.raises(ShapeError, match=r'f\(\): `y` has 2 at the first axis where its annotation of local "n b" says "n"\n'
                                         r'  note: "n" of `[\w.]*f` was bound to 3 by argument `x`'):
        torch.compile(f, backend="eager")(z(2, 3))


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
def test_compile_interpreted_signatures_step_aside_while_tracing():
    @guard
    def f(xs: list[Float[Tensor, "b n"]], y: Float[Tensor, "b n"] | Float[Tensor, "n"]) -> Float[Tensor, "b n"]:
        return xs[0] + y

    assert not f.__shapecheck_plan__.simple
    torch._dynamo.reset()
    c = torch.compile(f, fullgraph=True, backend="eager")
    assert c([z(2, 3), z(2, 3)], z(3)).shape == (2, 3)
    with pytest.raises(ShapeError):  # eager calls are still checked
        f([z(2, 3), z(2, 4)], z(3))


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
def test_compile_check_mode_rejects_a_bad_call():
    torch._dynamo.reset()
    c = torch.compile(guard(plain), fullgraph=True, backend="eager")
    with pytest.raises(Exception) as info:
        c(z(2, 3), z(2, 4))
    assert "ShapeError" in str(info.value) and "argument `y` of `plain` does not match its annotation" in str(info.value)
    lenient = torch.compile(guard(plain), backend="eager")  # graph break -> eager -> full message
    with pytest.raises(ShapeError, match=r'argument `y` of `plain` has 4 at the last axis where "n" is 3'):
        lenient(z(2, 3), z(2, 4))


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
def test_compile_skip_mode_steps_aside():
    set_compile_mode("skip")
    torch._dynamo.reset()
    c = torch.compile(guard(plain), fullgraph=True, backend="eager")
    assert c(z(2, 3), z(1, 3)).shape == (2, 3)  # broadcasting add would work; the guard is not traced


# -- import hook ----------------------------------------------------------------------------------

def test_import_hook_guards_functions_methods_and_forward(tmp_path, monkeypatch):
    pkg = tmp_path / "hooked_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(textwrap.dedent('''
        from __future__ import annotations
        import torch
        from torch import Tensor, nn
        from jaxtyping import Float

        def scale(x: Float[Tensor, "b {n}"], n: int) -> Float[Tensor, "b {n}"]:
            return x

        def untouched(x: int) -> int:
            return x

        class Proj(nn.Module):
            def __init__(self, d: int):
                super().__init__()
                self.d = d

            def forward(self, x: Float[Tensor, "b {self.d}"]) -> Float[Tensor, "b {self.d}"]:
                y: Float[Tensor, "b {self.d}"] = x[:, :1] if x.shape[0] == 7 else x
                return y
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with shapecheck.install_import_hook("hooked_pkg") as hook:
        layers = importlib.import_module("hooked_pkg.layers")
    assert hook not in sys.meta_path
    assert hook.guarded == {"hooked_pkg": 0, "hooked_pkg.layers": 2}
    assert layers.untouched("not checked") == "not checked"
    layers.scale(z(2, 3), 3)
    with pytest.raises(ShapeError, match=r'argument `x` of `scale` has 3 at the last axis where "\{n\}" is 4'):
        layers.scale(z(2, 3), 4)
    p = layers.Proj(4)
    p(z(2, 4))
    with pytest.raises(ShapeError, match=r'argument `x` of `Proj.forward` has 5 at the last axis where "\{self.d\}" is 4'):
        p(z(2, 5))
    with pytest.raises(ShapeError, match=r'Proj.forward\(\): `y` has 1 at the last axis where its annotation of local "b \{self.d\}" says 4'):
        p(z(7, 4))
    for mod in ("hooked_pkg.layers", "hooked_pkg"):
        sys.modules.pop(mod, None)


def test_import_hook_needs_names():
    with pytest.raises(ValueError, match="needs one or more module names"):
        shapecheck.install_import_hook()


# -- no data access -------------------------------------------------------------------------------

class NoData(torch.Tensor):
    """A tensor with metadata only: any operation, data access or formatting raises."""

    __torch_function__ = torch._C._disabled_torch_function_impl

    @staticmethod
    def __new__(cls, shape, dtype=torch.float32):
        return torch.Tensor._make_wrapper_subclass(cls, shape, dtype=dtype, device="cpu")

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise AssertionError(f"data access: {func}")

    def _deny(self, *a, **k):
        raise AssertionError("data access")

    __repr__ = __str__ = __format__ = __bool__ = __len__ = __iter__ = __index__ = _deny
    item = tolist = numpy = _deny


def test_no_data_subclass_really_denies_data():
    t = NoData((2, 3))
    with pytest.raises(AssertionError):
        t.item()
    with pytest.raises(AssertionError):
        repr(t)
    with pytest.raises(AssertionError):
        t + 1


def identity_pair(x: Float[Tensor, "b n"], y: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x


@pytest.mark.parametrize("make", [lambda s, **k: NoData(s, **k),
                                  lambda s, **k: torch.empty(s, device="meta", **k)])
def test_guards_never_touch_data(make):
    g = guard(identity_pair)
    x = make((2, 3))
    assert g(x, make((2, 3))) is x
    for bad, text in [((2, 4), 'argument `y` of `identity_pair` has 4 at the last axis where "n" is 3'),
                      ((2,), 'argument `y` of `identity_pair` has 1 axes where its annotation "b n" has 2\n'
                             "  note: argument `y` has shape (2,)")]:
        with pytest.raises(ShapeError) as info:
            g(x, make(bad))
        assert text in str(info.value)
    with pytest.raises(ShapeError, match="has dtype int64 where its annotation is Float"):
        g(x, make((2, 3), dtype=torch.int64))

    @guard
    def interpreted(xs: list[Float[Tensor, "b n"]]) -> Float[Tensor, "b n"]:
        h: Float[Tensor, "b n"] = xs[0]
        return h

    assert not interpreted.__shapecheck_plan__.simple
    assert interpreted([x, x]) is x
    with pytest.raises(ShapeError, match=r'argument `xs\[1\]` of `[\w.]*interpreted` has 5 at the last axis where "n" is 3'):
        interpreted([x, make((2, 5))])


@pytest.mark.slow  # torch.compile, or a fresh interpreter importing torch
def test_import_shapecheck_leaves_torch_alone_until_guard_is_used():
    code = ("import sys, shapecheck\n"
            "before = 'torch' in sys.modules\n"
            "shapecheck.guard, shapecheck.set_compile_mode\n"
            "print(before, 'torch' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.stdout.strip() == "False True", out.stderr
