"""Facts about operators that the analysis needs beyond each op's shape rule.

Which ops take a list of sizes (``x.view(b, -1)``), which reinterpret memory (views), which
parameters are sizes or dim indices, which names are aliases of a registered op. They sit beside
the shape rules so that the engine keeps no op knowledge of its own (how an op is named in a
message is wording: ``shapecheck._core._wording.op_name``).
"""

from __future__ import annotations

from ._registry import RULES, Rule, lookup

__all__ = ["takes_size_list", "is_view", "is_pattern_op", "SIZE_PARAMS", "DIM_PARAMS", "lookup_op",
           "is_tensor_method"]

# the last part of an op's name: these take their sizes as one list or as separate arguments
_SIZE_LIST_NAMES = frozenset({
    "view", "reshape", "expand", "repeat", "permute", "tile", "new_zeros", "new_ones", "new_empty",
    "new_full", "zeros", "ones", "empty", "randn", "rand", "full", "unflatten", "broadcast_to"})
_VIEW_OPS = frozenset({"torch.Tensor.view", "torch.Tensor.reshape", "torch.reshape"})
_PATTERN_OPS = frozenset({"einops.rearrange", "einops.reduce", "einops.repeat"})
_ALIASES = {
    "torch.nn.modules.linear.Linear": "torch.nn.Linear",
    "torch.functional.einsum": "torch.einsum",
}

# parameters of shape rules that hold a size, and those that hold a dim index
SIZE_PARAMS = frozenset({"split_size_or_sections", "split_size", "chunks", "sections", "repeats", "num_classes",
                         "out_features", "in_features", "num_embeddings", "embedding_dim", "upscale_factor"})
DIM_PARAMS = frozenset({"dim", "dim0", "dim1", "dims", "source", "destination", "start_dim", "end_dim"})


def takes_size_list(name: str) -> bool:
    """``x.view(b, n, d)``, ``torch.zeros(shape)``: the op (a qualified name or a method name) takes sizes."""
    return name.rsplit(".", 1)[-1] in _SIZE_LIST_NAMES


def is_view(q: str) -> bool:
    """The op reinterprets the memory of its input under a new shape."""
    return q in _VIEW_OPS


def is_pattern_op(q: str) -> bool:
    """An einops op whose second argument is a pattern."""
    return q in _PATTERN_OPS


def lookup_op(q: str) -> Rule | None:
    """The shape rule of ``q``, following the aliases under which torch also exports an op."""
    rule = lookup(q)
    if rule is None:
        alt = _ALIASES.get(q)
        rule = lookup(alt) if alt else None
    return rule


_tensor_methods: frozenset | None = None


def is_tensor_method(name: str) -> bool:
    """A name that is a (non-dunder) ``torch.Tensor`` method in the shape-rule table."""
    global _tensor_methods
    if _tensor_methods is None:
        lookup("")  # load the catalog
        _tensor_methods = frozenset(n[13:] for n in RULES
                                    if n.startswith("torch.Tensor.") and not n.startswith("torch.Tensor.__"))
    return name in _tensor_methods
