"""SHP214 rotary-table-transposed."""

from __future__ import annotations

import ast
import re

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext

from ._common import EINOPS_EINSUM, EINSUM, assigned_name, einsum_operands, last_name, operand_name, operand_nodes, register

_OUTER = {"torch.outer", "torch.ger", "torch.Tensor.outer", "torch.Tensor.ger"}

# a vector of frequencies (``inv_freq``, ``self.inv_freq``, ``freqs``, ``theta``, ``w_inv_freq``, ``omega``)
_FREQ = re.compile(r"\w*freq\w*|(\w+_)?theta|omegas?")
# a vector of positions or times (``t``, ``seq``, ``pos``, ``positions``, ``pos_seq``, ``seq_idx``, ``timesteps``)
_POS = re.compile(r"t|ts|pos|position|positions|steps?|index|idx|times?|timesteps?"
                  r"|(\w+_)?(seq|pos|positions|idx|steps)|seq(_\w+)?|pos(_\w+)?")
# what reorders a table after it is built: the code laid it out so on purpose
_REORDERS = {"T", "mT", "t", "transpose", "permute", "swapaxes", "swapdims", "movedim"}


def _role(node) -> str | None:
    name = operand_name(node)
    if name is None:
        return None
    if _FREQ.fullmatch(name):
        return "freq"
    return "pos" if _POS.fullmatch(name) else None


def _reordered(scope, call) -> bool:
    """Whether the name the table is assigned to is transposed or permuted later in the function (``freqs.T``,
    ``rearrange(freqs, "f n -> n f")``)."""
    target = assigned_name(scope, call)
    if target is None:
        return False
    for n in ast.walk(scope):
        if isinstance(n, ast.Attribute) and n.attr in _REORDERS and isinstance(n.value, ast.Name) \
                and n.value.id == target:
            return True
        if isinstance(n, ast.Call) and _along_first(n) and any(isinstance(m, ast.Name) and m.id == target
                                                               for m in ast.walk(n)):
            return True  # doubled along the frequencies: ``freqs.repeat_interleave(2, dim=0)``, ``cat(..., dim=0)``
        if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id == target \
                and last_name(n.func) in ("rearrange", "transpose", "permute", "movedim"):
            return True
    return False


def _along_first(call: ast.Call) -> bool:
    """``x.repeat_interleave(2, dim=0)``, ``torch.cat((x, x), dim=0)`` (also ``0`` given by position)."""
    f = call.func
    name = last_name(f)
    if name not in ("repeat_interleave", "cat", "concat", "concatenate"):
        return False
    dim = next((k.value for k in call.keywords if k.arg in ("dim", "axis")), None)
    if dim is None and len(call.args) > 1:
        dim = call.args[1] if name in ("cat", "concat", "concatenate") or isinstance(f, ast.Attribute) else None
    return isinstance(dim, ast.Constant) and dim.value == 0


@register
class RotaryTableTransposed(LintRule):
    """A table of rotary or sinusoidal angles built with the frequencies on its rows and the positions last.

    ## What it does
    Rotary embeddings and sinusoidal position encodings build a table of angles as the outer product of the
    positions and the frequencies: `einsum("i,j->ij", t, inv_freq)` or `torch.outer(t, inv_freq)`, one row per
    position. The rule reports such a product of two operands named as positions (`t`, `seq`, `pos`,
    `positions`, `pos_seq`, `timesteps`...) and frequencies (`inv_freq`, `freqs`, `theta`) whose result puts
    the frequencies before the positions: the operands swapped (`torch.outer(inv_freq, t)`), or an einsum
    output that names the frequencies' index first.

    ## Why is this bad?
    The table is then `(dim / 2, seq)`. The code after it reads it as `(seq, dim / 2)`: it doubles the last
    axis with `cat((freqs, freqs), dim=-1)` and multiplies the queries by its cosine. That fails at run time
    when the sizes differ, far from the product. Where they happen to match (a sequence as long as half the
    head), each position is rotated by the angles of another.

    ## Example
    ```python
    t = torch.arange(seq_len).type_as(self.inv_freq)
    freqs = torch.einsum("i,j->ij", self.inv_freq, t)
    emb = torch.cat((freqs, freqs), dim=-1)
    ```

    ## Use instead
    ```python
    t = torch.arange(seq_len).type_as(self.inv_freq)
    freqs = torch.einsum("i,j->ij", t, self.inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    ```

    ## Known problems
    Positions and frequencies are known by their names only: a table built from operands named otherwise is not
    followed. A table transposed or permuted after it is built (`freqs.T`, `rearrange`) is taken as laid out so
    on purpose, and not reported.
    """

    code = "SHP214"
    name = "rotary-table-transposed"
    summary = "An outer product of frequencies and positions puts the positions on the table's last axis"
    calls = frozenset(EINSUM | EINOPS_EINSUM | _OUTER)

    VALID = [
        '''
import torch
from torch import nn


class Rotary(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))

    def forward(self, n: int):
        t = torch.arange(n).type_as(self.inv_freq)
        freqs = torch.einsum("i,j->ij", t, self.inv_freq)
        return torch.cat((freqs, freqs), dim=-1)
''',
        # near miss: the frequencies given first, the output still (positions, frequencies)
        '''
import torch


def angles(pos, inv_freq):
    return torch.einsum("j,i->ij", inv_freq, pos)
''',
        # near miss: torch.outer with the positions first
        '''
import torch


def table(seq_len: int, theta: float, dim: int):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2).float() / dim))
    seq = torch.arange(seq_len).float()
    return torch.polar(torch.ones(seq_len, dim // 2), torch.outer(seq, freqs))
''',
        # near miss: laid out (frequencies, positions) and transposed on purpose
        '''
import torch


def table(t, inv_freq):
    freqs = torch.einsum("i,j->ij", inv_freq, t)
    return freqs.T
''',
        # a video model's position grid: frequencies first on purpose, the table doubled along them (axis 0)
        '''
import torch


def grid_angles(freqs_base, pos):
    freqs = torch.einsum("d,bthw->dbthw", freqs_base, pos)
    freqs = freqs.repeat_interleave(2, dim=0)
    return freqs.cos(), freqs.sin()
''',
        # near miss: (frequencies, positions) on purpose, doubled along the frequencies
        '''
import torch


def angles(inv_freq, t):
    freqs = torch.einsum("i,j->ij", inv_freq, t)
    return torch.cat((freqs, freqs), dim=0).cos()
''',
        # near miss: operands not named as positions and frequencies
        '''
import torch


def gram(a, b):
    return torch.einsum("i,j->ij", b, a)
''',
    ]
    INVALID = [
        '''
import torch


def rotary_table(inv_freq, n: int):
    t = torch.arange(n, dtype=inv_freq.dtype)
    freqs = torch.einsum("i,j->ij", inv_freq, t)
    return torch.cat((freqs, freqs), dim=-1)
''',
        '''
import torch


def table(seq_len: int, theta: float, dim: int):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2).float() / dim))
    seq = torch.arange(seq_len).float()
    return torch.outer(freqs, seq)
''',
        '''
import torch
from einops import einsum


def sinusoid(pos_seq, inv_freq):
    return einsum(inv_freq, pos_seq, "j, i -> j i")
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        nodes = operand_nodes(ev, _OUTER)
        if len(nodes) != 2:
            return
        roles = [_role(n) for n in nodes]
        if sorted(r or "" for r in roles) != ["freq", "pos"]:
            return
        fi, pi = roles.index("freq"), roles.index("pos")
        if ev.qualname in _OUTER:
            if fi != 0:
                return
        else:
            parsed = einsum_operands(ev)
            if parsed is None:
                return
            subs, out, _ops, ell = parsed
            if len(subs) != 2 or ell[fi] or len(subs[fi]) != 1 or not 1 <= len(subs[pi]) <= 2:
                return  # a vector of frequencies and a vector (or a batch) of positions
            f, p = subs[fi][0], subs[pi][-1]
            if f == p or f in subs[pi] or f not in out or p not in out or out.index(f) > out.index(p):
                return
        if _reordered(ctx.scope, ev.node):
            return
        fn, pn = operand_name(nodes[fi]), operand_name(nodes[pi])
        ctx.report(
            self.code, ev.node,
            f"the table of angles puts the frequencies `{fn}` before the positions `{pn}`: one row per frequency, "
            "the positions on its last axis",
            notes=("rotary and sinusoidal code reads the table as (positions, frequencies): the last axis is "
                   "doubled, or multiplied with the features",),
            help=f"give the positions `{pn}` first",
        )
