# fixed-bug reproduction (fixed version): nanogpt-topk-size
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
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits[logits < v[:, [-1]]] = -float("inf")
        return torch.multinomial(logits.softmax(dim=-1), num_samples=1)
