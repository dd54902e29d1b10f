"""The inference engine, construct by construct, observed through ``reveal_shape`` and diagnostics."""

from __future__ import annotations

import textwrap

import pytest

from shapecheck._lint import check_source
from shapecheck._engine._project import Project

HEADER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from jaxtyping import Float, Int
from shapecheck import reveal_shape
"""


def run(src: str, path: str = "m.py", project=None):
    source = HEADER + textwrap.dedent(src)
    return check_source(source, path, project=project, strict=True)


def reveals(src: str, **kw) -> list:
    return [d.message for d in run(src, **kw) if d.code == "reveal"]


def errors(src: str, **kw) -> list:
    return [d for d in run(src, **kw) if d.code != "reveal"]


def codes(src: str, **kw) -> list:
    return [d.code for d in errors(src, **kw)]


# -- flow ---------------------------------------------------------------------------------------

def test_assignment_and_reassignment():
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], w: Float[Tensor, "d e"]):
            y = x @ w
            reveal_shape(y)
            y = y.sum(-1)
            reveal_shape(y)
    """) == ["b n e", "b n"]


def test_tuple_unpacking_of_sizes_names_the_axes():
    assert reveals("""
        def f(x):
            B, T, C = x.size()
            reveal_shape(x)
            y = x.view(B * T, C)
            reveal_shape(y)
    """) == ["B T C", "B*T C"]


def test_shape_attribute_unpacking_and_indexing():
    assert reveals("""
        def f(x: Float[Tensor, "b s d"]):
            b, s, d = x.shape
            n = x.shape[-1]
            m = x.size(1)
            reveal_shape(x.new_zeros(b, n, m))
    """) == ["b d s"]


def test_chunk_unpacking():
    assert reveals("""
        def f(qkv: Float[Tensor, "b s d*3"]):
            q, k, v = qkv.chunk(3, dim=-1)
            reveal_shape(k)
    """) == ["b s d"]


def test_chunks_of_an_axis_of_unknown_size_keep_the_other_axes():
    # ``q, k, v = qkv.chunk(3, dim=1)`` of an axis whose size is not known: as many pieces as targets
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], m):
            y = torch.cat([x, m], dim=1)
            q, k, v = y.chunk(3, dim=1)
            reveal_shape(k)
            a, b = y.chunk(3, dim=1)
            reveal_shape(a)
    """) == ["b ? d", "..."]  # near miss: two targets for three pieces is not unpacked


def test_augmented_assignment_broadcasts():
    out = errors("""
        def f(x: Float[Tensor, "b n"], y: Float[Tensor, "b m"]):
            x += y
    """)
    assert [d.code for d in out] == ["SHP102"]
    assert '"n"' in out[0].message and '"m"' in out[0].message


def test_if_else_join_keeps_what_both_agree_on():
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], flag: bool, other: bool):
            if flag:
                y = x.sum(-1)
            else:
                y = x.mean(-1)
            reveal_shape(y)
            if other:
                z = x
            else:
                z = x.transpose(1, 2)
            reveal_shape(z)
    """) == ["b n", "b ? ?"]


def test_early_return_branch_does_not_join():
    assert reveals("""
        def f(x: Float[Tensor, "b n d"], flag: bool):
            if flag:
                y = x.sum(0)
                return y
            else:
                y = x
            reveal_shape(y)
    """) == ["b n d"]


def test_try_join():
    assert reveals("""
        def f(x: Float[Tensor, "b n"]):
            try:
                y = x * 2
            except RuntimeError:
                y = x + 1
            reveal_shape(y)
    """) == ["b n"]


def test_loop_widens_to_unknown_and_keeps_invariants():
    assert reveals("""
        def f(x: Float[Tensor, "b n"], steps: int):
            h = x
            g = x
            for _ in range(steps):
                h = h * 2
                g = torch.cat([g, g], dim=1)
            reveal_shape(h)
            reveal_shape(g)
    """) == ["b n", "b ?"]


def test_method_chains_and_nested_calls():
    assert reveals("""
        def f(x: Float[Tensor, "b h s d"]):
            y = x.transpose(1, 2).contiguous().reshape(x.shape[0], x.shape[2], -1)
            reveal_shape(y)
            reveal_shape(F.softmax(torch.matmul(x, x.transpose(-2, -1)), dim=-1))
    """) == ["b s d*h", "b h s s"]


def test_annotated_local_is_checked_then_trusted():
    out = run("""
        def f(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]):
            scores: Float[Tensor, "b s t"] = q @ k.transpose(1, 2)
            wrong: Float[Tensor, "b t s"] = q @ k.transpose(1, 2)
            reveal_shape(scores)
    """)
    assert [d.code for d in out if d.code != "reveal"] == ["SHP105"]
    bad = next(d for d in out if d.code == "SHP105")
    assert "annotation of local" in bad.message and '"b t s"' in bad.message
    assert [d.message for d in out if d.code == "reveal"] == ["b s t"]


# -- symbols from code --------------------------------------------------------------------------

def test_int_parameters_and_arithmetic():
    assert reveals("""
        def f(n: int, d: int):
            x = torch.zeros(2 * n, d + 1)
            reveal_shape(x)
    """) == ["n*2 d+1"]


def test_len_gives_first_axis():
    assert reveals("""
        def f(x: Float[Tensor, "b n"]):
            reveal_shape(torch.arange(len(x)))
    """) == ["b"]


def test_config_attributes_bridge_to_annotation_names():
    assert codes("""
        def f(x: Float[Tensor, "b d_model"], cfg):
            w = torch.randn(cfg.d_model, cfg.d_ff)
            return x @ w
    """) == []
    # a size from code meeting a data axis binds to it (the first binding wins) ...
    assert codes("""
        def f(x: Float[Tensor, "b channels"], cfg):
            w = torch.randn(cfg.d_ff, cfg.d_model)
            return x @ w
    """) == []
    # ... but two config fields are distinct axes unless the code relates them
    assert codes("""
        def f(x: Float[Tensor, "b d_model"], cfg):
            w = torch.randn(cfg.d_ff, cfg.d_model)
            return x @ w
    """) == ["SHP101"]
    # ... but a name of the signature is that axis wherever it is spelt
    assert codes("""
        def f(x: Float[Tensor, "b d_model"], h: Float[Tensor, "b d_ff"], cfg):
            w = torch.randn(cfg.d_ff, cfg.d_model)
            return x @ w
    """) == ["SHP101"]


def test_divisibility_from_assert_makes_heads_times_head_size_the_model_size():
    assert reveals("""
        def f(x: Float[Tensor, "b s d_model"], n_heads: int):
            assert d_model % n_heads == 0
            d_model = x.shape[-1]
            assert d_model % n_heads == 0
            y = x.view(x.shape[0], x.shape[1], n_heads, d_model // n_heads)
            z = y.reshape(x.shape[0], x.shape[1], n_heads * (d_model // n_heads))
            reveal_shape(z)
    """) == ["b s d_model"]


def test_split_teaches_divisibility():
    out = run("""
        def f(x):
            B, T, C = x.size()
            n_head = 4
            y = x.view(B, T, n_head, C // n_head)
            z = y.view(B, T, C)
            reveal_shape(z)
    """)
    assert [d.message for d in out if d.code == "reveal"] == ["B T C"]
    assert [d.code for d in out if d.code != "reveal"] == []


# -- nn.Module classes --------------------------------------------------------------------------

NANOGPT_ATTN = """
    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd)
            self.n_head = config.n_head
            self.n_embd = config.n_embd
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                 .view(1, 1, config.block_size, config.block_size))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            y = att @ v
            reveal_shape(y)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            reveal_shape(y)
            return self.c_proj(y)
"""


def test_unannotated_nanogpt_attention_is_followed_without_false_alarms():
    out = run("import math\n" + textwrap.dedent(NANOGPT_ATTN))
    assert [d.code for d in out if d.code != "reveal"] == []
    assert [d.message for d in out if d.code == "reveal"] == ["B n_head T C//n_head", "B T C"]


def test_heads_merged_without_transpose_is_reshape_axis_order():
    src = "import math\n" + textwrap.dedent(NANOGPT_ATTN).replace(
        "y = y.transpose(1, 2).contiguous().view(B, T, C)", "y = y.contiguous().view(B, T, C)")
    out = [d for d in run(src) if d.code != "reveal"]
    assert [d.code for d in out] == ["SHP109"]
    assert '"T"' in out[0].message and "reorder" in out[0].message


def test_channels_last_viewed_as_channels_first_is_reshape_axis_order():
    out = errors("""
        def f(x: Float[Tensor, "b h w c"]):
            return x.view(x.shape[0], x.shape[3], x.shape[1], x.shape[2])
    """)
    assert [d.code for d in out] == ["SHP109"]


def test_view_to_wrong_element_count_is_an_error():
    assert codes("""
        def f(x: Float[Tensor, "b 12 64"]):
            return x.view(x.shape[0], 700)
    """) == ["SHP103"]


def test_module_parameters_and_int_attributes():
    assert reveals("""
        class Attn(nn.Module):
            def __init__(self, d_model: int, n_heads: int, d_head: int):
                super().__init__()
                self.W_Q = nn.Parameter(torch.randn(n_heads, d_model, d_head))
                self.n_heads = n_heads

            def forward(self, x: Float[Tensor, "batch pos d_model"]):
                q = torch.einsum("bpm,hmd->bphd", x, self.W_Q)
                reveal_shape(q)
                return q
    """) == ["batch pos n_heads d_head"]


def test_submodule_of_user_class_checks_forward_with_constructor_bound():
    src = """
        class Downsample(nn.Module):
            def __init__(self, channels: int):
                super().__init__()
                self.channels = channels
                self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

            def forward(self, x: Float[Tensor, "b channels h w"]) -> Float[Tensor, "b channels h2 w2"]:
                return self.conv(x)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = nn.Conv2d(3, 64, 3, padding=1)
                self.down = Downsample(64)
                self.bad = Downsample(32)

            def forward(self, x: Float[Tensor, "b 3 h w"]):
                h = self.stem(x)
                h = self.down(h)
                reveal_shape(h)
                return self.bad(h)
    """
    out = run(src)
    assert [d.message for d in out if d.code == "reveal"] == ["b 64 ? ?"]
    bad = [d for d in out if d.code != "reveal"]
    assert [d.code for d in bad] == ["SHP105"]
    assert "Downsample.forward" in bad[0].message and "64" in bad[0].message and "32" in bad[0].message


def test_sequential_and_module_list():
    assert reveals("""
        class MLP(nn.Module):
            def __init__(self, d: int, n_layers: int):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
                self.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(n_layers)])

            def forward(self, x: Float[Tensor, "b d"]):
                h = self.net(x)
                reveal_shape(h)
                for blk in self.blocks:
                    h = blk(h)
                reveal_shape(h)
                return h
    """) == ["b d", "b d"]


# -- calls of annotated functions -----------------------------------------------------------------

ATTENTION_FN = """
def attention(q: Float[Tensor, "b s d_head"], k: Float[Tensor, "b t d_head"],
              v: Float[Tensor, "b t d_v"]) -> Float[Tensor, "b s d_v"]:
    return torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
"""


def test_callee_names_are_instantiated_per_call():
    out = run(ATTENTION_FN + textwrap.dedent("""
        def caller(x: Float[Tensor, "n m 64"], y: Float[Tensor, "n r 64"], z: Float[Tensor, "n r 32"]):
            out = attention(x, y, z)
            reveal_shape(out)
            bad = attention(x, z, y)
    """))
    assert [d.message for d in out if d.code == "reveal"] == ["n m 32"]
    bad = [d for d in out if d.code != "reveal"]
    assert [d.code for d in bad] == ["SHP105"]
    assert "argument `k` of `attention`" in bad[0].message
    assert any("of `attention` was bound to" in n and n.endswith("by argument `q`") for n in bad[0].notes)


def test_cross_module_call_through_imports(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(HEADER + ATTENTION_FN)
    user = pkg / "model.py"
    user.write_text(HEADER + textwrap.dedent("""
        from .layers import attention

        def f(q: Float[Tensor, "b s e"], k: Float[Tensor, "b t e"], v: Float[Tensor, "b t e"]):
            reveal_shape(attention(q, k, v))
            return attention(q, v.transpose(1, 2), v)
    """))
    project = Project.from_files([pkg / "layers.py", user])
    out = check_source(user.read_text(), str(user), project=project, strict=True)
    assert [d.message for d in out if d.code == "reveal"] == ["b s e"]
    assert [d.code for d in out if d.code != "reveal"] == ["SHP105"]


def test_return_annotation_is_checked():
    out = errors("""
        def f(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b d"]:
            return x.mean(dim=-1)
    """)
    assert [d.code for d in out] == ["SHP105"]
    assert "return value" in out[0].message and '"s"' in out[0].message and '"d"' in out[0].message


def test_unknown_is_never_an_error():
    assert codes("""
        def f(x, y, z):
            a = x @ y
            b = torch.cat([a, z], dim=1)
            c = some_library.op(b).view(-1, 3)
            return c.softmax(-1) @ z
    """) == []


def test_malformed_annotation_is_reported_with_the_token():
    out = errors("""
        def f(x: Float[Tensor, "batch, seq"]):
            return x
    """)
    assert [d.code for d in out] == ["SHP001"]
    assert '"batch seq"' in out[0].message


def test_reveal_of_string_annotation_and_future_annotations():
    src = "from __future__ import annotations\n" + HEADER + textwrap.dedent("""
        Batch = Float[Tensor, "batch ..."]

        def f(x: "Float[Tensor, 'b n']", y: Batch):
            reveal_shape(x)
            reveal_shape(y)
    """)
    out = check_source(src, "m.py", strict=True)
    assert [d.message for d in out if d.code == "reveal"] == ["b n", "batch ..."]


@pytest.mark.parametrize("src", [
    "def f(:\n",
    "print 'python 2'\n",
])
def test_syntax_errors_raise_syntax_error(src):
    with pytest.raises(SyntaxError):
        check_source(src, "bad.py")


def test_simple_lambda_is_applied():
    assert reveals("""
        def f(x: Float[Tensor, "b s d"]):
            swap = lambda t: t.transpose(1, 2)
            reveal_shape(swap(x))
    """) == ["b d s"]


def test_binding_conflict_names_where_the_first_binding_was_made():
    out = errors("""
        def f(x: Float[Tensor, "b 64"], n: int):
            w = torch.randn(n, 10)
            y = x @ w
            v = torch.randn(32)
            return w.transpose(0, 1) @ v
    """)
    assert [d.code for d in out] == ["SHP101"]
    assert any("`n` was bound to 64" in note for note in out[0].notes), out[0].notes


def test_einops_style_group_in_annotation_gets_a_jaxtyping_spelling():
    out = errors("""
        def f(x: Float[Tensor, "(bs context_size) d_in"]):
            return x
    """)
    assert [d.code for d in out] == ["SHP001"]
    assert '"bs*context_size d_in"' in out[0].message


def test_factories_with_dtype_and_device_keywords():
    assert reveals("""
        def f(idx: Int[Tensor, "b t"]):
            pos = torch.zeros(idx.shape[0], idx.shape[1], dtype=torch.long, device=idx.device)
            reveal_shape(pos)
    """) == ["b t"]


def test_a_name_only_in_the_return_annotation_is_bound_by_the_return():
    assert codes("""
        def identity(x: Float[Tensor, "*bs input_dim"]) -> Float[Tensor, "*bs output_dim"]:
            return x
    """) == []
    # but a name the parameters bind is that axis
    assert codes("""
        def swap(x: Float[Tensor, "b n d"]) -> Float[Tensor, "b n d"]:
            return x.transpose(1, 2)
    """) == ["SHP105"]


def test_each_return_binds_free_names_on_its_own_path():
    assert codes("""
        def window(x: Float[Tensor, "batch seq"], buffer: int) -> Float[Tensor, "batch width"]:
            if buffer == 0:
                return x
            return x[:, :3]
    """) == []


def test_a_binding_made_inside_a_branch_that_returns_does_not_leak():
    assert codes("""
        def f(image: Float[Tensor, "c h w"], color: Float[Tensor, "3 h w"]):
            c, h, w = image.shape
            if c == 3:
                return image * color
            return image.split((3, 1), dim=0)
    """) == []


def test_a_union_of_different_shapes_is_either():
    assert reveals("""
        def f(x: Float[Tensor, "3 h w"] | Float[Tensor, "4 h w"], y: Float[Tensor, "b n"] | None):
            reveal_shape(x)
            reveal_shape(y)
    """) == ["3 h w", "4 h w", "b n"]  # the body is analysed once per member of the union


def test_named_anonymous_axis():
    assert reveals("""
        def f(v: Float[Tensor, "batch frame 3 height=_ width=_"]):
            reveal_shape(v[:, 0])
    """) == ["batch 3 ? ?"]


def test_axis_aliases_from_the_config_name_one_axis():
    from shapecheck._core._settings import Settings

    src = HEADER + textwrap.dedent("""
        def f(x: Float[Tensor, "batch seq d"], y: Float[Tensor, "batch pos d"], cfg):
            reveal_shape(x + y)
            return torch.zeros(cfg.seq)
    """)
    plain = check_source(src, "m.py", strict=True)
    assert [d.code for d in plain if d.code != "reveal"] == ["SHP102"]
    aliased = check_source(src, "m.py", Settings(axis_aliases=(("seq", "pos"),)), strict=True)
    assert [(d.code, d.message) for d in aliased] == [("reveal", "batch pos d")]


def test_an_int_argument_binds_the_callee_axis_of_its_name_through_the_aliases():
    """The name bridge is one rule (``_core._unify.code_size``): an int argument named ``seq`` binds the
    callee's axis ``"seq"``, which the config's aliases spell ``"pos"``, at the call as in the body."""
    from shapecheck._core._settings import Settings

    src = HEADER + textwrap.dedent("""
        def head(x: Float[Tensor, "b pos"], seq: int) -> Float[Tensor, "b pos"]:
            return x

        def f(x: Float[Tensor, "b 8"]):
            return head(x, 16)
    """)
    assert [d.code for d in check_source(src, "m.py", strict=True)] == []
    aliased = check_source(src, "m.py", Settings(axis_aliases=(("seq", "pos"),)), strict=True)
    assert [(d.code, d.message) for d in aliased] == [
        ("SHP105", 'argument `x` of `head` has 8 at the last axis where "pos" is 16')]


def test_code_expected_to_fail_under_pytest_raises_is_not_reported():
    src = HEADER + "import pytest\n" + textwrap.dedent("""
        def test_bad_shapes(a: Float[Tensor, "n 128"], b: Float[Tensor, "k 6 128"]):
            with pytest.raises(RuntimeError):
                a @ b
            return a @ b
    """)
    out = check_source(src, "test_m.py", strict=True)
    assert [(d.code, d.line) for d in out] == [("SHP101", 12)]  # the return, not the line under raises


def test_code_expected_to_fail_under_a_test_cases_assert_raises_is_not_reported():
    src = HEADER + "import unittest\n" + textwrap.dedent("""
        class T(unittest.TestCase):
            def test_bad_shapes(self, a: Float[Tensor, "n 128"], b: Float[Tensor, "k 6 128"]):
                with self.assertRaisesRegex(RuntimeError, "cannot be multiplied"):
                    a @ b
                with self.assertRaises(RuntimeError):
                    a @ b
                with self.subTest("no error expected"):
                    a @ b
    """)
    out = check_source(src, "test_m.py", strict=True)
    assert [(d.code, d.line) for d in out] == [("SHP101", 16)]  # only the one under subTest


def test_an_axis_left_unnamed_may_be_one_until_a_layer_names_it():
    # ``_, _, T = mask.size()`` of a ``(B, 1, T)`` mask broadcasts; the width of ``q`` left unnamed, then read by a
    # projection built for ``d_k * heads``, is that size, which a residual of ``d_model`` features cannot meet
    assert errors("""
        def band(mask):
            _, _, T = mask.size()
            idx = torch.arange(T)
            return (idx.unsqueeze(0) >= idx.unsqueeze(1)) * mask.transpose(1, 2) * mask
    """) == []
    assert codes("""
        class Attn(nn.Module):
            def __init__(self, d_model: int, heads: int, d_k: int):
                super().__init__()
                self.w_q = nn.Linear(heads * d_k, d_model)
                self.fc = nn.Linear(d_model, d_model)
            def forward(self, q):
                b, n, _ = q.size()
                residual = q
                return self.fc(self.w_q(q)) + residual
    """) == ["SHP102"]


def test_a_size_equality_test_makes_one_shape_where_it_holds():
    # the residual only where the shapes agree; ``or`` compares the values only where the sizes are equal
    assert errors("""
        class Block(nn.Module):
            def __init__(self, cin: int, cout: int):
                super().__init__()
                self.conv = nn.Conv2d(cin, cout, 3, padding=1)
            def forward(self, x):
                y = self.conv(x)
                if y.size() == x.size():
                    y += x
                return y

        def changed(x: Float[Tensor, "n"], prev: Float[Tensor, "m"]) -> bool:
            return bool(x.size() != prev.size() or torch.any(x != prev))
    """) == []
    assert codes("""
        def changed(x: Float[Tensor, "n"], prev: Float[Tensor, "m"]) -> bool:
            return bool(x.size() == prev.size() or torch.any(x != prev))
    """) == ["SHP102"]


def test_a_zero_sized_axis_meant_as_a_scalar_gets_a_hint():
    out = errors("""
        def loss(x: Float[Tensor, "n 3"]) -> Float[Tensor, "0"]:
            return x.abs().sum(dim=-1).mean()
    """)
    assert [d.code for d in out] == ["SHP105"]
    assert out[0].help and '""' in out[0].help


# -- the engine's rooms ------------------------------------------------------------------------------

def test_a_function_signature_is_read_once_however_often_it_is_called(monkeypatch):
    from shapecheck._engine import _signature

    reads = []
    real = _signature.read_annotation

    def counting(node, imports, *a):
        if node is not None:
            reads.append(node.lineno)
        return real(node, imports, *a)

    monkeypatch.setattr(_signature, "read_annotation", counting)
    out = reveals("""
        def head(x: Float[Tensor, "b d"], w: Float[Tensor, "d c"]) -> Float[Tensor, "b c"]:
            return x @ w

        def f(x: Float[Tensor, "b 8"], w: Float[Tensor, "8 3"]):
            reveal_shape(head(x, w))
            reveal_shape(head(x, w))
            reveal_shape(head(head(x, w), torch.randn(3, 5)))
    """)
    assert out == ["b 3", "b 3", "b 5"]
    assert len(reads) == 5  # head: two parameters and the return; f: two parameters


def test_nothing_is_reported_while_silenced_and_reporting_comes_back_after_an_error():
    import ast

    from shapecheck._engine import FunctionAnalysis
    from shapecheck._engine._module import ModuleInfo
    from shapecheck._core._settings import Settings

    tree = ast.parse("def f():\n    pass\n")
    fa = FunctionAnalysis(ModuleInfo("m.py", tree, Settings()), tree.body[0])
    with pytest.raises(ValueError):
        with fa.silenced():
            fa.diag(tree.body[0], "SHP101", "hidden")
            raise ValueError
    fa.diag(tree.body[0], "SHP101", "shown")
    assert [d.message for d in fa.diags] == ["shown"]


def test_callee_bindings_are_a_typed_value():
    from shapecheck._core._parse import parse_shape
    from shapecheck._core._shape import Shape
    from shapecheck._core._algebra import const
    from shapecheck._core._unify import Bindings, Env, instantiate, match_spec

    inst = Bindings()
    assert match_spec(parse_shape("*batch d"), Shape((const(2), const(3), const(4))), Env(), inst, "argument `x`") == []
    assert inst.sizes == {"d": const(4)} and inst.segments == {"batch": (const(2), const(3))}
    assert inst.where == {"d": "argument `x`"}
    assert str(instantiate(parse_shape("*batch d d"), inst)) == "2 3 4 4"


def test_a_sequential_with_a_layer_it_cannot_follow_is_unknown_but_an_activation_class_keeps_shapes():
    """``nn.Sequential(Rearrange(pattern_built_at_run_time, **sizes), nn.Linear(...))``: the unknown
    layer is not dropped (what comes out is unknown); an activation passed in as a class
    (``activation: Type[nn.Module] = nn.GELU``) keeps its input's shape, as a norm layer's class does."""
    src = '''
class Down(nn.Module):
    def __init__(self, chans: int, dim: int, activation=nn.GELU):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, chans, 2, stride=2), activation(), nn.Conv2d(dim, dim, 1))

    def forward(self, x: Float[Tensor, "b 1 h w"]):
        return self.body(x)
'''
    assert codes(src) == ["SHP107"]
    assert codes(src.replace("activation()", "make_layer()")) == []


def test_a_divisibility_fact_holds_of_what_its_symbols_were_bound_to():
    """``assert embed_dim % h == 0`` then ``embed_dim`` bound to an input's last axis ``C``: ``C % h == 0``
    too, so ``h * (C // h)`` is ``C``; without the fact nothing simplifies."""
    from shapecheck._core._algebra import sym
    from shapecheck._core._unify import Env

    e, h, c = sym("embed_dim", "code"), sym("h", "code"), sym("C", "dim:x")
    env = Env()
    env.add_divisible(e, h)
    env.bind(e.as_sym(), c)
    assert env.resolve(h * (c // h)) == c
    assert env.resolve(h * (e // h)) == c
    assert Env().resolve(h * (c // h)) != c


def test_where_with_an_operand_the_engine_cannot_evaluate_keeps_its_width_unknown():
    # a per-token mask (batch, seq, 1) against features the engine could not follow: the mask's 1 broadcasts,
    # it is not the features' width (diffusers' LTX-2 connectors: a Linear then read the width as 1)
    assert reveals("""
        def f(h, mask, encode):
            keep = mask.bool().unsqueeze(-1)
            feats = encode(h)
            reveal_shape(torch.where(keep, feats, torch.zeros_like(feats)))
            reveal_shape(torch.where(keep, feats, 0.0))
    """) == ["... ?", "... ?"]
