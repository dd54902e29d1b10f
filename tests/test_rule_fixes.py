"""Fixes carried by lint rules' reports (``ctx.report(..., fix=...)``), applied by the linter's fixer."""

from __future__ import annotations

import textwrap

from shapecheck._core._diag import CODES
from shapecheck._core._settings import Settings
from shapecheck._lint import check_source
from shapecheck._lint._fixes import apply_fixes
from shapecheck.rules import all_rules

all_rules()  # the rules register their codes when imported

SCORER = '''
import torch
from torch import nn


class Scorer(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.head = nn.Linear(d, 1)

    def forward(self, h):
        b, d = h.shape
        label = "é"; y = self.head(h).squeeze()
        return torch.squeeze(self.head(h)), y, %s
'''


def _fixed(src: str) -> tuple[str, list]:
    src = textwrap.dedent(src)
    diags = check_source(src, "m.py", Settings(), strict=True)
    out, _count = apply_fixes(src, diags)
    return out, diags


def test_bare_squeeze_fix_names_the_size_one_axis():
    assert CODES["SHP209"].fixable
    out, diags = _fixed(SCORER % "label")
    assert [d.code for d in diags] == ["SHP209", "SHP209"]
    # columns are characters: the non-ASCII string before the call does not shift the edit
    assert 'label = "é"; y = self.head(h).squeeze(-1)' in out
    assert "return torch.squeeze(self.head(h), -1), y, label" in out
    again = check_source(out, "m.py", Settings(), strict=True)
    assert [d.code for d in again] == []


def test_no_fix_when_several_axes_have_size_one():
    src = SCORER % "self.head(h).unsqueeze(1).squeeze()"
    out, diags = _fixed(src)
    last = [d for d in diags if d.line == 14 and d.column > 40]
    assert [d.code for d in last] == ["SHP209"] and last[0].fix is None
    assert "unsqueeze(1).squeeze()" in out
