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
        'argument `k` of `attention` has 32 at the last axis where "d_head" is 64\n'
        '  note: "d_head" of `attention` was bound to 64 by argument `q` at the last axis\n'
        "  note: argument `k` has shape (8, 12, 128, 32)\n"
        "  bindings: batch=8 heads=12 seq=128 d_head=64")


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
    assert message(embed, z(8, 64)) == ('argument `x` of `embed` has 2 axes where its annotation "b s d" has 3\n'
                                        "  note: argument `x` has shape (8, 64)")


def test_dtype_mismatch_message():
    assert message(embed, z(2, 3, 4, dtype=torch.int64)) == (
        "argument `x` of `embed` has dtype int64 where its annotation is Float")


def test_not_a_tensor_message():
    assert message(embed, [1, 2]) == 'argument `x` of `embed` is `list` where its annotation is `Float[Tensor, "b s d"]`'
    assert message(embed, None) == 'argument `x` of `embed` is `None` where its annotation is `Float[Tensor, "b s d"]`'


def test_return_value_checked_against_argument_bindings():
    @guard
    def bad(x: Float[Tensor, "b n"]) -> Float[Tensor, "n b"]:
        return x

    bad(z(3, 3))
    assert message(bad, z(2, 3)) == (
        'test_return_value_checked_against_argument_bindings.bad(): the return value has 2 at the first axis '
        'where its return annotation "n b" says "n"\n'
        '  note: "n" of `test_return_value_checked_against_argument_bindings.bad` was bound to 3 by argument `x` '
        "at the last axis\n"
        "  note: the return value has shape (2, 3)\n"
        "  bindings: b=2 n=3")


@pytest.mark.parametrize("hint,good,bad,text", [
    (Float[torch.Tensor, "n"], z(3), z(3, dtype=torch.int32), "has dtype int32 where its annotation is Float"),
    (Int[Tensor, "n"], z(3, dtype=torch.int64), z(3), "has dtype float32 where its annotation is Int"),
    (Bool[Tensor, "n"], z(3, dtype=torch.bool), z(3), "has dtype float32 where its annotation is Bool"),
    (Float32[Tensor, "n"], z(3), z(3, dtype=torch.float64), "has dtype float64 where its annotation is Float32"),
    (Num[Tensor, "n"], z(3, dtype=torch.int8), z(3, dtype=torch.bool), "has dtype bool where its annotation is Num"),
    (Shaped[Tensor, "n 2"], z(3, 2, dtype=torch.bool), z(3, 3), 'has 3 at the last axis where "2" is 2'),
])
def test_dtype_families(hint, good, bad, text):
    def f(x):
        return x

    f.__annotations__ = {"x": hint}
    g = guard(f)
    assert g(good) is good
    assert message(g, bad).splitlines()[0] == f"argument `x` of `test_dtype_families.f` {text}"


def test_fixed_named_size():
    @guard
    def rgb(x: Float[Tensor, "b c=3 h w"]):
        return x

    rgb(z(1, 3, 2, 2))
    assert message(rgb, z(1, 4, 2, 2)).splitlines()[0].endswith('argument `x` of `test_fixed_named_size.rgb` has 4 at '
                                                                'axis 1 where "c=3" is 3')


def test_arithmetic_dims():
    @guard
    def pad(x: Float[Tensor, "n"], y: Float[Tensor, "n+1"], w: Float[Tensor, "(h-3)//2+1"],
            h: Float[Tensor, "h"]) -> Float[Tensor, "2*n"]:
        return torch.cat([x, x])

    pad(z(3), z(4), z(4), z(9))
    assert message(pad, z(3), z(5), z(4), z(9)).splitlines()[:2] == [
        'argument `y` of `test_arithmetic_dims.pad` has 5 at the last axis where "n+1" is 4',
        '  note: "n" of `test_arithmetic_dims.pad` was bound to 3 by argument `x` at the last axis']
    msg = message(pad, z(3), z(4), z(3), z(9))
    assert 'argument `w` of `test_arithmetic_dims.pad` has 3 at the last axis where "(h-3)//2+1" is 4' in msg
    assert '"h" of `test_arithmetic_dims.pad` was bound to 9 by argument `h` at the last axis' in msg


def test_variadic_and_ellipsis():
    @guard
    def f(x: Float[Tensor, "*batch d"], y: Float[Tensor, "*batch d"], w: Float[Tensor, "... d"]) -> Batch:
        return x

    f(z(2, 3, 4), z(2, 3, 4), z(4))
    f(z(4), z(4), z(7, 7, 4))  # *batch may be empty
    assert message(f, z(2, 3, 4), z(2, 5, 4), z(4)).splitlines()[:2] == [
        'argument `y` of `test_variadic_and_ellipsis.f` has (2, 5) in "*batch" where "*batch" is (2, 3)',
        '  note: "*batch" of `test_variadic_and_ellipsis.f` was bound to (2, 3) by argument `x` at axes 0..1']
    assert 'argument `w` of `test_variadic_and_ellipsis.f` has 0 axes where its annotation "... d" has at least 1' in (
        message(f, z(2, 4), z(2, 4), z(())))


def test_broadcastable_and_anonymous():
    @guard
    def add(x: Float[Tensor, "b n"], bias: Float[Tensor, "#b n"], y: Float[Tensor, "_ n"]):
        return x + bias

    add(z(4, 3), z(1, 3), z(9, 3))
    add(z(4, 3), z(4, 3), z(1, 3))
    assert message(add, z(4, 3), z(2, 3), z(1, 3)).splitlines()[:2] == [
        'argument `bias` of `test_broadcastable_and_anonymous.add` has 2 at the first axis where "#b" is 4',
        '  note: "b" of `test_broadcastable_and_anonymous.add` was bound to 4 by argument `x` at the first axis']


def test_scalar_annotation():
    @guard
    def loss(x: Float[Tensor, "b"]) -> Float[Tensor, ""]:
        return x.sum() if x.shape[0] > 1 else x

    loss(z(3))
    assert message(loss, z(1)).endswith('the return value has 1 axes where its return annotation "" has 0\n'
                                        "  note: the return value has shape (1,)\n  bindings: b=1")


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
    assert message(proj, z(2, 8), 16).splitlines()[:2] == [
        'argument `x` of `test_fstring_axis_binds_an_int_argument_on_request.proj` has 8 at the last axis '
        'where "{d_model}" is 16',
        '  note: "{d_model}" reads "16" in this call']


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
        'argument `x` of `Block.widen` has 5 at the last axis where "{self.d_model}" is 4')


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
        'argument `mask` of `Encoder.forward` has 4 at the last axis where "s" is 3\n'
        '  note: "s" of `Encoder.forward` was bound to 3 by argument `x` at axis 1')
    assert message(Encoder.pool, z(2, 3, 4)).startswith(
        'Encoder.pool(): the return value has 3 at the last axis where its return annotation "b d" says "d"\n'
        '  note: "d" of `Encoder.pool` was bound to 4 by argument `x` at the last axis')


def test_optional_union_and_default_none():
    @guard
    def f(x: Float[Tensor, "n"], y: Float[Tensor, "n"] | None = None, w: Union[Float[Tensor, "n"], None] = None):
        return x

    f(z(2))
    f(z(2), None, z(2))
    assert 'argument `w` of `test_optional_union_and_default_none.f` has 3 at the last axis where "n" is 2' in (
        message(f, z(2), w=z(3)))


def test_union_of_shapes():
    @guard
    def f(x: Union[Float[Tensor, "b n"], Float[Tensor, "n"]], y: Float[Tensor, "n"]):
        return y

    f(z(2, 3), z(3))
    f(z(3), z(3))
    msg = message(f, z(2, 3, 4), z(3))
    assert msg.startswith("argument `x` of `test_union_of_shapes.f` matches no alternative of its annotation: ")
    assert 'has 3 axes where its annotation "b n" has 2' in msg and 'has 3 axes where its annotation "n" has 1' in msg


def test_tuple_return_values():
    @guard
    def split(x: Float[Tensor, "b n"], k: int) -> tuple[Float[Tensor, "b n"], Float[Tensor, "b"]]:
        return (x, x.sum(1)) if k else (x, x)

    split(z(2, 3), 1)
    assert message(split, z(2, 3), 0).splitlines()[0].endswith(
        'item [1] of the return value has 2 axes where its return annotation "b" has 1')
    assert message(_short_tuple, z(2, 3)).splitlines()[0] == (
        "_short_tuple(): the return value has 1 items where its annotation has 2")


@guard
def _short_tuple(x: Float[Tensor, "b n"]) -> typing.Tuple[Float[Tensor, "b n"], Float[Tensor, "b"]]:
    return (x,)


def test_list_of_tensors():
    @guard
    def cat(xs: list[Float[Tensor, "b d"]]) -> Float[Tensor, "b d"]:
        return xs[0]

    cat([z(2, 3), z(2, 3)])
    assert message(cat, [z(2, 3), z(2, 4)]).splitlines()[:2] == [
        'argument `xs[1]` of `test_list_of_tensors.cat` has 4 at the last axis where "d" is 3',
        '  note: "d" of `test_list_of_tensors.cat` was bound to 3 by argument `xs[0]` at the last axis']


def test_non_tensor_parameters_use_beartype():
    @guard
    def f(x: Float[Tensor, "n"], scale: float, mode: Optional[str] = None, ids: list[int] = ()) -> Float[Tensor, "n"]:
        return x

    f(z(2), 1.0, "a", [1])
    assert message(f, z(2), "big").splitlines()[0].endswith("argument `scale` of `test_non_tensor_parameters_use_beartype.f` "
                                                             "is `str` where its annotation is `float`")
    assert message(f, z(2), 1.0, 3).splitlines()[0].endswith("`mode` of `test_non_tensor_parameters_use_beartype.f` "
                                                              "is `int` where its annotation is `str`")
    assert message(f, z(2), 1.0, None, ["a"]).splitlines()[0].endswith(
        "`ids` of `test_non_tensor_parameters_use_beartype.f` is `list` where its annotation is `list[int]`")


def test_star_args_each_checked():
    @guard
    def stack(*xs: Float[Tensor, "n"], **named: Float[Tensor, "n"]):
        return xs

    stack(z(2), z(2), a=z(2))
    assert message(stack, z(2), z(3)).splitlines()[:2] == [
        'argument `xs[1]` of `test_star_args_each_checked.stack` has 3 at the last axis where "n" is 2',
        '  note: "n" of `test_star_args_each_checked.stack` was bound to 2 by argument `xs[0]` at the last axis']
    assert 'argument `a` of `test_star_args_each_checked.stack` has 3 at the last axis where "n" is 2' in (
        message(stack, z(2), a=z(3)))


def test_keyword_only_positional_only_and_defaults_pass_through():
    @guard
    def f(a: Float[Tensor, "n"], /, b: Float[Tensor, "n"] = None, *, c: int = 3, d: Float[Tensor, "n"]):
        return (a, b, c, d)

    x = z(2)
    assert f(x, d=x) == (x, None, 3, x)
    assert f(x, x, c=4, d=x)[2] == 4
    assert "argument `d` of `test_keyword_only_positional_only_and_defaults_pass_through.f` has 3" in message(f, x, d=z(3))


def test_locals_checked_with_line_numbers():
    @guard
    def attend(q: Float[Tensor, "b q d"], k: Float[Tensor, "b k d"]) -> Float[Tensor, "b q d"]:
        scores: Float[Tensor, "b q k"] = q @ k.transpose(1, 2)
        swapped: Float[Tensor, "b k q"] = scores
        return scores @ k

    attend(z(2, 3, 4), z(2, 3, 4))
    with pytest.raises(ShapeError) as info:
        attend(z(2, 3, 4), z(2, 5, 4))
    assert str(info.value).splitlines()[:2] == [
        'test_locals_checked_with_line_numbers.attend(): `swapped` has 3 at axis 1 where its annotation of local '
        '"b k q" says "k"',
        '  note: "k" of `test_locals_checked_with_line_numbers.attend` was bound to 5 by argument `k` at axis 1']
    frames = [f for f in __import__("traceback").extract_tb(info.value.__traceback__) if f.name == "attend"]
    assert frames and frames[-1].line.startswith("swapped: Float")


def test_locals_bind_new_names_for_the_return():
    @guard
    def f(x: Float[Tensor, "b d"]) -> Float[Tensor, "b h"]:
        h: Float[Tensor, "b h"] = torch.cat([x, x], 1)
        return h[:, :3] if x.shape[0] == 1 else h

    f(z(2, 3))
    msg = message(f, z(1, 3))
    assert 'the return value has 3 at the last axis where its return annotation "b h" says "h"' in msg
    assert '"h" of `test_locals_bind_new_names_for_the_return.f` was bound to 6 by local `h` at the last axis' in msg


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
    assert "argument `x` of `f` has 2 axes" in message(g, z(2, 2))


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
    assert "argument `_sc_fn` of `test_parameter_names_that_look_internal.f` has 3" in message(f, x, z(3))


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
    assert 'has 2 axes where its annotation "n" has 1' in message(gen, z(2, 2))
    with pytest.raises(ShapeError, match='argument `x` of `[\\w.]*coro` has 2 axes where its annotation "n" has 1'):
        asyncio.run(coro(z(2, 2)))
    with pytest.raises(ShapeError, match='the return value has 1 at the last axis where its return annotation "n" '
                                         'says "n"\n  note: "n" of `[\\w.]*coro` was bound to 3'):
        asyncio.run(coro(z(3)))


def test_function_under_another_decorator():
    @guard
    @torch.no_grad()
    def step(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        y: Float[Tensor, "b n"] = x * 2
        return y

    x = torch.ones(2, 3, requires_grad=True)
    assert not step(x).requires_grad  # the inner decorator still runs
    assert ('argument `x` of `test_function_under_another_decorator.step` has 1 axes where its annotation "b n" '
            "has 2\n  note: argument `x` has shape (3,)") in message(step, torch.ones(3))
