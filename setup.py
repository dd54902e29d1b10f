"""The package list, which pyproject.toml cannot compute.

Every folder with an ``__init__.py`` under ``shapecheck/`` installs as a package, and so does every
one under ``plugin/`` and ``rules/``, which install inside the ``shapecheck`` namespace
(``shapecheck.plugin``, ``shapecheck.rules``) and never as bare top-level modules. A subpackage added
later ships without an edit here. Test modules kept beside the code (``test_*.py``) are for the
repository's own test run and stay out of the wheel. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_py import build_py

# installed name -> folder, relative to this file
ROOTS = {"shapecheck": "shapecheck", "shapecheck.plugin": "plugin", "shapecheck.rules": "rules"}


def _packages(roots: dict) -> list:
    found = set()
    for name, folder in roots.items():
        for here, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            if "__init__.py" in files:
                rel = os.path.relpath(here, folder)
                found.add(name if rel == "." else ".".join((name, *rel.split(os.sep))))
    return sorted(found)


class _BuildPy(build_py):
    def find_package_modules(self, package, package_dir):
        return [m for m in super().find_package_modules(package, package_dir)
                if not m[1].startswith("test_")]


# a folder that does not exist (plugin/ moved under shapecheck/, say) needs no mapping
_mapped = {name: folder for name, folder in ROOTS.items() if name != folder and os.path.isdir(folder)}
# a mapped name is found under its own folder, not again under shapecheck/
_roots = {name: folder for name, folder in ROOTS.items() if name == folder or name in _mapped}

setup(
    packages=_packages(_roots),
    package_dir=_mapped,
    cmdclass={"build_py": _BuildPy},
)
