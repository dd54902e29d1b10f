"""The engine on code as it is written: unannotated inputs, sizes that keep their names, containers.

Each case is a form met in public model code that the engine used to know nothing about; the
reveals show what it knows now, and the bugs are the classic ones seeded into such code.
"""

from __future__ import annotations

import textwrap

from test_engine import codes, errors, reveals, run


# -- unannotated inputs learn their axes ------------------------------------------------------------

def test_axes_read_one_at_a_time_name_the_input():
    out = errors("""
        def merge(x, n_heads: int, d: int):
            b = x.shape[0]
            t = x.shape[1]
            h = torch.zeros(n_heads, b, t, d)
            return h.view(b, t, -1)
    """)
    assert [d.code for d in out] == ["SHP109"]
    assert '"b"' in out[0].message and '"n_heads"' in out[0].message


def test_axes_read_without_a_name_are_named_by_position():
    assert reveals("""
        def f(x):
            y = torch.zeros(x.size(0), x.shape[1])
            reveal_shape(y)
            reveal_shape(x)

        def g(x):
            reveal_shape(torch.zeros(x.size(-1), x.shape[-3]))
            reveal_shape(x)
    """) == ["x[0] x[1]", "x[0] x[1] ...", "x[-1] x[-3]", "... x[-3] ? x[-1]"]


def test_an_input_of_unknown_rank_learns_axes_from_one_end_only():
    # once the front is known, an axis counted from the end could be one of them (rank unknown)
    assert reveals("""
        def f(x):
            reveal_shape(torch.zeros(x.size(0), x.shape[-1]))
            reveal_shape(x)
    """) == ["x[0] x[-1]", "x[0] ..."]  # the second read is not placed in x's shape
    # nor is it distinct from the first: x may have one axis
    assert codes("""
        def f(x):
            n = x.size(0)
            d = x.shape[-1]
            return torch.zeros(n) + torch.zeros(d)
    """) == []


def test_an_axis_read_twice_is_the_same_axis():
    assert codes("""
        def f(x):
            a = torch.zeros(x.shape[1])
            b = torch.zeros(x.size(1))
            return a + b
    """) == []


def test_axes_of_one_tensor_are_distinct():
    out = errors("""
        def tile_bias(x):
            rows, cols = x.size()
            return torch.zeros(rows, cols, 5) + torch.zeros(rows, 5)
    """)
    assert [d.code for d in out] == ["SHP102"]
    assert '"rows"' in out[0].message and '"cols"' in out[0].message


def test_axes_counted_from_both_ends_may_be_one_axis():
    # x may have one axis: x.shape[0] and x.shape[-1] are then the same
    assert codes("""
        def f(x):
            return torch.zeros(x.shape[0]) + torch.zeros(x.shape[-1])
    """) == []


def test_an_assert_makes_two_axes_one():
    assert codes("""
        def f(m, chunk: int):
            B, C, C_ = m.shape
            assert C == chunk == C_
            return m.transpose(1, 2) * torch.ones(C, C)
    """) == []
    assert codes("""
        def g(m):
            R, Cc = m.shape
            if R != Cc:
                raise ValueError("square matrices only")
            return m @ m
    """) == []


def test_a_function_local_import_binds_the_library():
    assert codes("""
        def f():
            import torch
            import torch.nn.functional as F
            return F.softmax(torch.zeros(3, 4) @ torch.zeros(5, 6), dim=-1)
    """) == ["SHP101"]


# -- sizes from constructors and configs keep their names -----------------------------------------

def test_constructor_arguments_are_distinct_axes():
    out = errors("""
        class Mixer(nn.Module):
            def __init__(self, d_src: int, d_tgt: int):
                super().__init__()
                self.proj = nn.Linear(d_src, d_tgt)

            def forward(self, a: Float[Tensor, "n d_src"], b: Float[Tensor, "n d_tgt"]) -> Float[Tensor, "n d_tgt"]:
                return self.proj(b)
    """)
    assert [d.code for d in out] == ["SHP107"]


def test_config_fields_are_distinct_axes():
    out = errors("""
        class Mix(nn.Module):
            def __init__(self, s):
                super().__init__()
                self.a = nn.Parameter(torch.randn(s.width, s.hidden))
                self.c = nn.Parameter(torch.randn(s.rank, s.hidden))

            def forward(self, x: Float[Tensor, "n width"]):
                return (x @ self.a) @ self.c
    """)
    assert [d.code for d in out] == ["SHP101"]
    assert '"hidden"' in out[0].message and '"rank"' in out[0].message


def test_swapped_conv_sizes_on_an_unannotated_input():
    assert codes("""
        class Stem(nn.Module):
            def __init__(self, n_mels: int, n_state: int):
                super().__init__()
                self.conv1 = nn.Conv1d(n_state, n_mels, kernel_size=3, padding=1)
                self.conv2 = nn.Conv1d(n_state, n_state, kernel_size=3, padding=1)

            def forward(self, x):
                return self.conv2(F.gelu(self.conv1(x)))
    """) == ["SHP107"]


def test_a_size_from_code_still_binds_to_a_data_axis():
    # ConvNeXt-style: the layer's width meets the data's channels axis; no contradiction
    assert codes("""
        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
                self.norm = nn.LayerNorm(dim)

            def forward(self, x: Float[Tensor, "b channels h w"]):
                y = self.dw(x)
                return x + y
    """) == []


def test_related_sizes_are_not_distinct():
    assert codes("""
        class Up(nn.Module):
            def __init__(self, dim: int, dim_out: int):
                super().__init__()
                self.skip = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()
                self.conv = nn.Conv2d(dim, dim_out, 3, padding=1)

            def forward(self, x):
                return self.conv(x) + self.skip(x)
    """) == []


def test_device_and_dtype_keyword_dicts_are_spliced():
    assert codes("""
        class Mlp(nn.Module):
            def __init__(self, dim: int, device=None, dtype=None):
                super().__init__()
                dd = {"device": device, "dtype": dtype}
                self.fc1 = nn.Linear(dim, 4 * dim, **dd)
                self.fc2 = nn.Linear(dim, 4 * dim, **dd)

            def forward(self, x: Float[Tensor, "b n dim"]):
                return self.fc2(self.fc1(x))
    """) == ["SHP107"]


# -- values that are not tensors keep the tensor's rank ----------------------------------------------

def test_an_optional_scale_keeps_the_scores_rank():
    assert reveals("""
        class Attention(nn.Module):
            def __init__(self, dim, num_heads=8, qk_scale=None):
                super().__init__()
                self.num_heads = num_heads
                self.scale = qk_scale or (dim // num_heads) ** -0.5
                self.qkv = nn.Linear(dim, dim * 3)

            def forward(self, x):
                B, N, C = x.shape
                qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
                q, k, v = qkv[0], qkv[1], qkv[2]
                attn = (q @ k.transpose(-2, -1)) * self.scale
                reveal_shape(attn)
                return attn
    """) == ["B num_heads N N"]


def test_a_math_constant_is_a_number():
    # `2 * math.pi` scales a tensor as any Python number does (Fourier position encodings)
    assert reveals("""
        import math

        class Fourier(nn.Module):
            def __init__(self):
                super().__init__()
                self.scale = 2 * math.pi

            def forward(self, H: int, W: int):
                y = torch.zeros(1, H, W)
                reveal_shape(y * self.scale)
                reveal_shape(y / math.pi)
                return y
    """) == ["1 H W", "1 H W"]


def test_an_unknown_scale_on_the_left_keeps_the_tensors_axes():
    # `self.scale * attn` is `attn * self.scale` written the other way round; an unknown tensor added to a
    # positional table keeps the table's trailing axes, as it does on the right of the `+`
    assert reveals("""
        class Attention(nn.Module):
            def __init__(self, scale, n: int, d: int):
                super().__init__()
                self.scale = scale
                self.pos = nn.Parameter(torch.zeros(1, n, d))

            def forward(self, attn: Float[Tensor, "b h i j"], x):
                reveal_shape(self.scale * attn)
                reveal_shape(x + self.pos)
                reveal_shape(self.pos + x)
                return x
    """) == ["... b h i j", "... ? n d", "... ? n d"]


def test_a_cat_gives_a_part_of_unknown_rank_the_rank_of_the_others():
    # every part of a cat has one rank: `x` (known at its end) beside a `(b, 1, d)` token is `(?, n, d)`,
    # and an unevaluated part is three unknown axes, which adds a size of its own to the joined one (named after
    # the line of the cat)
    assert reveals("""
        def f(tok: Float[Tensor, "b 1 d"], x, n: int, d: int, enc):
            x = x + torch.zeros(n, d)
            reveal_shape(torch.cat((tok, x), dim=1))
            reveal_shape(torch.cat([tok, enc(x)], dim=1))
    """) == ["b n+1 d", "b cat@11+1 d"]


# -- partial shapes survive containers ----------------------------------------------------------------

def test_a_list_grown_in_a_loop_is_stacked():
    assert reveals("""
        def branches(x: Float[Tensor, "b c"], n: int):
            outs = []
            for _ in range(n):
                outs.append(x * 2)
            reveal_shape(torch.stack(outs, 0))
    """) == ["n b c"]  # one part in each of the ``n`` runs


def test_append_and_augmented_add_grow_a_list():
    assert reveals("""
        def f(x: Float[Tensor, "b c"]):
            outs = [x]
            outs.append(x + 1)
            outs += [x * 3]
            reveal_shape(torch.cat(outs, -1))
            reveal_shape(sum(outs))
    """) == ["b c*3", "b c"]


def test_in_place_add_of_an_unknown_keeps_the_target():
    assert reveals("""
        def f(x: Float[Tensor, "b c"], ys):
            acc = x * 1
            for y in ys:
                acc += y
            reveal_shape(acc)
            reveal_shape(torch.cat([x, ys], dim=0))
    """) == ["b c", "b+ys[0] c"]


def test_module_containers_are_followed():
    assert reveals("""
        class Block(nn.Module):
            def __init__(self, d):
                super().__init__()
                self.fc = nn.Linear(d, d)

            def forward(self, x):
                return self.fc(x)

        class Net(nn.Module):
            def __init__(self, d: int, n: int, vocab: int):
                super().__init__()
                self.seq = nn.Sequential(*[nn.Linear(d, d) for _ in range(n)])
                self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(vocab, d),
                                                      h=nn.ModuleList([Block(d) for _ in range(n)])))
                self.up = nn.ConvTranspose2d(d, d // 2, 2, stride=2)

            def forward(self, x: Float[Tensor, "b t d"], idx, img):
                reveal_shape(self.seq(x))
                reveal_shape(self.transformer.wte(idx))
                for blk in self.transformer["h"]:
                    x = blk(x)
                reveal_shape(x)
                reveal_shape(self.up(img))
    """) == ["b t d", "... d", "b t d", "... d//2 ? ?"]


# -- false alarms met on real code ----------------------------------------------------------------------

def test_an_attribute_of_an_unknown_object_is_not_an_integer_index():
    assert reveals("""
        def pick(y: Float[Tensor, "b n d"], data):
            reveal_shape(y[:, data.flags])
            reveal_shape(y[:, 0])
    """) == ["...", "b d"]


def test_a_local_annotation_names_a_size_variable_of_the_function():
    assert codes("""
        def solve(rays: Float[Tensor, "n 3"], A):
            NR = rays.size(0)
            x: Float[Tensor, "NR 3 3"] = torch.linalg.solve(A, A)
            return rays[:, :, None] * x
    """) == []


def test_axes_before_a_variadic_segment_survive_broadcasting_only_when_both_sides_share_them():
    assert reveals("""
        def f(x: Float[Tensor, "b *rest"], y: Float[Tensor, "b *rest"], z: Float[Tensor, "*rest"]):
            reveal_shape(F.gelu(x) + y)
            reveal_shape(x + z)
    """) == ["b *rest", "..."]


def test_a_layer_on_an_input_with_a_trailing_variadic_replaces_an_unknown_last_axis():
    assert reveals("""
        class M(nn.Module):
            def __init__(self, d: int, e: int):
                super().__init__()
                self.lin = nn.Linear(d, e)

            def forward(self, x):
                b = x.shape[0]
                reveal_shape(self.lin(x))
    """) == ["... e"]


def test_attributes_set_in_either_branch_of_init_are_joined():
    # regression (diffusers): the last branch's value used to overwrite the first
    assert reveals("""
        class Tokens(nn.Module):
            def __init__(self, mode: str, in_channels: int, out_channels: int):
                super().__init__()
                if mode == "encoder":
                    self.new = nn.Parameter(torch.randn(1, 1, out_channels))
                else:
                    self.new = nn.Parameter(torch.randn(1, 1, in_channels))
                self.kept = nn.Parameter(torch.randn(1, in_channels))

            def forward(self, x: Float[Tensor, "n s out_channels"]):
                reveal_shape(self.new)
                reveal_shape(self.kept)
                return torch.cat([x, self.new.expand(x.shape[0], 1, -1)], dim=1)
    """) == ["1 1 ?", "1 in_channels"]


def test_a_branch_on_a_rank_the_annotation_rules_out_is_not_analysed():
    # regression (perceiver-pytorch, once annotated): `queries` has 3 axes, the 2-axis branch never runs
    assert codes("""
        from einops import repeat

        def forward(data: Float[Tensor, "b n d"], queries: Float[Tensor, "b m d"]):
            b = data.shape[0]
            if queries.ndim == 2:
                queries = repeat(queries, "n d -> b n d", b=b)
            return queries
    """) == []


def test_attributes_a_parent_class_sets_are_not_known_to_be_distinct():
    # `hidden_size` and `embed_dim` may be one value set by a base class this file does not show
    assert codes("""
        class Layer(Base):
            def forward(self, x):
                h = torch.randn(3, self.embed_dim)
                return h @ torch.randn(self.hidden_size, 4)
    """) == []


def test_a_normalization_layer_passed_as_a_class_keeps_the_shape():
    # timm: `self.q_norm = norm_layer(head_dim) if qk_norm else nn.Identity()`
    assert reveals("""
        class Attention(nn.Module):
            def __init__(self, dim, num_heads=8, qk_norm=False, norm_layer=None):
                super().__init__()
                self.num_heads = num_heads
                self.head_dim = dim // num_heads
                self.qkv = nn.Linear(dim, dim * 3)
                self.q_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()

            def forward(self, x):
                B, N, C = x.shape
                qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
                q, k, v = qkv.unbind(0)
                reveal_shape(self.q_norm(q))
    """) == ["B num_heads N C//num_heads"]


def test_an_optional_size_filled_in_when_none_is_a_size():
    # timm: `head_dim = attn_head_dim; if head_dim is None: head_dim = dim // num_heads`
    assert reveals("""
        class Attention(nn.Module):
            def __init__(self, dim: int, num_heads: int = 8, attn_head_dim=None):
                super().__init__()
                head_dim = attn_head_dim
                if head_dim is None:
                    head_dim = dim // num_heads
                self.num_heads, self.head_dim = num_heads, head_dim
                self.qkv = nn.Linear(dim, num_heads * head_dim * 3)

            def forward(self, x):
                B, N, C = x.shape
                qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
                reveal_shape(qkv)
    """) == ["3 B num_heads N attn_head_dim'"]  # ``attn_head_dim`` where given, else another size: one of the two


def test_a_parameter_typed_with_a_module_class_is_an_instance_of_it():
    assert reveals("""
        class Block(nn.Module):
            def __init__(self, d: int, e: int):
                super().__init__()
                self.fc = nn.Linear(d, e)

            def forward(self, x):
                return self.fc(x)

        def run(block: Block, x: Float[Tensor, "b d"]):
            reveal_shape(block(x))
    """) == ["b e"]


def test_a_reversed_slice_is_reported_of_a_tensor_but_not_of_what_may_be_a_numpy_array():
    # an unannotated ``img`` indexed like an array may be a NumPy array, where ``[::-1]`` is fine,
    # also after a branch that sliced it; a tensor made by torch refuses a negative step
    assert codes("""
        def flip(img, rows: bool):
            if rows:
                img = img[:, ::-1, :]
            return img[::-1, :, :]

        def flip_tensor(n: int):
            x = torch.zeros(n, 3)
            return x[::-1, :]
    """) == ["SHP110"]


def test_an_object_whose_rank_is_asserted_may_still_be_a_numpy_array():
    # ``assert image.ndim == 3`` says the rank of an image that ``torch.from_numpy`` takes afterwards; NumPy
    # reverses its channels with ``[:, :, ::-1]`` (a tensor asserted the same way would refuse it)
    assert codes("""
        def to_tensor(image):
            assert image.ndim == 3
            image = image[:, :, ::-1].copy()
            return torch.from_numpy(image).float()

        def flip_tensor(x: Float[Tensor, "h w c"]):
            assert x.ndim == 3
            return x[:, :, ::-1]
    """) == ["SHP110"]


def test_each_tensor_a_lambda_is_applied_to_has_axes_of_its_own():
    # ``map(lambda t: (t[:, :-n], t[:, -n:]), (q, k))`` on tensors of unknown shape: the axes the
    # lambda reads from ``q`` are not siblings of those it reads from ``k`` (they may well be equal)
    assert codes("""
        from torch import einsum
        from einops import rearrange

        class Attend(nn.Module):
            def __init__(self, dim, heads=8, dim_head=64):
                super().__init__()
                self.to_qkv = nn.Linear(dim, dim_head * heads * 3, bias=False)

            def forward(self, x, h: int, n_img: int, rotary=None):
                q, k, v = map(lambda t: rearrange(t, 'b n (h d) -> (b h) n d', h=h), self.to_qkv(x).chunk(3, dim=-1))
                if rotary is not None:
                    q, k, v = rotary_fn(rotary, (q, k, v))
                (q_text, q_img), (k_text, k_img), (v_text, v_img) = map(lambda t: (t[:, :-n_img], t[:, -n_img:]), (q, k, v))
                return einsum('b i d, b j d -> b i j', q_img, k_text)
    """) == []


def test_a_flag_set_in_init_from_an_equality_relates_the_sizes_where_it_holds():
    # ``self.has_skip = stride == 1 and c_in == c_out``: under ``if self.has_skip:`` the two counts are
    # one; a flag that says nothing of them relates nothing
    src = """
        class Block(nn.Module):
            def __init__(self, c_in, c_out, stride=1):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 3, stride, 1)
                self.has_skip = FLAG

            def forward(self, x):
                out = self.conv(x)
                if self.has_skip:
                    out = out + x
                return out
    """
    assert codes(src.replace("FLAG", "(stride == 1) and (c_in == c_out)")) == []
    assert codes(src.replace("FLAG", "stride == 1")) == ["SHP102"]


def test_sizes_with_one_literal_default_may_be_equal_and_different_defaults_are_not():
    # ``a: int = 2, b: int = 2`` added together: the defaults say they may be one size; 2 and 3 cannot be
    src = """
        class TwoPaths(nn.Module):
            def __init__(self, a: int = 2, b: int = DEFAULT_B):
                super().__init__()
                self.c1 = nn.Conv1d(4, a, 1)
                self.c2 = nn.Conv1d(4, b, 1)

            def forward(self, x):
                return self.c1(x) + self.c2(x)
    """
    assert codes(src.replace("DEFAULT_B", "2")) == []
    assert codes(src.replace("DEFAULT_B", "3")) == ["SHP102"]


def test_a_flags_default_path_is_not_taken_for_every_caller():
    # timm-style block: the shortcut is projected only when told to downsample; by default the sum needs
    # inp == oup, as its callers build it. Taking ``downsample=False`` for every caller would make "inp" meet
    # "oup" (a false alarm once met); the engine joins both paths and reports nothing
    assert errors("""
        class MixBlock(nn.Module):
            def __init__(self, inp, oup, downsample=False):
                super().__init__()
                self.proj = nn.Conv2d(inp, oup, 1) if downsample else nn.Identity()
                self.norm = nn.LayerNorm(inp)
                self.mix = nn.Linear(inp, oup)

            def forward(self, x):
                B, C, H, W = x.shape
                shortcut = self.proj(x)
                t = self.mix(self.norm(x.flatten(2).transpose(1, 2)))
                return shortcut + t.transpose(1, 2).reshape(B, -1, H, W)
    """) == []


def test_a_module_is_also_analysed_as_built_with_each_value_of_a_flag_that_picks_its_layers():
    # timm-style pooling head: the layers built for ``pool="spatial"`` disagree with each other; analysed on its
    # own, ``self.out`` is one of two layers (a finding of one option alone is not reported), so the module is
    # analysed once more per value of the flag
    src = """
        class Head(nn.Module):
            def __init__(self, dim, hidden, out, pool="avg"):
                super().__init__()
                if pool == "spatial":
                    self.proj = nn.Linear(dim, hidden)
                    self.out = nn.Linear({fixed}, out)
                else:
                    self.proj = nn.Identity()
                    self.out = nn.Linear(dim, out)

            def forward(self, x):
                return self.out(self.proj(x.mean(dim=(2, 3))))
    """
    out = errors(src.format(fixed="dim"))
    assert [d.code for d in out] == ["SHP107"]
    assert '"hidden"' in out[0].message and any("`pool='spatial'`" in n for n in out[0].notes)
    assert codes(src.format(fixed="hidden")) == []


def test_a_bool_flag_is_tried_both_ways():
    src = """
        class Gate(nn.Module):
            def __init__(self, channels, rd, use_mlp=False):
                super().__init__()
                if use_mlp:
                    self.conv = nn.Conv1d(channels, rd, 1)
                    self.conv2 = nn.Conv1d({rd}, channels, 1)
                else:
                    self.conv = nn.Conv1d(channels, channels, 3, padding=1)
                    self.conv2 = None

            def forward(self, x):
                y = self.conv(x)
                if self.conv2 is not None:
                    y = self.conv2(y)
                return torch.sigmoid(y)
    """
    out = errors(src.format(rd="channels"))
    assert [d.code for d in out] == ["SHP107"] and any("`use_mlp=True`" in n for n in out[0].notes)
    assert codes(src.format(rd="rd")) == []


def test_a_flag_value_that_hands_the_input_on_is_not_tried():
    # ``downsample=False`` builds an ``Identity`` where ``True`` builds a projection: callers build it so only when
    # ``inp == oup``, which the engine cannot know (the residual sum would meet "inp" with "oup")
    assert errors("""
        class Down(nn.Module):
            def __init__(self, inp, oup, downsample=False):
                super().__init__()
                if downsample:
                    self.proj = nn.Conv2d(inp, oup, 1)
                else:
                    self.proj = nn.Identity()
                self.body = nn.Conv2d(inp, oup, 3, padding=1)

            def forward(self, x):
                return self.proj(x) + self.body(x)
    """) == []


def test_under_a_flag_only_forward_is_analysed_again():
    # an encoder/decoder block: ``_decode`` runs only for ``mode="decoder"``, where the token is built with
    # ``c_in``; analysed as a method of the module built with ``mode="encoder"`` it would join "c_in" with "c_out"
    assert errors("""
        class Stage(nn.Module):
            def __init__(self, c_in, c_out, mode="encoder"):
                super().__init__()
                self.mode = mode
                if mode == "encoder":
                    self.token = nn.Parameter(torch.zeros(1, 1, c_out))
                    self.proj = nn.Linear(c_in, c_out)
                else:
                    self.token = nn.Parameter(torch.zeros(1, 1, c_in))
                    self.proj = nn.Linear(c_in, c_out)

            def _encode(self, x: Float[Tensor, "b t c_in"]):
                y = self.proj(x)
                return torch.cat([y, self.token.expand(y.shape[0], 1, -1)], dim=1)

            def _decode(self, x: Float[Tensor, "b t c_in"]):
                y = torch.cat([x, self.token.expand(x.shape[0], 1, -1)], dim=1)
                return self.proj(y)

            def forward(self, x):
                return self._encode(x) if self.mode == "encoder" else self._decode(x)
    """) == []


def test_under_a_flag_a_callee_s_finding_is_left_to_the_module_s_own():
    # a U-Net up block built with ``learned=True``: its ``cat`` along the height gives the block ``c // 2``
    # channels; the bug is the ``cat`` (SHP307), and the block's convolution meeting those channels is reported
    # once, there, not again in ``Block.forward``
    src = """
        class Block(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU())

            def forward(self, x):
                return self.net(x)

        class Up(nn.Module):
            def __init__(self, c, c_out, learned=False):
                super().__init__()
                if learned:
                    self.up = nn.ConvTranspose2d(c, c // 2, 2, stride=2)
                    self.block = Block(c, c_out)
                else:
                    self.up = nn.Upsample(scale_factor=2)
                    self.block = Block(c + c // 2, c_out)

            def forward(self, x, skip):
                x = self.up(x)
                x = torch.cat([skip, x], dim={dim})
                return self.block(x)
    """
    out = errors(src.format(dim=2))
    # (built by default, the block's ``c + c // 2`` channels are the two parts' sum: the ``cat`` is reported there
    # as well, once)
    assert [d.code for d in out] == ["SHP307"] and out[0].message.startswith("`cat`")
    assert errors(src.format(dim=1)) == []


def test_under_a_flag_a_branch_the_engine_cannot_decide_reports_nothing():
    # BLIP-style: the keys' layer is built for the encoder's width under ``cross``; forward meets it with the
    # encoder's states only when they are given, which a module built with ``cross=True`` does not say
    src = """
        class Attn(nn.Module):
            def __init__(self, hidden, enc_width, cross=False):
                super().__init__()
                if cross:
                    self.key = nn.Linear(enc_width, hidden)
                else:
                    self.key = nn.Linear(hidden, hidden)

            def forward(self, h: Float[Tensor, "b t hidden"], enc=None):
                if enc is not None:
                    k = self.key(enc)
                else:
                    k = self.key(h)
                return k
    """
    assert errors(src) == []


# -- layers of code the engine cannot read ----------------------------------------------------------

def test_a_layer_imported_from_code_not_read_is_the_library_layer_it_is_named_after():
    # detectron2's Conv2d (a norm and an activation after the convolution) read from a file alone
    src = """
        from detectron2.layers import Conv2d
        from .layers import Linear

        class Bottleneck(nn.Module):
            def __init__(self, in_channels, bottleneck_channels, out_channels, num_classes):
                super().__init__()
                self.conv1 = Conv2d(in_channels, bottleneck_channels, kernel_size=1, bias=False,
                                    norm=nn.BatchNorm2d(bottleneck_channels), activation=F.relu)
                self.conv2 = Conv2d(CONV2, kernel_size=3, padding=1, bias=False)
                self.fc = Linear(out_channels, num_classes)

            def forward(self, x):
                out = self.conv1(x)
                reveal_shape(out)
                out = self.conv2(out)
                return self.fc(out.mean((2, 3)))
    """
    out = run(src.replace("CONV2", "bottleneck_channels, out_channels"))
    assert [d.message for d in out] == ["... bottleneck_channels ? ?"]
    out = errors(src.replace("CONV2", "out_channels, bottleneck_channels"))
    assert [d.code for d in out] == ["SHP107"]
    assert '"out_channels"' in out[0].message and '"bottleneck_channels"' in out[0].message


def test_a_layer_of_another_framework_named_as_a_library_layer_is_not_taken_for_it():
    # haiku's and sonnet's Linear take the output size alone; peft's takes the layer it adapts
    assert reveals("""
        from haiku import Linear
        from peft.tuners.lora import Linear as LoraLinear

        def f(x, base):
            reveal_shape(Linear(10)(x))
            reveal_shape(LoraLinear(base, "default")(x))
    """) == ["...", "..."]


# -- a module as it is built by default ---------------------------------------------------------------

_TIMM_ATTENTION = """
    class Attention(nn.Module):
        def __init__(self, dim, num_heads=8, attn_head_dim=None, dim_out=None):
            super().__init__()
            dim_out = dim_out or dim
            head_dim = attn_head_dim
            if head_dim is None:
                assert dim % num_heads == 0
                head_dim = dim // num_heads
            self.num_heads = num_heads
            self.head_dim = head_dim
            self.attn_dim = num_heads * head_dim
            self.qkv = nn.Linear(QKV)
            self.proj = nn.Linear(self.attn_dim, dim_out)

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            x = (q @ k.transpose(-2, -1)).softmax(dim=-1) @ v
            return self.proj(x.transpose(1, 2).reshape(B, N, self.attn_dim))
"""


def test_a_module_is_also_analysed_as_built_with_the_sizes_it_fills_in_itself():
    # with `attn_head_dim` given, the swapped qkv layer runs when dim == 3 * attn_dim; as the module is
    # built by default (head_dim = dim // num_heads, so attn_dim is dim) it never does
    assert codes(_TIMM_ATTENTION.replace("QKV", "dim, self.attn_dim * 3")) == []
    out = errors(_TIMM_ATTENTION.replace("QKV", "self.attn_dim * 3, dim"))
    assert [d.code for d in out] == ["SHP103"]
    assert any("built with `attn_head_dim`, `dim_out` left to None" in n for n in out[0].notes)


def test_a_module_built_by_default_fills_in_sizes_through_helpers_and_copies():
    import ast

    from shapecheck._engine._entries import defaults_filled_in

    init = ast.parse(textwrap.dedent("""
        def __init__(self, dim, heads=8, dim_head=None, context_dim=None, attn_head_dim=None, norm=None, out=None,
                     hidden=None, downsample=None, act=None, scale=None):
            dim_head = default(dim_head, dim // heads)
            head_dim = attn_head_dim
            if head_dim is None:
                head_dim = dim // heads
            out = out or dim
            hidden = int(dim * 4) if hidden is None else hidden
            self.norm = norm
            self.act = act or nn.GELU
            self.is_first = downsample is not None
            self.scale = scale or head_dim ** -0.5
    """)).body[0]
    assert defaults_filled_in(init) == ("dim_head", "attn_head_dim", "out", "hidden", "downsample", "act",
                                        "scale")


def test_a_module_built_by_default_does_not_judge_the_sizes_callers_give_distinct():
    # built without `downsample`, the block adds its input to its output: callers leave it out only where the
    # channels already match, so `inplanes` and `planes * 4` are not distinct there
    assert codes("""
        class Bottleneck(nn.Module):
            def __init__(self, inplanes, planes, stride=1, downsample=None, width=None):
                super().__init__()
                self.is_first = stride > 1 or downsample is not None
                width = width or planes
                self.conv1 = nn.Conv2d(inplanes, width, 1)
                self.conv2 = nn.Conv2d(width, planes * 4, 1)
                self.downsample = downsample

            def forward(self, x):
                shortcut = x
                out = self.conv2(self.conv1(x))
                if self.downsample is not None:
                    shortcut = self.downsample(x)
                return out + shortcut
    """) == []


# -- a cat with a part of unknown shape, blocks chosen by class ------------------------------------------

def test_a_join_on_the_feature_axis_is_found_through_the_norm():
    # tokens ``(b, n, dim)`` joined with memory of unknown shape: along axis 1 the norm gets its ``dim``
    # features; along axis 2 it gets ``dim`` and the memory's own features (``dim`` itself when the tokens are
    # of unknown rank, where axis 2 may be their last)
    src = """
        class Memory(nn.Module):
            def __init__(self, d_in, dim):
                super().__init__()
                self.proj = nn.Linear(d_in, dim)
                self.norm = nn.LayerNorm(dim)
            def forward(self, x: Float[Tensor, "b n d_in"], mem):
                x = self.proj(x)
                return self.norm(torch.cat((x, mem), dim={}))
    """
    assert errors(src.format(1)) == []
    out = errors(src.format(2))
    assert [d.code for d in out] == ["SHP107"]
    assert '"dim+mem[2]"' in out[0].message


def test_what_an_unknown_part_adds_is_never_equated_to_one_size():
    # ``dim + ctx[2]`` meets ``dim + ctx_dim``: not provably different, so nothing is reported, and the
    # joined size is shown with the part it came from
    assert errors("""
        class Fuse(nn.Module):
            def __init__(self, dim, ctx_dim):
                super().__init__()
                self.proj = nn.Linear(dim + ctx_dim, dim)
                self.up = nn.Linear(dim, dim)
            def forward(self, x: Float[Tensor, "b n dim"], ctx):
                return self.proj(torch.cat([self.up(x), ctx], dim=-1))
    """) == []
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], m):
            reveal_shape(torch.cat([x, m], dim=1))
    """) == ["b m[1]+n d"]


def test_a_block_class_given_as_a_constructor_default_builds_the_blocks():
    assert reveals("""
        class Block(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.fc = nn.Linear(dim, dim * 2)
            def forward(self, x):
                return self.fc(x)

        class Net(nn.Module):
            def __init__(self, dim, depth, block_layer=Block):
                super().__init__()
                self.blocks = nn.ModuleList([block_layer(dim) for _ in range(depth)])
            def forward(self, x: Float[Tensor, "b n dim"]):
                for blk in self.blocks:
                    reveal_shape(blk(x))
    """) == ["b n dim*2"]


def test_a_block_tested_for_another_class_is_not_the_loops_first_block():
    # ``isinstance(block, Cond)`` over a list of ``Plain`` and ``Cond`` blocks: the branch is taken by the
    # ``Cond`` blocks, so the first block (a ``Plain``) is not called with the conditioning there
    src = """
        class Plain(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.fc = nn.Linear(c, c)
            def forward(self, x, extra=None):
                if extra is not None:
                    x = torch.cat([x, extra], dim=-1)
                return self.fc(x)

        class Cond(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.fc = nn.Linear(c, c)
            def forward(self, x, cond):
                return x + self.fc(cond)

        class Net(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.blocks = nn.ModuleList([Plain(c), Cond(c)])
                self.embed = nn.Linear(c, c)
            def forward(self, x: Float[Tensor, "b c"], cond: Float[Tensor, "b c"]):
                for block in self.blocks:
                    if {test}:
                        x = block(x, self.embed(cond))
                    else:
                        x = block(x)
                return x
    """
    assert errors(src.format(test="isinstance(block, Cond)")) == []
    assert errors(src.format(test="not isinstance(block, Plain)")) == []
    # the near miss: the first block called with the conditioning where its own class is tested
    out = errors(src.format(test="isinstance(block, Plain)"))
    assert [d.code for d in out] == ["SHP107"]


def test_what_an_unknown_part_adds_broadcasts_as_an_unknown_axis_does():
    # ``n + mem[1]`` against ``m``: not provably different, so if the program runs it is ``m``; against ``n``
    # it is provably more, so the add fails
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], y: Float[Tensor, "b m d"], mem):
            reveal_shape(torch.cat([x, mem], dim=1) + y)
    """) == ["b m d"]
    assert codes("""
        def f(x: Float[Tensor, "b n d"], mem):
            return torch.cat([x, mem], dim=1) + x
    """) == ["SHP102"]


def test_a_convolution_with_a_kernel_it_cannot_read_keeps_its_channels():
    # ``to_2tuple(patch_size)`` is a call the engine cannot follow: the kernel changes the spatial sizes only
    src = """
        from timm.layers import to_2tuple

        class PatchEmbed(nn.Module):
            def __init__(self, patch_size=16, in_chans=3, embed_dim=768):
                super().__init__()
                patch_size = to_2tuple(patch_size)
                self.proj = nn.Conv2d({}, kernel_size=patch_size, stride=patch_size)
                self.norm = nn.LayerNorm(embed_dim)
            def forward(self, x):
                B, C, H, W = x.shape
                x = self.proj(x).flatten(2).transpose(1, 2)
                reveal_shape(x)
                return self.norm(x)
    """
    assert reveals(src.format("in_chans, embed_dim")) == ["B ? embed_dim"]
    assert codes(src.format("embed_dim, in_chans")) == ["SHP107"]


def test_a_module_handed_in_takes_the_sizes_it_meets():
    # ``ff: FeedForward`` is built by the caller with a size this file never sees: its ``dim`` is the ``width``
    # it meets, not a size distinct from it; what it does with that size is still checked (the near miss: its
    # second layer built backwards)
    src = """
        class FeedForward(nn.Module):
            def __init__(self, dim: int):
                super().__init__()
                self.fc1 = nn.Linear(dim, dim * 4)
                self.fc2 = nn.Linear({})
            def forward(self, h):
                return self.fc2(self.fc1(h))

        class Residual(nn.Module):
            def __init__(self, width: int):
                super().__init__()
                self.gain = nn.Parameter(torch.ones(width))
            def forward(self, h, sublayer):
                return h + sublayer(h * self.gain)

        class Block(nn.Module):
            def __init__(self, width: int, ff: FeedForward):
                super().__init__()
                self.res = Residual(width)
                self.ff = ff
            def forward(self, h):
                return self.res(h, self.ff)
    """
    assert errors(src.format("dim * 4, dim")) == []
    out = errors(src.format("dim, dim * 4"))
    assert [d.code for d in out] == ["SHP107"] and "dim*4" in out[0].message


def test_the_sizes_a_split_is_given_in_a_list_are_sizes():
    # ``split([self.key_dim, self.key_dim, self.d], dim=3)`` with ``key_dim`` an unannotated constructor argument
    assert reveals("""
        class Attn(nn.Module):
            def __init__(self, dim, key_dim, heads):
                super().__init__()
                self.heads, self.key_dim, self.d = heads, key_dim, 2 * key_dim
                self.qkv = nn.Linear(dim, heads * 4 * key_dim)
            def forward(self, x):
                B, N, C = x.shape
                q, k, v = self.qkv(x).view(B, N, self.heads, -1).split([self.key_dim, self.key_dim, self.d], dim=3)
                reveal_shape(q)
                q, k, v = torch.split(self.qkv(x), [self.key_dim, self.key_dim, self.d], dim=-1)
                reveal_shape(k)
    """) == ["B N heads key_dim", "B N key_dim"]


def test_a_static_method_called_through_its_class_is_followed():
    src = """
        class Attn(nn.Module):
            def __init__(self, dim: int, heads: int):
                super().__init__()
                self.h, self.d, self.qkv = heads, dim // heads, nn.Linear(dim, 3 * dim)
            @staticmethod
            def weights(q, k):
                return (q @ k{}).softmax(dim=-1)
            def forward(self, x):
                b, n, _ = x.shape
                q, k, v = self.qkv(x).view(b, n, 3, self.h, self.d).permute(2, 0, 3, 1, 4)
                return Attn.weights(q, k) @ v
    """
    assert codes(src.format(".transpose(-2, -1)")) == []
    assert codes(src.format("")) == ["SHP201"]


def test_a_bias_table_cached_by_train_and_indexed_with_long_indices_is_shaped():
    # LeViT's attention: ``self.ab`` is set by ``train()``, not ``__init__``; the indices are a LongTensor of a
    # list the engine cannot read, viewed square; the scale is a power of an unannotated constructor argument
    src = """
        class Attention(nn.Module):
            def __init__(self, key_dim, num_heads, idxs, n_offsets, N):
                super().__init__()
                self.num_heads, self.key_dim = num_heads, key_dim
                self.scale = key_dim ** -0.5
                self.biases = nn.Parameter(torch.zeros(num_heads, n_offsets))
                self.register_buffer("bias_idxs", torch.LongTensor(idxs).view(N, N))

            @torch.no_grad()
            def train(self, mode=True):
                super().train(mode)
                if mode and hasattr(self, "ab"):
                    del self.ab
                else:
                    self.ab = self.biases[:, self.bias_idxs]

            def forward(self, q, k):
                B = q.shape[0]
                q = q.view(B, self.num_heads, self.key_dim, -1)
                k = k.view(B, self.num_heads, self.key_dim, -1)
                attn = (q.transpose(-2, -1) @ k) * self.scale + (
                    self.biases[:, self.bias_idxs] if self.training else self.ab)
                reveal_shape(self.ab)
                reveal_shape(attn)
                return attn.softmax(dim={})
    """
    assert reveals(src.format(-1)) == ["num_heads N N", "B num_heads ? ?"]
    assert codes(src.format(1)) == ["SHP202"]


def test_an_input_read_before_a_later_layer_teaches_its_channels_is_checked_there():
    # the fused branch returns first; the layers after it say what the input holds (``c1`` channels), and the
    # fused convolution built backwards is reported where it meets the input
    src = """
        class RepBlock(nn.Module):
            def __init__(self, c1, c2, deploy=False):
                super().__init__()
                if deploy:
                    self.fused = nn.Conv2d({}, 3, padding=1)
                else:
                    self.dense = nn.Conv2d(c1, c2, 3, padding=1)
                    self.point = nn.Conv2d(c1, c2, 1)
            def forward(self, inputs):
                if hasattr(self, "fused"):
                    return self.fused(inputs)
                return self.dense(inputs) + self.point(inputs)
    """
    assert errors(src.format("c1, c2")) == []
    out = errors(src.format("c2, c1"))
    assert [d.code for d in out] == ["SHP107"] and '"c2" input channels, got "c1"' in out[0].message
    assert any("later uses" in n for n in out[0].notes)


def test_what_a_pattern_names_is_not_taught_to_the_code_before_it():
    # the einsum's operands swapped: its subscripts would make ``q`` three axes, and the helper called before it
    # would be blamed; only sizes the code builds (a layer's channels) are taught backwards
    assert errors("""
        def helper(q, k):
            return torch.einsum("b h i d, b h j d -> b h i j", q, k)

        def f(q, k, flash: bool):
            if flash:
                return helper(q, k)
            return torch.einsum("b h i d, b j d -> b h i j", k, q)
    """) == []


def test_attention_of_unannotated_inputs_in_a_function_of_its_own():
    # the attention core written apart (``def attention(query, key, value, mask=None)``): ``query @ key.T`` makes
    # the query a matrix, so the scores have a row and a column axis, and a softmax over the rows is reported
    src = """
        import math

        def attention(query, key, value, mask=None):
            scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(query.size(-1))
            if mask is not None:
                scores = scores.masked_fill(mask == 0, -1e9)
            p_attn = F.softmax(scores, dim={})
            return torch.matmul(p_attn, value), p_attn

        def attention_op(q, k, v):
            return (q @ k.transpose(-2, -1)).softmax(dim={}) @ v
    """
    assert codes(src.format(-1, -1)) == []
    assert codes(src.format(-2, -2)) == ["SHP202", "SHP202"]


def test_a_sequential_with_a_layer_built_by_a_class_passed_in_keeps_its_first_layers():
    # ``BatchNorm`` is a class the caller passes in: the chain cannot be followed through it (what the layers after
    # it meet is unknown; they give ``num_classes`` channels), but its first convolution still meets the input
    # (DeepLab's decoder after its ``cat``)
    src = """
        class Decoder(nn.Module):
            def __init__(self, num_classes, BatchNorm):
                super().__init__()
                self.conv1 = nn.Conv2d(256, 48, 1)
                self.last_conv = nn.Sequential(nn.Conv2d({}, 256, 3, padding=1), BatchNorm(256), nn.ReLU(),
                                               nn.Conv2d(256, num_classes, 1))
            def forward(self, x: Float[Tensor, "b 256 h w"], low: Float[Tensor, "b 256 h w"]):
                out = self.last_conv(torch.cat((x, self.conv1(low)), dim=1))
                reveal_shape(out)
                return out
    """
    assert reveals(src.format(304)) == ["... num_classes ? ?"]
    assert errors(src.format(304)) == []
    out = errors(src.format(256))
    assert [d.code for d in out] == ["SHP107"] and "expects 256 input channels, got 304" in out[0].message


def test_a_weight_tied_to_a_tensor_of_another_shape_is_reported():
    # tying a decoder's classifier to its embedding: a ``Linear(hidden, vocab)`` holds a ``(vocab, hidden)`` weight,
    # as the embedding does; one built the other way round does not
    src = """
        class Decoder(nn.Module):
            def __init__(self, vocab_size, hidden_size, tie=True):
                super().__init__()
                self.embedder = nn.Embedding(vocab_size, hidden_size)
                self.classifier = nn.Linear({sizes})
                self.classifier.weight = self.embedder.weight
    """
    assert errors(src.format(sizes="hidden_size, vocab_size")) == []
    found = errors(src.format(sizes="vocab_size, hidden_size"))
    assert [d.code for d in found] == ["SHP107"] and "tied to `self.embedder.weight`" in found[0].message, found
    assert found[0].notes[-1] == "the weight's sizes are chosen where `self.classifier` is built (the `Linear` " \
                                 "built at m.py:12)", found[0].notes
    # tied only when the caller asks for it (awd-lstm's ``if tie_weights:`` with ``nhid`` and ``ninp``, which its
    # callers make equal for the tie): two sizes named differently are not judged, a rank that differs is
    flagged = """
        class RNNModel(nn.Module):
            def __init__(self, ntoken, ninp, nhid, tie_weights=False):
                super().__init__()
                self.encoder = nn.Embedding(ntoken, ninp)
                self.decoder = nn.Linear({sizes})
                if tie_weights:
                    self.decoder.weight = {tied}
    """
    assert errors(flagged.format(sizes="nhid, ntoken", tied="self.encoder.weight")) == []
    assert [d.code for d in errors(flagged.format(sizes="nhid, ntoken", tied="self.encoder.weight[0]"))] == ["SHP107"]


# -- layers given options the file writes once ----------------------------------------------------

_SEPARABLE = """
    _BN = {"eps": 1e-3, "momentum": 0.9997, "affine": True}

    class SeparableConv(nn.Module):
        def __init__(self, in_ch: int, out_ch: int, mult: int):
            super().__init__()
            mid = in_ch * mult
            self.dw = nn.Conv2d(in_ch, mid, 3, padding=1, groups=in_ch, bias=False)
            self.bn_dw = nn.BatchNorm2d(mid, **_BN)
            self.pw = nn.Conv2d(%s, 1, bias=False)
            self.bn_pw = nn.BatchNorm2d(out_ch, **_BN)

        def forward(self, x):
            x = self.bn_dw(self.dw(x))
            return self.bn_pw(self.pw(x))
"""


def test_a_norm_given_the_files_literal_options_keeps_its_sizes():
    assert codes(_SEPARABLE % "mid, out_ch") == []
    assert codes(_SEPARABLE % "out_ch, mid") == ["SHP107"]


def test_options_the_file_changes_are_not_known():
    changed = _SEPARABLE % "out_ch, mid" + """
    _BN["eps"] = 1e-5
    """
    assert codes(changed) == []


def test_a_chain_ending_in_layers_it_follows_gives_what_they_give():
    # a head whose first layer the engine cannot read (an activation from a table a function picks): the Linear
    # after it still gives ``... vocab``; a chain whose last layer keeps any shape gives an unknown one
    assert reveals("""
        ACTS = {"relu": nn.ReLU, "gelu": nn.GELU}

        def make_act(name):
            return ACTS[name]()

        class Joint(nn.Module):
            def __init__(self, d: int, vocab: int, act: str, block):
                super().__init__()
                self.head = nn.Sequential(make_act(act), nn.Dropout(0.1), nn.Linear(d, vocab))
                self.mid = nn.Sequential(nn.Linear(d, d), block(d), nn.Dropout(0.1))

            def forward(self, x):
                reveal_shape(self.head(x))
                reveal_shape(self.mid(x))
    """) == ["... vocab", "..."]


_GATED = """
    class GatedBlock(nn.Module):
        def __init__(self, ch: int, out_ch: int):
            super().__init__()
            self.gate = nn.Conv1d(%s, 3, padding=1)
            self.out = nn.Conv1d(ch, out_ch, 1)

        def forward(self, x):
            h = self.gate(x)
            a, b = h.split(h.size(1) // 2, dim=1)
            return self.out(torch.tanh(a) * torch.sigmoid(b))
"""


def test_a_convolutions_output_of_unknown_rank_is_split_along_its_channels():
    # axis 1 of ``... c l`` read as a layer reads it, batched: the gate's halves have half its channels
    assert codes(_GATED % "ch, ch * 2") == []
    assert codes(_GATED % "ch * 2, ch") == ["SHP107"]


def test_sizes_written_as_torch_size_a_cache_written_by_index_and_a_rotary_tables_width():
    assert reveals("""
        def sizes(x: Float[Tensor, "b t c"], h: int, d: int):
            new = x.size()[:-1] + torch.Size([h, d])
            reveal_shape(x.view(new))

        def cache(k_cache, xk: Float[Tensor, "b t h d"], pos):
            k_cache.index_copy_(1, pos, xk)
            reveal_shape(k_cache)

        def rotary(x: Float[Tensor, "b t r"], r: int):
            freqs = torch.arange(0, r, 2)
            reveal_shape(x * torch.cat([freqs, freqs], -1))

        def lost(t, b: int, n: int):
            reveal_shape(torch.reshape(t.foo(), (b, n, -1)))

        class Heads(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.n = config.transformer["num_heads"]

            def forward(self, x: Float[Tensor, "b t c"]):
                reveal_shape(x.view(x.size(0), x.size(1), self.n, -1))
    """) == ["b t h d", "b ? h d", "b t r", "b n -1@21", "b t num_heads c//num_heads"]
    # a source of no axes (torch rejects it) says nothing of the cache
    assert reveals("""
        def cache(k_cache, pos):
            k_cache.index_copy_(0, pos, torch.tensor(1.0))
            reveal_shape(k_cache)
    """) == ["..."]


def test_a_list_reversed_in_place_starts_with_what_was_appended_last():
    # the deepest map meets the first arm once the list is reversed (BiSeNet's context path): no mismatch
    assert codes("""
        class Pyramid(nn.Module):
            def __init__(self):
                super().__init__()
                self.l1 = nn.Conv2d(3, 64, 3)
                self.l2 = nn.Conv2d(64, 512, 3)
                self.arms = nn.ModuleList([nn.Conv2d(512, 8, 1), nn.Conv2d(64, 8, 1)])

            def forward(self, x):
                blocks = []
                x = self.l1(x)
                blocks.append(x)
                x = self.l2(x)
                blocks.append(x)
                blocks.reverse()
                out = []
                for f, arm in zip(blocks, self.arms):
                    out.append(arm(f))
                return out
    """) == []
