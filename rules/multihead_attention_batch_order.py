"""SHP205 multihead-attention-batch-order."""

from __future__ import annotations

from shapecheck._engine._rulebase import CallEvent, LintRule, RuleContext
from shapecheck._core._shape import Shape

from ._common import arg, axis, axis_note, dims_text, eq, looks_like, register, who

_MHA = {"torch.nn.MultiheadAttention", "torch.nn.modules.activation.MultiheadAttention",
        "torch.nn.TransformerEncoderLayer", "torch.nn.TransformerDecoderLayer", "torch.nn.TransformerEncoder",
        "torch.nn.TransformerDecoder", "torch.nn.Transformer"}


@register
class MultiheadAttentionBatchOrder(LintRule):
    """`nn.MultiheadAttention` called with batch-first tensors when built sequence-first (or the reverse).

    ## What it does
    `nn.MultiheadAttention` (and the `nn.Transformer*` layers) expect `(seq, batch, embed)` unless
    built with `batch_first=True`. The rule compares the layout of the inputs with the flag. The
    evidence is structural where possible: a `key_padding_mask` is always `(batch, seq)`, so when
    its axes line up with the first two axes of the key in the same order, the key is batch-first.
    Otherwise the names of the first two axes decide (`B, T, C = x.shape`, annotations such as
    `"batch seq embed"`).

    ## Why is this bad?
    The module runs without error on a batch-first tensor: it just attends across the *batch*,
    mixing unrelated examples, and treats the sequence as the batch. Losses still fall, so the bug
    can survive for a long time. The reverse (a `batch_first=True` module given `(seq, batch,
    embed)` tensors) is the same bug after a refactoring.

    ## Example
    ```python
    self.attn = nn.MultiheadAttention(d_model, n_heads)
    ...
    B, T, C = x.shape
    y, _ = self.attn(x, x, x)
    ```

    ## Use instead
    ```python
    self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
    ```

    ## Known problems
    When the inputs carry no key padding mask and their first two axes have no telling names,
    nothing is reported. A `batch_first` flag that comes from configuration is not known
    statically; such modules are skipped.
    """

    code = "SHP205"
    calls = frozenset(_MHA)
    name = "multihead-attention-batch-order"
    summary = "nn.MultiheadAttention gets batch-first tensors but was built sequence-first, or the reverse"

    VALID = [
        '''
from torch import nn

class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)

    def forward(self, x):
        B, T, C = x.shape
        y, _ = self.attn(x, x, x, need_weights=False)
        return y
''',
        # near miss: sequence-first module, sequence-first input
        '''
from torch import nn

class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads)

    def forward(self, x, pad):
        T, B, C = x.shape
        y, _ = self.attn(x, x, x, key_padding_mask=pad.view(B, T))
        return y
''',
    ]
    INVALID = [
        '''
from torch import nn

class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads)

    def forward(self, x):
        B, T, C = x.shape
        y, _ = self.attn(x, x, x)
        return y
''',
        '''
from torch import Tensor, nn
from jaxtyping import Bool, Float

class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)

    def forward(self, x: Float[Tensor, "s n e"], pad: Bool[Tensor, "n s"]):
        y, _ = self.attn(x, x, x, key_padding_mask=pad)
        return y
''',
    ]

    def on_call(self, ev: CallEvent, ctx: RuleContext) -> None:
        if ev.qualname not in _MHA or ev.init is None:
            return
        batch_first = ev.init.get("batch_first")
        layer = ev.init.get("encoder_layer", ev.init.get("decoder_layer"))
        if batch_first is None and layer is not None:
            batch_first = getattr(layer, "init_dict", {}).get("batch_first", False) \
                if getattr(layer, "qualname", "").startswith("torch.nn.Transformer") else None
        elif batch_first is None:
            batch_first = False
        if batch_first not in (True, False):
            return
        query = arg(ev, 0, "query") if "Transformer" not in ev.qualname else arg(ev, 0, "src")
        if not isinstance(query, Shape) or query.rank != 3:
            return
        key = arg(ev, 1, "key") if ev.qualname.endswith("MultiheadAttention") else query
        if not isinstance(key, Shape) or key.rank != 3:
            key = query
        mask = arg(ev, 3, "key_padding_mask") if ev.qualname.endswith("MultiheadAttention") else \
            ev.kwargs.get("src_key_padding_mask")
        looks_bf = self._batch_first(ctx, key, query, mask)
        if looks_bf is None or looks_bf == batch_first:
            return
        built = "batch_first=True" if batch_first else "without `batch_first=True` (sequence-first)"
        got = "(batch, seq, embed)" if looks_bf else "(seq, batch, embed)"
        notes = [axis_note(ctx, query, 0), axis_note(ctx, query, 1)]
        if isinstance(mask, Shape):
            notes.append(f"`key_padding_mask` {who(mask)} is (batch, seq) = {dims_text(ctx, mask, ev.node)}")
        ctx.report(
            self.code, ev.node,
            f"`{ev.qualname.rsplit('.', 1)[-1]}` built {built} is called with {who(query, 'a query')} laid "
            f"out {got}: it attends across the batch",
            notes=notes,
            help=("build it with `batch_first=True`, or pass `x.transpose(0, 1)`" if looks_bf else
                  "drop `batch_first=True`, or pass `x.transpose(0, 1)`"),
        )

    @staticmethod
    def _batch_first(ctx, key, query, mask):
        """True/False when the layout is known, None when it cannot be told."""
        k0, k1 = axis(key, 0), axis(key, 1)
        if isinstance(mask, Shape) and mask.rank == 2 and k0 is not None and k1 is not None \
                and not eq(ctx, k0, k1):
            m0, m1 = axis(mask, 0), axis(mask, 1)
            if eq(ctx, m0, k0) and eq(ctx, m1, k1):
                return True
            if eq(ctx, m0, k1) and eq(ctx, m1, k0):
                return False
        q0, q1 = axis(query, 0), axis(query, 1)
        if looks_like(q0, "batch") and looks_like(q1, "seq") and not looks_like(q0, "seq"):
            return True
        if looks_like(q0, "seq") and looks_like(q1, "batch") and not looks_like(q0, "batch"):
            return False
        return None
