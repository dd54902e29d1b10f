"""Unions analysed per member, rank tests that narrow, an assertion that contradicts the rank, and the
element types (integer, boolean) that make advanced indexing shaped."""

from __future__ import annotations

from test_engine import codes, errors, reveals


# -- unions and rank tests ----------------------------------------------------------------------------

def test_a_union_of_tensor_annotations_is_analysed_per_member():
    assert sorted(reveals("""
        from typing import Union
        def f(x: Union[Int[Tensor, " n"], Int[Tensor, "1 n"]]):
            reveal_shape(x)
            if x.dim() == 1:
                x = x[None]
            reveal_shape(x)
    """)) == ["1 n", "1 n", "n"]  # one note per line and shape: "1 n" at both lines


def test_a_bug_under_one_member_of_a_union_is_reported():
    src = """
        from typing import Union
        def f(x: Union[Float[Tensor, "b n"], Float[Tensor, "{other}"]], w: Float[Tensor, "n d"]):
            return x @ w
    """
    assert codes(src.format(other="b c n")) == []
    assert codes(src.format(other="n b")) == ["SHP101"]


def test_members_do_not_bind_for_each_other():
    # "n" is 3 under the first member only; the second member is analysed from a clean start
    assert errors("""
        from typing import Union
        def f(x: Union[Float[Tensor, "3"], Float[Tensor, "n"]], y: Float[Tensor, "n"]):
            if x.shape[0] == 3:
                return x
            return x + y
    """) == []


def test_a_rank_test_narrows_an_unknown_input():
    assert reveals("""
        def f(x):
            if x.ndim == 3:
                reveal_shape(x)
            if x.dim() != 2:
                return x
            reveal_shape(x)

        def g(x):
            assert len(x.shape) == 4
            reveal_shape(x)
    """) == ["? ? ?", "? ?", "? ? ? ?"]


def test_an_isinstance_test_makes_an_unknown_object_a_tensor():
    assert reveals("""
        def f(x):
            if isinstance(x, torch.Tensor):
                reveal_shape(torch.zeros(2, 3) + x * 2)

        def g(x):
            reveal_shape(torch.zeros(2, 3) + x * 2)  # untested, x may be a number
    """) == ["... 2 3", "2 3"]


def test_an_assertion_that_contradicts_the_rank_is_reported():
    out = errors("""
        def f(x: Float[Tensor, "b t d"]):
            assert x.dim() == 1
            return x
    """)
    assert [d.code for d in out] == ["SHP104"]
    assert "1 axis" in out[0].message and "has 3" in out[0].message
    assert errors("""
        def f(x: Float[Tensor, "b t d"]):
            assert x.dim() == 3
            assert x.ndim != 2
            return x
    """) == []


# -- element types for indexing -------------------------------------------------------------------------

def test_integer_and_boolean_annotations_shape_advanced_indexing():
    assert reveals("""
        def f(x: Float[Tensor, "b c h w"], rows: Int[Tensor, "n k"], m: Bool[Tensor, "b c"]):
            reveal_shape(x[:, :, rows])
            reveal_shape(x[m])
    """.replace("def f", "from jaxtyping import Bool\n        def f", 1)) == ["b c n k w", "? h w"]


def test_factories_and_comparisons_give_index_types():
    assert reveals("""
        def f(x: Float[Tensor, "b c h w"], n: int):
            idx = torch.randint(0, 5, (7,))
            reveal_shape(x[idx])
            reveal_shape(x[:, torch.arange(3)])
            reveal_shape(x[:, torch.arange(n).long()])
            reveal_shape(x[x > 0])
            reveal_shape(x[:, :, x[0, 0, 0].argmax(-1, keepdim=True)])
    """) == ["7 c h w", "b 3 h w", "b n h w", "?", "b c 1 w"]


def test_an_index_of_unknown_element_type_stays_unknown():
    # a float tensor cannot index; a tensor of unknown element type may be a mask: its size is unknown
    assert reveals("""
        def f(x: Float[Tensor, "b c"], t: Float[Tensor, "k"], u):
            reveal_shape(x[:, torch.arange(0.0, 3.0)])
            reveal_shape(x[:, t.to(torch.float32)])
    """) == ["b ?", "b ?"]


def test_a_raise_in_an_elif_chain_makes_its_test_false_after_it():
    # regression: "is 2-D" then "is square" checked by raising; the square matrix plus an identity of its
    # first size is then correct
    assert errors("""
        def regularised(A, eps: float):
            if len(A.shape) != 2:
                raise ValueError("not 2-D")
            elif A.shape[0] != A.shape[1]:
                raise ValueError("not square")
            elif eps < 0:
                raise ValueError("negative")
            return A + eps * torch.eye(A.shape[0])
    """) == []


def test_a_local_annotation_of_another_rank_is_reported_once():
    # the annotation is wrong (reported); the code after it is checked with the value that runs
    out = errors("""
        def f(x: Float[Tensor, "batch pos head d"]):
            scale: Float[Tensor, "batch pos 1"] = x.mean(-1, keepdim=True)
            return x / scale
    """)
    assert [d.code for d in out] == ["SHP105"]


def test_a_union_with_members_that_are_not_tensors_is_not_split():
    # which member arrives is tied to other arguments (a string is tokenized first): unknown, as before
    assert reveals("""
        from typing import Union
        def f(x: Union[str, Int[Tensor, "pos"], Int[Tensor, "1 pos"]]):
            reveal_shape(x)
        def g(x: Union[Int[Tensor, "b pos"], Float[Tensor, "b pos d"]]):
            reveal_shape(x)
    """) == ["...", "..."]


def test_a_local_annotation_is_no_evidence_under_another_member():
    # regression: a local annotation written for the 3-axis member; under the 4-axis member the value
    # (here from a call the engine cannot see) broadcasts fine at run time
    assert errors("""
        from typing import Union
        def norm(x: Union[Float[Tensor, "batch pos d"], Float[Tensor, "batch pos head d"]], hook):
            scale: Float[Tensor, "batch pos 1"] = hook(x.pow(2).mean(-1, keepdim=True))
            return x / scale

        def norm2(x: Union[Float[Tensor, "batch pos d"], Float[Tensor, "batch pos head d"]], t: Tensor):
            scale: Float[Tensor, "batch pos 1"] = t  # a tensor of unknown shape
            return x / scale
    """) == []


def test_the_indices_a_top_k_gives_index_by_position():
    # ProbSparse attention: the queries picked per batch and head by the top-k indices of a score
    src = """
        def pick(q: Float[Tensor, "b h l d"], k: Float[Tensor, "b h l d"], u: int):
            b, h, l, d = q.shape
            top = q.sum(-1).topk(u, sorted=False)[1]
            reduced = q[torch.arange(b)[:, None, None], torch.arange(h)[None, :, None], top, :]
            reveal_shape(reduced)
            return {scores}
    """
    assert reveals(src.format(scores="reduced @ k.transpose(-2, -1)")) == ["b h u d"]
    assert codes(src.format(scores="reduced @ k")) == ["SHP101"]
