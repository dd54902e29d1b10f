"""Shape-preserving ops: activations, dropout, unary math, casts and copies (function, method, module)."""

from __future__ import annotations

from .._shape import Shape
from ._registry import Site, module_rule, shape_rule

# torch.X and torch.Tensor.X (and the in-place method X_)
_MATH = ("abs", "neg", "negative", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
         "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "tanh", "sigmoid", "relu", "sign", "sgn",
         "floor", "ceil", "round", "trunc", "frac", "reciprocal", "square", "erf", "erfc", "erfinv",
         "logical_not", "bitwise_not", "nan_to_num", "signbit", "isnan", "isinf", "isfinite", "logit",
         "selu", "celu", "deg2rad", "rad2deg", "positive", "i0", "lgamma", "digamma", "angle")
# torch.nn.functional.X
_FUNCTIONAL = ("relu", "relu6", "gelu", "silu", "tanh", "sigmoid", "elu", "selu", "celu", "leaky_relu",
               "softplus", "softsign", "mish", "hardswish", "hardsigmoid", "hardtanh", "logsigmoid",
               "tanhshrink", "softshrink", "hardshrink", "threshold", "rrelu", "dropout", "dropout1d",
               "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "relu_", "elu_",
               "leaky_relu_", "hardtanh_", "rrelu_", "threshold_", "celu_", "selu_", "prelu")
# methods only (copies, casts, device moves, in-place fills)
_METHODS = ("contiguous", "clone", "detach", "detach_", "float", "half", "double", "bfloat16", "int", "long",
            "bool", "short", "byte", "char", "cpu", "cuda", "to", "type_as", "requires_grad_", "zero_",
            "fill_", "normal_", "uniform_", "bernoulli_", "exponential_", "pin_memory", "share_memory_",
            "relu_", "sigmoid_", "tanh_", "exp_", "log_", "sqrt_", "abs_", "neg_", "clamp_min", "clamp_max",
            "clamp_min_", "clamp_max_", "nan_to_num_", "masked_scatter", "index_fill", "index_fill_",
            "float_power", "sign_", "round_", "floor_", "ceil_", "resolve_conj", "resolve_neg", "conj",
            "gelu", "silu", "mish", "hardswish", "to_dense", "coalesce", "abs_", "erf_", "sin_", "cos_",
            )
# free functions that copy (torch.X only)
_TORCH_ONLY = ("clone", "detach", "bernoulli", "dropout", "alpha_dropout", "feature_dropout",
               "rrelu", "celu_", "selu_", "relu_", "sigmoid_", "tanh_", "exp_", "hardshrink", "conj", "real", "imag",
               "conj_physical")


def _unary_names():
    out = []
    for n in _MATH:
        out += [f"torch.{n}", f"torch.Tensor.{n}"]
    out += [f"torch.nn.functional.{n}" for n in _FUNCTIONAL]
    out += [f"torch.Tensor.{n}" for n in _METHODS]
    out += [f"torch.{n}" for n in _TORCH_ONLY]
    out += [f"torch.Tensor.__{n}__" for n in ("neg", "pos", "abs", "invert")]
    seen = []
    for n in out:
        if n not in seen:
            seen.append(n)
    return seen


@shape_rule(*_unary_names(),
            ok=["b n d -> b n d", "*B d -> *B d", "b n | 0.5 -> b n", "b n | inplace=True -> b n"])
def unary(site: Site, input, *args, **kwargs) -> Shape | None:
    """An elementwise op, a cast, a copy or a device move: the result has the input's shape (the
    input ``Shape`` itself is returned, with its label, origins and metadata)."""
    return input if isinstance(input, Shape) else None


unary.never_fails = True


@shape_rule("torch.Tensor.type",
            ok=["b n | 'torch.FloatTensor' -> b n"])
def tensor_type(site: Site, input, dtype=None, *args, **kwargs) -> Shape | None:
    """``x.type(dtype)`` casts (same shape); ``x.type()`` returns a string, so it is not a tensor."""
    if dtype is None:
        return None
    return input if isinstance(input, Shape) else None


tensor_type.never_fails = True

_MODULES = ("ReLU", "ReLU6", "GELU", "SiLU", "Tanh", "Sigmoid", "ELU", "SELU", "CELU", "LeakyReLU", "Softplus",
            "Softsign", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "LogSigmoid", "Tanhshrink",
            "Softshrink", "Hardshrink", "Threshold", "RReLU", "PReLU", "Dropout", "Dropout1d", "Dropout2d",
            "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity")


@module_rule(*[f"torch.nn.{n}" for n in _MODULES], init="*args, **kwargs",
             ok=["init: | b n d -> b n d", "init: 0.1 | b n -> b n", "init: inplace=True | *B c -> *B c"])
def unary_module(site: Site, init: dict, input, *args, **kwargs) -> Shape | None:
    """An activation, dropout or ``nn.Identity`` module: the output has the input's shape."""
    return input if isinstance(input, Shape) else None


unary_module.never_fails = True
