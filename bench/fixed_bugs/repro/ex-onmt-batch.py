# fixed-bug reproduction: ex-onmt-batch
"""pytorch/examples, fixed in f160c04. A loss computed in chunks over decoder outputs laid out
(batch, time, hidden) reads the batch size from size(1), the time axis, and normalises by it.

Expected: a diagnostic on the size read (needs roles and the caller's layout: the outputs are
batch-first). No code names this yet.
"""

import torch
import torch.nn as nn


class Decoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.generator = nn.Linear(hidden, vocab)

    def loss(self, tokens, targets):
        outputs, _ = self.rnn(self.embed(tokens))
        batch_size = outputs.size(1)  # error: SHP2
        logits = self.generator(outputs.reshape(-1, outputs.size(2)))
        total = nn.functional.cross_entropy(logits, targets.reshape(-1), reduction="sum")
        return total / batch_size
