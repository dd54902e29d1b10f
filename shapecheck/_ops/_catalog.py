"""Imports every rule module so that each registers its rules."""

from . import activations, attention, conv, create, einsum, elementwise, index, join, layout, linalg, loss, norm, recurrent, reduce, transformer  # noqa: F401
