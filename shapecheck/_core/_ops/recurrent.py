"""Recurrent layers: ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` (module form)."""

from __future__ import annotations

from .._algebra import const
from .._shape import UNKNOWN, Shape, Variadic
from ._registry import Site, as_int, as_size, module_rule, qd
from ._util import ONE_OR_NONE, build

_INIT = ("input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, "
         "dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None")


def _recurrent(site: Site, init: dict, input, hx=None, lstm: bool = False):
    if isinstance(input, Shape) and input.rank is None and len(input.dims) >= 2 \
            and input.variadic_index < len(input.dims) - 1:
        # "... features": batched or not, the features axis is checked and becomes the hidden size
        return _unknown_rank(site, init, input, lstm)
    if not isinstance(input, Shape) or input.rank is None:
        return None
    if input.rank not in (2, 3):
        site.error("SHP104", f"{site.op} expects an input of 2 or 3 axes (seq, features) or "
                             f"(seq, batch, features), got {input.rank}")
        return None
    in_size = as_size(init.get("input_size"))
    if site.unify(input.dims[-1], in_size) is False:
        site.error("SHP107", f"{site.op} expects {qd(site.resolve(in_size))} input features, got "
                             f"{qd(site.resolve(input.dims[-1]))}", notes=(site.axis_note(input, -1),))
    bidir = init.get("bidirectional") is True
    directions = 2 if bidir else 1
    hidden = as_size(init.get("hidden_size"))
    proj = as_int(init.get("proj_size"))
    if not _projection_fits(site, hidden, proj):
        return None
    out_h = hidden if not proj else const(proj)
    out_f = out_h * directions if hasattr(out_h, "terms") else UNKNOWN
    layers = as_size(init.get("num_layers"))
    origins = input.origins or (None,) * input.rank
    out = build(list(zip(input.dims[:-1], origins[:-1])) + [(out_f, None)])
    if input.rank == 2:
        batch = []
    else:
        batch_first = init.get("batch_first") is True
        batch = [input.dims[0] if batch_first else input.dims[1]]
    n = layers * directions if hasattr(layers, "terms") else UNKNOWN
    h = Shape(tuple([n] + batch + [out_h]))
    states = hx if isinstance(hx, tuple) and lstm else ((hx,) if isinstance(hx, Shape) else ())
    for which, state in zip(("h_0", "c_0"), states):
        _check_state(site, which, state, batch, input)
    if lstm:
        c = Shape(tuple([n] + batch + [hidden]))
        return (out, (h, c))
    return (out, h)


def _check_state(site: Site, which: str, state, batch: list, input: Shape) -> None:
    """The initial state is ``(num_layers * directions, batch, hidden)`` — batch second even with
    ``batch_first=True``. A state whose first axis is the input's batch axis has it in the wrong place."""
    if not isinstance(state, Shape) or state.rank is None or not batch:
        return
    if state.rank != 3:
        site.error("SHP104", f"{site.op} expects {which} of 3 axes (num_layers * directions, batch, hidden) "
                             f"for a batched input, got {state.rank}")
        return
    b = batch[0]
    if site.compare(state.dims[0], b) == "eq" and site.compare(state.dims[1], b) != "eq":
        site.error("SHP110", f"{site.op} reads {which} as (num_layers * directions, batch, hidden), but its first "
                             f"axis is the batch axis {qd(site.resolve(b))} of the input",
                   notes=(site.axis_note(state, 0), site.axis_note(input, 0 if input.dims[0] == b else 1)),
                   help="build the state with the batch axis second, even when batch_first=True")


def _projection_fits(site: Site, hidden, proj) -> bool:
    """An LSTM's ``proj_size`` is smaller than its ``hidden_size`` (PyTorch builds it only then); False, with
    SHP110, where both are known and it is not."""
    h = as_int(hidden)
    if proj and h is not None and proj >= h:
        site.error("SHP110", f"{site.op} has proj_size={proj}, not smaller than hidden_size={h}")
        return False
    return True


def _unknown_rank(site: Site, init: dict, input: Shape, lstm: bool = False):
    in_size = as_size(init.get("input_size"))
    if site.unify(input.dims[-1], in_size) is False:
        site.error("SHP107", f"{site.op} expects {qd(site.resolve(in_size))} input features, got "
                             f"{qd(site.resolve(input.dims[-1]))}", notes=(site.axis_note(input, -1),))
    hidden = as_size(init.get("hidden_size"))
    proj = as_int(init.get("proj_size"))
    if not _projection_fits(site, hidden, proj):
        return None
    out_h = hidden if not proj else const(proj)
    out_f = out_h * (2 if init.get("bidirectional") is True else 1) if hasattr(out_h, "terms") else UNKNOWN
    # the output has the input's axes, the features replaced; an input of 2 or 3 axes has at least one
    # axis before the features
    head = list(input.dims[:-1])
    if input.variadic_index == 0 and len(head) == 1:
        head = [UNKNOWN] + head
    # the final states are (num_layers * directions, batch, hidden), or (num_layers * directions, hidden)
    # for an unbatched input: their first and last axes are known either way
    layers = as_size(init.get("num_layers"))
    n = layers * (2 if init.get("bidirectional") is True else 1) if hasattr(layers, "terms") else UNKNOWN
    h = Shape((n, Variadic(None), out_h)).with_meta(**{ONE_OR_NONE: True}) if hasattr(out_h, "terms") else None
    if lstm:
        c = Shape((n, Variadic(None), hidden)).with_meta(**{ONE_OR_NONE: True}) if hasattr(hidden, "terms") else None
        return (Shape(tuple(head) + (out_f,)), (h, c))
    return (Shape(tuple(head) + (out_f,)), h)


@module_rule("torch.nn.RNN", "torch.nn.GRU", init=_INIT,
             ok=["init: 8, 16 | s b 8 -> s b 16; 1 b 16",
                 "init: 8, 16, batch_first=True | b s 8 -> b s 16; 1 b 16",
                 "init: 8, 16, 2, bidirectional=True | s b 8 -> s b 32; 4 b 16",
                 "init: 8, 16, 2, bidirectional=True | ... 8 -> _ ... 32; 4 ... 16",
                 "init: 8, 16, 2 | ... 8 -> _ ... 16; 2 ... 16"],
             bad=["init: 8, 16 | s b 9 ! SHP107", "init: 8, 16 | b 2 3 8 ! SHP104"])
def rnn(site: Site, init: dict, input, hx=None):
    """``nn.RNN``/``nn.GRU``: input ``(seq, batch, input_size)`` (``batch_first``: ``(batch, seq, ...)``)
    or unbatched ``(seq, input_size)``; returns ``(output, h_n)`` with ``output``'s features
    ``hidden_size * directions`` and ``h_n`` ``(num_layers * directions, batch, hidden_size)``."""
    return _recurrent(site, init, input, hx)


@module_rule("torch.nn.LSTM", init=_INIT.replace("nonlinearity='tanh', ", ""),
             ok=["init: 8, 16 | s b 8 -> s b 16; 1 b 16; 1 b 16",
                 "init: 8, 16, batch_first=True, bidirectional=True | b s 8 -> b s 32; 2 b 16; 2 b 16",
                 "init: 8, 16, 3 | ... 8 -> _ ... 16; 3 ... 16; 3 ... 16"],
             bad=["init: 8, 16 | s b 9 ! SHP107", "init: 8, 16 | 8 ! SHP104",
                  "init: 8, 16, 2, batch_first=True | b s 8 | (shape('b 2 16'), shape('b 2 16')) ! SHP110"])
def lstm(site: Site, init: dict, input, hx=None):
    """``nn.LSTM``: as ``nn.RNN``, returning ``(output, (h_n, c_n))``."""
    return _recurrent(site, init, input, hx, lstm=True)


_CELL_INIT = "input_size, hidden_size, bias=True, nonlinearity='tanh', device=None, dtype=None"


def _cell(site: Site, init: dict, input, hx, lstm: bool):
    """One step of a recurrent cell: ``(batch, input_size)`` or unbatched ``(input_size,)`` in, the same
    leading axes with ``hidden_size`` features out (for an LSTM cell, the pair ``(h, c)``)."""
    if not isinstance(input, Shape):
        return None
    in_size = as_size(init.get("input_size"))
    hidden = as_size(init.get("hidden_size"))
    if input.rank is not None and input.rank not in (1, 2):
        site.error("SHP104", f"{site.op} expects an input of 1 or 2 axes (features) or (batch, features), "
                             f"got {input.rank}")
        return None
    if input.rank is None and input.variadic_index >= 2 and input.variadic_index == len(input.dims) - 1:
        # at least two axes (``torch.cat([emb, ctx], dim=1)``), and a cell takes at most two: (batch, features)
        input = Shape(input.dims[:2], input.origins[:2] if input.origins else ())
    if input.rank is None and (len(input.dims) < 2 or input.variadic_index != len(input.dims) - 2):
        return None  # nothing known but perhaps the batch: the features are unknown
    if site.unify(input.dims[-1], in_size) is False:
        site.error("SHP107", f"{site.op} expects {qd(site.resolve(in_size))} input features, got "
                             f"{qd(site.resolve(input.dims[-1]))}", notes=(site.axis_note(input, -1),))
    origins = input.origins or (None,) * len(input.dims)
    out = build(list(zip(input.dims[:-1], origins[:-1])) + [(hidden if hasattr(hidden, "terms") else UNKNOWN, None)])
    return (out, out) if lstm else out


@module_rule("torch.nn.RNNCell", "torch.nn.GRUCell", init=_CELL_INIT,
             ok=["init: 8, 16 | b 8 -> b 16", "init: 8, 16 | 8 -> 16"],
             bad=["init: 8, 16 | b 9 ! SHP107", "init: 8, 16 | b t 8 ! SHP104"])
def rnn_cell(site: Site, init: dict, input, hx=None):
    """``nn.RNNCell``/``nn.GRUCell``: ``(batch, input_size)`` (or ``(input_size,)``) to
    ``(batch, hidden_size)``."""
    return _cell(site, init, input, hx, lstm=False)


@module_rule("torch.nn.LSTMCell", init=_CELL_INIT.replace("nonlinearity='tanh', ", ""),
             ok=["init: 8, 16 | b 8 -> b 16; b 16", "init: 8, 16 | b f ... -> b 16; b 16"],
             bad=["init: 8, 16 | b 9 ! SHP107", "init: 8, 16 | b t 8 ! SHP104"])
def lstm_cell(site: Site, init: dict, input, hx=None):
    """``nn.LSTMCell``: as ``nn.RNNCell``, returning the pair ``(h_1, c_1)``."""
    return _cell(site, init, input, hx, lstm=True)
