"""The inference engine: flow-sensitive abstract interpretation of function bodies over shapes.

One :class:`FunctionAnalysis` runs one function (or method) from its annotations: it evaluates
expressions to abstract values (``shapecheck._engine._values``), applies the operator shape rules of
``shapecheck._core._ops`` to library calls, instantiates annotated user functions and modules at their call
sites, checks returns and annotated locals, learns divisibility facts from asserts and splits, and
hands every call to the lint rules. It never executes the code it reads.

The rooms, one concern each (``_walk`` assembles them):

- ``_walk``: the function walk (its entry, parameters, diagnostics, silencing)
- ``_signature``: a function's annotations, read once per function (``_memo`` keeps them per file)
- ``_statements``, ``_assign``: statements and assignment
- ``_expressions``: names, attributes, subscripts, operators
- ``_calls``: calls resolved and dispatched; ``_shape_rules``: the op's shape rule applied;
  ``_lint_rules``: the call handed to the lint rules
- ``_user``: calls into user code (annotated: instantiated; unannotated: analysed)
- ``_entries``: findings in unannotated callees under the shapes a call passes, reported with the call
- ``_checks``: post-checks against annotations (SHP105) and of views (SHP109)
"""

from ._common import SCALAR
from ._memo import ModuleMemo
from ._walk import FunctionAnalysis

__all__ = ["FunctionAnalysis", "ModuleMemo", "SCALAR"]
