"""Roles stated by a value's later uses (``shapecheck._engine._uses``): which calls they reach, and when not."""

from __future__ import annotations

import ast
import textwrap

from shapecheck._core._annot import Imports
from shapecheck._core._roles import BATCH, CLASS
from shapecheck._engine._uses import use_roles

_IMPORTS = Imports({"torch": "torch", "F": "torch.nn.functional", "np": "numpy"})


def _roles(src: str) -> dict:
    """``{source of the call: roles}`` for the calls of the first function of ``src`` that uses describe."""
    fn = ast.parse(textwrap.dedent(src)).body[0]
    found = use_roles(fn, _IMPORTS.qualify)
    calls = {id(n): ast.unparse(n) for n in ast.walk(fn) if isinstance(n, ast.Call)}
    return {calls[k]: v.roles for k, v in found.items()}


def test_a_row_per_example_read_states_batch_and_classes():
    got = _roles("""
        def f(logits, y):
            lp = F.log_softmax(logits, dim=0)
            return lp[torch.arange(lp.shape[0]), y]
    """)
    assert got == {"F.log_softmax(logits, dim=0)": {0: BATCH, 1: CLASS}}


def test_builtin_range_rows_and_a_subscripted_call():
    got = _roles("""
        def f(logits, y):
            return F.log_softmax(logits, dim=0)[range(len(logits)), y]
    """)
    assert got == {"F.log_softmax(logits, dim=0)": {0: BATCH, 1: CLASS}}


def test_batchmean_kl_div_states_the_batch_of_both_operands():
    got = _roles("""
        def f(a, b):
            p = F.log_softmax(a, dim=-1)
            return F.kl_div(p, F.softmax(b, dim=-1), reduction="batchmean")
    """)
    assert got == {"F.log_softmax(a, dim=-1)": {0: BATCH, -1: CLASS},
                   "F.softmax(b, dim=-1)": {0: BATCH, -1: CLASS}}


def test_other_reductions_state_nothing():
    assert _roles("""
        def f(a, b):
            return F.kl_div(F.log_softmax(a, dim=-1), F.softmax(b, dim=-1), reduction="sum")
    """) == {}


def test_a_name_assigned_twice_is_not_followed():
    assert _roles("""
        def f(logits, y):
            lp = F.log_softmax(logits, dim=0)
            lp = lp.t()
            return lp[torch.arange(lp.shape[0]), y]
    """) == {}


def test_a_diagonal_is_not_a_label_read():
    assert _roles("""
        def f(sim):
            labels = torch.arange(sim.shape[0])
            lp = F.log_softmax(sim, dim=0)
            n = sim.shape[0] // 2
            pos = lp[torch.arange(2 * n), (torch.arange(2 * n) + n) % (2 * n)]
            return lp[torch.arange(sim.shape[0]), labels] + lp[range(3), 0] + lp[range(3), :] + pos
    """) == {}


def test_uses_inside_a_nested_function_belong_to_it():
    assert _roles("""
        def f(logits, y):
            lp = F.log_softmax(logits, dim=0)
            def inner(lp):
                return lp[torch.arange(3), y]
            return inner
    """) == {}


def test_a_shadowed_range_is_not_the_builtin():
    imports = Imports({"F": "torch.nn.functional", "range": "mylib.range"})
    fn = ast.parse("def f(a, y):\n    lp = F.log_softmax(a, dim=0)\n    return lp[range(3), y]\n").body[0]
    assert use_roles(fn, imports.qualify) == {}


def test_vocabulary_sizes_count_classes():
    from shapecheck._core._algebra import sym
    from shapecheck._core._roles import name_role

    for name in ("d_vocab", "ntoken", "self.cfg.d_vocab_out", "vocab", "self.tgt_vocab_size"):
        assert name_role(sym(name)) == CLASS, name
    assert name_role(sym("d_model")) is None


def test_a_pick_per_row_along_the_last_axis_states_classes():
    got = _roles("""
        def f(x, target):
            lp = F.log_softmax(x, dim=-1)
            a = lp.gather(dim=-1, index=target.unsqueeze(1))
            q = torch.softmax(x, dim=1)
            return a + torch.gather(q, 1, target[:, None])
    """)
    assert got == {"F.log_softmax(x, dim=-1)": {0: BATCH, -1: CLASS}, "torch.softmax(x, dim=1)": {0: BATCH, 1: CLASS}}


def test_a_gather_that_may_be_one_dimensional_or_along_axis_0_states_nothing():
    assert _roles("""
        def f(x, t, order):
            a = F.log_softmax(x, dim=0)
            b = F.log_softmax(x, dim=0)
            c = F.log_softmax(x, dim=0)
            return a.gather(-1, t.unsqueeze(-1)), b.gather(0, t.unsqueeze(1)), c.gather(-2, order)
    """) == {}


def test_rows_from_a_named_arange_and_einx_get_at():
    imports = Imports({"torch": "torch", "F": "torch.nn.functional", "einx": "einx"})
    src = textwrap.dedent("""
        def f(logits, y, seq):
            rows = torch.arange(logits.shape[0])
            a = F.log_softmax(logits, dim=0)
            b = F.log_softmax(logits, dim=0)
            c = F.log_softmax(logits, dim=0)
            return a[rows, y], einx.get_at("b n [l], b n -> b n", b, seq), einx.get_at("... [l], ... -> ...", c, seq)
    """)
    fn = ast.parse(src).body[0]
    found = use_roles(fn, imports.qualify)
    calls = {id(n): ast.unparse(n) for n in ast.walk(fn) if isinstance(n, ast.Call)}
    got = sorted((calls[k], sorted(v.roles.items())) for k, v in found.items())
    assert got == [("F.log_softmax(logits, dim=0)", [(0, BATCH), (1, CLASS)]),
                   ("F.log_softmax(logits, dim=0)", [(0, BATCH), (2, CLASS)])]


def test_layout_keeping_methods_are_seen_through_on_the_use_and_on_the_assignment():
    got = _roles("""
        def f(outputs, ref_outputs, labels):
            logp = outputs.log_softmax(dim=0)
            picked = torch.gather(logp.clone(), dim=2, index=labels.unsqueeze(2))
            ref_logp = ref_outputs.float().log_softmax(dim=0).detach()
            return picked, ref_logp.gather(2, labels.unsqueeze(2))
    """)
    assert got == {"outputs.log_softmax(dim=0)": {0: BATCH, 2: CLASS},
                   "ref_outputs.float().log_softmax(dim=0)": {0: BATCH, 2: CLASS}}


def test_a_method_that_moves_axes_is_not_seen_through():
    got = _roles("""
        def f(outputs, labels):
            logp = outputs.log_softmax(dim=0)
            return torch.gather(logp.t(), dim=1, index=labels.unsqueeze(1)), logp.sum(0)
    """)
    assert "outputs.log_softmax(dim=0)" not in got


def test_a_pick_along_the_last_axis_by_an_index_whose_axes_are_read_states_classes():
    got = _roles("""
        def f(pred, text):
            b, lt = text.shape[0], text.shape[1]
            return F.log_softmax(pred, dim=0).gather(-1, text.unsqueeze(-1)).squeeze(-1)
    """)
    assert got == {"F.log_softmax(pred, dim=0)": {0: BATCH, -1: CLASS}}


def test_an_index_whose_axes_are_read_only_before_it_is_bound_again_states_nothing():
    assert _roles("""
        def f(pred, text):
            n = text.shape[0]
            text = text[0]
            return F.log_softmax(pred, dim=0).gather(-1, text.unsqueeze(-1)), n
    """) == {}


def test_an_index_bound_to_slices_of_two_axes_has_two_axes():
    got = _roles("""
        def f(model, tokens):
            labels = tokens[:, 1:]
            logits = model(tokens)[:, :-1]
            log_probs = logits.log_softmax(dim=0)
            return log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    """)
    assert got == {"logits.log_softmax(dim=0)": {0: BATCH, -1: CLASS}}
    assert _roles("""
        def f(model, tokens):
            labels = tokens[1:]
            return model(tokens).log_softmax(dim=0).gather(-1, labels.unsqueeze(-1))
    """) == {}  # near miss: one slice keeps one axis of a tensor that may have only one


def test_a_classification_loss_states_batch_and_classes_of_two_axes_or_more():
    got = _roles("""
        def f(model, data, target):
            output = F.log_softmax(model(data), dim=-1)
            loss = F.nll_loss(output, target)
            pred = output.argmax(dim=1, keepdim=True)
            return loss, pred.eq(target.view_as(pred)).sum()
    """)
    assert got == {"F.log_softmax(model(data), dim=-1)": {0: BATCH, 1: CLASS}}
    got = _roles("""
        def f(model, x, y):
            out = F.log_softmax(model(x), dim=-1)
            _, predicted = torch.max(out, 1)
            return F.cross_entropy(out, y), predicted
    """)
    assert got == {"F.log_softmax(model(x), dim=-1)": {0: BATCH, 1: CLASS}}


def test_a_classification_loss_alone_states_nothing():
    # nll_loss also takes one example's (C,) scores with a 0-d target: axis 0 may be the classes
    got = _roles("""
        def f(model, x, y):
            out = F.log_softmax(model(x), dim=0)
            return F.nll_loss(out, y)
    """)
    assert got == {}
    # an argmax along axis 0 proves nothing about a second axis
    got = _roles("""
        def f(model, x, y):
            out = F.log_softmax(model(x), dim=0)
            return F.nll_loss(out, y), out.argmax(0)
    """)
    assert got == {}


def test_a_loss_against_the_rows_own_arange_states_nothing():
    # a contrastive loss over a (batch, batch) similarity normalised per column: the diagonal is no label
    got = _roles("""
        def f(a, b):
            sim = a @ b.t()
            labels = torch.arange(len(sim))
            lp = F.log_softmax(sim, dim=0)
            return F.nll_loss(lp, labels), (lp.argmax(dim=1) == labels).float().mean()
    """)
    assert got == {}
