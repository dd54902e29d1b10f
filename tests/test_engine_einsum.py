"""einsum on code as it is written: operands of unknown shape, swapped operands, and one report per bug.

An einsum whose operands were swapped is reported at the einsum when its subscripts pair axes that
cannot be one axis, and not again downstream (by a lint rule reading the failed product, or by a view
of its result); axes that einsum subscripts named on operands of unknown shape are guesses that bind to
what they meet, never evidence of a reordering.
"""

from __future__ import annotations

import textwrap

from test_engine import HEADER, codes, errors, reveals

from shapecheck._core._algebra import sym
from shapecheck._core._unify import NE, UNK, compare

ATTENTION = """
    from torch import einsum
    from einops import rearrange
    class Attention(nn.Module):
        def __init__(self, dim, num_heads=8):
            super().__init__()
            self.heads = num_heads
            self.qkv = nn.Linear(dim, dim * 3, bias=False)
            self.proj = nn.Linear(dim, dim)
        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).chunk(3, dim=-1)
            q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), qkv)
            attn = einsum("b h i d, b h j d -> b h i j", q, k)
            attn = attn.softmax(dim=-1)
            x = einsum("b h i j, b h j d -> b h i d", {ops})
            x = rearrange(x, "b h n d -> b n (h d)")
            return self.proj(x)
"""


def test_values_and_weights_swapped_are_reported_at_the_product_only():
    assert codes(ATTENTION.format(ops="attn, v")) == []
    # the product pairs the head size of `v` with the sequence of `attn`; the softmax before it is not
    # reported as well (what the failed product contracts is the same bug)
    assert codes(ATTENTION.format(ops="v, attn")) == ["SHP101"]


def test_an_axis_is_not_a_quotient_of_its_sibling():
    group = "dim:x@1"
    n, c, h, w = sym("N", group), sym("C", group), sym("heads", "code"), sym("W", group)
    assert compare(n, c // h) == NE       # the sequence is not the head size
    assert compare(c // h, n) == NE
    assert compare(n, 2 * w) == NE
    assert compare(n, w // 2 + 1) == UNK  # a sum is not judged (a square image's rfft width)
    assert compare(c, c // h) == UNK      # heads may be 1
    assert compare(n, sym("M", "dim:y@2") // h) == UNK  # an axis of another tensor


def test_axes_named_by_einsum_on_unknown_operands_are_no_evidence_of_a_reordering():
    # the first axis of `table` and of the einsum's result were named by two letters of one einsum on
    # operands of unknown shape: they may be one axis, so the reshape is not judged
    src = """
        def reindex(table, height: int, width: int, rows, cols):
            t = torch.einsum("nhw,ixh->nixw", {ops})
            t = torch.einsum("nixw,jyw->nijxy", t, cols)
            area = height * width
            return t.reshape(table.shape[0], area, area)
    """
    assert codes(src.format(ops="table, rows")) == []
    assert codes(src.format(ops="rows, table")) == []


def test_an_annotated_axis_moved_across_another_is_still_a_reordering():
    # near miss: the same reshape with annotated axes moves "i" across "n"
    assert codes("""
        def reindex(t: Float[Tensor, "n i j x y"], table: Float[Tensor, "i h w"], height: int, width: int):
            area = height * width
            return t.reshape(table.shape[0], area, area)
    """) == ["SHP109"]


def test_a_pattern_applied_to_an_attribute_of_an_unknown_object_names_its_axes():
    # the weight of a layer passed in: einops and einsum take an array (or raise), so the pattern's axes
    # are the value's axes, and a later einsum is checked against them
    src = """
        import einops
        def project(layer, x: torch.Tensor, n_heads: int, d_head: int):
            w = einops.rearrange(layer.weight, "(n_heads d_head) d_model -> n_heads d_model d_head",
                                 n_heads=n_heads, d_head=d_head)
            reveal_shape(w)
            out = torch.einsum("bshd,hde->bshe", {ops})
            reveal_shape(out)
    """
    assert reveals(src.format(ops="x, w")) == ["n_heads d_model d_head", "b s h d_head"]
    assert codes(src.format(ops="w, x")) == ["SHP108"]  # the weight read as the 4-axis input


def test_two_unknown_values_under_one_pattern_keep_their_own_axes():
    # found on public code: two factors unpacked from a tuple and given a leading axis by the same
    # pattern are not one square matrix; their product is no attention with untransposed keys
    assert codes("""
        from einops import repeat
        def product(pair):
            left, right = helper(pair)
            a = repeat(left, "x y -> b x y", b=2)
            c = repeat(right, "x y -> b x y", b=2)
            return a @ c

        def helper(p):
            return p.factors()
    """) == []


def test_a_head_size_quotient_moved_across_by_a_reshape_is_a_reordering():
    # guided-diffusion's legacy QKV attention with the weights and values swapped: the result is
    # "length ch" per head instead of "ch length", and merging the heads moves "length" across the
    # head size `ch = width // (3 * n_heads)`, an axis of its own
    src = """
        import math
        class QKVAttention(nn.Module):
            def __init__(self, n_heads):
                super().__init__()
                self.n_heads = n_heads
            def forward(self, qkv):
                bs, width, length = qkv.shape
                assert width % (3 * self.n_heads) == 0
                ch = width // (3 * self.n_heads)
                q, k, v = qkv.reshape(bs * self.n_heads, ch * 3, length).split(ch, dim=1)
                scale = 1 / math.sqrt(math.sqrt(ch))
                weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
                weight = torch.softmax(weight, dim=-1)
                a = torch.einsum("bts,bcs->bct", {ops})
                return a.reshape(bs, -1, length)
    """
    assert codes(src.format(ops="weight, v")) == []
    assert codes(src.format(ops="v, weight")) == ["SHP109"]


def test_the_own_axes_of_two_einsum_calls_bind_to_each_other():
    # found on public code: operands the engine could not shape get each call's own axes, which are
    # not known to differ from the axes another call named after the same letter
    assert codes("""
        def f(a, b):
            u = torch.einsum("b n, n -> b", helper(a), helper(b))
            v = torch.einsum("b n, n -> b", helper(b), helper(a))
            return u + v

        def helper(t):
            return t.values()
    """) == []


def test_a_value_that_may_not_be_a_tensor_is_one_when_passed_to_einsum():
    # the weights come from an unknown call (maybe a NumPy array, so only inferred); as an einsum
    # operand they are a tensor with the subscripts' axes, and swapped operands show
    src = """
        def cope(query: Float[Tensor, "b h n d"], table: Float[Tensor, "p d"], pos):
            logits = torch.einsum("b h n d, p d -> b h n p", query, table)
            weights = F.softmax(-helper(pos).abs(), dim=-1)
            return torch.einsum("b h i j p, b h i p -> b h i j", {ops})

        def helper(t):
            return t.distances()
    """
    assert codes(src.format(ops="weights, logits")) == []
    assert codes(src.format(ops="logits, weights")) == ["SHP108"]


def test_chunks_of_an_axis_known_to_divide_by_a_multiple_of_their_count():
    # guided-diffusion's QKV attention asserts the width divides by 3 * heads, then chunks it in three
    assert reveals("""
        def f(qkv, n_heads: int):
            bs, width, length = qkv.shape
            assert width % (3 * n_heads) == 0
            ch = width // (3 * n_heads)
            q, k, v = qkv.chunk(3, dim=1)
            reveal_shape(q)
            reveal_shape(qkv.chunk(2, dim=1)[0])
    """) == ["bs n_heads*(width//(n_heads*3)) length", "bs ? length"]  # near miss: nothing says 2 divides it


def test_a_layer_norm_does_not_hide_the_channel_axis_it_meets_first():
    # found on public code (linear attention on a feature map): the output projection is
    # `Conv2d(inner, dim)` then `LayerNorm(dim)`; the map's spatial axes are unknown, and the norm must
    # not fill the last one with "dim" (that would make it look channels-last): axis 1 is "dim"
    src = """
        from einops import rearrange
        class LinearAttention(nn.Module):
            def __init__(self, dim: int, heads: int, dim_head: int):
                super().__init__()
                inner = heads * dim_head
                self.heads = heads
                self.to_out = nn.Sequential(nn.Conv2d(inner, dim, 1), {norm})
            def forward(self, fmap):
                x, y = fmap.shape[-2:]
                out = rearrange(helper(fmap), "(b h) (x y) d -> b (h d) x y", h=self.heads, x=x, y=y)
                return self.to_out(out)

        def helper(t):
            return t.attend()
    """
    assert codes(src.format(norm="nn.GroupNorm(1, dim)")) == []
    assert codes(src.format(norm="nn.LayerNorm(dim)")) == ["SHP304"]


UNANNOTATED_ATTEND = """
    from torch import einsum
    DEFAULT_DIM_HEAD = 64
    class Attend(nn.Module):
        def __init__(self, heads: int, dim_head=DEFAULT_DIM_HEAD):
            super().__init__()
            self.scale = dim_head ** -0.5
            self.mix = nn.Parameter(torch.randn(heads, heads))
        def forward(self, q, k, v, talking_heads: bool):
            sim = einsum("b h i d, b h j d -> b h i j", q, k) * self.scale
            reveal_shape(sim)
            attn = sim.softmax(dim=-1)
            if talking_heads:
                attn = einsum("b h i j, h g -> b g i j", attn, self.mix)
            return einsum("b h i j, b h j d -> b h i d", {ops})
"""


def test_values_and_weights_swapped_after_softmax_over_the_keys_are_reported_at_the_product():
    # q, k, v of unknown shape: nothing but the softmax over the keys says which axis the product must
    # contract; heads mixed after the softmax (in one branch) leave the keys on the last axis
    assert codes(UNANNOTATED_ATTEND.format(ops="attn, v")) == []
    src = UNANNOTATED_ATTEND.format(ops="v, attn")
    found = [d for d in errors(src) if d.code == "SHP202"]
    lines = textwrap.dedent(src).split("\n")
    product = HEADER.count("\n") + 1 + next(i for i, line in enumerate(lines) if "v, attn)" in line)
    assert [d.line for d in found] == [product]  # the product, not the softmax


def test_a_default_that_is_a_module_constant_is_a_number():
    # ``dim_head=DEFAULT_DIM_HEAD``: the scale is a number, the scores keep their four axes
    assert reveals(UNANNOTATED_ATTEND.format(ops="attn, v"))[0] == "b h i j"


def test_operands_in_a_list_and_opt_einsum_take_the_subscripts_axes():
    # ``torch.einsum(eq, [a, b])`` and ``opt_einsum.contract(eq, a, b)``: operands of unknown shape are
    # named by their subscripts, as with ``torch.einsum(eq, a, b)``
    src = """
        from opt_einsum import contract
        def listed(q, k, v):
            attn = torch.einsum("bhid,bhjd->bhij", [q, k]).softmax(dim=-1)
            reveal_shape(attn)
            return torch.einsum("bhij,bhjd->bhid", [{ops}])
        def contracted(q, k, v):
            attn = contract("bhid,bhjd->bhij", q, k).softmax(dim=-1)
            reveal_shape(attn)
            return contract("bhij,bhjd->bhid", {ops})
    """
    assert reveals(src.format(ops="attn, v")) == ["b h i j", "b h i j"]
    assert codes(src.format(ops="attn, v")) == []
    assert codes(src.format(ops="v, attn")) == ["SHP202", "SHP202"]


def test_a_variable_given_to_arange_is_a_number():
    # rotary code: ``1 / (base ** (arange(0, dim, 2).float() / dim))`` with ``dim`` unannotated; once
    # ``arange`` took it, ``dim`` is a number and the frequencies keep their one axis
    src = """
        from torch import einsum
        class Polar(nn.Module):
            def __init__(self, dim, base=10000):
                super().__init__()
                inv_freq = 1. / (base ** (torch.arange(0, dim, 2).float() / dim))
                reveal_shape(inv_freq)
                self.register_buffer("inv_freq", inv_freq)
            def forward(self, t):
                return einsum("b i, j -> b i j", {ops})
    """
    assert reveals(src.format(ops="t, self.inv_freq")) == ["(dim+1)//2"]
    assert codes(src.format(ops="t, self.inv_freq")) == []
    assert codes(src.format(ops="self.inv_freq, t")) == ["SHP108"]


def test_a_softmax_in_a_helper_with_its_default_axis_normalises_the_keys():
    # ``def stable_softmax(t, dim=-1)``: called without ``dim``, the helper normalises the last axis
    src = """
        from torch import einsum
        def stable_softmax(t, dim=-1):
            t = t - t.amax(dim=dim, keepdim=True).detach()
            return t.softmax(dim=dim)
        def attend(q, k, v):
            attn = stable_softmax(einsum("b h i d, b h j d -> b h i j", q, k))
            return einsum("b h i j, b h j d -> b h i d", {ops})
    """
    assert codes(src.format(ops="attn, v")) == []
    assert codes(src.format(ops="v, attn")) == ["SHP202"]


def test_ellipsis_subscripts_name_the_last_axes_of_operands_of_unknown_rank():
    # ``einsum("... i d, ... j d -> ... i j", q, k)`` with q, k of unknown rank: the names are their last
    # axes, and the weights' softmax over the keys is followed into the product with the values
    src = """
        from torch import einsum
        def attend(q, k, v):
            sim = einsum("... i d, ... j d -> ... i j", q, k)
            reveal_shape(sim)
            attn = sim.softmax(dim=-1)
            return einsum("... i j, ... j d -> ... i d", {ops})
    """
    assert reveals(src.format(ops="attn, v")) == ["... i j"]
    assert codes(src.format(ops="attn, v")) == []
    assert codes(src.format(ops="v, attn")) == ["SHP202"]


def test_pieces_of_a_split_share_the_rank_and_axes_the_code_gives_one_of_them():
    # multi-query attention as PaLM writes it: one projection split into queries, one key and one value;
    # only the queries are rearranged, the weights come from a softmax the engine cannot read. The key and
    # the value are pieces of the same tensor, so they have the queries' rank and every axis but the last
    src = """
        from torch import einsum
        from einops import rearrange
        from kernels import causal_softmax
        class Block(nn.Module):
            def __init__(self, dim, dim_head=64, heads=8):
                super().__init__()
                self.heads = heads
                self.fused_dims = (dim_head * heads, dim_head, dim_head)
                self.proj = nn.Linear(dim, sum(self.fused_dims), bias=False)
            def forward(self, x):
                q, k, v = self.proj(x).split(self.fused_dims, dim=-1)
                q = rearrange(q, "b n (h d) -> b h n d", h=self.heads)
                reveal_shape(v)
                sim = einsum("b h i d, b j d -> b h i j", q, k)
                attn = causal_softmax(sim)
                return einsum("b h i j, b j d -> b h i d", {ops})
    """
    assert reveals(src.format(ops="attn, v")) == ["b n dim_head"]
    assert codes(src.format(ops="attn, v")) == []
    assert codes(src.format(ops="v, attn")) == ["SHP108"]


def test_pieces_share_a_rank_a_test_gives_and_not_the_axis_they_were_split_along():
    src = """
        class M(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.proj = nn.Linear(d, 2 * d)
            def forward(self, x):
                h = self.proj(x)
                a, b = h.chunk(2, dim=-1)
                assert a.dim() == 3
                reveal_shape(b)
                c, e = h.chunk(2, dim=-1)
                c.permute(1, 0, 2, 3)
                reveal_shape(e)
    """
    assert reveals(src) == ["? ? d", "? ? ? d"]
    # the pieces of one split only: another tensor's pieces keep their unknown rank
    src = """
        class M(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.proj = nn.Linear(d, 2 * d)
            def forward(self, x, y):
                a, b = self.proj(x).chunk(2, dim=-1)
                c, e = self.proj(y).chunk(2, dim=-1)
                assert a.dim() == 3
                reveal_shape(b)
                reveal_shape(e)
    """
    assert reveals(src) == ["? ? d", "... d"]


def test_rotary_embeddings_written_with_complex_numbers_keep_the_shape():
    # rotary embeddings as LLaMA-style code writes them: pairs of features read as complex numbers, turned
    # by a table made with ``torch.polar``, read back as pairs of reals
    src = """
        def table(dim: int, n: int):
            freqs = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
            t = torch.arange(n)
            freqs = torch.outer(t, freqs)
            return torch.polar(torch.ones_like(freqs), freqs)
        def rotate(q: Float[Tensor, "b n h 64"], dim: int):
            rope = table(dim, 128)
            reveal_shape(rope)
            q_ = torch.view_as_complex(q.float().reshape(*q.shape[:-1], -1, 2))
            reveal_shape(q_)
            out = torch.view_as_real(q_).flatten(3)
            reveal_shape(out)
            return out
    """
    assert reveals(src) == ["128 (dim+1)//2", "b n h 32", "b n h 64"]
    assert codes(src) == []
    assert codes("""
        def f(q: Float[Tensor, "b n 3"]):
            return torch.view_as_complex(q)
    """) == ["SHP110"]


def test_halves_of_a_feature_axis_not_known_even_keep_the_other_axes():
    # ``rotate_half`` of rotary embeddings on a head size the code does not say is even: two pieces, the
    # other axes kept, so the rotated queries keep their rank and heads (an annotation's axis may be odd; a size
    # the code names, a constructor's argument, is halved: test_engine_narrowing)
    src = """
        def rotate_half(x):
            x1, x2 = x.chunk(2, dim=-1)
            return torch.cat((-x2, x1), dim=-1)
        def f(q: Float[Tensor, "b h n d"]):
            reveal_shape(rotate_half(q))
            a, b, c = q.chunk(3, dim=-1)
    """
    assert reveals(src) == ["b h n ?"]
    assert codes(src) == []
    # a data axis read from a tensor (an image's width may be odd): two pieces of unknown size
    assert reveals("""
        def f(img):
            b, c, h, w = img.shape
            left, right = img.chunk(2, dim=-1)
            reveal_shape(left)
    """) == ["b c h ?"]


def test_a_heads_share_of_a_size_stands_for_that_size():
    # lambda networks: the values' width is ``dim_out // heads``, a share of a size the code names; against the keys'
    # ``dim_k`` or the ``heads`` themselves it is another size, as ``dim_out`` would be
    src = """
        class Lambda(nn.Module):
            def __init__(self, dim, *, dim_k, heads=4, dim_out=64):
                super().__init__()
                dim_v = dim_out // heads
                self.to_k = nn.Linear(dim, dim_k)
                self.to_v = nn.Linear(dim, dim_v)
            def forward(self, x):
                k, v = self.to_k(x), self.to_v(x)
                return torch.einsum({eq}, k, v)
    """
    assert errors(src.format(eq="'b n k, b n v -> b k v'")) == []
    assert [d.code for d in errors(src.format(eq="'b n k, b n k -> b n'"))] == ["SHP101"]
    # a share of a configuration's field is not judged: a config class often sizes its fields to fit
    assert errors("""
        class Attn(nn.Module):
            def __init__(self, dim, config):
                super().__init__()
                self.q = nn.Linear(dim, dim // config.heads)
                self.k = nn.Linear(dim, config.head_dim)
            def forward(self, x):
                return torch.einsum('b n d, b m d -> b n m', self.q(x), self.k(x))
    """) == []


def test_an_equation_written_as_an_f_string_of_a_few_literals_is_each_of_them():
    # lucidrains' attend: the keys' subscripts picked by their rank, the output's written out; the softmax over the
    # heads is seen whichever equation runs
    src = """
        def attend(q: Float[Tensor, "b h i d"], k, v):
            kv_eq = 'b j d' if k.ndim == 3 else 'b h j d'
            sim = torch.einsum(f"b h i d, {{kv_eq}} -> b h i j", q, k)
            reveal_shape(sim)
            attn = sim.softmax(dim={dim})
            return torch.einsum(f"b h i j, {{kv_eq}} -> b h i d", attn, v)
    """
    assert reveals(src.format(dim=-1)) == ["b h i ?"]
    assert errors(src.format(dim=-1)) == []
    assert [d.code for d in errors(src.format(dim=1))] == ["SHP202"]
    # a name bound otherwise (a parameter) leaves the equation unknown
    assert reveals("""
        def attend(q: Float[Tensor, "b h i d"], k, kv_eq):
            reveal_shape(torch.einsum(f"b h i d, {kv_eq} -> b h i j", q, k))
    """) == ["..."]
