"""Shapes that survive the flow of real code: calls whose annotation says only ``Tensor``, helpers given
tensors of unknown shape, branches that disagree on the rank, tests the engine can decide.

Each case is a form met in public model code where the engine used to lose a shape it could keep.
"""

from __future__ import annotations

from test_engine import codes, errors, reveals


# -- ``-> torch.Tensor``: the body says what the annotation does not ---------------------------------

LAYER_NORM_2D = """
    class ChannelNorm(nn.Module):
        def __init__(self, channels: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))
            self.eps = eps

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean = x.mean(1, keepdim=True)
            var = (x - mean).pow(2).mean(1, keepdim=True)
            x = (x - mean) / torch.sqrt(var + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]
"""


def test_a_plain_tensor_return_annotation_takes_the_shape_of_the_body():
    assert reveals(LAYER_NORM_2D + """
    def use(x: Float[Tensor, "b 8 h w"]):
        reveal_shape(ChannelNorm(8)(x))
    """) == ["b 8 h w"]


def test_a_bug_after_a_plain_tensor_return_is_seen():
    out = errors(LAYER_NORM_2D + """
    class Stem(nn.Module):
        def __init__(self, c: int):
            super().__init__()
            self.norm = ChannelNorm(c)
            self.proj = nn.Conv2d(2 * c, c, 1)

        def forward(self, x: Float[Tensor, "b c h w"]):
            return self.proj(self.norm(x))
    """)
    assert [d.code for d in out] == ["SHP107"]


def test_a_plain_tensor_return_the_body_cannot_shape_stays_a_tensor():
    # nothing known of the body's result: a tensor of unknown shape, as before
    assert reveals("""
    def load(path: str) -> torch.Tensor:
        return torch.load(path)

    def use():
        reveal_shape(load("w.pt"))
    """) == ["..."]


# -- helpers given tensors of unknown shape ------------------------------------------------------------

SPLIT_HEADS = """
    def split_heads(x, h: int):
        B, N, C = x.shape
        return x.view(B, N, h, C // h).transpose(1, 2)
"""


def test_a_helper_names_the_axes_of_an_unknown_input_afresh_at_each_call():
    assert reveals(SPLIT_HEADS + """
    def attend(q, k, heads: int):
        q = split_heads(q, heads)
        k = split_heads(k, heads)
        reveal_shape(q)
        reveal_shape(k)
        reveal_shape(q @ k.transpose(-2, -1))
    """) == ["B heads N C//heads", "B' heads N' C'//heads", "? heads N N'"]


def test_two_calls_of_a_helper_do_not_share_axes():
    # the second call's tensor may be the first one's transposed: its axes are not the first call's
    assert codes("""
    def rows(x):
        B, N, C = x.shape
        return x.reshape(B, N, C)

    def f(p, q):
        a = rows(p)
        b = rows(q)
        return a + b.transpose(1, 2)
    """) == []



def test_a_callee_names_an_unknown_input_apart_from_the_other_arguments():
    # the image an earlier call named ``h w`` is given with features of unknown shape, which the callee's callee
    # unpacks as ``b, c, h, w``: another ``h`` and ``w`` (the features are twice as large), so no mismatch
    assert codes("""
    class Unpacked(nn.Module):
        def __init__(self, c: int):
            super().__init__()
            self.conv = nn.Conv2d(c, 3, 1)

        def forward(self, x):
            b, c, h, w = x.shape
            return self.conv(x).view(b, 3, h, w)

    class ToImage(nn.Module):
        def __init__(self, c: int):
            super().__init__()
            self.rgb = Unpacked(c)

        def forward(self, x, skip=None):
            out = self.rgb(x)
            if skip is not None:
                out = out + F.interpolate(skip, scale_factor=2)
            return out

    def grow(x, up, first: ToImage, later: ToImage):
        skip = first(x)
        return later(up(x), skip)
    """) == []


def test_a_tensor_another_method_replaces_is_unknown_there_but_one_it_fills_keeps_its_shape():
    # ``self.previous = ids`` replaces the constructor's empty cache; ``self.cache[:b, :t] = k`` fills part of it
    assert reveals("""
    class Cached(nn.Module):
        def __init__(self, batch: int, length: int, dim: int):
            super().__init__()
            self.previous = torch.empty(0)
            self.cache = torch.zeros(batch, length, dim)

        def remember(self, ids):
            self.previous = ids

        def forward(self, k, b: int, t: int):
            self.cache[:b, :t] = k
            reveal_shape(self.previous)
            reveal_shape(self.cache)
    """) == ["...", "batch length dim"]


_MASKED_ATTENTION = """
    class Attention(nn.Module):
        def __init__(self, n_head: int, n_feat: int):
            super().__init__()
            self.h = n_head
            self.d_k = n_feat // n_head
            self.linear_q = nn.Linear(n_feat, n_feat)
            self.linear_k = nn.Linear(n_feat, n_feat)
            self.linear_v = nn.Linear(n_feat, n_feat)

        def forward_attention(self, value, scores, mask):
            if %s:
                keep = mask.unsqueeze(1).eq(0)
                attn = torch.softmax(scores.masked_fill(keep, -1e9), dim=-1)
            else:
                attn = torch.softmax(scores, dim=1)
            x = torch.matmul(self.drop(attn), value)
            return x.transpose(1, 2).reshape(value.size(0), -1, self.h * self.d_k)

        def forward(self, query, key, value, mask):
            b = query.size(0)
            q = self.linear_q(query).view(b, -1, self.h, self.d_k).transpose(1, 2)
            k = self.linear_k(key).view(b, -1, self.h, self.d_k).transpose(1, 2)
            v = self.linear_v(value).view(b, -1, self.h, self.d_k).transpose(1, 2)
            return self.forward_attention(v, torch.matmul(q, k.transpose(-2, -1)), mask)
"""


def test_a_branch_of_a_test_that_picks_no_shapes_is_checked_under_a_calls_shapes():
    # an emptiness test (an empty mask means none) is written for the same shapes either way: the softmax over the
    # heads in its branch is reported under ``forward``'s shapes, where the scores have four axes; ``self.drop`` is
    # a dropout a base class of another file sets, which gives its input back
    assert "SHP202" in codes(_MASKED_ATTENTION % "mask.size(-1) > 0")
    # a test of the module's sizes may pick a branch no call takes: it proves nothing for the call
    assert "SHP202" not in codes(_MASKED_ATTENTION % "self.h > 1")

def test_a_helper_keeps_the_axes_its_argument_brought():
    assert reveals(SPLIT_HEADS + """
    def f(x: Float[Tensor, "b n d"]):
        reveal_shape(split_heads(x, 4))
    """) == ["b 4 n d//4"]


def test_a_size_helper_is_followed():
    # vit-pytorch's ``pair``: an int becomes a pair of it
    assert reveals("""
    def pair(t):
        return t if isinstance(t, tuple) else (t, t)

    def patches(x, image_size: int):
        ih, iw = pair(image_size)
        reveal_shape(torch.zeros(2, ih, iw))
    """) == ["2 image_size image_size"]


# -- branches -------------------------------------------------------------------------------------------

def test_a_conditional_expression_with_a_decided_test_takes_its_branch():
    assert reveals("""
    def add_mask(scores, mask=None):
        return scores if mask is None else scores + mask

    def f(s: Float[Tensor, "b h n n"]):
        reveal_shape(add_mask(s))
    """) == ["b h n n"]


def test_branches_of_different_rank_keep_their_common_trailing_axes():
    assert reveals("""
    def f(x: Float[Tensor, "b n d"], y: Float[Tensor, "n d"], c: bool):
        z = x if c else y
        reveal_shape(z)
        if c:
            w = x
        else:
            w = y
        reveal_shape(w)
        reveal_shape(x if c else y[0])  # right-aligned: ``d`` against ``d``
    """) == ["... n d", "... n d", "... d"]


def test_an_unknown_mask_keeps_at_least_the_scores_axes():
    # ``scores + mask`` with the mask unknown has at least the scores' axes, with or without the mask
    assert reveals("""
    def add_mask(scores, mask):
        return scores if mask is None else scores + mask

    def f(s: Float[Tensor, "b h n n"], m):
        reveal_shape(add_mask(s, m))
    """) == ["... b h n n"]


def test_a_join_keeps_an_axis_where_both_branches_agree():
    assert reveals("""
    def f(x: Float[Tensor, "b n d"], y: Float[Tensor, "b m d"], c: bool):
        reveal_shape(x if c else y)
    """) == ["b ? d"]


def test_a_join_of_branches_is_no_evidence_for_a_mismatch():
    # a shape only one branch has is not held against the code after the join
    assert codes("""
    def f(x: Float[Tensor, "b n d"], y: Float[Tensor, "n d"], w: Float[Tensor, "d e"], c: bool):
        z = x if c else y
        return (z @ w).sum(0)
    """) == []


# -- ``x = x + m``: an update written out ----------------------------------------------------------------

def test_adding_an_unknown_mask_to_the_scores_keeps_their_axes():
    assert reveals("""
    def f(q: Float[Tensor, "b h n d"], k: Float[Tensor, "b h m d"], mask, bias):
        attn = q @ k.transpose(-2, -1)
        attn = attn + mask[:, None]
        reveal_shape(attn)
        attn = attn * bias
        reveal_shape(attn)
    """) == ["b h n m", "b h n m"]


def test_a_softmax_over_the_heads_after_an_unknown_mask_is_seen():
    out = errors("""
    def attend(q: Float[Tensor, "b h n d"], k: Float[Tensor, "b h n d"], v: Float[Tensor, "b h n d"], mask):
        scores = q @ k.transpose(-2, -1)
        scores = scores + mask
        weights = scores.softmax(dim=1)
        return weights @ v
    """)
    assert [d.code for d in out] == ["SHP202"]


def test_an_operand_of_known_rank_is_broadcast_as_written():
    # only an operand of unknown rank is read as an update of the target: a known one may add axes
    assert reveals("""
    def f(x: Float[Tensor, "n d"], y: Float[Tensor, "b 1 1 d"], m):
        x = x + y
        reveal_shape(x)
        z = x[0] + m
        reveal_shape(z)
    """) == ["b 1 n d", "... ? n d"]  # an unknown operand may have any size where ``x[0]`` has 1


def test_a_helper_adding_an_unknown_mask_keeps_the_scores_rank():
    # timm's ``attn = maybe_add_mask(attn, attn_bias)``
    assert reveals("""
    def maybe_add_mask(scores, mask=None):
        return scores if mask is None else scores + mask

    def f(q: Float[Tensor, "b h n d"], k: Float[Tensor, "b h m d"], bias):
        attn = q @ k.transpose(-2, -1)
        attn = maybe_add_mask(attn, bias)
        reveal_shape(attn)
        other = maybe_add_mask(attn, bias)
        reveal_shape(other)
    """) == ["b h n m", "... b h n m"]


def test_a_helper_named_for_adding_a_mask_that_the_engine_cannot_read_keeps_the_scores():
    # timm's attention pool imports ``maybe_add_mask`` from another module; read alone, the helper is unknown, and
    # its name says it gives back the scores it was given; a helper named otherwise gives an unknown value
    assert reveals("""
    from .attention import maybe_add_mask, rescale

    def f(q: Float[Tensor, "b h n d"], k: Float[Tensor, "b h m d"], bias):
        attn = q @ k.transpose(-2, -1)
        attn = maybe_add_mask(attn, bias)
        reveal_shape(attn)
        attn = rescale(attn, bias)
        reveal_shape(attn)
    """) == ["b h n m", "..."]


def test_a_callee_that_fails_returns_an_unknown_value():
    # one bug, one report: the add after the failing block is not reported again
    out = errors("""
    class Block(nn.Module):
        def __init__(self, dim: int, hidden: int):
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.fc2 = nn.Linear(hidden, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc2(F.gelu(self.fc1(x)))

    class Mixer(nn.Module):
        def __init__(self, width: int, hidden: int):
            super().__init__()
            self.block = Block(hidden, hidden)

        def forward(self, x: Float[Tensor, "b n width"]):
            return x + self.block(x)
    """)
    assert [d.code for d in out] == ["SHP107"]


# -- a normalization layer's class, defaulted ---------------------------------------------------------

def test_a_defaulted_norm_layer_still_keeps_the_shape():
    assert reveals("""
    from .norm import RmsNorm

    class Attention(nn.Module):
        def __init__(self, dim: int, norm_layer=None, norm_cls=None, qk_norm: bool = False):
            super().__init__()
            if norm_layer is None:
                norm_layer = RmsNorm
            self.q_norm = norm_layer(dim // 4) if qk_norm else nn.Identity()
            k_layer = norm_cls or nn.LayerNorm
            self.k_norm = k_layer(dim // 4)
            self.qkv = nn.Linear(dim, dim * 3)

        def forward(self, x):
            B, N, C = x.shape
            q, k, v = self.qkv(x).reshape(B, N, 3, 4, C // 4).permute(2, 0, 3, 1, 4).unbind(0)
            reveal_shape(self.q_norm(q))
            reveal_shape(self.k_norm(k))
    """) == ["B 4 N C//4", "B 4 N C//4"]


def test_a_constructor_dividing_two_unannotated_arguments_makes_a_size():
    assert reveals("""
    class Pool(nn.Module):
        def __init__(self, embed_dim, num_heads):
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = embed_dim // num_heads

        def forward(self, x):
            B, N, C = x.shape
            reveal_shape(x.reshape(B, N, self.num_heads, self.head_dim))

    def ratio(positions, stride):
        reveal_shape(positions // stride)  # outside a constructor: tensors, perhaps
    """) == ["B N num_heads embed_dim//num_heads", "..."]


def test_a_constructor_multiplying_two_unannotated_arguments_makes_a_size():
    # ``inner_dim = heads * dim_head``: the projection's width is known, so the heads split out of it are too
    assert reveals("""
    class Attn(nn.Module):
        def __init__(self, dim, heads, dim_head):
            super().__init__()
            inner_dim = heads * dim_head
            self.heads = heads
            self.to_q = nn.Linear(dim, inner_dim, bias=False)

        def forward(self, x):
            b, n, _ = x.shape
            reveal_shape(self.to_q(x).view(b, n, self.heads, -1))

    def scaled(weights, gains):
        reveal_shape(weights * gains)  # outside a constructor: tensors, perhaps
    """) == ["b n heads dim_head", "..."]


def test_an_optional_layer_is_that_layer_where_it_is_called():
    assert reveals("""
        class Stem(nn.Module):
            def __init__(self, d, use_norm: bool):
                super().__init__()
                self.norm = nn.LayerNorm(d) if use_norm else None

            def forward(self, x: Float[Tensor, "b n d"]):
                if self.norm is not None:
                    x = self.norm(x)
                reveal_shape(x)
                reveal_shape(self.norm(x))
    """) == ["b n d", "b n d"]


def test_an_or_of_two_nones_is_none():
    # ``a or b`` where neither was set (flags read from a config that has neither): None, not a crash
    assert reveals("""
        def step(x: Float[Tensor, "b d"]):
            first = None
            second = None
            flag = first or second
            reveal_shape(x @ x.T)
    """) == ["b b"]


# -- ``a or b`` with both operands None: no operand left to choose from ----------------------------

def test_an_or_of_flags_that_are_all_none_is_none_not_a_crash():
    src = """
    class Lit(nn.Module):
        def __init__(self):
            super().__init__()
            self.struc_flag = None
            self.sc_flag = None

        def step(self, x):
            sc_flag, struc_flag = self.sc_flag, self.struc_flag
            if struc_flag or sc_flag:
                return x
            return x * 2
    """
    assert codes(src) == []


# -- a branch that updates a tensor through a helper the engine cannot follow -------------------------

REL_POS_ATTENTION = """
    from .utils import add_rel_pos

    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int, use_rel_pos: bool = False):
            super().__init__()
            self.num_heads = num_heads
            self.qkv = nn.Linear(dim, dim * 3)
            self.use_rel_pos = use_rel_pos

        def forward(self, x):
            B, N, C = x.shape
            q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
            attn = q @ k.transpose(-2, -1)
            {branch}
            reveal_shape(attn)
            attn = attn.softmax(dim={dim})
            return (attn @ v).transpose(1, 2).reshape(B, N, C)
"""


def test_a_branch_updating_scores_through_an_unknown_helper_keeps_them():
    src = REL_POS_ATTENTION.format(branch="if self.use_rel_pos:\n                attn = add_rel_pos(attn, q)",
                                   dim=-1)
    assert reveals(src) == ["B num_heads N N"]
    assert codes(src) == []


def test_a_softmax_over_the_wrong_axis_after_an_unknown_update_is_seen():
    src = REL_POS_ATTENTION.format(branch="if self.use_rel_pos:\n                attn = add_rel_pos(attn, q)",
                                   dim=1)
    assert codes(src) == ["SHP202"]


def test_a_branch_updating_queries_and_keys_through_an_unknown_method_keeps_them():
    # a Llama-style attention: ``q, k = self.rotary.apply_rope(q, k, ...)`` when a rotary module is set; the path
    # without it keeps both, so a softmax over the heads after it is seen
    src = """
    class Attention(nn.Module):
        def __init__(self, dim: int, n_heads: int, rotary=None):
            super().__init__()
            self.n_heads, self.d_head = n_heads, dim // n_heads
            self.q = nn.Linear(dim, dim)
            self.k = nn.Linear(dim, dim)
            self.v = nn.Linear(dim, dim)
            self.rotary = rotary

        def forward(self, x, position_ids=None):
            b, n, _ = x.shape
            q = self.q(x).view(b, n, self.n_heads, self.d_head).transpose(1, 2)
            k = self.k(x).view(b, n, self.n_heads, self.d_head).transpose(1, 2)
            v = self.v(x).view(b, n, self.n_heads, self.d_head).transpose(1, 2)
            if self.rotary is not None:
                q, k = self.rotary.apply_rope(q, k, position_ids=position_ids)
            reveal_shape(k)
            scores = torch.matmul(q, k.transpose(-2, -1))
            return torch.matmul(F.softmax(scores, dim={dim}), v)
    """
    assert reveals(src.format(dim=-1)) == ["b n_heads n dim//n_heads"]
    assert codes(src.format(dim=-1)) == []
    assert codes(src.format(dim=1)) == ["SHP202"]


def test_a_branch_whose_test_reads_the_rank_does_not_keep_the_tensor():
    # ``if attn.dim() == 4: attn = flatten_heads(attn)``: the code after the if may expect the other shape
    src = REL_POS_ATTENTION.format(branch="if attn.dim() == 4 and self.use_rel_pos:\n"
                                          "                attn = add_rel_pos(attn, q)", dim=-1)
    assert reveals(src) == ["..."]
    src = REL_POS_ATTENTION.format(branch="attn = add_rel_pos(attn, q)", dim=-1)
    assert reveals(src) == ["..."]  # no branch: the helper's result is all there is


def test_a_loop_that_runs_a_known_number_of_times_appends_that_many_parts():
    # ``segs = []`` then ``segs.append(...)`` once in each of ``win`` runs: ``win`` parts, joined to ``win`` times an
    # element's size; a list that held one already holds one more; an append under a condition counts nothing
    src = """
        class Merge(nn.Module):
            def __init__(self, d_model, win, d_ff):
                super().__init__()
                self.win = win
                self.lin = nn.Linear({lin}, d_model)
            def forward(self, x: Float[Tensor, "b t s d_model"], n: int):
                segs = []
                for i in range(self.win):
                    segs.append(x[:, :, i::self.win, :])
                reveal_shape(torch.stack(segs, 0))
                more = [x]
                for k in (1, 2, 3):
                    more.append(x + k)
                reveal_shape(torch.cat(more, 1))
                some = []
                for k in range(n):
                    if k % 2:
                        some.append(x)
                reveal_shape(torch.stack(some, 0))
                return self.lin(torch.cat(segs, -1))
    """
    assert reveals(src.format(lin="win * d_model")) == ["win b t ? d_model", "b t*4 s d_model", "? b t s d_model"]
    assert codes(src.format(lin="win * d_ff")) == ["SHP107"]


def test_a_library_function_named_by_a_string_is_that_function():
    src = """
        class FeedForward(nn.Module):
            def __init__(self, d, h):
                super().__init__()
                self.l1 = nn.Linear(d, h)
                self.l2 = nn.Linear({l2})
                self.act = getattr(F, "gelu")
                self.norm = getattr(nn, "LayerNorm")(h)
            def forward(self, x):
                reveal_shape(self.act(self.l1(x)))
                return self.l2(self.norm(self.act(self.l1(x))))
    """
    assert reveals(src.format(l2="h, d")) == ["... h"]
    assert codes(src.format(l2="d, h")) == ["SHP107"]


def test_a_library_class_named_by_a_parameters_string_default_is_that_class():
    # ``module='LSTM'``: the layer the constructor builds unless a caller names another (an LSTM or a GRU
    # alike give ``b t dim``); ``activation='sigmoid'`` an elementwise function of ``F``
    src = """
        class Decoder(nn.Module):
            def __init__(self, input_dim, vocab_size, dim, module='LSTM', activation='sigmoid'):
                super().__init__()
                self.rnn = getattr(nn, module)(input_dim, dim, batch_first=True)
                self.act = getattr(F, activation)
                self.proj = nn.Linear(input_dim, dim)
                self.out = nn.Linear({out})
            def forward(self, x):
                b, t = x.shape[:2]
                h, _ = self.rnn(x)
                reveal_shape(h)
                reveal_shape(self.act(self.proj(x)))
                return self.out(h)
    """
    assert reveals(src.format(out="dim, vocab_size")) == ["b t dim", "b t dim"]
    assert codes(src.format(out="vocab_size, dim")) == ["SHP107"]
    # a name the constructor rebinds is not its default
    rebound = src.format(out="vocab_size, dim").replace("super().__init__()", "super().__init__()\n"
                                                         "                module = module.upper()")
    assert codes(rebound) == []


def test_split_sizes_given_by_keyword():
    assert reveals("""
        def f(x: Float[Tensor, "b n 20"]):
            dt, b, c = x.split(split_size=[4, 8, 8], dim=-1)
            reveal_shape(dt)
            reveal_shape(c)
    """) == ["b n 4", "b n 8"]


def test_a_comprehension_over_the_sizes_of_a_tensor_of_known_rank_is_one_size_each():
    # the rotary table shaped to broadcast over a query: each size of the query, or one, by its index
    src = """
        def reshape_for_broadcast(freqs, x):
            ndim = x.ndim
            shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
            return freqs.view(shape)

        def attend(q: Float[Tensor, "b n h d"], freqs: Float[Tensor, "n d"]):
            f = reshape_for_broadcast(freqs, q)
            reveal_shape(f)
            q = (q * f).transpose(1, 2)
            reveal_shape(q)
            return {scores}
    """
    assert reveals(src.format(scores="q @ q.transpose(-2, -1)")) == ["1 n 1 d", "b h n d"]
    assert codes(src.format(scores="q @ q")) == ["SHP101"]


def test_a_branch_a_constructor_flag_opens_judges_no_two_sizes_distinct_by_name():
    # callers build the residual form only where the widths fit; a literal that cannot fit is still reported
    src = """
        class ConvBlock(nn.Module):
            def __init__(self, cin, cout, residual=False):
                super().__init__()
                self.residual = residual
                self.body = nn.Conv2d(cin, cout, 3, padding=1)
                self.proj = nn.Conv2d(cin, 8, 1)
            def forward(self, x):
                if self.residual:
                    return {ret}
                return self.body(x)
    """
    assert codes(src.format(ret="x + self.body(x)")) == []
    assert codes(src.format(ret="self.proj(x) + torch.zeros(1, 4, 1, 1)")) == ["SHP102"]


def test_a_flag_that_does_not_open_a_residual_path_leaves_the_sums_judged():
    # ``pre_lnorm`` chooses where the norm goes; the residual is added on both paths, so two named sizes that
    # cannot be one are reported there
    assert codes("""
        class Attn(nn.Module):
            def __init__(self, d_model, n_head, d_head, pre_lnorm=False):
                super().__init__()
                self.pre_lnorm = pre_lnorm
                self.o_net = nn.Linear(d_model, n_head * d_head)
                self.norm = nn.LayerNorm(d_model)
            def forward(self, h):
                out = self.o_net(h)
                if self.pre_lnorm:
                    return h + out
                return self.norm(h + out)
    """) == ["SHP102", "SHP102"]


def test_methods_defined_under_a_class_level_if_are_analysed():
    # a configuration choosing the implementation in the class body: the methods are the module's all the same
    assert codes("""
        import os
        class Attn(nn.Module):
            def __init__(self, dim: int):
                super().__init__()
                self.q = nn.Linear(dim, dim)
            if os.environ.get("KERNEL") == "cuda":
                def forward(self, x):
                    B, T, C = x.size()
                    q = self.q(x)
                    return F.softmax(q @ q.transpose(-2, -1), dim=1) @ q
            else:
                def forward(self, x):
                    return x
    """) == ["SHP202"]


def test_the_side_of_a_square_grid_of_tokens_is_a_size_whose_square_is_their_number():
    # ``H = int(math.sqrt(L))``: tokens viewed as a grid; the channels read as tokens reorder data
    src = """
        import math
        def to_map(x):
            B, L, C = x.shape
            H = int(math.sqrt(L))
            W = int(L ** 0.5)
            reveal_shape(x.transpose(1, 2).contiguous().view(B, C, H, W))
            return x.contiguous().view({view})
    """
    assert reveals(src.format(view="B, H, W, C")) == ["B C H H"]
    assert codes(src.format(view="B, H, W, C")) == []
    assert codes(src.format(view="B, C, H, W")) == ["SHP109"]


def test_a_view_regrouping_frames_past_the_heads_is_left_but_heads_moved_out_of_the_batch_are_not():
    # grouped attention regroups frames by a factor no axis of the input holds: on purpose; the heads folded into
    # the batch, viewed back into the features without a transpose, mix examples' heads
    assert codes("""
        def grouped(q: Float[Tensor, "b t h d"], g: int):
            return q.contiguous().view(q.shape[0], -1, q.shape[2], q.shape[3] * g)
    """) == []
    assert codes("""
        def merge(out, batch_size: int, num_head: int, dim_head: int):
            out = out.view(batch_size * num_head, -1, dim_head)
            return out.view(batch_size, -1, num_head * dim_head)
    """) == ["SHP109"]


def test_the_last_definition_of_a_method_is_analysed_after_overload_stubs():
    # ``@overload`` stubs first, the implementation last: the implementation is the method
    assert codes("""
        from typing import overload
        class Head(nn.Module):
            def __init__(self, d: int, k: int):
                super().__init__()
                self.fc = nn.Linear(d, k)
            @overload
            def forward(self, x: Float[Tensor, "b d"], mode: str) -> Tensor: ...
            @overload
            def forward(self, x: Float[Tensor, "b d"]) -> Tensor: ...
            def forward(self, x: Float[Tensor, "b d"], mode=None):
                return self.fc(x).log_softmax(dim=0)
    """) == ["SHP211"]


def test_a_loop_index_over_range_picks_one_entry():
    # ``for i in range(k)`` and ``[... for i in range(k)]`` give whole numbers: ``w[:, i]`` drops the axis
    assert reveals("""
        def f(w: Float[Tensor, "b n"], idx: Float[Tensor, "n"], k: int):
            for i in range(k):
                reveal_shape(w[:, i])
                reveal_shape(w[:, idx[i]])
            reveal_shape(torch.stack([w[:, idx[i]] for i in range(k)], dim=-1))
    """) == ["b", "b", "b k"]


def test_the_softmaxes_of_either_branch_survive_a_later_if_that_keeps_the_weights():
    # BART-style: the dtype test picks the softmax, a later flag views the weights and views them back; the softmax
    # over the queries on one path is still reported at the product, one over the keys on both paths is fine
    src = """
    def attend(q: Float[Tensor, "b i d"], k: Float[Tensor, "b j d"], v: Float[Tensor, "b j d"], heads: int,
               out_attn: bool):
        w = q @ k.transpose(1, 2)
        if w.dtype == torch.float16:
            w = w.softmax(dim=-1).half()
        else:
            w = {other}
        if out_attn:
            r = w.view(-1, heads, w.shape[1], w.shape[2])
            w = r.view(w.shape)
        return w @ v
    """
    out = errors(src.format(other="w.softmax(dim=1)"))
    assert [d.code for d in out] == ["SHP202"]
    assert "over axis -2" in out[0].message  # at the softmax over the queries
    assert errors(src.format(other="torch.softmax(w, dim=2)")) == []


def test_a_mask_multiplied_in_front_of_the_weights_keeps_their_softmax():
    # the gate comes first and has no tag of its own: the weights' softmax is still carried
    out = errors("""
    def attend(q: Float[Tensor, "b i d"], k: Float[Tensor, "b j d"], v: Float[Tensor, "b j d"],
               gate: Float[Tensor, "b 1 1"]):
        w = (q @ k.transpose(1, 2)).softmax(dim=1)
        w = gate * w
        return w @ v
    """)
    assert [d.code for d in out] == ["SHP202"]
