# fixed-bug reproduction: ex-birnn-view
"""pytorch/examples, fixed in e2b9063. A sentence encoder takes the last hidden states of a
bidirectional LSTM, (layers * 2, batch, hidden), keeps the last layer's two directions,
(2, batch, hidden), and views them to (batch, -1): the view pairs the directions with the batch
instead of concatenating each example's two directions.

Expected: SHP109 (the view moves the batch axis across the directions).
"""

import torch.nn as nn


class SentenceEncoder(nn.Module):
    def __init__(self, vocab, dim, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.LSTM(dim, hidden, num_layers=2, bidirectional=True)

    def forward(self, tokens):
        batch = tokens.size(1)
        _, (ht, _) = self.rnn(self.embed(tokens))
        return ht[-2:].view(batch, -1)  # error: SHP109
