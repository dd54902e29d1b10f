"""Attention: ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``."""

from __future__ import annotations

from .._shape import Shape
from ._registry import Site, as_int, as_size, module_rule, qd, shape_rule
from ._util import axes, build, count_text, known


def _count(site: Site, e) -> str:
    return count_text(site, e)


@shape_rule("torch.nn.functional.scaled_dot_product_attention",
            ok=["b h n d, b h m d, b h m e -> b h n e", "b h n d, b h n d, b h n d | is_causal=True -> b h n d",
                "b h n d, b h m d, b h m d, n m -> b h n d", "n d, m d, m e -> n e",
                "*B n d, *B m d, *B m e -> *B n e"],
            bad=["b h n d, b h d m, b h m d ! SHP101", "b h n d, b h m d, b h k d ! SHP110",
                 "b h n d, b h m d, b h m d, n k ! SHP102", "d, d, d ! SHP104"])
def scaled_dot_product_attention(site: Site, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False) -> Shape | None:
    """``softmax(q @ k^T * scale) @ v``: ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)`` give
    ``(..., L, Ev)``; the batch axes broadcast; a mask broadcasts to ``(..., L, S)``."""
    shapes = (query, key, value)
    if not all(isinstance(s, Shape) and not s.is_any for s in shapes):
        return None
    if any(s.rank is None and len(s.dims) - s.variadic_index - 1 < 2 for s in shapes):
        return None  # a variadic segment reaches into the last two axes
    for s in shapes:
        if s.rank is not None and s.rank < 2:
            site.error("SHP104", f"scaled_dot_product_attention needs query, key and value of at least 2 axes, "
                                 f"got {s.rank}", notes=(f"{s.label or 'an operand'} has shape ({s})",))
            return None
    e_q, e_k = query.dims[-1], key.dims[-1]
    if site.unify(e_q, e_k) is False:
        site.error("SHP101", f"scaled_dot_product_attention contracts {qd(site.resolve(e_q))} with "
                             f"{qd(site.resolve(e_k))}",
                   notes=(site.axis_note(query, -1), site.axis_note(key, -1)),
                   help=("is `key` transposed? scaled_dot_product_attention transposes it itself"
                         if site.compare(e_q, key.dims[-2]) == "eq" else None))
        return None
    s_k, s_v = key.dims[-2], value.dims[-2]
    if site.unify(s_k, s_v) is False:
        site.error("SHP110", f"scaled_dot_product_attention pairs {qd(site.resolve(s_k))} keys with "
                             f"{qd(site.resolve(s_v))} values",
                   notes=(site.axis_note(key, -2), site.axis_note(value, -2)))
        return None
    if enable_gqa is not False:
        qa = axes(query)
        return build(qa[:-1] + [(value.dims[-1], value.origin(-1))])
    batch = site.broadcast(Shape(query.dims[:-2], query.origins[:-2] if query.origins else ()),
                           Shape(key.dims[:-2], key.origins[:-2] if key.origins else ()),
                           Shape(value.dims[:-2], value.origins[:-2] if value.origins else ()),
                           what="scaled_dot_product_attention (batch axes)")
    if site.failed:
        return None
    if known(attn_mask) and batch.rank is not None:
        scores = Shape(batch.dims + (query.dims[-2], key.dims[-2]))
        site.broadcast(scores, attn_mask, what="scaled_dot_product_attention (attn_mask)")
        if site.failed:
            return None
    qa = axes(query)
    return build(axes(batch) + [qa[-2], (value.dims[-1], value.origin(-1))])


@module_rule("torch.nn.MultiheadAttention",
             init="embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False, "
                  "kdim=None, vdim=None, batch_first=False, device=None, dtype=None",
             ok=["init: d, 8, batch_first=True | b n d, b m d, b m d -> b n d; b n m",
                 "init: d, 8 | n b d, m b d, m b d -> n b d; b n m",
                 "init: d, h, batch_first=True | b n d, b m d, b m d | average_attn_weights=False -> b n d; b h n m",
                 "init: d, 8 | n d, m d, m d -> n d; n m"],
             bad=["init: d, 8, batch_first=True | b n e, b m e, b m e ! SHP107",
                  "init: d, 8, batch_first=True | b n d, b m d, b k d ! SHP110",
                  "init: d, 8 | n b d, m c d, m c d ! SHP110", "init: 10, 4 | n b 10, n b 10, n b 10 ! SHP110"])
def MultiheadAttention(site: Site, init: dict, query, key, value, key_padding_mask=None, need_weights=True,
                       attn_mask=None, average_attn_weights=True, is_causal=False):
    """``nn.MultiheadAttention(embed_dim, num_heads, batch_first=False)``: ``(out, weights)``.

    Inputs are ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or unbatched ``(L, E)``; ``out`` has the
    query's layout; ``weights`` is ``(N, L, S)`` (``(N, heads, L, S)`` unless averaged), None when
    ``need_weights=False``.
    """
    if not (known(query) and known(key) and known(value)):
        return None
    E = as_size(init.get("embed_dim"))
    H = init.get("num_heads")
    ev, hv = as_int(E), as_int(H)
    if ev is not None and hv is not None and hv > 0 and ev % hv:
        site.error("SHP110", f"nn.MultiheadAttention splits embed_dim {ev} into {hv} heads")
        return None
    bf = init.get("batch_first") is True
    if query.rank not in (2, 3) or key.rank != query.rank or value.rank != query.rank:
        site.error("SHP104", f"nn.MultiheadAttention expects query, key and value of 3 axes (or 2 unbatched), got "
                             f"{query.rank}, {key.rank} and {value.rank}")
        return None
    kdim = as_size(init.get("kdim")) if init.get("kdim") is not None else E
    vdim = as_size(init.get("vdim")) if init.get("vdim") is not None else E
    for s, want, what in ((query, E, "embed_dim"), (key, kdim, "kdim"), (value, vdim, "vdim")):
        if site.unify(s.dims[-1], want) is False:
            site.error("SHP107", f"nn.MultiheadAttention expects {_count(site, want)} features ({what}) in the "
                                 f"last axis, got {qd(site.resolve(s.dims[-1]))}", notes=(site.axis_note(s, -1),))
            return None
    unbatched = query.rank == 2
    seq = 0 if (unbatched or not bf) else 1
    bat = None if unbatched else (0 if bf else 1)
    if site.unify(key.dims[seq], value.dims[seq]) is False:
        site.error("SHP110", f"nn.MultiheadAttention pairs {qd(site.resolve(key.dims[seq]))} keys with "
                             f"{qd(site.resolve(value.dims[seq]))} values",
                   notes=(site.axis_note(key, seq), site.axis_note(value, seq)))
        return None
    if bat is not None:
        for s in (key, value):
            if site.unify(query.dims[bat], s.dims[bat]) is False:
                site.error("SHP110", f"nn.MultiheadAttention gets batch {qd(site.resolve(query.dims[bat]))} for the "
                                     f"query and {qd(site.resolve(s.dims[bat]))} for the key or value"
                                     + ("" if bf else " (inputs are (seq, batch, embed) unless batch_first=True)"),
                           notes=(site.axis_note(query, bat), site.axis_note(s, bat)))
                return None
    qa = axes(query)
    out = build(qa[:-1] + [(E, None)])
    if need_weights is False:
        return out, None
    if need_weights is not True:
        return None
    L = qa[seq]
    S = axes(key)[seq]
    head = [] if average_attn_weights is True else [(as_size(H), None)]
    if average_attn_weights is not True and average_attn_weights is not False:
        return None
    if unbatched:
        return out, build(head + [L, S])
    return out, build([qa[bat]] + head + [L, S])
