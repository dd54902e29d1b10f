"""Axes and shapes as immutable values.

A :class:`Shape` is a tuple of dimensions. A dimension is an :class:`~shapecheck._core._algebra.Expr`
(literal, symbol or expression), :data:`UNKNOWN`, or — at most once per shape — a
:class:`Variadic` segment (``*batch`` or ``...``) that stands for zero or more axes. A shape with
one anonymous variadic and nothing else is a shape of unknown rank (:data:`ANY_SHAPE`).

Annotation specs add two flags per axis that only matter when matching (``#name`` broadcastable,
``_`` anonymous); they live in :class:`AxisSpec` in ``_parse``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

from ._algebra import Expr

__all__ = ["Unknown", "UNKNOWN", "Variadic", "Dim", "Shape", "ANY_SHAPE", "format_dim", "shape_of"]


@dataclass(frozen=True)
class Unknown:
    """An axis whose size is not known; it never causes a diagnostic."""

    def __str__(self) -> str:
        return "?"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Variadic:
    """Zero or more axes: ``*name`` when named, ``...`` when anonymous."""

    name: str | None = None

    def __str__(self) -> str:
        return f"*{self.name}" if self.name else "..."


Dim = Union[Expr, Unknown]
Item = Union[Expr, Unknown, Variadic]


def format_dim(d: Item) -> str:
    return str(d)


def _origin_default() -> tuple:
    return ()


@dataclass(frozen=True)
class Shape:
    """An immutable shape; ``origins`` (parallel to ``dims``) says where each axis came from.

    ``origins`` is provenance only: it is ignored by equality and hashing.
    """

    dims: tuple = ()
    origins: tuple = field(default_factory=_origin_default, compare=False, hash=False)
    label: str | None = field(default=None, compare=False, hash=False)
    meta: tuple = field(default=(), compare=False, hash=False)  # ((key, value), ...) carried by the engine

    def __post_init__(self):
        if self.origins and len(self.origins) != len(self.dims):
            object.__setattr__(self, "origins", ())

    # -- inspection -------------------------------------------------------------------------
    @property
    def variadic_index(self) -> int | None:
        for i, d in enumerate(self.dims):
            if isinstance(d, Variadic):
                return i
        return None

    @property
    def rank(self) -> int | None:
        """The number of axes, or None when a variadic segment makes it unknown."""
        return None if self.variadic_index is not None else len(self.dims)

    @property
    def min_rank(self) -> int:
        return len(self.dims) - (0 if self.variadic_index is None else 1)

    @property
    def is_any(self) -> bool:
        return len(self.dims) == 1 and self.dims[0] == Variadic(None)

    def origin(self, i: int) -> str | None:
        if self.origins and -len(self.origins) <= i < len(self.origins):
            return self.origins[i]
        return None

    def __len__(self) -> int:
        return len(self.dims)

    def __iter__(self) -> Iterator:
        return iter(self.dims)

    def __getitem__(self, i):
        return self.dims[i]

    def axis(self, i: int) -> Dim | None:
        """The axis at position ``i`` (negative counts from the end), or None if undecidable."""
        v = self.variadic_index
        if v is None:
            n = len(self.dims)
            if -n <= i < n:
                return self.dims[i]
            return None
        if i >= 0 and i < v:
            return self.dims[i]
        if i < 0 and -i <= len(self.dims) - v - 1:
            return self.dims[i]
        return UNKNOWN

    def replace(self, dims, origins=None) -> "Shape":
        return Shape(tuple(dims), tuple(origins) if origins is not None else ())

    def with_origins(self, origins) -> "Shape":
        return Shape(self.dims, tuple(origins), self.label, self.meta)

    def with_label(self, label: str | None) -> "Shape":
        return Shape(self.dims, self.origins, label, self.meta)

    def with_meta(self, **items) -> "Shape":
        meta = dict(self.meta)
        meta.update(items)
        return Shape(self.dims, self.origins, self.label, tuple(meta.items()))

    def get_meta(self, key: str, default=None):
        for k, v in self.meta:
            if k == key:
                return v
        return default

    def __str__(self) -> str:
        return " ".join(format_dim(d) for d in self.dims)

    def __repr__(self) -> str:
        return f"Shape({str(self)!r})"


ANY_SHAPE = Shape((Variadic(None),))


def shape_of(text: str) -> Shape:
    """A shape from jaxtyping dimension syntax (``"b n 3 *rest"``), for tests and examples."""
    from ._parse import parse_shape

    return parse_shape(text).to_shape()
