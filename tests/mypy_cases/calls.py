# Calls of annotated functions: the callee's names are instantiated per call.
from jaxtyping import Float
from torch import Tensor

import shapecheck


def swap(x: Float[Tensor, "a b"]) -> Float[Tensor, "b a"]:
    return x.transpose(0, 1)


def pair(x: Float[Tensor, "n d"], y: Float[Tensor, "n d"]) -> Float[Tensor, "n"]:
    return (x * y).sum(-1)


def batched(x: Float[Tensor, "*batch d"]) -> Float[Tensor, "*batch"]:
    return x.sum(-1)


def caller(p: Float[Tensor, "rows cols"], q: Float[Tensor, "cols rows"], r: Float[Tensor, "i j k"]) -> None:
    shapecheck.reveal_shape(swap(p))  # reveal: cols rows
    shapecheck.reveal_shape(swap(swap(p)))  # reveal: rows cols
    shapecheck.reveal_shape(pair(p, p))  # reveal: rows
    pair(p, q)  # E: shape-mismatch "argument `y` of `pair` has \"cols\" at the first axis where \"n\" is \"rows\""
    swap(r)  # E: shape-rank
    shapecheck.reveal_shape(batched(r))  # reveal: i j


def returns(x: Float[Tensor, "a b"]) -> Float[Tensor, "b a"]:
    return x  # E(post): shape-mismatch "the return value has \"a\" at the first axis where its return annotation"


def returns_op(x: Float[Tensor, "a b"], y: Float[Tensor, "b c"]) -> Float[Tensor, "a b"]:
    return x @ y  # E: shape-mismatch "return value has \"c\""


def returns_ok(x: Float[Tensor, "a b"], y: Float[Tensor, "b c"]) -> Float[Tensor, "a c"]:
    z = x @ y
    return z


def annotated_local(x: Float[Tensor, "a b"], y: Float[Tensor, "b c"]) -> None:
    good: Float[Tensor, "a c"] = x @ y
    bad: Float[Tensor, "a b"] = x @ y  # E(post): shape-mismatch "`bad` has \"c\" at the last axis where its annotation of local"
    also_bad: Float[Tensor, "b a"] = x  # E(post): shape-mismatch


def renamed(x: Float[Tensor, "*bs input_dim"]) -> Float[Tensor, "*bs output_dim"]:
    return x  # a name only in the return annotation is bound by the value, as jaxtyping does


def union_of_shapes(image: Float[Tensor, "3 h w"] | Float[Tensor, "4 h w"]) -> None:
    rgb, alpha = image.split((3, 1), dim=0)  # either member: no alarm from the "3 h w" one
    shapecheck.reveal_shape(image)  # reveal: ...


def transform(t: Float[Tensor, "*#batch dim dim"], p: Float[Tensor, "*#batch dim"]) -> Float[Tensor, "*batch dim"]:
    return t[..., 0]


def one_pose(points: Float[Tensor, "5 4"], pose: Float[Tensor, "1 4 4"]) -> None:
    transform(pose, points)  # "*#batch" broadcasts: (1,) with (5,)
    shapecheck.reveal_shape(transform(pose, points))  # reveal: ... 4
