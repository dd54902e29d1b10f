"""Shape variables: an unannotated tensor learns its axes from how the code reads them.

A parameter with no annotation starts as an object of unknown shape. Reading one of its axes
(``x.shape[0]``, ``x.size(-1)``) names that axis — after the variable the size is assigned to
(``b = x.shape[0]`` names it ``b``), else after its position (``x[0]``) — and narrows the variable,
as if the user had unpacked it: later reads give the same axis, and every use of ``x`` sees it.

Axes read from one tensor are distinct axes of that tensor (kind ``dim:<group>``). Axes counted
from the front and from the end of a tensor of unknown rank may be the same axis, so the two
directions are two groups: only axes read in the same direction are siblings.
"""

from __future__ import annotations

from .._core._algebra import Expr, sym
from .._core._shape import UNKNOWN, Shape, Unknown, Variadic
from ._values import Obj

_GROUP = "svar"  # meta key: the group name of the variable's axes


class Narrowing:
    """The shape-variable room of :class:`~._walk.FunctionAnalysis`."""

    axis_name_hint: str | None = None  # the name a size is assigned to (``b = x.shape[0]``)

    def read_axis(self, var: str | None, shape: Shape, i: int, state, node):
        """The size of axis ``i`` of the tensor held by ``var`` (whose shape is ``shape``): a known axis,
        or a new axis of the variable (which is narrowed), or OPAQUE when it cannot be named."""
        d = shape.axis(i)
        if isinstance(d, Expr):
            return d
        cur = state.get(var) if var is not None else None
        if cur is None or not (isinstance(cur, Obj) and cur.name == var
                               or isinstance(cur, Shape) and cur == shape and not cur.get_meta("unverified")):
            return None
        narrowed = self._narrow(var, shape, i, node)
        if narrowed is None:
            return None
        new_shape, axis = narrowed
        state[var] = new_shape
        return axis

    def _narrow(self, var: str, shape: Shape, i: int, node):
        dims = list(shape.dims)
        origins = list(shape.origins) if shape.origins else [None] * len(dims)
        v = shape.variadic_index
        group = shape.get_meta(_GROUP) or f"{var}@{getattr(node, 'lineno', 0)}"
        kind = f"dim:{group}" + ("" if i >= 0 else "-")
        name = self._axis_name(var, i)
        if name is None:
            return None
        axis = sym(name, kind)
        origin = f"`{var}.shape[{i}]`, {self.where(node)}"
        if v is None:
            if not -len(dims) <= i < len(dims) or not isinstance(dims[i], Unknown):
                return None
            dims[i], origins[i] = axis, origin
        elif i >= 0:
            if i < v:
                if not isinstance(dims[i], Unknown):
                    return None
                dims[i], origins[i] = axis, origin
            elif v == len(dims) - 1:  # nothing known after the variadic: its first axes are these
                pad = i - v
                dims = dims[:v] + [UNKNOWN] * pad + [axis, Variadic(None)]
                origins = origins[:v] + [None] * pad + [origin, None]
            else:
                return None
        else:
            after = len(dims) - v - 1
            if -i <= after:
                if not isinstance(dims[i], Unknown):
                    return None
                dims[i], origins[i] = axis, origin
            elif v == 0:  # nothing known before the variadic: its last axes are these
                pad = -i - after - 1
                dims = [Variadic(None), axis] + [UNKNOWN] * pad + dims[1:]
                origins = [None, origin] + [None] * pad + origins[1:]
            else:
                return None
        out = Shape(tuple(dims), tuple(origins), None, shape.meta).with_meta(**{_GROUP: group})
        return out, axis

    def _axis_name(self, var: str, i: int) -> str | None:
        hint = self.axis_name_hint
        self.axis_name_hint = None
        return self.fresh_dim_name(hint if hint is not None else f"{var}[{i}]")
