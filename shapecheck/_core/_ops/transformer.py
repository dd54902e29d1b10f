"""Transformer layers: ``nn.TransformerEncoderLayer``/``DecoderLayer``, ``nn.TransformerEncoder``/
``Decoder`` and ``nn.Transformer``. They keep their input's shape; the feature axis must be ``d_model``
and, for decoders, the memory must agree with the target on batch and features."""

from __future__ import annotations

from .._shape import Shape
from ._registry import Site, as_size, module_rule, qd

_LAYER = ("d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu', layer_norm_eps=1e-05, "
          "batch_first=False, norm_first=False, bias=True, device=None, dtype=None")


def _features(site: Site, x, d_model, what: str) -> bool:
    if not isinstance(x, Shape) or not x.dims:
        return True
    if x.rank is not None and x.rank not in (2, 3):
        site.error("SHP104", f"{site.op} expects {what} of 2 or 3 axes, got {x.rank}")
        return False
    d = as_size(d_model)
    if site.unify(x.dims[-1], d) is False:
        site.error("SHP107", f"{site.op} expects {qd(site.resolve(d))} features (d_model) in {what}, got "
                             f"{qd(site.resolve(x.dims[-1]))}", notes=(site.axis_note(x, -1),))
        return False
    return True


def _batch_agrees(site: Site, tgt, memory, batch_first) -> None:
    if not (isinstance(tgt, Shape) and isinstance(memory, Shape)) or tgt.rank != 3 or memory.rank != 3:
        return
    i = 0 if batch_first is True else 1
    if site.unify(tgt.dims[i], memory.dims[i]) is False:
        site.error("SHP110", f"{site.op} gets a target of batch {qd(site.resolve(tgt.dims[i]))} and a memory of batch "
                             f"{qd(site.resolve(memory.dims[i]))} (axis {i})",
                   notes=(site.axis_note(tgt, i), site.axis_note(memory, i)))


def _layer_init(module) -> dict:
    """The constructor arguments of a layer value the engine passes in (duck-typed, no engine import)."""
    d = getattr(module, "init_dict", None)
    return d if isinstance(d, dict) else {}


@module_rule("torch.nn.TransformerEncoderLayer", init=_LAYER,
             ok=["init: 64, 4 | s b 64 -> s b 64", "init: d, 8, batch_first=True | b s d -> b s d",
                 "init: 64, 4 | s 64 -> s 64"],
             bad=["init: 64, 4 | s b 32 ! SHP107", "init: 64, 4 | a b s 64 ! SHP104"])
def TransformerEncoderLayer(site: Site, init: dict, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
    """``nn.TransformerEncoderLayer(d_model, nhead)``: ``(seq, batch, d_model)`` (``batch_first``:
    ``(batch, seq, d_model)``) or unbatched ``(seq, d_model)``; the output has the input's shape."""
    if not isinstance(src, Shape):
        return None
    return src if _features(site, src, init.get("d_model"), "the source") else None


@module_rule("torch.nn.TransformerDecoderLayer", init=_LAYER,
             ok=["init: 64, 4 | t b 64, s b 64 -> t b 64", "init: d, 8, batch_first=True | b t d, b s d -> b t d"],
             bad=["init: 64, 4 | t b 64, s b 32 ! SHP107", "init: 64, 4 | t 2 64, s 3 64 ! SHP110"])
def TransformerDecoderLayer(site: Site, init: dict, tgt, memory, tgt_mask=None, memory_mask=None,
                            tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
                            memory_is_causal=False):
    """``nn.TransformerDecoderLayer(d_model, nhead)``: target and memory both end in ``d_model`` and agree
    on the batch axis; the output has the target's shape."""
    return _decode(site, tgt, memory, init)


def _decode(site: Site, tgt, memory, layer: dict):
    """A decoder's checks: target and memory end in ``d_model`` and agree on the batch axis."""
    if not isinstance(tgt, Shape):
        return None
    ok = _features(site, tgt, layer.get("d_model"), "the target") and \
        _features(site, memory, layer.get("d_model"), "the memory")
    if ok:
        _batch_agrees(site, tgt, memory, layer.get("batch_first"))
    return tgt if ok else None


@module_rule("torch.nn.TransformerEncoder",
             init="encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True",
             ok=["init: None, 2 | s b 64 -> s b 64"], bad=["init: None, 2 | a b c d ! SHP104"])
def TransformerEncoder(site: Site, init: dict, src, mask=None, src_key_padding_mask=None, is_causal=None):
    """``nn.TransformerEncoder(layer, num_layers)``: the layer's checks; the output has the input's shape."""
    if not isinstance(src, Shape):
        return None
    layer = _layer_init(init.get("encoder_layer"))
    return src if _features(site, src, layer.get("d_model"), "the source") else None


@module_rule("torch.nn.TransformerDecoder", init="decoder_layer, num_layers, norm=None",
             ok=["init: None, 2 | t b 64, s b 64 -> t b 64"], bad=["init: None, 2 | t 2 64, s 3 64 ! SHP110"])
def TransformerDecoder(site: Site, init: dict, tgt, memory, tgt_mask=None, memory_mask=None,
                       tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=None,
                       memory_is_causal=False):
    """``nn.TransformerDecoder(layer, num_layers)``: as the decoder layer; the output has the target's shape."""
    return _decode(site, tgt, memory, _layer_init(init.get("decoder_layer")))


@module_rule("torch.nn.Transformer",
             init="d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048, "
                  "dropout=0.1, activation='relu', custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-05, "
                  "batch_first=False, norm_first=False, bias=True, device=None, dtype=None",
             ok=["init: 64 | s b 64, t b 64 -> t b 64", "init: d, batch_first=True | b s d, b t d -> b t d"],
             bad=["init: 64 | s b 64, t b 32 ! SHP107", "init: 64 | s 2 64, t 3 64 ! SHP110"])
def Transformer(site: Site, init: dict, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
                src_is_causal=None, tgt_is_causal=None, memory_is_causal=False):
    """``nn.Transformer(d_model)``: source and target end in ``d_model`` and agree on the batch axis;
    the output has the target's shape."""
    if not isinstance(tgt, Shape):
        return None
    ok = _features(site, src, init.get("d_model"), "the source") and \
        _features(site, tgt, init.get("d_model"), "the target")
    if ok:
        _batch_agrees(site, tgt, src, init.get("batch_first"))
    return tgt if ok else None
