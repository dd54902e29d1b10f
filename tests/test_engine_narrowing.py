"""Narrowing by use: a tensor of unknown shape learns its axes from what is applied to it.

A layer fixes part of its input (``LayerNorm(d)`` and ``Linear(d, .)`` the last axis, ``Conv2d(c, .)``
axis 1 and the spatial axes after it), an einops pattern names every axis it describes, and the
variable holding the tensor keeps what was learnt, as if the user had annotated it.
"""

from __future__ import annotations

from test_engine import codes, errors, reveals


def test_a_layer_fixes_the_last_axis_of_an_unknown_input():
    assert reveals("""
        class Block(nn.Module):
            def __init__(self, dim, hidden):
                super().__init__()
                self.norm = nn.LayerNorm(dim)
                self.fc = nn.Linear(hidden, dim)
            def forward(self, x, y):
                reveal_shape(self.norm(x))
                reveal_shape(x)
                reveal_shape(self.fc(y))
                reveal_shape(y)
    """) == ["... dim", "... dim", "... dim", "... hidden"]


def test_a_conv_fixes_the_channel_axis_and_the_spatial_rank():
    assert reveals("""
        class Stem(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 1)
            def forward(self, img):
                y = self.conv(img)
                reveal_shape(img)
                reveal_shape(y)
    """) == ["... c_in ? ?", "... c_out ? ?"]


def test_a_narrowed_input_meets_a_second_layer():
    # the input is normalised over "dim", then projected by a layer that expects "hidden": a swapped
    # Linear seen although nothing about the input is annotated
    out = errors("""
        class Mlp(nn.Module):
            def __init__(self, dim, hidden):
                super().__init__()
                self.norm = nn.LayerNorm(dim)
                self.fc = nn.Linear(hidden, dim)
            def forward(self, x):
                x = self.norm(x)
                return self.fc(x)
    """)
    assert [d.code for d in out] == ["SHP107"]
    assert '"hidden"' in out[0].message and '"dim"' in out[0].message


def test_a_sequential_called_on_an_unknown_input_is_followed():
    out = errors("""
        class FeedForward(nn.Module):
            def __init__(self, dim, hidden_dim):
                super().__init__()
                self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(hidden_dim, dim), nn.GELU())
            def forward(self, x):
                return self.net(x)
    """)
    assert [d.code for d in out] == ["SHP107"]
    # near miss: the right sizes
    assert errors("""
        class FeedForward(nn.Module):
            def __init__(self, dim, hidden_dim):
                super().__init__()
                self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden_dim), nn.GELU(),
                                         nn.Linear(hidden_dim, dim))
            def forward(self, x):
                reveal_shape(self.net(x))
                return self.net(x)
    """) == []


def test_an_einops_pattern_names_the_axes_of_an_unknown_input():
    assert reveals("""
        from einops import rearrange
        def split(t, heads: int):
            q = rearrange(t, "b n (h d) -> b h n d", h=heads)
            reveal_shape(q)
            reveal_shape(t)
    """) == ["b heads n d", "b n d*heads"]


def test_the_same_pattern_name_is_the_same_axis_in_one_function():
    # q and k split by the same pattern share their sequence axis "n": the untransposed key is seen
    src = """
        from einops import rearrange
        class Attention(nn.Module):
            def __init__(self, dim, heads):
                super().__init__()
                self.heads = heads
                self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
            def forward(self, x):
                q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads),
                              self.to_qkv(x).chunk(3, dim=-1))
                dots = torch.matmul(q, {key})
                return torch.matmul(dots.softmax(dim=-1), v)
    """
    assert codes(src.format(key="k")) == ["SHP201"]
    assert codes(src.format(key="k.transpose(-1, -2)")) == []


def test_a_pattern_fills_the_unknown_axes_of_a_partly_known_input():
    assert reveals("""
        from einops import rearrange
        class Attention(nn.Module):
            def __init__(self, dim, heads=8, dim_head=64):
                super().__init__()
                self.heads = heads
                self.to_q = nn.Linear(dim, heads * dim_head)
            def forward(self, x):
                q = rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.heads)
                reveal_shape(q)
    """) == ["b heads n dim_head"]


def test_an_einops_layer_names_the_axes_of_its_input():
    assert reveals("""
        from einops.layers.torch import Rearrange
        class Patches(nn.Module):
            def __init__(self, dim, patch, channels=3):
                super().__init__()
                self.to_patches = nn.Sequential(
                    Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch, p2=patch),
                    nn.Linear(channels * patch * patch, dim))
            def forward(self, img):
                x = self.to_patches(img)
                reveal_shape(x)
    """) == ["b h*w dim"]


def test_sizes_given_to_a_factory_by_unannotated_arguments():
    assert reveals("""
        class Tokens(nn.Module):
            def __init__(self, dim, num_patches):
                super().__init__()
                self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
                self.pos = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
            def forward(self):
                reveal_shape(self.cls_token)
                reveal_shape(self.pos)
    """) == ["1 1 dim", "1 num_patches+1 dim"]


def test_a_starred_size_in_a_tuple_assignment_is_unpacked():
    assert reveals("""
        def f(x, heads: int):
            b, n, _, h = *x.shape, heads
            reveal_shape(x)
            reveal_shape(torch.zeros(b, h, n))
    """) == ["b n x[2]", "b heads n"]  # the axis unpacked as ``_`` is an axis of its own, named as x.shape[2] is


def test_narrowing_never_contradicts_a_data_axis():
    # a size from code meeting an axis the input already has binds to it: correct code stays silent
    assert errors("""
        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.norm = nn.LayerNorm(dim)
            def forward(self, x):
                b, n, c = x.shape
                y = self.norm(x)
                return y.view(b, n, c)
    """) == []


def test_axes_named_by_different_patterns_bind_to_each_other():
    # regression: a padding mask read as "b i" and as "b j" masks scores whose axes a third pattern
    # named "n"; the names differ, the sizes are one
    assert errors("""
        from einops import rearrange
        class Attention(nn.Module):
            def __init__(self, dim, heads=8):
                super().__init__()
                self.heads = heads
                self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
            def forward(self, x, mask):
                q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_qkv(x).chunk(3, dim=-1))
                dots = q @ k.transpose(-1, -2)
                pair = rearrange(mask, "b i -> b 1 i 1") * rearrange(mask, "b j -> b 1 1 j")
                dots = dots.masked_fill(~pair, -1e9)
                reveal_shape(dots)
                return dots.softmax(dim=-1) @ v
    """) == []


def test_two_axes_of_one_pattern_may_be_equal():
    # a square table named "i j" added to square scores: no contradiction
    assert errors("""
        from einops import rearrange
        def biased(scores, table):
            bias = rearrange(table, "i j h -> h i j")
            n = scores.shape[-1]
            return scores + bias[:, :n, :n]
    """) == []


def test_a_layer_norm_over_the_width_of_a_channels_first_map():
    # found on public code: LayerNorm(dim) applied after rearranging tokens to "b c h w" normalises
    # the width axis (and fails unless the width happens to equal dim)
    assert "SHP301" in codes("""
        import math
        from einops import rearrange
        class FeedForward(nn.Module):
            def __init__(self, dim, hidden):
                super().__init__()
                self.net = nn.Sequential(nn.LayerNorm(dim), nn.Conv2d(dim, hidden, 1))
            def forward(self, x):
                h = w = int(math.sqrt(x.shape[-2]))
                x = rearrange(x, "b (h w) c -> b c h w", h=h, w=w)
                return self.net(x)
    """)


def test_a_factory_with_one_unknown_size_keeps_the_others():
    assert reveals("""
        def f(d: int, cfg):
            reveal_shape(torch.randn(1, helper(cfg) + 1, d))

        def helper(c):
            return c.count()
    """) == ["1 ? d"]


def test_a_sequential_goes_on_after_a_layer_it_cannot_shape():
    # the unfold's output is unknown, the einops layer after it names its axes again
    assert reveals("""
        from einops.layers.torch import Rearrange
        class Patches(nn.Module):
            def __init__(self, patch_dim, dim):
                super().__init__()
                self.embed = nn.Sequential(nn.Unfold(kernel_size=4, stride=2), Rearrange("b c n -> b n c"),
                                           nn.Linear(patch_dim, dim))
            def forward(self, img):
                reveal_shape(self.embed(img))
    """) == ["b n dim"]


def test_a_class_token_concatenated_on_the_wrong_axis():
    src = """
        from einops import repeat
        from einops.layers.torch import Rearrange
        class ViT(nn.Module):
            def __init__(self, patch_dim, dim, num_patches):
                super().__init__()
                self.embed = nn.Sequential(Rearrange("b c n -> b n c"), nn.Linear(patch_dim, dim))
                self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
                self.pos = nn.Parameter(torch.randn(1, num_patches + 1, dim))
            def forward(self, img):
                x = self.embed(img)
                b, n, _ = x.shape
                cls_tokens = repeat(self.cls_token, "() n d -> b n d", b=b)
                x = torch.cat((cls_tokens, x), dim={axis})
                x += self.pos[:, :n + 1]
                return x
    """
    assert codes(src.format(axis=1)) == []
    # reported at the cat, the line to fix (the parts fit only by taking the patches for one position);
    # its result is then unknown, so the positional table added after it is not that bug again
    assert codes(src.format(axis=2)) == ["SHP212"]


def test_einsum_subscripts_give_an_unknown_operand_its_rank():
    src = """
        def attend(x, w: Float[Tensor, "d k"], m):
            k = torch.einsum("bmd,dk->bmk", {ops})
            reveal_shape(k)
            reveal_shape(m)
    """
    assert reveals(src.format(ops="m, w")) == ["b m k", "b m d"]
    assert codes(src.format(ops="w, m")) == ["SHP108"]  # operands swapped: "bmd" names 3 axes, w has 2


def test_an_einsum_over_an_operand_of_unknown_shape_keeps_the_names_of_the_others():
    # the unknown operand's axes are the call's own placeholders: what they meet keeps its name (``dim_head``,
    # the query's letters), and a sum with what they give is the known operand's shape
    src = """
        from einops import rearrange

        class KnnAttention(nn.Module):
            def __init__(self, dim, heads, dim_head):
                super().__init__()
                self.heads = heads
                self.to_q = nn.Linear(dim, heads * dim_head)
                self.to_v = nn.Linear(dim, dim_head)
                self.to_out = nn.Linear({out}, dim)
            def forward(self, x, memory):
                q = rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.heads)
                v = self.to_v(x)
                mem_k, mem_v = memory.search(q).unbind(dim=-2)
                sim = torch.einsum("b h i d, b j d -> b h i j", q, v)
                sim_mem = torch.einsum("b h i d, b h i j d -> b h i j", q, mem_k)
                reveal_shape(q)
                local = torch.einsum("b h i j, b j d -> b h i d", sim.softmax(dim=-1), v)
                distant = torch.einsum("b h i j, b h i j d -> b h i d", sim_mem.softmax(dim=-1), mem_v)
                out = rearrange(local + distant, "b h n d -> b n (h d)")
                reveal_shape(out)
                return self.to_out(out)
    """
    q, out = reveals(src.format(out="heads * dim_head"))
    assert q.split()[1:] == ["heads", "n", "dim_head"] and out.split()[1:] == ["n", "dim_head*heads"]
    assert codes(src.format(out="dim")) == ["SHP107"]


def test_a_module_level_int_is_a_size_of_the_script():
    src = """
        import argparse
        opt = argparse.ArgumentParser().parse_args()
        ndf = int(opt.ndf)

        class Discriminator(nn.Module):
            def __init__(self):
                super().__init__()
                self.main = nn.Sequential(nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2),
                                          nn.Conv2d({second}, 4, 2, 1))
            def forward(self, x):
                return self.main(x)
    """
    assert codes(src.format(second="ndf, ndf * 2")) == []
    assert codes(src.format(second="ndf * 2, ndf")) == ["SHP107"]


def test_a_permutation_gives_an_unknown_input_its_rank():
    assert reveals("""
        def f(x, y: Tensor):
            z = x.permute(0, 2, 3, 1)
            reveal_shape(x)
            reveal_shape(x.mean(dim=1, keepdim=True))
            y.permute(2, 0, 1)
            reveal_shape(y)
            w = x.permute(0, 1)  # not a permutation of the four axes x has by now: nothing learnt
            reveal_shape(x)
    """) == ["? ? ? ?", "? 1 ? ?", "? ? ?", "? ? ? ?"]


def test_a_tuple_of_ints_parameter_gives_one_size_per_element():
    assert reveals("""
        from typing import Tuple
        def f(x, size: Tuple[int, int], pair: tuple[int, int], many: Tuple[int, ...]):
            B, N, C = x.shape
            H, W = size
            reveal_shape(x[:, 1:].transpose(1, 2).view(B, C, H, W))
            reveal_shape(torch.zeros(*pair))
            reveal_shape(torch.zeros(*many))
    """) == ["B C size[0] size[1]", "pair[0] pair[1]", "..."]


def test_a_reshape_with_an_unknown_size_keeps_its_rank():
    assert reveals("""
        def f(x, g, shape):
            B, N, C = x.shape
            H = W = int(N ** 0.5)
            reveal_shape(x.transpose(1, 2).reshape(B, C, H, W))
            reveal_shape(x.reshape((B, g.rows(), -1)))
            reveal_shape(x.view(shape))  # one unknown argument may be all the sizes
    """) == ["B C H H", "B ? ?", "..."]  # the side of a square grid of N tokens


def test_interpolate_by_an_unknown_factor_keeps_batch_and_channels():
    assert reveals("""
        def f(x: Float[Tensor, "b c h w"], scale_factor):
            reveal_shape(F.interpolate(x, scale_factor=scale_factor, mode="bilinear"))
    """) == ["b c ? ?"]


def test_a_string_default_of_a_constructor_decides_a_branch():
    # a ConvNeXt-style LayerNorm built with its default data_format takes the channels-last branch only
    assert reveals("""
        class LayerNorm(nn.Module):
            def __init__(self, dim, eps=1e-6, data_format="channels_last"):
                super().__init__()
                self.data_format = data_format
                self.normalized_shape = (dim,)
            def forward(self, x):
                if self.data_format == "channels_last":
                    return F.layer_norm(x, self.normalized_shape)
                elif self.data_format == "channels_first":
                    return x.mean(1, keepdim=True)
        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.norm = LayerNorm(dim)
                self.norm_cf = LayerNorm(dim, data_format="channels_first")
            def forward(self, x: Float[Tensor, "b h w c"], y: Float[Tensor, "b c h w"]):
                reveal_shape(self.norm(x))
                reveal_shape(self.norm_cf(y))
    """) == ["b h w c", "b 1 h w"]


def test_axes_a_callee_names_stay_in_the_callee():
    # the helper names the unknown axes of its argument H and W; called on a tensor and on its transpose,
    # the two results are not made of the same two axes
    assert codes("""
        def tile(q):
            B, H, W, d = q.shape
            return q.reshape(B, H, 1, W, d).expand(-1, -1, H, -1, -1)
        def f(x, height_width):
            B, HW, _ = x.shape
            h, w = unknown(height_width)
            q = x.reshape(B, h, w, -1)
            return tile(q) + tile(q.transpose(1, 2)).transpose(1, 3)
    """) == []


def test_a_tuple_of_slices_makes_an_unknown_object_a_tensor():
    assert reveals("""
        def f(x):
            cls_token, rest = x[:, :1], x[:, 1:]
            reveal_shape(cls_token)
            reveal_shape(rest)
    """) == ["x[0] 1 ...", "x[0] x[1]-1 ..."]


def test_one_element_sliced_off_an_axis_of_unknown_size():
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], g):
            y = x.reshape(g.batch(), g.tokens(), -1)
            reveal_shape(y[:, :1])
            reveal_shape(y[:, -1:])
            reveal_shape(y[:, 1:])
    """) == ["? 1 ?", "? 1 ?", "? ? ?"]


def test_an_einops_pattern_on_a_value_it_cannot_see_gives_that_call_its_own_axes():
    # two unrelated values repeated by one pattern: their "x" and "y" are not the same axes (the pattern's
    # names are shared by the tensors of unknown shape it narrows, not by values the analysis lost: such a
    # value gets axes of that call alone, named after the pattern)
    assert codes("""
        from einops import repeat
        def test_product(pair):
            a_left, a_right = pair
            left = repeat(a_left, "x y -> b x y", b=2)
            right = repeat(a_right, "x y -> b x y", b=2)
            reveal_shape(left)
            return left @ right
    """) == []
    assert reveals("""
        from einops import repeat
        def f(pair):
            a, b = pair
            reveal_shape(repeat(a, "x y -> b x y", b=2))
    """) == ["2 x y"]


def test_a_module_that_returns_a_plain_tensor_is_followed():
    # `-> torch.Tensor` says nothing of the shape: the body does (and a layer it is called with unknown input)
    assert reveals("""
        class Embed(nn.Module):
            def __init__(self, dim: int):
                super().__init__()
                self.proj = nn.Conv2d(3, dim, 16, stride=16)
            def forward(self, x: Tensor) -> Tensor:
                x = self.proj(x)
                return x.permute(0, 2, 3, 1)
        class Net(nn.Module):
            def __init__(self, dim: int):
                super().__init__()
                self.embed = Embed(dim)
            def forward(self, img):
                reveal_shape(self.embed(img))
    """) == ["? ? ? dim"]


def test_a_module_list_filled_in_a_loop_holds_its_modules():
    assert reveals("""
        class Block(nn.Module):
            def __init__(self, dim: int):
                super().__init__()
                self.fc = nn.Linear(dim, dim)
            def forward(self, x):
                return x + self.fc(x)
        class Net(nn.Module):
            def __init__(self, dim: int, depth: int):
                super().__init__()
                self.blocks = nn.ModuleList()
                for _ in range(depth):
                    self.blocks.append(Block(dim))
            def forward(self, x: Float[Tensor, "b n dim"]):
                for blk in self.blocks:
                    x = blk(x)
                reveal_shape(x)
    """) == ["b n dim"]


def test_a_sliced_size_unpacked_names_the_axes_it_reads():
    assert reveals("""
        class Down(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.conv = nn.Conv2d(dim, dim, 3, stride=2)
            def forward(self, x, img, t):
                x = self.conv(x)
                H, W = x.shape[-2:]
                reveal_shape(x)
                h, w = img.shape[2:]
                reveal_shape(img)
                n, c = t.size()[:2]
                reveal_shape(t)
                reveal_shape(torch.zeros(n, H, W))
    """) == ["... dim H W", "? ? h w", "n c ...", "n H W"]


def test_the_first_axis_read_off_a_convolution_s_output_is_its_batch():
    # ``x.shape[:2]`` (or ``x.size(0)``) of a map that may be batched or not (``... C H W``): code that reads the
    # first axis of a convolution's output reads it batched, as a ``cat`` along dim 1 of it does (DINO's mask
    # head compares ``cur_fpn.size(0)`` with ``x.size(0)``), so the map has four axes, the first one ``B``
    assert reveals("""
        class Down(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.conv = nn.Conv2d(dim, dim, 3, stride=2)
            def forward(self, x):
                x = self.conv(x)
                B, C = x.shape[:2]
                reveal_shape(x)
                reveal_shape(B)
    """) == ["B dim ? ?", "..."]


def test_an_unknown_size_given_to_a_view_is_named_after_its_variable():
    assert reveals("""
        from helpers import feat_size, grid

        def to_map(y, img, x):
            H, W = feat_size(img)
            z = y.reshape(y.shape[0], H, W, -1)
            reveal_shape(z)
            reveal_shape(torch.zeros(H, W))
            nh, nw = grid(img)
            reveal_shape(x.view(2, nh, nw, 3))
    """) == ["y[0] H W -1@12", "H W", "2 ? nw 3"]  # the -1 is a size of its own, the view's (line 12 with the prelude)


def test_a_message_names_the_size_a_view_inferred_by_its_line():
    # ``x.view(-1, n)`` of an unknown ``x``: the -1 is a size of its own, named ``-1@<line>`` inside the
    # engine; a message says which view it is, not the engine's name for it
    found = [d for d in errors("""
        class NNLM(nn.Module):
            def __init__(self, n_step: int, m: int, n_class: int):
                super().__init__()
                self.n_step, self.m = n_step, m
                self.W = nn.Linear(n_step * m, n_class)

            def forward(self, x):
                x = x.view(-1, self.n_step * self.m)
                return self.W(x).max(1, keepdim=True)[1].squeeze()
    """) if d.code == "SHP209"]  # (the view is on line 15 with the prelude)
    assert len(found) == 1
    assert '"-1 of line 15"' in found[0].message and "@" not in found[0].message


def test_an_unknown_size_given_twice_to_one_view_is_one_size():
    # ``reshape(-1, size, size, C)``: a square grid, both axes the one size
    assert reveals("""
        def to_grid(pos, n):
            size = int(n ** 0.5)
            reveal_shape(pos.reshape(-1, size, size, pos.shape[-1]))
    """) == ["-1@10 size size pos[-1]"]  # (line 10 with the prelude)


def test_one_variable_is_one_size_across_views():
    # ``n`` from an unknown call is the same size in both views: the second is a head split of the
    # features, not of the positions (a per-call name would make them two sizes, and SHP203 would fire)
    assert codes("""
        from helpers import count

        class Attn(nn.Module):
            def __init__(self, dim, num_heads):
                super().__init__()
                self.num_heads = num_heads
                self.q = nn.Linear(dim, dim)

            def forward(self, x, size):
                B = x.shape[0]
                n = count(size)
                q = x.transpose(1, 2).reshape(B, n, -1)
                return self.q(q).reshape(B, n, self.num_heads, -1).transpose(1, 2)
    """) == []


def test_a_layer_narrows_a_value_known_only_from_the_front():
    # ``torch.cat([x, h], dim=1)`` of parts of unknown rank has at least two axes; the Linear applied to it
    # fixes its last axis, which may be axis 1 itself: ``? ... d``, at least two axes, d last
    assert reveals("""
        class Cell(nn.Module):
            def __init__(self, d_in: int, d_state: int):
                super().__init__()
                self.gate = nn.Linear(d_in + d_state, d_state)

            def forward(self, x, h):
                joined = torch.cat([x, h], dim=1)
                reveal_shape(joined)
                g = self.gate(joined)
                reveal_shape(joined)
                return g
    """) == ["? ? ...", "? ... d_in+d_state"]


def test_a_known_axis_from_the_front_that_may_be_the_required_one_is_not_guessed():
    from shapecheck._core._algebra import const, sym
    from shapecheck._core._shape import UNKNOWN, Shape, Variadic
    from shapecheck._engine._narrow import _refine

    d, c = sym("d"), sym("c")
    req = Shape((Variadic(None), d))
    assert str(_refine(Shape((UNKNOWN, UNKNOWN, Variadic(None))), req)) == str(Shape((UNKNOWN, Variadic(None), d)))
    # ``? c ...`` may be ``? c`` with c the last axis: whether c is d is not for narrowing to say, so c is left
    # out of what it learns (``? ... d``), and a literal size known there (one position, ``x[:, :1]``) is kept
    assert str(_refine(Shape((UNKNOWN, c, Variadic(None))), req)) == str(Shape((UNKNOWN, Variadic(None), d)))
    assert _refine(Shape((UNKNOWN, const(1), Variadic(None))), req) is None


def test_a_read_of_a_partly_known_input_learns_the_layer_for_its_other_names():
    # ``residual = q`` after ``q.size(0)``, ``q.size(1)`` were read: the Linear applied to ``q`` fixes the last axis
    # of ``residual`` too, so the residual sum after the projection sees the two widths meet
    assert codes("""
        class Attention(nn.Module):
            def __init__(self, d_model: int, d_k: int):
                super().__init__()
                self.w_q = nn.Linear(d_k, d_model)

            def forward(self, q):
                b, t = q.size(0), q.size(1)
                residual = q
                q = self.w_q(q)
                return q + residual
    """) == ["SHP102"]


def test_a_view_infers_a_size_of_its_own_for_minus_one_on_an_input_of_unknown_size():
    # ``view(b, -1, heads, d)`` of a projection of unknown length: the -1 is an axis of its own (not unknown),
    # so merging the heads back without moving them is seen to move it across them
    assert reveals("""
        def split(x, heads: int, d: int):
            b = x.size(0)
            y = x.view(b, -1, heads, d).transpose(1, 2)
            reveal_shape(y)
            reveal_shape(y.transpose(1, 2).reshape(b, -1, heads * d))
    """) == ["b heads -1@10 d", "b -1@10 d*heads"]
    assert codes("""
        def merge(x, heads: int, d: int):
            b = x.size(0)
            y = x.view(b, -1, heads, d).transpose(1, 2)
            return y.reshape(b, -1, heads * d)
    """) == ["SHP109"]


def test_an_axis_unpacked_as_underscore_is_an_axis_of_its_own():
    assert codes("""
        def unshape(x):
            x_0, x_1, _, x_3 = x.size()
            return x.contiguous().view(x_0, -1, x_1 * x_3)
    """) == ["SHP109"]
    assert codes("""
        def unshape(x):
            x_0, x_1, _, x_3 = x.size()
            return x.transpose(1, 2).contiguous().view(x_0, -1, x_1 * x_3)
    """) == []


def test_a_function_defined_in_a_function_reads_its_variables_at_the_call():
    assert reveals("""
        class Attn(nn.Module):
            def __init__(self, n_heads: int, dim: int):
                super().__init__()
                assert dim % n_heads == 0
                self.n_heads = n_heads
                self.q = nn.Linear(dim, dim)
            def forward(self, x):
                bs, qlen, dim = x.size()
                dph = dim // self.n_heads
                def shape(t):
                    return t.view(bs, -1, self.n_heads, dph).transpose(1, 2)
                reveal_shape(shape(self.q(x)))
                dph = 7  # rebound: a call after this reads the new value
                reveal_shape(shape(self.q(x)))
    """) == ["bs n_heads qlen dim'//n_heads", "bs n_heads (bs*dim''*qlen)//(bs*n_heads*7) 7"]
    # (the local ``dim`` names the input's axis, primed: an axis of the data, which the layer's ``dim`` met)


def test_sizes_a_script_sets_in_its_main_block_are_named_globals():
    src = """
        class Attn(nn.Module):
            def __init__(self):
                super().__init__()
                self.W_Q = nn.Linear(d_model, n_heads * d_k)
            def forward(self, q):
                b = q.size(0)
                reveal_shape(self.W_Q(q).view(b, -1, n_heads, d_k))
                reveal_shape(torch.zeros(lr, epochs))
        if __name__ == "__main__":
            d_model = 16
            n_heads = 4
            d_k = d_v = 8
            lr = 3
            epochs = 10
            for epochs in range(3):
                pass
    """
    # a name the script binds twice (``epochs``, also a loop variable) is not a size of it
    assert reveals(src) == ["b -1@14 n_heads d_k", "lr ?"]


def test_the_size_a_view_inferred_takes_the_name_it_meets():
    # ``-1@11`` meets the batch size of ``scores``: it is ``batch_size`` from there on, not the other way round
    assert reveals("""
        def step(scores, batch_size: int, k: int, make):
            pos = make(batch_size).view(-1, 1)
            cand = scores.view(batch_size, k)
            out = (cand + pos.expand_as(cand)).view(batch_size * k, 1)
            reveal_shape(pos)
            reveal_shape(out)
    """) == ["batch_size 1", "batch_size*k 1"]


def test_an_axis_the_code_never_named_takes_the_name_it_meets():
    # ``_`` (or ``x.shape[2]``) meeting the layer's ``dim``: it reads ``dim`` from there on
    assert reveals("""
        class Proj(nn.Module):
            def __init__(self, dim: int, heads: int):
                super().__init__()
                self.heads = heads
                self.fc = nn.Linear(dim, dim)
            def forward(self, x):
                b, n, _ = x.size()
                y = self.fc(x).view(b, n, self.heads, -1)
                reveal_shape(y)
    """) == ["b n heads dim//heads"]


# -- shape assertions: ``assert x.shape == (b, t, c)`` ----------------------------------------------

def test_a_shape_assertion_gives_an_unknown_tensor_its_rank_and_sizes():
    assert reveals("""
        def f(x, b: int, t: int, c: int):
            reveal_shape(x)
            assert x.shape == (b, t, c)
            reveal_shape(x)
        def g(x, b, t, c):
            assert tuple(x.shape) == (b, t, c)
            reveal_shape(x)
        def h(x, b, t, c):
            assert list(x.size()) == [b, t, c]
            reveal_shape(x)
        def k(scores, bs, beam_size, n_words):
            assert scores.size() == (bs * beam_size, n_words)
            reveal_shape(scores)
    """) == ["...", "b t c", "b t c", "b t c", "beam_size*bs n_words"]


def test_a_shape_assertion_binds_the_axes_a_tensor_already_had():
    assert reveals("""
        import torch.nn.functional as F
        def f(x, n_words):
            x = F.log_softmax(x, dim=-1)
            reveal_shape(x)
            assert x.size() == (8, n_words)
            reveal_shape(x)
        def g(x, w):
            b, t, c = x.shape
            reveal_shape(x)
            assert x.shape == (b, t, w)
            reveal_shape(x[:, :, 0])
    """) == ["...", "8 n_words", "b t c", "b t"]


def test_a_partial_shape_assertion_names_the_axes_it_slices():
    assert reveals("""
        def f(x, c, h, w):
            assert x.shape[1:] == (c, h, w)
            reveal_shape(x)
        def g(x, h, w):
            assert x.shape[-2:] == (h, w)
            reveal_shape(x)
        def k(x, b, t):
            assert x.shape[:2] == (b, t)
            reveal_shape(x)
    """) == ["? c h w", "... h w", "b t ..."]


def test_a_negated_shape_test_that_raises_narrows_what_follows():
    assert reveals("""
        def f(x, b, n):
            if x.shape != (b, n):
                raise ValueError("bad shape")
            reveal_shape(x)
        def g(x, b, n):
            if x.shape == (b, n):
                reveal_shape(x)
            reveal_shape(x)
    """) == ["b n", "b n", "..."]


def test_a_shape_assertion_the_inferred_shape_contradicts_is_reported():
    found = errors("""
        import torch
        def f(x):
            y = torch.zeros(3, 4)
            assert y.shape == (3, 5)
            assert y.shape == (3, 4, 1)
            return y
    """)
    assert [d.code for d in found] == ["SHP105", "SHP104"]
    assert "axis 1 of `y` to be 5, but it is 4" in found[0].message
    assert "expects `y` to have 3 axes, but it has 2" in found[1].message


def test_a_shape_assertion_that_may_hold_is_not_reported():
    assert codes("""
        import torch
        def f(x, m, k):
            n = x.size(0)
            y = torch.zeros(3, 4)
            assert y.shape == (n, 4)
            assert y.shape == (m, k)
            assert tuple(y.shape[1:]) == (k,)
            return y
        def g(m, k):
            z = torch.zeros(m, k)
            assert z.shape == (k, m)
            if z.shape != (3, 3):
                raise ValueError("square")
            return z
    """) == []


def test_a_shape_assertion_makes_a_later_swap_provable():
    assert codes("""
        import torch
        def attend(q, k, b, n, d):
            assert q.shape == (b, n, d)
            assert k.shape == (b, n, d)
            return torch.softmax(q @ k, dim=-1)
    """) == ["SHP101"]


def test_a_transpose_of_unknown_rank_proves_the_axes_it_names():
    # `transpose(2, 3)` runs only on four axes or more, `transpose(-2, -1)` on two or more; known axes are kept
    # on their side, and where the dims reach past them only the number of axes is
    assert reveals("""
        def f(k, x: Float[Tensor, "b n ..."], y: Float[Tensor, "... n d"]):
            reveal_shape(k.transpose(2, 3))
            reveal_shape(k.transpose(-2, -1))
            reveal_shape(x.transpose(2, 3))
            reveal_shape(y.transpose(-3, -1))
            reveal_shape(y.transpose(1, 2))
    """) == ["? ? ? ? ...", "... ? ?", "b n ? ? ...", "... d n ?", "? ? ? ..."]


def test_a_product_of_unknown_rank_keeps_the_axes_it_proves():
    # matmul of an operand of unknown rank: at least as many axes as the operands' least ranks give (a vector
    # on either side drops one), the right operand's last axis when it is a matrix, the left one's rows
    # when both are; before a transposed matrix (attention's ``q @ k.transpose(2, 3)``) the left operand is a
    # matrix too, so no axis is dropped
    assert reveals("""
        import torch
        def f(q, k, p, w: Float[Tensor, "m d"], x: Float[Tensor, "... n d"], y: Float[Tensor, "... d e"]):
            reveal_shape(torch.matmul(p, k.transpose(2, 3)))
            reveal_shape(torch.matmul(q, w))
            reveal_shape(torch.matmul(w, q))
            reveal_shape(torch.matmul(x, y))
            reveal_shape(torch.matmul(q, y))
            reveal_shape(torch.matmul(q.transpose(1, 2), w))
    """) == ["... ? ? ? ?", "... d", "... ?", "... n e", "... e", "... ? ? d"]


def test_the_least_rank_survives_a_transpose_from_the_other_end():
    # ``x.transpose(1, 2)`` has three axes or more; its ``transpose(-2, -1)`` too, the first axis untouched: the
    # scores of the two then have three axes or more, so a softmax over dim 1 is not over the keys
    assert reveals("""
        def f(x, y: Float[Tensor, "... n d"]):
            q = x.transpose(1, 2)
            reveal_shape(q.transpose(-2, -1))
            reveal_shape(q @ q.transpose(-2, -1))
            reveal_shape(y.transpose(0, 1))
    """) == ["? ... ? ?", "... ? ? ?", "? ? ..."]
    assert codes("""
        import torch.nn.functional as F
        def attend(x, v):
            q = x.transpose(1, 2)
            s = q @ q.transpose(-2, -1)
            return F.softmax(s, dim=1) @ v.transpose(1, 2)
    """) == ["SHP202"]


def test_a_product_with_a_matrix_of_unknown_rank_keeps_the_known_operands_axes():
    # a cached key of unknown shape: the queries' batch, heads and positions stay the scores' (an operand of
    # known batch axes is taken to get none in front from the other); a matrix without batch axes keeps its row
    assert reveals("""
        import torch
        def f(k_cache, b: int, h: int, t: int, d: int):
            q = torch.zeros(b, h, t, d)
            k = k_cache.transpose(1, 2)
            reveal_shape(torch.matmul(q, k.transpose(2, 3)))
            reveal_shape(torch.matmul(k, q))
            reveal_shape(torch.matmul(torch.zeros(t, d), k.transpose(2, 3)))
            reveal_shape(torch.matmul(torch.zeros(b, 1, t, d), k.transpose(2, 3)))
    """) == ["b h t ?", "b h ? d", "... ? ? t ?", "b ? t ?"]


def test_a_value_the_engine_could_not_shape_given_to_matmul_is_a_tensor():
    # `q / self.temperature` of an unannotated `q`: torch.matmul takes only tensors
    assert reveals("""
        import torch
        def f(q, k, t):
            reveal_shape(torch.matmul(q / t, k.transpose(2, 3)))
    """) == ["... ? ? ? ?"]


def test_a_reduction_keeping_its_axis_of_a_tensor_of_unknown_rank_keeps_what_it_proves():
    # ``x.mean(1, keepdim=True)`` runs only on two axes or more: the axis before the reduced one, then 1, then the rest;
    # counted from the end the reduced axis cannot be placed, and without keepdim the result's rank is unknown
    assert reveals("""
        def f(x, y):
            reveal_shape(x.mean(dim=1, keepdim=True))
            reveal_shape(y.amax(2, keepdim=True))
            reveal_shape(x.sum(-1, keepdim=True))
            reveal_shape(x.mean(1))
    """) == ["? 1 ...", "? ? 1 ...", "...", "..."]


def test_the_axes_read_off_what_an_unknown_call_gave_are_named():
    # ``x = self.embed(x)`` with ``embed`` given by a caller: what comes back is unknown, but reading its
    # shape says it is a tensor (or an array), whose axes the reads name as they name an input's
    assert reveals("""
        class Tokens(nn.Module):
            def __init__(self, embed, dim):
                super().__init__()
                self.embed = embed
                self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            def forward(self, img):
                x = self.embed(img)
                reveal_shape(self.cls_token.expand(x.shape[0], -1, -1))
                reveal_shape(torch.zeros(x.size(1), 3))
                reveal_shape(x)
    """) == ["x[0] 1 dim", "x[1] 3", "x[0] x[1] ..."]


def test_a_shape_read_of_a_value_that_is_not_a_variable_learns_nothing():
    assert reveals("""
        def f(pairs):
            first = pairs[0]
            reveal_shape(torch.zeros(pairs[1].size(0), 2))
            reveal_shape(torch.zeros(first.size(0), 2))
    """) == ["? 2", "first[0] 2"]


def test_sizes_read_pairwise_are_named_after_their_targets():
    assert reveals("""
        def f(inputs, A: int):
            score = inputs[0]
            height, width = score.size(2), score.size(3)
            reveal_shape(torch.zeros(height, width, A))
            reveal_shape(score)
    """) == ["height width A", "? ? height width ..."]


def test_an_activation_a_helper_fills_is_the_default_one():
    # ``activation = default(activation, nn.GELU)``: built by default, the block applies GELU, which keeps the
    # features; an activation a caller names is its own (``nn.GLU`` halves them), left unchecked
    out = errors("""
        def default(val, d):
            return val if val is not None else d

        class FeedForward(nn.Module):
            def __init__(self, dim, mult=4, activation=None, gate=None):
                super().__init__()
                activation = default(activation, nn.GELU)
                self.w1 = nn.Linear(dim, dim * mult)
                self.act = activation()
                self.gate = (gate or nn.Sigmoid)()
                self.w2 = nn.Linear(dim, dim * mult)
            def forward(self, x):
                x = self.gate(self.act(self.w1(x)))
                return self.w2(x)
    """)
    assert [d.code for d in out] == ["SHP107"]
    assert '"dim*4"' in out[0].message
    assert reveals("""
        class Block(nn.Module):
            def __init__(self, dim, activation=None, other=None):
                super().__init__()
                self.fc = nn.Linear(dim, dim)
                if activation is None:
                    activation = nn.ReLU
                self.act = activation()
                self.other = (other or nn.GLU)()
            def forward(self, x):
                reveal_shape(self.act(self.fc(x)))
                reveal_shape(self.other(self.fc(x)))
    """) == ["... dim", "..."]


def test_a_join_with_a_part_of_unknown_shape_keeps_the_other_axes():
    # every part of a ``cat`` has the axes of the part the engine knows, but the joined one, which is the known
    # part's size there and the unknown part's own
    assert reveals("""
        class Memory(nn.Module):
            def __init__(self, dim, dim_head):
                super().__init__()
                self.to_kv = nn.Linear(dim, dim_head * 2)
            def forward(self, x, mem: torch.Tensor, y: Float[Tensor, "b n d"]):
                k, v = self.to_kv(x).chunk(2, dim=-1)
                reveal_shape(torch.cat((mem, v), dim=-2))
                reveal_shape(torch.cat((mem, y), dim=1))
                reveal_shape(torch.cat((y, mem), dim=-1))
            def other(self, x, mem: torch.Tensor):
                b, n = x.shape[:2]
                reveal_shape(torch.cat((mem, self.to_kv(x)), dim=-2))
                reveal_shape(torch.cat((self.to_kv(x), mem), dim=1))
    """) == ["... ? dim_head", "b mem[1]+n d", "b n d+mem[2]",
             # ``b ... dim_head*2`` joined along -2, where the segment may be empty: the joined axis may be ``b``;
             # along 1, where it may be the last
             "... ? dim_head*2", "b ? ..."]


def test_a_size_shifted_left_is_doubled():
    out = errors("""
        class Joint(nn.Module):
            def __init__(self, d_model, num_classes):
                super().__init__()
                self.fc = nn.Linear(d_model << 1, num_classes)
                self.proj = nn.Linear(d_model, d_model * 4)
            def forward(self, enc, dec):
                return self.fc(self.proj(enc))
    """)
    assert [d.code for d in out] == ["SHP107"]
    assert '"d_model*2"' in out[0].message and '"d_model*4"' in out[0].message


def test_an_activation_class_of_the_code_a_helper_fills_is_followed():
    out = errors("""
        def default(val, d):
            return val if val is not None else d

        class LocalGELU(nn.Module):
            def forward(self, x):
                return F.gelu(x)

        class FeedForward(nn.Module):
            def __init__(self, dim, mult=4, activation=None):
                super().__init__()
                activation = default(activation, LocalGELU)
                self.w1 = nn.Linear(dim, dim * mult)
                self.act = activation()
                self.w2 = nn.Linear(dim, dim * mult)
            def forward(self, x):
                return self.w2(self.act(self.w1(x)))
    """)
    assert [d.code for d in out] == ["SHP107"]


def test_the_layers_a_base_constructor_sets_through_super_are_the_subclass_s():
    # ``super().__init__(d, n)`` runs the base's constructor on ``self``: ``self.fc`` is its Linear
    src = """
        class Transducer(nn.Module):
            def __init__(self, d_model, num_classes):
                super().__init__()
                self.fc = nn.Linear(d_model, num_classes)

        class Conformer(Transducer):
            def __init__(self, num_classes, encoder_dim=512, decoder_dim=640):
                super().__init__(decoder_dim, num_classes)
                self.norm = nn.LayerNorm(encoder_dim)

            def forward(self, x):
                reveal_shape(self.fc(x))
                return self.fc(self.norm(x))
    """
    assert reveals(src) == ["... num_classes"]
    assert codes(src) == ["SHP107"]


_GLU_FEED_FORWARD = """
    def default(val, d):
        return val if val is not None else d

    class GELU_(nn.Module):
        def forward(self, x):
            return F.gelu(x)

    GELU = nn.GELU if hasattr(nn, "GELU") else GELU_

    class FeedForward(nn.Module):
        def __init__(self, dim, mult=4, activation=None, glu=False):
            super().__init__()
            activation = default(activation, GELU)
            self.glu = glu
            self.w1 = nn.Linear({w1})
            self.act = activation()
            self.w2 = nn.Linear(dim * mult, dim)

        def forward(self, x):
            if not self.glu:
                x = self.act(self.w1(x))
            else:
                x, v = self.w1(x).chunk(2, dim=-1)
                x = self.act(x) * v
            return self.w2(x)
"""


def test_a_flag_that_sizes_a_layer_builds_the_module_each_way():
    # ``(2 if glu else 1)`` in a layer's size: the module is analysed as built with each value of the flag, so
    # the branch ``if not self.glu`` meets the layer that value built; the activation filled from a module-level
    # choice of classes (``GELU = nn.GELU if ... else GELU_``) keeps the features
    bad = _GLU_FEED_FORWARD.format(w1="dim * mult * (2 if glu else 1), dim")
    good = _GLU_FEED_FORWARD.format(w1="dim, dim * mult * (2 if glu else 1)")
    assert codes(bad) == ["SHP107"]
    assert codes(good) == []


def test_a_base_constructor_given_what_the_engine_cannot_evaluate_reads_its_own_parameter():
    # ``super().__init__(make_config(cfg))``: the base reads its ``cfg`` as it does analysed on its own, an
    # object whose fields are sizes named after them
    assert reveals("""
        class Base(nn.Module):
            def __init__(self, cfg):
                super().__init__()
                self.W_dec = nn.Parameter(torch.empty(cfg.d_sae, cfg.d_in))

        class Child(Base):
            def __init__(self, cfg):
                super().__init__(make_config(cfg))

            def fold(self):
                reveal_shape(self.W_dec)
    """) == ["d_sae d_in"]


_FEED_FORWARD_OF_RATIO = """
    class FeedForward(nn.Module):
        def __init__(self, dim, mult, dropout=0.):
            super(FeedForward, self).__init__()
            self.net = nn.Sequential(nn.Conv2d({first}, 1), nn.Hardswish(), nn.Dropout(dropout),
                                     nn.Conv2d(dim * mult, dim, 1))

        def forward(self, x):
            return self.net(x)

    class Transformer(nn.Module):
        def __init__(self, dim, depth, mlp_mult=2):
            super().__init__()
            self.layers = nn.ModuleList([FeedForward(dim, mlp_mult) for _ in range(depth)])
            {more}
"""


def test_a_ratio_without_a_default_is_what_every_construction_in_the_file_gives():
    # ``mult`` has no default; the file builds the block only with ``mlp_mult=2``: the block is built with 2,
    # so ``dim * mult`` is never ``dim``
    bad = _FEED_FORWARD_OF_RATIO.format(first="dim * mult, dim", more="")
    good = _FEED_FORWARD_OF_RATIO.format(first="dim, dim * mult", more="")
    assert codes(bad) == ["SHP107"]
    assert codes(good) == []
    # built with 1 somewhere, or with two ratios: nothing is taken
    assert codes(_FEED_FORWARD_OF_RATIO.format(first="dim * mult, dim", more="self.one = FeedForward(dim, 1)")) == []
    assert codes(_FEED_FORWARD_OF_RATIO.format(first="dim * mult, dim", more="self.four = FeedForward(dim, 4)")) == []


def test_numpy_s_spelling_on_what_may_be_an_array_is_numpy_s():
    # ``repeat(3, axis=2)`` repeats along one axis in NumPy (torch takes a count per axis): not shaped as torch's;
    # a cast keeps the shape
    assert reveals("""
        def f(img):
            h, w, c = img.shape
            reveal_shape(img.astype(np.float32))
            reveal_shape(img.repeat(3, axis=2))
            reveal_shape(img[:, :, :1].repeat(3, axis=2))
    """) == ["h w c", "...", "..."]
    # the class also handed on as a value: built where the file cannot see, with ratios it does not know
    assert codes(_FEED_FORWARD_OF_RATIO.format(first="dim * mult, dim", more="self.block = FeedForward")) == []


def test_a_lone_size_the_code_reads_as_a_whole_number_is_one_size():
    # ``torch.ones(dim)`` is one axis where ``dim`` is named as sizes are or the code counts with it
    # (``nn.Linear(hs * 2, hs)``); a name that says a shape may be a list of sizes and stays unknown
    assert reveals("""
        class Attn(nn.Module):
            def __init__(self, hs, dim, normalized_shape, cfg):
                super().__init__()
                self.attn = nn.Linear(hs * 2, hs)
                self.v = nn.Parameter(torch.rand(hs))
                self.g = nn.Parameter(torch.ones(dim))
                self.w = nn.Parameter(torch.ones(normalized_shape))
                self.b = torch.zeros(cfg.n_embd)
                self.c = torch.zeros(cfg.img_shape)
            def forward(self, x):
                reveal_shape(self.v)
                reveal_shape(self.g)
                reveal_shape(self.w)
                reveal_shape(self.b)
                reveal_shape(self.c)
    """) == ["hs", "dim", "...", "n_embd", "..."]
    # a name that says a shape is one size where the code wraps it in a tuple itself; a name read as a sequence
    # (``torch.Size(normalized_shape)``, ``len(...)``) is never one
    assert reveals("""
        class Norm(nn.Module):
            def __init__(self, normalized_shape, eps=1e-6):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(normalized_shape))
                self.normalized_shape = (normalized_shape,)
            def forward(self, x):
                reveal_shape(self.weight)

        class BiasFree(nn.Module):
            def __init__(self, dim):
                super().__init__()
                assert len(dim) == 1
                self.weight = nn.Parameter(torch.ones(dim))
            def forward(self, x):
                reveal_shape(self.weight)
    """) == ["normalized_shape", "..."]


def test_a_scale_sized_by_a_whole_number_meets_the_features_it_scales():
    bad = """
        class FeedForward(nn.Module):
            def __init__(self, dim, hidden_dim):
                super().__init__()
                self.scale = nn.Parameter(torch.ones({size}))
                self.w1 = nn.Linear(dim, hidden_dim)
                self.w2 = nn.Linear(hidden_dim, dim)
            def forward(self, x):
                return self.w2(self.w1(x)) * self.scale
    """
    assert codes(bad.format(size="hidden_dim")) == ["SHP102"]
    assert codes(bad.format(size="dim")) == []


def test_repeat_and_expand_of_unknown_rank_give_as_many_axes_as_sizes():
    # PyTorch takes no fewer sizes than axes; the sizes line up with the axes known at the end
    assert reveals("""
        def f(hidden, y, n: int):
            reveal_shape(hidden.repeat(n, 1, 1).transpose(0, 1))
            reveal_shape(hidden.expand(n, -1, 4))
            d = y.size(-1)
            reveal_shape(y.repeat(2, 1, 3))
            reveal_shape(y.expand(n, -1, -1))
    """) == ["? ? ?", "n ? 4", "? ? d*3", "n ? d"]


def test_a_class_defined_in_a_class_is_analysed():
    assert codes("""
        class Encoder(nn.Module):
            class SelfAttention(nn.Module):
                def __init__(self, dim, heads=8):
                    super().__init__()
                    self.h, self.dk = heads, dim // heads
                    self.wq = nn.Linear(dim, dim)
                    self.wk = nn.Linear(dim, dim)
                def forward(self, x):
                    b, t, _ = x.shape
                    q = self.wq(x).view(b, t, self.h, self.dk).transpose(1, 2)
                    k = self.wk(x).view(b, t, self.h, self.dk).transpose(1, 2)
                    return F.softmax(torch.matmul(q, k) / self.dk ** 0.5, dim=-1)
    """) == ["SHP201"]


def test_a_library_layer_applied_to_what_an_unknown_call_gave_ends_in_its_features():
    # a Linear's output ends in its out_features, whatever the unknown layer before it gave; a recurrent layer
    # may be given a packed sequence, so nothing is assumed of what it is given
    assert reveals("""
        class Head(nn.Module):
            def __init__(self, dims, vocab_size, rnn):
                super().__init__()
                self.rnn = rnn
                self.head = nn.Linear(dims[-1], vocab_size)
                self.lstm = nn.LSTM(dims[0], 16)
            def forward(self, x, packed):
                reveal_shape(self.head(self.rnn(x)))
                out, _ = self.lstm(self.rnn(packed))
                reveal_shape(out)
    """) == ["... vocab_size", "..."]


def test_sizes_read_from_the_front_of_a_tensor_known_at_its_end_keep_their_names():
    # ``x`` is ``... depth``: ``x.size(0)`` may be ``depth`` itself, so it is not placed in ``x``'s shape, but a
    # view built from it keeps its name
    assert reveals("""
        def split_heads(x, h: int):
            depth = x.size(-1)
            y = torch.reshape(x, (x.size(0), x.size(1), h, depth // h))
            reveal_shape(y)
            reveal_shape(x)
    """) == ["x[0] x[1] h depth//h", "... depth"]


def test_a_view_that_merges_axes_that_are_not_next_to_each_other_reorders_data():
    blocks = """
        def transpose_blocks(q: torch.Tensor, block_ctx: int):
            bs, l, d = q.shape
            return q.view(bs, l // block_ctx, block_ctx, d){between}.contiguous().view(bs * block_ctx, l // block_ctx, d)
    """
    out = errors(blocks.format(between=""))
    assert [d.code for d in out] == ["SHP109"]
    assert 'merges axis "bs" with "block_ctx"' in out[0].message
    assert codes(blocks.format(between=".transpose(1, 2)")) == []
    # a merge of neighbours, and a literal size (which may be one axis or another), say nothing
    assert codes("""
        def fold(y):
            b, h, t, d = y.shape
            return y.reshape(b * h, t, d), y.reshape(b, h * t * d), y.view(b, 2, -1)
    """) == []


_PRE_NORM = """
    class PreNorm(nn.Module):
        def __init__(self, dim, fn):
            super().__init__()
            self.fn = fn
            self.norm = nn.LayerNorm(dim)
        def forward(self, x, **kwargs):
            return self.fn(self.norm(x), **kwargs)

    class Attention(nn.Module):
        def __init__(self, dim, heads=8, dim_head=64):
            super().__init__()
            inner_dim = dim_head * heads
            self.to_q = nn.Linear({to_q}, bias=False)
        def forward(self, x, mask=None):
            return self.to_q(x)

    class Block(nn.Module):
        def __init__(self, *, dim, dim_head=64, heads=8):
            super().__init__()
            self.attn = PreNorm(dim, Attention(dim=dim, dim_head=dim_head, heads=heads))
        def forward(self, x, mask=None):
            return self.attn(x, mask=mask)
"""


def test_a_wrapper_passing_on_its_own_keyword_arguments_calls_the_module_it_wraps():
    # ``self.fn(x, **kwargs)``: the keywords the caller gave (``mask=mask``) are passed on, and the wrapped module
    # is called with the normalised input (analysed on its own, the wrapper passes none)
    assert codes(_PRE_NORM.format(to_q="inner_dim, dim")) == ["SHP107"]
    assert codes(_PRE_NORM.format(to_q="dim, inner_dim")) == []


def test_a_tensor_s_numpy_data_keeps_its_shape_and_numpy_s_slicing():
    assert reveals("""
        def f():
            y = torch.zeros(3, 4).transpose(0, 1).numpy()
            reveal_shape(y)
            reveal_shape(torch.LongTensor(2))
    """) == ["4 3", "2"]
    assert codes("""
        def f():
            return torch.zeros(3, 4).numpy()[:, ::-1], torch.LongTensor(2)[0]
    """) == []
    assert codes("""
        def f():
            return torch.zeros(3, 4)[:, ::-1]
    """) == ["SHP110"]


def test_blocks_in_an_enumerated_loop_and_a_checkpointed_block_are_applied():
    src = """
        class FF(nn.Module):
            def __init__(self, dim, hidden):
                super().__init__()
                self.fc1 = nn.Linear(dim, hidden)
                self.fc2 = nn.Linear({fc2})
            def forward(self, x):
                return self.fc2(self.fc1(x))

        class Net(nn.Module):
            def __init__(self, dim, hidden):
                super().__init__()
                self.norm = nn.LayerNorm(dim)
                self.ff = FF(dim, hidden)
                self.blocks = nn.ModuleList([FF(dim, hidden) for _ in range(3)])
            def forward(self, x):
                x = checkpoint(self.ff, self.norm(x), use_reentrant=False)
                reveal_shape(x)
                for i, blk in enumerate(self.blocks):
                    x = blk(x)
                reveal_shape(x)
    """
    head = "\n        from torch.utils.checkpoint import checkpoint"
    assert reveals(head + src.format(fc2="hidden, dim")) == ["... dim", "... dim"]
    assert codes(head + src.format(fc2="dim, hidden")) == ["SHP107"]


def test_a_stack_whose_first_layer_differs_ends_with_what_the_later_layers_give():
    # ``[nn.Linear(d_in, w)] + [nn.Linear(w, w) ...]``: the first layer is applied first, and each later one keeps
    # ``w``; the loop runs at least once, so ``w`` comes out, by the layer itself or by its index
    src = """
        class Mlp(nn.Module):
            def __init__(self, d_in, width, depth, d_out):
                super().__init__()
                self.layers = nn.ModuleList([nn.Linear(d_in, width)] + [nn.Linear(width, width) for _ in range(depth)])
                self.head = nn.Linear({head})
            def forward(self, x):
                h = x
                for layer in self.layers:
                    h = F.relu(layer(h))
                reveal_shape(h)
                g = x
                for i, layer in enumerate(self.layers):
                    g = F.relu(self.layers[i](g))
                reveal_shape(g)
                return self.head(h) + self.head(g)
    """
    assert reveals(src.format(head="width, d_out")) == ["... width", "... width"]
    assert codes(src.format(head="d_in, d_out")) == ["SHP107", "SHP107"]
    # a later layer that changes the width: what comes out depends on how many ran
    assert reveals(src.format(head="width, d_out").replace("nn.Linear(width, width)", "nn.Linear(width, d_out)")) \
        == ["...", "..."]


_CONSTANT_HEADS = """
    {imports}

    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.wq = nn.Linear(EMBED_SIZE, NUM_HEADS * DK)
        def forward(self, q):
            b = q.size(0)
            reveal_shape(self.wq(q).view(b, -1, NUM_HEADS, DK))
"""


def test_constants_of_the_code_s_own_modules_are_sizes_where_used_as_sizes():
    # the engine does not read ``params``, but a constant used as a size is one, named after it
    src = _CONSTANT_HEADS.format(imports="from params import EMBED_SIZE, NUM_HEADS\n    from config import DK")
    assert reveals(src) == ["b -1@17 NUM_HEADS DK"]


def test_a_constant_a_star_import_gives_is_a_size_where_used_as_one(tmp_path):
    from shapecheck._engine._project import Project
    from test_engine import run

    user = tmp_path / "heads.py"
    src = _CONSTANT_HEADS.format(imports="from params import *")
    user.write_text(src)
    found = run(src, path=str(user), project=Project([user], roots=[str(tmp_path)]))
    assert [d.message for d in found if d.code == "reveal"] == ["b -1@16 NUM_HEADS DK"]


def test_a_gated_feed_forward_built_backwards_is_found_through_its_halves():
    # ``x, gate = x.chunk(2, dim=-1)`` halves a size a constructor names (even from there on): the gate of a
    # Linear built backwards has half of ``dim`` features, which the next layer, built for ``dim * 4``, does not take
    src = """
        class GEGLU(nn.Module):
            def forward(self, x):
                x, gate = x.chunk(2, dim=-1)
                return x * F.gelu(gate)

        class FeedForward(nn.Module):
            def __init__(self, dim, mult=4):
                super().__init__()
                inner_dim = int(dim * mult)
                self.net = nn.Sequential(nn.Linear({first}), GEGLU(), nn.Linear(inner_dim, dim))
            def forward(self, x):
                return self.net(x)
    """
    assert codes(src.format(first="inner_dim * 2, dim")) == ["SHP107"]
    assert codes(src.format(first="dim, inner_dim * 2")) == []


def test_a_size_a_layer_gives_is_traced_back_to_where_the_layer_is_built():
    # the patch embedding's convolution built with its channels swapped: the class token's join, in another class,
    # is where the sizes meet, and its note names the line that chose the wrong size; also where the embedding reads
    # its grid by unpacking the convolution's output (``_, _, H, W``) before flattening it: unpacking names the
    # axes, the channels still come from the line that built the layer
    src = """
        class PatchEmbed(nn.Module):
            def __init__(self, in_chans, embed_dim, patch):
                super().__init__()
                self.proj = nn.Conv2d(embed_dim, in_chans, kernel_size=patch, stride=patch)
            def forward(self, x):
                {embed}

        class ViT(nn.Module):
            def __init__(self, in_chans, embed_dim, patch):
                super().__init__()
                self.patch_embed = PatchEmbed(in_chans, embed_dim, patch)
                self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            def forward(self, x):
                {take}
                return torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
    """
    line = 6 + 5  # the header's lines, then the constructor's call of ``nn.Conv2d``
    unpacked = "x = self.proj(x)\n                _, _, H, W = x.shape\n                return x.flatten(2).transpose(1, 2), H, W"
    for embed, take in (("return self.proj(x).flatten(2).transpose(1, 2)", "x = self.patch_embed(x)"),
                        (unpacked, "x, H, W = self.patch_embed(x)")):
        out = errors(src.format(embed=embed, take=take))
        assert [d.code for d in out] == ["SHP110"]
        assert any(n.endswith(f"(output channels of the `Conv2d` built at m.py:{line})") for n in out[0].notes), \
            out[0].notes


def test_a_layers_weight_used_by_hand_is_traced_back_to_where_the_layer_is_built():
    # the input projection built with its sizes swapped, its weight multiplied by hand and the product halved: the
    # halves meet the depthwise convolution two lines on, and the note names the line that chose the sizes
    src = """
        class Mixer(nn.Module):
            def __init__(self, d_model, d_inner):
                super().__init__()
                self.in_proj = nn.Linear(d_inner * 2, d_model)
                self.conv1d = nn.Conv1d(d_inner, d_inner, 4, groups=d_inner, padding=3)
            def forward(self, hidden):
                batch, length, width = hidden.shape
                xz = self.in_proj.weight @ hidden.transpose(1, 2)
                x, z = xz.chunk(2, dim=1)
                return self.conv1d(x)[..., :length] * z
    """
    out = errors(src)
    assert errors(src.replace("nn.Linear(d_inner * 2, d_model)", "nn.Linear(d_model, d_inner * 2)")) == []
    assert [d.code for d in out] == ["SHP107"]
    line = 6 + 5  # the header's lines, then the constructor's call of ``nn.Linear``
    assert any(n.endswith(f"(a part of `out_features` of the `Linear` built at m.py:{line})") for n in out[0].notes), \
        out[0].notes


def test_a_layer_fills_the_unknown_last_axis_of_an_input_known_from_the_back():
    # ``n = x.shape[-2]`` makes ``x`` "... n ?": the first projection fixes its last axis, so the second one,
    # built for another width, meets it
    src = """
        class Attn(nn.Module):
            def __init__(self, dim, heads=8, dim_key=64):
                super().__init__()
                self.to_q = nn.Linear({q})
                self.to_k = nn.Linear(dim, dim_key * heads)
            def forward(self, x):
                n = x.shape[-2]
                q = self.to_q(x)
                reveal_shape(x)
                return q, self.to_k(x), n
    """
    assert reveals(src.format(q="dim, dim_key * heads")) == ["... n dim"]
    assert errors(src.format(q="dim, dim_key * heads")) == []
    assert [d.code for d in errors(src.format(q="dim_key * heads, dim"))] == ["SHP107"]


def test_a_batch_norm_keeps_a_features_axis_of_unknown_rank():
    # PointNet's head: ``Linear`` then ``BatchNorm1d`` on an input of unknown rank; the norm cannot place its
    # channels but keeps the shape, so the next ``Linear`` meets the features
    src = """
        class Head(nn.Module):
            def __init__(self, d_in, hidden, n_cls):
                super().__init__()
                self.fc1 = nn.Linear(d_in, hidden)
                self.bn = nn.BatchNorm1d(hidden)
                self.fc2 = nn.Linear({fc2})
            def forward(self, x):
                return self.fc2(self.bn(self.fc1(x)))
    """
    assert errors(src.format(fc2="hidden, n_cls")) == []
    assert [d.code for d in errors(src.format(fc2="n_cls, hidden"))] == ["SHP107"]


def test_a_helper_asserting_a_shape_is_that_assertion():
    # ``misc.assert_shape(z, [None, z_dim])`` (StyleGAN's helper, imported) reads as ``assert z.shape == ...``, a
    # ``None`` size being any size
    src = """
        from torch_utils import misc
        class Mapping(nn.Module):
            def __init__(self, z_dim, c_dim, embed_features):
                super().__init__()
                self.z_dim = z_dim
                self.embed = nn.Linear(c_dim, embed_features)
            def forward(self, z, c):
                misc.assert_shape(z, [None, self.z_dim])
                reveal_shape(z)
                return torch.cat([z, self.embed(c)], dim={dim})
    """
    assert reveals(src.format(dim=1)) == ["? z_dim"]
    assert errors(src.format(dim=1)) == []
    assert [d.code for d in errors(src.format(dim=2))] == ["SHP106"]
    # one the inferred shape contradicts is reported, as the assertion is
    found = errors("""
        def f(x: Float[Tensor, "b n d"]):
            assert_shape(x, (None, None))
    """)
    assert [d.code for d in found] == ["SHP104"]
