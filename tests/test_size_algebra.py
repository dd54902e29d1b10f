"""Sizes that provably differ: a product with a whole factor above one is never one of its factors.

Real code writes ``nn.Linear(d, 2 * expand * d)`` (``expand`` a size the caller gives) and ``d // 2``
against ``d * mult``; sizes are positive integers, so a multiple of a monomial is at least the monomial,
and ``2*e*d - d = d*(2e - 1) > 0``. Each claim is checked against every assignment of small sizes."""

import itertools

import pytest

from shapecheck._core._algebra import const, provably_distinct, provably_positive, sym

e, d, h, k = (sym(n, "code") for n in ("e", "d", "h", "k"))

DISTINCT = [
    (const(2) * e * d, d),  # in_proj built for 2 * expand * d_model against d_model
    (const(3) * h * d, d),
    (e * d + const(1), d),
    (d // const(2), d * e),
    (const(4) * d * h, d * h),
    (e * d * h + d, d),
]
UNDECIDED = [
    (e * d, d),  # e may be 1
    (e * d, h),  # heads * dim_head against dim
    (const(2) * e, d),
    (d * h - d * k, d),
    (e * d - const(1), d),
]


@pytest.mark.parametrize("a, b", DISTINCT, ids=str)
def test_products_with_a_whole_factor_above_one_differ(a, b):
    assert provably_distinct(a, b)
    assert provably_distinct(b, a)


@pytest.mark.parametrize("a, b", UNDECIDED, ids=str)
def test_sizes_that_may_be_equal_are_not_claimed_distinct(a, b):
    assert not provably_distinct(a, b)


@pytest.mark.parametrize("a, b", DISTINCT + UNDECIDED, ids=str)
def test_a_distinct_claim_holds_at_every_small_assignment(a, b):
    syms = sorted(a.symbols() | b.symbols(), key=lambda s: s.name)
    if not provably_distinct(a, b):
        # the undecided ones: some assignment makes them equal (so the claim would have been wrong)
        assert any((a - b).subst({s: const(v) for s, v in zip(syms, vals)}).value == 0
                   for vals in itertools.product(range(1, 7), repeat=len(syms)))
        return
    for vals in itertools.product(range(1, 7), repeat=len(syms)):
        diff = (a - b).subst({s: const(v) for s, v in zip(syms, vals)})
        assert diff.value != 0, vals


def test_a_negative_term_with_no_multiple_to_cover_it_is_not_positive():
    assert not provably_positive(e * d - h)
    assert provably_positive(e * d * h - d * h + const(1))


def test_a_branch_that_mixed_in_an_unchecked_value_keeps_the_join_unchecked():
    """``if mask is not None: attn = attn + mask`` on scores read through an unknown object: the join of the
    two branches is the same unchecked value (marked mixed), not a value whose marks are lost."""
    from shapecheck._core._parse import parse_shape
    from shapecheck._engine._checks import spec_shape
    from shapecheck._engine._values import join

    s = spec_shape(parse_shape("b h n m"), "test")
    plain = s.with_meta(unverified=True)
    mixed = s.with_meta(unverified=True, mixed=True)
    for a, b in ((plain, mixed), (mixed, plain)):
        out = join(a, b)
        assert out.get_meta("unverified") and out.get_meta("mixed")
        assert out.dims == s.dims


def test_parts_of_one_size_by_different_numbers_differ_where_both_are_sizes():
    # a size divided by a number is a size too (at least 1): ``c // 4`` says ``c`` is at least 4, and there
    # ``c // 2`` is larger (a mask head's halved widths, ``inter_dims[1]`` met where ``inter_dims[2]`` is expected)
    c = sym("c")
    pairs = [(c // 2, c // 4), (c // 2, c // 8), (c // 4, c // 16)]
    for a, b in pairs:
        assert provably_distinct(a, b) and provably_distinct(b, a)
        for v in range(1, 200):
            x, y = (a.subst({c.as_sym(): const(v)}).value, b.subst({c.as_sym(): const(v)}).value)
            if x >= 1 and y >= 1:
                assert x != y, (a, b, v)
    # parts that may be one size, sizes or not
    assert not provably_distinct((c + const(1)) // 2, c // 2)
    assert not provably_distinct(c // 2, sym("d") // 2)


def test_known_divisible_parts_read_back_as_the_whole():
    # ``d`` known even (a ``d // 2`` split that the code asserted or proved): the halves joined again are ``d``,
    # three of them are not a multiple of ``d``, and nothing changes where the fact is not known
    d = sym("d")
    even = frozenset({(d, const(2))})
    assert (d // 2 + d // 2).with_facts(even) == d
    assert (d // 2 * const(4) + const(1)).with_facts(even) == d * const(2) + const(1)
    assert (d // 2 * const(3)).with_facts(even) == d // 2 * const(3)
    assert (d // 2 + d // 2).with_facts(frozenset()) == d // 2 * const(2)
    assert (d // 2 + d // 2).with_facts(frozenset({(sym("e"), const(2))})) == d // 2 * const(2)
