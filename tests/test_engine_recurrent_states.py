"""A recurrent layer's final states, ``(layers * directions, batch, hidden)`` or ``(layers * directions,
hidden)`` for an unbatched input: the engine keeps them as ``n ... h`` with a segment of one axis or none, and
indexing them with one item per axis of the batched form says they are batched."""

from __future__ import annotations

from test_engine import HEADER, errors, reveals

_AT = HEADER.count("\n")

_ENCODER = """
    class Encoder(nn.Module):
        def __init__(self, vocab, emb, hid, out):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb)
            self.rnn = nn.GRU(emb, hid, bidirectional=True)
            self.fc = nn.Linear(FC)
        def forward(self, src):
            outputs, hidden = self.rnn(self.embedding(src))
            reveal_shape(hidden)
            reveal_shape(hidden[-2, :, :])
            both = torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)
            reveal_shape(both)
            return torch.tanh(self.fc(both))
"""


def test_the_last_two_directions_joined_have_both_widths():
    assert reveals(_ENCODER.replace("FC", "hid * 2, out")) == ["2 ... hid", "? hid", "? hid*2"]


def test_a_head_built_backwards_meets_the_joined_directions():
    found = errors(_ENCODER.replace("FC", "out, hid * 2"))
    assert [(d.code, d.line) for d in found] == [("SHP107", _AT + 14)]
    assert '"out" input features, got "hid*2"' in found[0].message


def test_one_item_indexes_the_layers_only():
    # ``hidden[-1]`` says nothing of the batch: the states may be unbatched
    assert reveals("""
        class Encoder(nn.Module):
            def __init__(self, vocab, emb, hid):
                super().__init__()
                self.embedding = nn.Embedding(vocab, emb)
                self.rnn = nn.LSTM(emb, hid, num_layers=2)
            def forward(self, x):
                out, (h, c) = self.rnn(self.embedding(x))
                reveal_shape(h[-1])
                reveal_shape(c[-1, :, :])
    """) == ["... hid", "? hid"]
