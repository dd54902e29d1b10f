"""Axis roles inferred from the producers of axes (``_engine/_roles``) and carried by the op rules.

Each case marks the tensors to look at with ``.detach()``; a probe rule records the roles the lint
rules would see there, written like ``(batch, channel, height, width)`` with ``?`` for an unknown role.
"""

from __future__ import annotations

import pickle
import textwrap

import pytest

from shapecheck._core._roles import BATCH, RoleOrigin, role_of, roles_text, with_roles
from shapecheck._core._settings import Settings
from shapecheck._core._shape import shape_of
from shapecheck._engine._rulebase import LintRule
from shapecheck._lint import _driver


class _Probe(LintRule):
    code = "SHP299"
    name = "role-probe"

    def __init__(self):
        self.seen = {}

    def on_call(self, ev, ctx):
        if ev.qualname != "torch.Tensor.detach":
            return
        x = ev.args[0]
        n = len(x.dims)
        v = x.variadic_index
        parts = []
        for k in range(n):
            if v is not None and k == v:
                parts.append("...")
                continue
            parts.append(ctx.role(x, k if v is None or k < v else k - n) or "?")
        self.seen[ev.node.lineno] = "(" + ", ".join(parts) + ")"


def roles(src: str, monkeypatch) -> list:
    probe = _Probe()
    monkeypatch.setattr(_driver, "_load_rules", lambda settings: [probe])
    _driver.check_source(textwrap.dedent(src), "m.py", Settings(), strict=True)
    return [probe.seen[k] for k in sorted(probe.seen)]


NET = '''
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self, d, k, num_classes, n_head):
        super().__init__()
        self.conv = nn.Conv2d(3, d, 3)
        self.fc = nn.Linear(d, k)
        self.cls = nn.Linear(d, num_classes)
        self.k = k
        self.n_head = n_head
        self.rnn = nn.GRU(d, d, batch_first=True)
        self.lstm = nn.LSTM(d, d)

    def forward(self, x, h):
        B, C, H, W = x.shape
        y = self.conv(x)
        y.detach()
        y.permute(0, 2, 3, 1).detach()
        self.fc(h).view(-1, self.k).detach()
        self.cls(h).detach()
        b, t, c = h.size()
        q = h.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        q.detach()
        (q @ q.transpose(-2, -1)).sum(dim=-1).detach()
        o, hn = self.rnn(h)
        o.detach()
        o2, _ = self.lstm(h)
        o2.transpose(0, 1).detach()
        y.mean(dim=1, keepdim=True).detach()
        y.flatten(2).detach()
'''


def test_producers_and_propagation(monkeypatch):
    assert roles(NET, monkeypatch) == [
        "(batch, channel, height, width)",  # a convolution's output
        "(batch, height, width, channel)",  # carried through a permute
        "(batch, feature)",  # view(-1, K) of a Linear's output: the flattened batch first
        "(..., class)",  # a Linear head whose size is named for classes
        "(batch, head, position, feature)",  # a head split, transposed (positions before the heads, per-head features
        # last); b unpacked first is the batch
        "(batch, head, position)",  # through a product (the queries' positions kept) and a reduction
        "(batch, position, feature)",  # batch_first recurrent output
        "(batch, position, feature)",  # sequence-first LSTM output, transposed
        "(batch, one, height, width)",  # keepdim leaves a size-one axis
        "(batch, channel, position)",  # a flatten merges the spatial axes into the image's positions
    ]


def test_layout_conversion_states_roles_of_an_unknown_tensor(monkeypatch):
    src = '''
    import torch


    def f(x):
        a, b, c, d = x.shape
        x.permute(0, 2, 3, 1).detach()
        x.permute(0, 2, 1, 3).detach()
    '''
    # the conversion also says what the source's sizes were: the other permute of the same tensor knows them
    assert roles(src, monkeypatch) == ["(?, height, width, channel)", "(?, height, channel, width)"]


def test_a_permutation_fixes_the_rank_of_a_tensor_of_unknown_rank(monkeypatch):
    src = '''
    import torch
    from torch import nn


    class Block(nn.Module):
        def __init__(self, dim: int):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)

        def forward(self, x):
            y = self.dwconv(x)
            y.detach()
            y.permute(0, 2, 3, 1).detach()
            x.permute(0, 2, 1).detach()
    '''
    # the convolution's output is "... dim h w" (batched or not); four permuted axes make it 4-axis.
    # The input itself was narrowed by the convolution (axis 1 of 4, or axis 0 of 3, is `dim`), so
    # three permuted axes make it the unbatched "dim ? ?", whose first axis is the channel
    assert roles(src, monkeypatch) == ["(..., channel, height, width)", "(?, height, width, channel)",
                                       "(channel, ?, ?)"]


def test_unknown_role_is_none_and_roles_need_a_producer(monkeypatch):
    src = '''
    import torch


    def f(x, w):
        n, m = x.shape
        (x @ torch.ones(m, 1)).detach()
        x.view(-1, 4).detach()
    '''
    # `view(-1, 4)` of a tensor with no known role is not data: no batch is claimed
    assert roles(src, monkeypatch) == ["(?, one)", "(?, ?)"]


def test_role_origin_reads_as_its_provenance():
    o = RoleOrigin("annotation, m.py:3", BATCH)
    assert o == "annotation, m.py:3" and o.role == BATCH
    back = pickle.loads(pickle.dumps(o))
    assert back == o and back.role == BATCH
    s = with_roles(shape_of("n c"), {0: BATCH})
    assert role_of(s, 0) == BATCH and role_of(s, 1) is None and role_of(s, -2) == BATCH
    assert s == shape_of("n c")  # roles are provenance: not part of a shape's identity
    assert roles_text(with_roles(shape_of("b 1 *rest k"), {-1: "class"})) == "(batch, one, ..., class)"


@pytest.mark.parametrize("name,index,role", [("num_classes", 1, "class"), ("n_head", 2, "head"),
                                            ("bsz", 0, "batch"), ("bsz", 1, None), ("d_model", 0, None)])
def test_a_size_named_for_its_role(name, index, role):
    dims = ["x"] * 3
    dims[index] = name
    assert role_of(shape_of(" ".join(dims)), index) == role


GRU = '''
import torch
from torch import nn


class Encoder(nn.Module):
    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.rnn = nn.GRU(d, hidden, batch_first=True, bidirectional=True)

    def forward(self, x):
        n, t, _ = x.shape
        out, last = self.rnn(x)
        return %s
'''


def _codes(src: str) -> list:
    return [d.code for d in _driver.check_source(textwrap.dedent(src), "m.py", Settings(), strict=True)]


def test_view_moves_the_batch_across_a_literal_factor():
    # a bidirectional GRU's states (2, batch, hidden): viewing them (batch, -1) mixes examples
    assert _codes(GRU % "last.view(n, -1)") == ["SHP109"]
    assert _codes(GRU % "last.transpose(0, 1).reshape(n, -1)") == []  # near miss: the batch moved first
    assert _codes(GRU % "last.view(2 * n, -1)") == []  # a clean merge of the leading axes


def test_merged_spatial_axes_are_positions(monkeypatch):
    src = '''
    import torch
    import torch.nn.functional as F
    from einops import rearrange


    def f(x, img, t, scale: float):
        B, C, H, W = x.shape
        y = F.interpolate(x, scale_factor=scale)
        y.reshape(B, C, -1).transpose(1, 2).detach()
        y.reshape(B, -1).detach()
        rearrange(img, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=4, p2=4).detach()
        rearrange(t, "b n (h d) -> b h n d", h=4).detach()
    '''
    # only height and width merged are positions: a reshape that also takes the channels is not, nor a
    # group of heads and features; an einops "n" is the sequence
    assert roles(src, monkeypatch) == ["(batch, position, channel)", "(batch, ?)", "(batch, position, ?)",
                                       "(batch, head, position, ?)"]


def test_an_undecided_broadcast_keeps_the_roles_its_operands_agree_on(monkeypatch):
    src = '''
    import torch
    from torch import nn


    class Pos(nn.Module):
        def __init__(self, dim: int, k: int):
            super().__init__()
            self.proj = nn.Conv2d(dim, dim, k, 1, k // 2, groups=dim)

        def forward(self, x):
            B, C, H, W = x.shape
            (self.proj(x) + x).detach()
    '''
    # the convolution's spatial sizes may differ from its input's (k even): the sum's sizes are unknown,
    # but each axis is the same axis of both
    assert roles(src, monkeypatch) == ["(batch, channel, height, width)"]


def test_a_permutation_of_an_unknown_input_states_a_layout(monkeypatch):
    src = '''
    import torch
    import torch.nn.functional as F


    def norm2d(x: torch.Tensor, w, b):
        x = x.permute(0, 2, 3, 1)
        x.detach()
        F.layer_norm(x.float(), (4,), w, b).to(x.dtype).detach()
    '''
    assert roles(src, monkeypatch) == ["(?, height, width, channel)", "(?, height, width, channel)"]


def test_a_join_keeps_the_roles_both_branches_agree_on(monkeypatch):
    src = '''
    import torch
    import torch.nn.functional as F
    from einops import rearrange


    def f(img, n: int, pad: bool):
        x = rearrange(img, "b c h w -> b (h w) c")
        if pad:
            x = x[:, :n]
        x.detach()
        x[:, 1:].detach()
    '''
    # cut or not, axis 1 holds the positions; so do the positions after the first one
    assert roles(src, monkeypatch) == ["(batch, position, ?)", "(batch, position, ?)"]


def test_a_positional_embedding_table_holds_positions(monkeypatch):
    src = '''
    import torch
    from torch import nn


    class Embed(nn.Module):
        def __init__(self, n: int, d: int, patch_embed):
            super().__init__()
            self.patch_embed = patch_embed
            self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
            self.position_embeddings = nn.Parameter(torch.zeros(n, d))
            self.pos_conv = nn.Parameter(torch.zeros(1, d, n, n))

        def forward(self, img):
            x = self.patch_embed(img) + self.pos_embed
            x.detach()
            self.position_embeddings.detach()
            self.pos_conv.detach()
    '''
    # an unknown tensor that a (1, positions, d) table is added to shares its positions; a 4-axis table
    # (a grid of embeddings) states nothing
    assert roles(src, monkeypatch) == ["(..., ?, position, ?)", "(position, ?)", "(one, ?, ?, ?)"]


def test_the_cells_of_a_window_are_positions(monkeypatch):
    src = '''
    from einops import rearrange


    def f(x, gray, rgb, p: int):
        rearrange(x, "b (h p1) (w p2) d -> (b h w) (p1 p2) d", p1=p, p2=p).detach()
        rearrange(gray, "b (h p1) (w p2) -> b (h w) (p1 p2)", p1=p, p2=p).detach()
        rearrange(rgb, "b (h p1) (w p2) c -> b (h w) (p1 p2 c)", p1=p, p2=p).detach()
    '''
    # cells cut out of two axes and merged are the tokens of a window; merged last (with or without the
    # channels) they are the features of a patch
    assert roles(src, monkeypatch) == ["(?, position, ?)", "(batch, position, ?)", "(batch, position, ?)"]


def test_a_size_read_from_a_convolution_keeps_its_role(monkeypatch):
    src = '''
    import torch
    from torch import nn


    class Down(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.conv = nn.Conv2d(dim, dim, 3, stride=2)

        def forward(self, x, y):
            x = self.conv(x)
            n, c, hp, wp = x.shape
            x.flatten(2).transpose(1, 2).view(n, hp, wp, c).detach()
            y = self.conv(y)
            gh = y.size(-2)
            gw = y.shape[-1]
            torch.zeros(n, gh, gw, c).detach()
    '''
    # sizes unpacked from, or read off, a convolution's output are its height and width wherever they go
    # (names that say nothing: the producer decides)
    assert roles(src, monkeypatch) == ["(?, height, width, channel)", "(?, height, width, channel)"]


def test_roles_known_by_symbol_leave_a_callee_with_its_axes(monkeypatch):
    src = '''
    import torch
    from torch import nn


    class Block(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.fc = nn.Linear(dim, dim)

        def forward(self, x):
            B, H, W, C = x.shape
            y = self.fc(x.reshape(B, H * W, C)).view(B, H, W, C)
            return x + y


    class Net(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.stem = nn.Conv2d(3, dim, 4, stride=4)
            self.block = Block(dim)

        def forward(self, img):
            x = self.stem(img).permute(0, 2, 3, 1)
            self.block(x).detach()
    '''
    # the Block's own view(B, H, W, C) holds height and width only by symbol: stored, they reach the caller
    assert roles(src, monkeypatch) == ["(batch, height, width, channel)"]


def test_a_permutation_states_the_layout_of_a_tensor_of_unknown_rank(monkeypatch):
    src = '''
    import torch
    from torch import nn
    from layers import create_conv2d


    class Aggregate(nn.Module):
        def __init__(self, cin, cout, norm_layer=nn.LayerNorm, mid_norm=True):
            super().__init__()
            self.conv = create_conv2d(cin, cout, 3)
            self.norm = norm_layer(cout) if mid_norm else None

        def forward(self, x):
            x = self.conv(x)
            y = x.permute(0, 2, 3, 1)
            y.detach()
            if self.norm is not None:
                y = self.norm(y)
            y.detach()
    '''
    # a layer the engine cannot follow gives a tensor of unknown rank: the permutation says it has four axes,
    # and converts them to channels-last; the optional norm is a norm wherever it is called
    assert roles(src, monkeypatch) == ["(?, height, width, channel)", "(?, height, width, channel)"]


def test_a_per_example_flatten_of_a_feature_map_keeps_the_batch_first(monkeypatch):
    src = '''
    import torch
    import torch.nn.functional as F
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 10, 5)
            self.fc = nn.Linear(320, 50)

        def forward(self, x, h):
            y = F.max_pool2d(self.conv(x), 2)
            y.view(y.size(0), -1).detach()
            y.reshape(y.shape[0], -1).detach()
            torch.flatten(y, 1).detach()
            y.view(y.size(1), -1).detach()
            z = self.fc(h)
            z.view(z.size(0), -1).detach()
    '''
    # a convolution's output of unknown rank (``... 10 h w``): flattened behind its first axis, per example,
    # that axis is the batch, as it is where ``flatten(y, 1)`` reads the map as ``(N, C, *)``; not an axis
    # other than the first, nor a Linear's output (``... 50``), which may have no axis before its features
    assert roles(src, monkeypatch) == ["(batch, ?)", "(batch, ?)", "(batch, ?)", "(?, ?)", "(?, ?)"]
