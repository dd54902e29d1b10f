"""Runtime guards: check jaxtyping annotations on every call (or a sample of calls).

Imported lazily by ``shapecheck`` (this package imports torch, beartype and jaxtyping).
"""

from ._errors import ShapeError as ShapeError
from ._guard import guard as guard
from ._hook import install_import_hook as install_import_hook
from ._state import get_compile_mode as get_compile_mode
from ._state import get_mode as get_mode
from ._state import runtime_mode as runtime_mode
from ._state import set_compile_mode as set_compile_mode
from ._state import set_mode as set_mode

__all__ = [
           "ShapeError",
           "get_compile_mode",
           "get_mode",
           "guard",
           "install_import_hook",
           "runtime_mode",
           "set_compile_mode",
           "set_mode",
]
