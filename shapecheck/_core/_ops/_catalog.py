"""Imports every rule module so that each registers its rules."""

from . import activations, attention, conv, create, einsum, elementwise, index, join, layout, linalg, loss, misc, norm, recurrent, reduce, spatial, transformer  # noqa: F401
