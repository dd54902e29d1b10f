"""Optional inputs that default to None (a decoding cache, a separate key/value source): a function is also
analysed as a caller that leaves them out calls it, so the main path's shapes are not joined with what an
unknown cache would hold."""

from __future__ import annotations

from test_engine import errors

_ATTENTION = """
    import math

    class Attention(nn.Module):
        def __init__(self, n_heads, dim):
            super().__init__()
            assert dim % n_heads == 0
            self.n_heads = n_heads
            self.q_lin = nn.Linear(dim, dim)
            self.k_lin = nn.Linear(dim, dim)

        def forward(self, input, kv=None, cache=None):
            bs, qlen, dim = input.size()
            per_head = dim // self.n_heads
            q = self.q_lin(input).view(bs, -1, self.n_heads, per_head).transpose(1, 2)
            if kv is None:
                k = self.k_lin(input).view(bs, -1, self.n_heads, per_head).transpose(1, 2)
            else:
                k = self.k_lin(kv).view(bs, -1, self.n_heads, per_head).transpose(1, 2)
            if cache is not None:
                k = cache.update(k)  # a cache object the engine cannot follow
            return torch.matmul(q, {key}) / math.sqrt(per_head)
"""


def test_an_untransposed_key_behind_an_optional_cache_is_found_on_the_path_without_it():
    out = errors(_ATTENTION.format(key="k"))
    assert [d.code for d in out] == ["SHP101"]
    assert any("leaves `kv`, `cache` to None" in n for n in out[0].notes)


def test_a_cache_joined_along_the_positions_keeps_the_keys_shape_so_the_function_alone_proves_it():
    # ``torch.cat([cache["k"], k], dim=2)``: the parts agree on every axis but the joined one
    src = _ATTENTION.format(key="k").replace("k = cache.update(k)  # a cache object the engine cannot follow",
                                             'k = torch.cat([cache["k"], k], dim=2)')
    out = errors(src)
    assert [d.code for d in out] == ["SHP201"]
    assert not any("to None" in n for n in out[0].notes)


def test_the_transposed_key_is_silent_with_and_without_the_cache():
    assert errors(_ATTENTION.format(key="k.transpose(2, 3)")) == []


def test_a_finding_of_the_function_alone_is_reported_once():
    # the product fails whatever the optional input: one diagnostic, without the note of the defaults
    out = errors("""
        def f(x: Float[Tensor, "n d"], w: Float[Tensor, "e f"], mask=None):
            if mask is not None:
                x = x * mask
            return x @ w
    """)
    assert [d.code for d in out] == ["SHP101"]
    assert not any("to None" in n for n in out[0].notes)


def test_a_path_that_needs_the_input_is_not_analysed_without_it():
    # ``y`` is required in fact: the call that leaves it out raises before the product
    assert errors("""
        def f(x: Float[Tensor, "n d"], y=None):
            if y is None:
                raise ValueError("y is required")
            return x @ y
    """) == []
