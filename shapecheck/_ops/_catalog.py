"""Imports every rule module so that each registers its rules."""

from . import activations, elementwise, layout, linalg, reduce  # noqa: F401
