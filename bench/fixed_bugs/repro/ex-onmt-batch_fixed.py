# fixed-bug reproduction (fixed version): ex-onmt-batch
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
        batch_size = outputs.size(0)
        logits = self.generator(outputs.reshape(-1, outputs.size(2)))
        total = nn.functional.cross_entropy(logits, targets.reshape(-1), reduction="sum")
        return total / batch_size
