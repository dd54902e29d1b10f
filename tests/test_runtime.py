"""Runtime guards: every annotation form, passing and failing, with the exact messages."""

import typing
from typing import Optional, Union

import pytest
import torch
from jaxtyping import Bool, Float, Float32, Int, Num, Shaped
from torch import Tensor, nn

import shapecheck
from shapecheck import ShapeError, guard
from shapecheck._core._parse import AnnotationSyntaxError

Batch = Float[Tensor, "b ..."]  # a user alias


def z(*shape, dtype=torch.float32):
    return torch.zeros(*shape, dtype=dtype)


def message(fn, *args, **kwargs) -> str:
    with pytest.raises(ShapeError) as info:
        fn(*args, **kwargs)
    return str(info.value)


@guard
def attention(q: Float[Tensor, "batch heads seq d_head"], k: Float[Tensor, "batch heads seq d_head"],
              v: Float[Tensor, "batch heads seq d_head"]) -> Float[Tensor, "batch heads seq d_head"]:
    return v


def test_attention_passes_and_returns_the_result():
    q = z(8, 12, 128, 64)
    assert attention(q, q, q) is q


def test_attention_message_names_axis_sizes_and_binding():
    q = z(8, 12, 128, 64)
    assert message(attention, q, z(8, 12, 128, 32), q) == (
        'attention(): argument k axis "d_head" (axis 3) is 32, expected 64 (bound by argument q, axis 3)\n'
        "bindings: batch=8 heads=12 seq=128 d_head=64")


def test_error_is_a_type_error_with_fields():
    q = z(2, 3, 4, 5)
    with pytest.raises(TypeError) as info:
        attention(q, q, z(2, 3, 4, 6))
    err = info.value
    assert isinstance(err, ShapeError)
    assert err.function == "attention" and err.where == "argument v"
    assert err.bindings == {"batch": 2, "heads": 3, "seq": 4, "d_head": 5}


@guard
def embed(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    return x


def test_rank_mismatch_message():
    assert message(embed, z(8, 64)) == 'embed(): argument x expected 3 axes "b s d", got 2 (8, 64)'


def test_dtype_mismatch_message():
    assert message(embed, z(2, 3, 4, dtype=torch.int64)) == "embed(): argument x has dtype int64, expected Float"


def test_not_a_tensor_message():
    assert message(embed, [1, 2]) == 'embed(): argument x is list, expected Float[Tensor, "b s d"]'
    assert message(embed, None) == 'embed(): argument x is None, expected Float[Tensor, "b s d"]'


def test_return_value_checked_against_argument_bindings():
    @guard
    def bad(x: Float[Tensor, "b n"]) -> Float[Tensor, "n b"]:
        return x

    bad(z(3, 3))
    assert message(bad, z(2, 3)) == (
        'test_return_value_checked_against_argument_bindings.bad(): return value axis "n" (axis 0) is 2, '
        "expected 3 (bound by argument x, axis 1)\nbindings: b=2 n=3")


@pytest.mark.parametrize("hint,good,bad,text", [
    (Float[torch.Tensor, "n"], z(3), z(3, dtype=torch.int32), "has dtype int32, expected Float"),
    (Int[Tensor, "n"], z(3, dtype=torch.int64), z(3), "has dtype float32, expected Int"),
    (Bool[Tensor, "n"], z(3, dtype=torch.bool), z(3), "has dtype float32, expected Bool"),
    (Float32[Tensor, "n"], z(3), z(3, dtype=torch.float64), "has dtype float64, expected Float32"),
    (Num[Tensor, "n"], z(3, dtype=torch.int8), z(3, dtype=torch.bool), "has dtype bool, expected Num"),
    (Shaped[Tensor, "n 2"], z(3, 2, dtype=torch.bool), z(3, 3), "axis 1 is 3, expected 2 (fixed in \"n 2\")"),
])
def test_dtype_families(hint, good, bad, text):
    def f(x):
        return x

    f.__annotations__ = {"x": hint}
    g = guard(f)
    assert g(good) is good
    assert message(g, bad).splitlines()[0] == f"test_dtype_families.f(): argument x {text}"


def test_fixed_named_size():
    @guard
    def rgb(x: Float[Tensor, "b c=3 h w"]):
        return x

    rgb(z(1, 3, 2, 2))
    assert message(rgb, z(1, 4, 2, 2)).splitlines()[0].endswith('argument x axis "c" (axis 1) is 4, expected 3 (fixed in "b c=3 h w")')


def test_arithmetic_dims():
    @guard
    def pad(x: Float[Tensor, "n"], y: Float[Tensor, "n+1"], w: Float[Tensor, "(h-3)//2+1"],
            h: Float[Tensor, "h"]) -> Float[Tensor, "2*n"]:
        return torch.cat([x, x])

    pad(z(3), z(4), z(4), z(9))
    assert message(pad, z(3), z(5), z(4), z(9)).splitlines()[0].endswith(
        'argument y axis "n+1" (axis 0) is 5, expected 4 (n=3 bound by argument x, axis 0)')
    assert 'argument w axis "(h-3)//2+1" (axis 0) is 3, expected 4 (h=9 bound by argument h, axis 0)' in message(
        pad, z(3), z(4), z(3), z(9))


def test_variadic_and_ellipsis():
    @guard
    def f(x: Float[Tensor, "*batch d"], y: Float[Tensor, "*batch d"], w: Float[Tensor, "... d"]) -> Batch:
        return x

    f(z(2, 3, 4), z(2, 3, 4), z(4))
    f(z(4), z(4), z(7, 7, 4))  # *batch may be empty
    assert message(f, z(2, 3, 4), z(2, 5, 4), z(4)).splitlines()[0].endswith(
        'argument y axes "*batch" (axes 0..1) are (2, 5), expected (2, 3) (bound by argument x, axes 0..1)')
    assert 'argument w expected at least 1 axis "... d", got 0 ()' in message(f, z(2, 4), z(2, 4), z(()))


def test_broadcastable_and_anonymous():
    @guard
    def add(x: Float[Tensor, "b n"], bias: Float[Tensor, "#b n"], y: Float[Tensor, "_ n"]):
        return x + bias

    add(z(4, 3), z(1, 3), z(9, 3))
    add(z(4, 3), z(4, 3), z(1, 3))
    assert message(add, z(4, 3), z(2, 3), z(1, 3)).splitlines()[0].endswith(
        'argument bias axis "b" (axis 0) is 2, expected 1 or 4 (bound by argument x, axis 0)')


def test_scalar_annotation():
    @guard
    def loss(x: Float[Tensor, "b"]) -> Float[Tensor, ""]:
        return x.sum() if x.shape[0] > 1 else x

    loss(z(3))
    assert message(loss, z(1)).endswith('return value expected 0 axes "", got 1 (1,)\nbindings: b=1')


def test_int_argument_is_not_a_binding():
    # jaxtyping's semantics: only annotations bind axes; an int argument of the same name does not
    @guard
    def head(x: Float[Tensor, "n d"], n: int) -> Float[Tensor, "n d"]:
        return x

    assert head(z(3, 4), n=5).shape == (3, 4)


def test_fstring_axis_binds_an_int_argument_on_request():
    @guard
    def proj(x: Float[Tensor, "b {d_model}"], d_model: int) -> Float[Tensor, "b {d_model}"]:
        return x

    proj(z(2, 8), 8)
    assert message(proj, z(2, 8), 16).splitlines()[0].endswith(
        'proj(): argument x axis "{d_model}" (axis 1) is 8, expected 16')


class Block(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.d_model = d_model
        self.seq = 16
        self.lin = nn.Linear(d_model, d_model)

    @guard
    def forward(self, x: Float[Tensor, "b seq d_model"]) -> Float[Tensor, "b seq d_model"]:
        return self.lin(x)

    @guard
    def widen(self, x: Float[Tensor, "b {self.d_model}"]) -> Float[Tensor, "b {self.d_model}"]:
        return x


def test_self_attribute_is_not_a_binding_unless_asked():
    m = Block(4)
    assert m(z(2, 8, 4)).shape == (2, 8, 4)  # self.seq = 16 is not the "seq" axis
    assert m.widen(z(1, 4)).shape == (1, 4)
    assert message(m.widen, z(1, 5)).splitlines()[0] == (
        'Block.widen(): argument x axis "{self.d_model}" (axis 1) is 5, expected 4')


@guard
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: Float[Tensor, "b s d"], mask: Optional[Bool[Tensor, "b s"]] = None) -> Float[Tensor, "b d"]:
        return x.mean(1)

    @staticmethod
    def pool(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b d"]:
        return x.sum(2)


def test_module_class_guards_forward_and_static_methods():
    enc = Encoder()
    enc(z(2, 3, 4))
    enc(z(2, 3, 4), z(2, 3, dtype=torch.bool))
    assert message(enc, z(2, 3, 4), z(2, 4, dtype=torch.bool)).startswith(
        'Encoder.forward(): argument mask axis "s" (axis 1) is 4, expected 3 (bound by argument x, axis 1)')
    assert message(Encoder.pool, z(2, 3, 4)).startswith(
        'Encoder.pool(): return value axis "d" (axis 1) is 3, expected 4 (bound by argument x, axis 2)')


def test_optional_union_and_default_none():
    @guard
    def f(x: Float[Tensor, "n"], y: Float[Tensor, "n"] | None = None, w: Union[Float[Tensor, "n"], None] = None):
        return x

    f(z(2))
    f(z(2), None, z(2))
    assert "argument w axis \"n\"" in message(f, z(2), w=z(3))


def test_union_of_shapes():
    @guard
    def f(x: Union[Float[Tensor, "b n"], Float[Tensor, "n"]], y: Float[Tensor, "n"]):
        return y

    f(z(2, 3), z(3))
    f(z(3), z(3))
    msg = message(f, z(2, 3, 4), z(3))
    assert msg.startswith("test_union_of_shapes.f(): argument x matches no alternative of its annotation: ")
    assert 'expected 2 axes "b n", got 3 (2, 3, 4)' in msg and 'expected 1 axis "n", got 3' in msg


def test_tuple_return_values():
    @guard
    def split(x: Float[Tensor, "b n"], k: int) -> tuple[Float[Tensor, "b n"], Float[Tensor, "b"]]:
        return (x, x.sum(1)) if k else (x, x)

    split(z(2, 3), 1)
    assert message(split, z(2, 3), 0).splitlines()[0].endswith('return value [1] expected 1 axis "b", got 2 (2, 3)')
    assert message(_short_tuple, z(2, 3)).splitlines()[0] == (
        "_short_tuple(): return value has 1 elements, expected 2")


@guard
def _short_tuple(x: Float[Tensor, "b n"]) -> typing.Tuple[Float[Tensor, "b n"], Float[Tensor, "b"]]:
    return (x,)


def test_list_of_tensors():
    @guard
    def cat(xs: list[Float[Tensor, "b d"]]) -> Float[Tensor, "b d"]:
        return xs[0]

    cat([z(2, 3), z(2, 3)])
    assert message(cat, [z(2, 3), z(2, 4)]).splitlines()[0].endswith(
        'argument xs [1] axis "d" (axis 1) is 4, expected 3 (bound by argument xs [0], axis 1)')


def test_non_tensor_parameters_use_beartype():
    @guard
    def f(x: Float[Tensor, "n"], scale: float, mode: Optional[str] = None, ids: list[int] = ()) -> Float[Tensor, "n"]:
        return x

    f(z(2), 1.0, "a", [1])
    assert message(f, z(2), "big").splitlines()[0].endswith("argument scale is str, expected float")
    assert message(f, z(2), 1.0, 3).splitlines()[0].endswith("argument mode is int, expected str")
    assert message(f, z(2), 1.0, None, ["a"]).splitlines()[0].endswith("argument ids is list, expected list[int]")


def test_star_args_each_checked():
    @guard
    def stack(*xs: Float[Tensor, "n"], **named: Float[Tensor, "n"]):
        return xs

    stack(z(2), z(2), a=z(2))
    assert message(stack, z(2), z(3)).splitlines()[0].endswith("argument xs [1] axis \"n\" (axis 0) is 3, "
                                                                "expected 2 (bound by argument xs [0], axis 0)")
    assert "argument a axis" in message(stack, z(2), a=z(3))


def test_keyword_only_positional_only_and_defaults_pass_through():
    @guard
    def f(a: Float[Tensor, "n"], /, b: Float[Tensor, "n"] = None, *, c: int = 3, d: Float[Tensor, "n"]):
        return (a, b, c, d)

    x = z(2)
    assert f(x, d=x) == (x, None, 3, x)
    assert f(x, x, c=4, d=x)[2] == 4
    assert "argument d" in message(f, x, d=z(3))


def test_locals_checked_with_line_numbers():
    @guard
    def attend(q: Float[Tensor, "b q d"], k: Float[Tensor, "b k d"]) -> Float[Tensor, "b q d"]:
        scores: Float[Tensor, "b q k"] = q @ k.transpose(1, 2)
        swapped: Float[Tensor, "b k q"] = scores
        return scores @ k

    attend(z(2, 3, 4), z(2, 3, 4))
    with pytest.raises(ShapeError) as info:
        attend(z(2, 3, 4), z(2, 5, 4))
    assert str(info.value).splitlines()[0] == (
        'test_locals_checked_with_line_numbers.attend(): local swapped axis "k" (axis 1) is 3, expected 5 '
        "(bound by argument k, axis 1)")
    frames = [f for f in __import__("traceback").extract_tb(info.value.__traceback__) if f.name == "attend"]
    assert frames and frames[-1].line.startswith("swapped: Float")


def test_locals_bind_new_names_for_the_return():
    @guard
    def f(x: Float[Tensor, "b d"]) -> Float[Tensor, "b h"]:
        h: Float[Tensor, "b h"] = torch.cat([x, x], 1)
        return h[:, :3] if x.shape[0] == 1 else h

    f(z(2, 3))
    assert "return value axis \"h\" (axis 1) is 3, expected 6 (bound by local h, axis 1)" in message(f, z(1, 3))


def test_locals_in_methods_keep_super_and_closures():
    scale = 2

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.__hidden = 1

        @guard
        def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
            y: Float[Tensor, "b d"] = x * scale * self.__hidden
            super().forward if False else None
            return y

    M()(z(2, 2))
    assert M.forward.__shapecheck_plan__.locals_specs


def test_no_source_means_no_local_checks_and_no_error():
    ns: dict = {}
    exec("from jaxtyping import Float\nfrom torch import Tensor\n"
         "def f(x: Float[Tensor, 'n']) -> Float[Tensor, 'n']:\n"
         "    y: Float[Tensor, 'm'] = x\n    return y\n", ns)
    g = guard(ns["f"])
    assert g.__shapecheck_plan__.locals_specs == ()
    g(z(2))
    assert "argument x" in message(g, z(2, 2))


def test_bad_annotation_is_a_clear_error():
    def f(x):
        return x

    meta = type(Float[Tensor, "b"])
    hint = Float[Tensor, "b"]
    f.__annotations__ = {"x": meta.__new__(meta, "Bad", (hint,), dict(vars(hint), dim_str="b,n"))}
    with pytest.raises(AnnotationSyntaxError) as info:
        guard(f)
    assert str(info.value).startswith("test_bad_annotation_is_a_clear_error.f(): ") and '"b,n"' in str(info.value)


def test_lazy_public_names():
    for name in ("guard", "install_import_hook", "ShapeError", "set_mode", "get_mode", "runtime_mode"):
        assert getattr(shapecheck, name) is not None


def test_parameter_names_that_look_internal():
    @guard
    def f(_sc_s: Float[Tensor, "n"], _sc_fn: Float[Tensor, "n"]) -> Float[Tensor, "n"]:
        return _sc_s

    x = z(2)
    assert f(x, x) is x
    assert "argument _sc_fn" in message(f, x, z(3))


def test_guarding_twice_and_non_functions():
    g = guard(embed)
    assert g is embed
    with pytest.raises(TypeError, match="guard\\(\\) takes a function, a method or a class, not int"):
        guard(3)


def test_generators_check_arguments_coroutines_arguments_and_awaited_result():
    import asyncio

    @guard
    def gen(x: Float[Tensor, "n"]) -> Float[Tensor, "n"]:
        yield x

    @guard
    async def coro(x: Float[Tensor, "n"]) -> Float[Tensor, "n"]:
        return x[:1] if x.shape[0] == 3 else x

    assert next(gen(z(2))).shape == (2,)
    assert asyncio.run(coro(z(2))).shape == (2,)
    assert "expected 1 axis" in message(gen, z(2, 2))
    with pytest.raises(ShapeError, match="argument x expected 1 axis"):
        asyncio.run(coro(z(2, 2)))
    with pytest.raises(ShapeError, match='return value axis "n" \\(axis 0\\) is 1, expected 3'):
        asyncio.run(coro(z(3)))


def test_function_under_another_decorator():
    @guard
    @torch.no_grad()
    def step(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        y: Float[Tensor, "b n"] = x * 2
        return y

    x = torch.ones(2, 3, requires_grad=True)
    assert not step(x).requires_grad  # the inner decorator still runs
    assert 'argument x expected 2 axes "b n", got 1 (3,)' in message(step, torch.ones(3))
