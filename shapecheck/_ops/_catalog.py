"""Imports every rule module so that each registers its rules."""

from . import activations, elementwise, linalg, reduce  # noqa: F401
