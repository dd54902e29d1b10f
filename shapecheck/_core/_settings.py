"""Settings that reach the analysis (loaded from ``[tool.shapecheck]`` by ``_config``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    select: frozenset = frozenset()  # codes; empty means every code
    ignore: frozenset = frozenset()  # codes
    per_file_ignores: tuple = ()  # ((glob pattern, frozenset of codes), ...)
    exclude: tuple = ()
    extend_exclude: tuple = ()
    # domain keys
    shape_modules: tuple = ()  # modules that re-export jaxtyping's dtypes (``myproj.typing``)
    tensor_types: tuple = ()  # extra qualified names that mean torch.Tensor
    axis_aliases: tuple = ()  # ((alias, canonical axis name), ...)
    # ``check --shapes FILE``: annotations recorded by ``shapecheck trace`` for parameters and returns
    # left unannotated: ((absolute path, qualname, parameter name or "return", annotation text), ...)
    entry_shapes: tuple = ()
    # ``reveal_type(x)`` of a tensor also reveals its shape (the mypy plugin's note beside mypy's own)
    reveal_type: bool = False
