"""Imports every rule module so that each registers its rules."""

from . import activations, conv, create, elementwise, index, join, layout, linalg, reduce  # noqa: F401
