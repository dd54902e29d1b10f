# fixed-bug reproduction (fixed version): diff-attn-inner-dim
import torch.nn as nn
import torch.nn.functional as F


class CrossAttention(nn.Module):
    def __init__(self, query_dim, context_dim, heads, dim_head):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(query_dim, heads * dim_head, bias=False)
        self.to_k = nn.Linear(context_dim, heads * dim_head, bias=False)
        self.to_v = nn.Linear(context_dim, heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, query_dim)

    def forward(self, x, context):
        batch = x.shape[0]
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        inner_dim = k.shape[-1]
        head_dim = inner_dim // self.heads
        q = q.view(batch, -1, self.heads, head_dim).transpose(1, 2)
        k = k.view(batch, -1, self.heads, head_dim).transpose(1, 2)
        v = v.view(batch, -1, self.heads, head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).reshape(batch, -1, self.heads * head_dim))
