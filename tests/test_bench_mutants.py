"""The seeded bugs of bench/mutants.py are edits of code that runs: a pattern matched in a comment (code
commented out) or in a string (a docstring's example) seeds nothing, since no run of the file could show it."""

from __future__ import annotations

import textwrap

from _bench_support import load_bench


def _mutants():
    return load_bench("mutants")


SOURCE = textwrap.dedent('''
    import torch
    from torch import nn


    class Join(nn.Module):
        """Joins two maps: ``torch.cat([a, b], dim=1)`` of two ``(N, C, H, W)`` maps."""

        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(2 * c, c, 1)

        def forward(self, a, b):
            # x = torch.cat([b, a], dim=1)
            x = torch.cat([a, b], dim=1)
            return self.conv(x)
''')


def test_only_the_code_that_runs_is_mutated():
    found = [m for m in _mutants().mutants(SOURCE, {"cat-axis"})]
    lines = SOURCE.splitlines()
    assert [m.line for m in found] == [next(i + 1 for i, t in enumerate(lines) if t.strip().startswith("x = torch.cat"))]
    assert "dim=2)" in found[0].text.splitlines()[found[0].line - 1]
    # the comment and the docstring are left as they were
    assert "# x = torch.cat([b, a], dim=1)" in found[0].text
    assert "``torch.cat([a, b], dim=1)``" in found[0].text


def test_a_diagnostic_whose_note_names_the_edited_line_reports_it():
    bench = _mutants()
    m = bench.Mutant("conv-swap", 7, 7, "")
    diag = {"line": 30, "notes": ['"in_chans" is the last axis of `x` (output channels of the `Conv2d` built at '
                                  'timm/vit.py:7)']}
    assert bench._points_at(diag, "vit.py", m)
    assert not bench._points_at(diag, "other.py", m)
    assert not bench._points_at({"line": 30, "notes": ['"d" is the last axis of `x` (annotation, vit.py:7)']},
                                "vit.py", m)
    assert not bench._points_at({**diag, "notes": [diag["notes"][0].replace(":7)", ":8)")]}, "vit.py", m)


def test_a_layer_refusing_its_input_whose_note_names_where_it_was_built_reports_it():
    bench = _mutants()
    m = bench.Mutant("linear-swap", 12, 12, "")
    diag = {"line": 33, "notes": ["`self.key` is the `Linear` built at heads.py:12"]}
    assert bench._points_at(diag, "heads.py", m)
    assert not bench._points_at({"line": 33, "notes": ["`self.key` is the `Linear` built at heads.py:120"]},
                                "heads.py", m)


def test_a_second_join_whose_note_names_the_first_join_reports_it():
    # a cat along the wrong axis, reported where a later cat meets the sum it made
    bench = _mutants()
    m = bench.Mutant("cat-axis", 8, 8, "")
    diag = {"line": 10, "notes": ['"h*3" is axis 2 of `out` (joined along axis 2 by the `cat` at pkg/coords.py:8)']}
    assert bench._points_at(diag, "coords.py", m)
    assert not bench._points_at(diag, "other.py", m)
    assert not bench._points_at({**diag, "notes": [diag["notes"][0].replace(":8)", ":9)")]}, "coords.py", m)


def test_a_diagnostic_whose_note_names_the_edited_line_as_the_other_party_reports_it():
    # a loss that reads classes from axis 1, reported on the loss, with the log_softmax over axis 0 in a note
    bench = _mutants()
    m = bench.Mutant("log-softmax-axis", 43, 43, "")
    diag = {"line": 46, "notes": ["the `log_softmax` is at line 43"]}
    assert bench._points_at(diag, "trainer.py", m)
    assert not bench._points_at({**diag, "notes": ["the `log_softmax` is at line 42"]}, "trainer.py", m)
    assert not bench._points_at({**diag, "notes": ["the `log_softmax` is at line 431"]}, "trainer.py", m)
    assert not bench._points_at({"line": 46, "notes": []}, "trainer.py", m)


def test_the_log_softmax_mutant_edits_the_axis_not_an_index_of_the_operand():
    bench = _mutants()
    for src, want in [("y = F.log_softmax(logits[:, -1, :], dim=-1)\n", "y = F.log_softmax(logits[:, -1, :], dim=0)\n"),
                      ("y = F.log_softmax(self.fc(x[:, -1]), -1)\n", "y = F.log_softmax(self.fc(x[:, -1]), 0)\n"),
                      ("y = torch.log_softmax(x.view(b, -1), dim=-1)\n", "y = torch.log_softmax(x.view(b, -1), dim=0)\n")]:
        assert [m.text for m in bench.mutants(src, {"log-softmax-axis"})] == [want]
