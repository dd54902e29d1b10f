# fixed-bug reproduction (fixed version): tl-gqa-heads
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
    return einops.rearrange(k_proj.weight, "(n h) m -> n m h", n=cfg.n_kv_heads)
