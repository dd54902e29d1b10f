# fixed-bug reproduction: nanogpt-topk-size
"""karpathy/nanoGPT network (a fork's commit 16947f1). Top-k sampling caps k by the size of the
logits' axis 0, the batch, instead of the vocabulary axis; with a batch of one, k becomes 1 and
the sampling is greedy.

Expected: a diagnostic on the topk (needs roles: k for a top-k over the last axis of
(batch, vocab) logits comes from the batch axis). No code names this yet.
"""

import torch
import torch.nn as nn


class TinyLM(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, vocab)

    @torch.no_grad()
    def sample_next(self, idx, top_k):
        logits = self.head(self.emb(idx))[:, -1, :]
        v, _ = torch.topk(logits, min(top_k, logits.size(-0)))  # error: SHP2
        logits[logits < v[:, [-1]]] = -float("inf")
        return torch.multinomial(logits.softmax(dim=-1), num_samples=1)
