# fixed-bug reproduction: tl-gqa-heads
"""TransformerLensOrg/TransformerLens, fixed in d50333c. Converting a grouped-query attention
checkpoint: the key projection holds n_kv_heads * d_head rows, but it is split into n_heads
groups like the queries, giving n_heads heads of width n_kv_heads * d_head / n_heads where the
model's key weight is (n_kv_heads, d_model, d_head).

Expected: SHP105 on the return (n_heads against n_kv_heads; needs the projection's sizes from
the config fields).
"""

import einops
import torch.nn as nn
from jaxtyping import Float
from torch import Tensor


class Config:
    d_model: int = 64
    n_heads: int = 8
    n_kv_heads: int = 2
    d_head: int = 8


def convert_keys(cfg: Config) -> Float[Tensor, "n_kv_heads d_model d_head"]:
    k_proj = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.d_head, bias=False)
    return einops.rearrange(k_proj.weight, "(n h) m -> n m h", n=cfg.n_heads)  # error: SHP105
