"""What the engine remembers per analysed file: signatures read once, calls analysed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class CallKey:
    """One call into unannotated user code: the function, the receiver and the argument values."""

    function: int  # id of the function's node
    receiver: int  # id of the bound ``self`` (id(None) for a plain function)
    arguments: tuple  # (name, frozen value) pairs, sorted


@dataclass(frozen=True)
class ModuleMemo:
    """The engine's memo for one file (one per ``ModuleInfo``).

    ``signatures`` maps a function node's id to its :class:`~._signature.Signature`; ``calls`` maps
    a :class:`CallKey` to the value that call returned (``OPAQUE`` while it is being analysed, which
    stops recursion); ``gives_back`` maps a function node's id to the parameter it returns unchanged
    (or None); ``factories`` whether a function node may return a layer (``_callables.may_give_layer``); ``uses`` maps a scope's node id to :func:`~._uses.use_roles` of it; ``flags`` an ``__init__``'s id to
    the flags it sets from tests of its sizes; ``defaults`` a function node's id to the two parameters it
    gives back one of (``default(val, d)``), or None; ``equal_names`` a function node's id to the local names
    that may hold one value (``equal_locals`` the same for the locals a layer is built with); ``bound_once``
    a function node's id to the names it binds exactly once (what a helper defined in it reads); ``ratios``
    a function node's id to its int parameters that only scale sizes (``ratio_params``); ``passed_alike`` a class
    node's id to the pairs of constructor parameters every construction in the file gives one value
    (``passed_classes`` to the module classes its first construction gives: ``ResNet(BasicBlock, ...)``); ``related``
    the file's tree's id to the names each name is computed from anywhere in it (``related_names``), ``builders`` to
    the class whose constructor makes each call (``_walk._builders``); ``copies`` a
    function node's id to the names it copies one to another (``residual = x``); ``whole_numbers`` a function
    node's id to the parameters its code reads as whole numbers (``whole_number_params``); ``shifting`` a
    function node's id to its views that a relative shift makes (``shifting_views``); ``called`` the file's tree's
    id to the bare names it calls (``Expressions.called_name``)."""

    signatures: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)
    gives_back: dict = field(default_factory=dict)
    uses: dict = field(default_factory=dict)  # id of a scope's node -> (the node, the roles its uses state)
    factories: dict = field(default_factory=dict)  # id of a function node -> whether it may return a layer
    flags: dict = field(default_factory=dict)  # id of an __init__ node -> the size flags it sets (_statements)
    equal_names: dict = field(default_factory=dict)  # id of a function node -> names that may hold one value (_calls)
    equal_locals: dict = field(default_factory=dict)  # the same, for a layer's sizes (_calls)
    bound_once: dict = field(default_factory=dict)  # id of a function node -> names it binds once, and all it binds (_statements)
    defaults: dict = field(default_factory=dict)  # id of a function node -> ``(val, d)`` of a ``default`` helper (_user)
    ratios: dict = field(default_factory=dict)  # id of a function node -> its parameters that are ratios (_walk)
    passed_alike: dict = field(default_factory=dict)  # id of a class node -> parameters given one value (_walk)
    passed_ratios: dict = field(default_factory=dict)  # id of a class node -> ratios every construction gives (_walk)
    passed_classes: dict = field(default_factory=dict)  # id of a class node -> module classes a construction gives
    related: dict = field(default_factory=dict)  # id of a module's tree -> the names each name is computed from (_walk)
    builders: dict = field(default_factory=dict)  # id of a module's tree -> the class building each call (_walk)
    copies: dict = field(default_factory=dict)  # id of a function node -> the names it copies to each other (_narrow)
    whole_numbers: dict = field(default_factory=dict)  # id of a function node -> names read as ints, as sequences (_calls)
    shifting: dict = field(default_factory=dict)  # id of a function node -> its relative-shift views (_checks)
    called: dict = field(default_factory=dict)  # id of a module's tree -> the bare names it calls (_expressions)
    asserting: dict = field(default_factory=dict)  # id of a call node -> the assertion it makes, or None (_statements)
    equations: dict = field(default_factory=dict)  # id of an f-string node -> the einsum equations it can be (_calls)


def per_node(table: dict, node: Any, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per syntax node, kept in ``table`` (one of :class:`ModuleMemo`'s maps) by the
    node's id beside the node itself: an id a later node reuses (a module parsed again after it was
    dropped) is never taken for the old one."""
    hit = table.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    value = compute()
    table[id(node)] = (node, value)
    return value
