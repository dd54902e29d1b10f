"""Imports every rule module so that each registers its rules."""

from . import elementwise, linalg  # noqa: F401
