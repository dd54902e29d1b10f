# fixed-bug reproduction (fixed version): ex-birnn-view
import torch.nn as nn


class SentenceEncoder(nn.Module):
    def __init__(self, vocab, dim, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.LSTM(dim, hidden, num_layers=2, bidirectional=True)

    def forward(self, tokens):
        batch = tokens.size(1)
        _, (ht, _) = self.rnn(self.embed(tokens))
        return ht[-2:].transpose(0, 1).contiguous().view(batch, -1)
