"""Recorded shapes as signatures: the entry shapes a static analysis can take for functions that
stay unannotated (``shapecheck check --shapes FILE`` is to call this)."""

from __future__ import annotations

import ast
import hashlib
import os

from . import _shapesfile

__all__ = ["recorded_signatures"]


def recorded_signatures(shapes_path: str, sources: dict | None = None) -> dict:
    """``{(path, qualname): {"params": {name: annotation}, "returns": annotation | None}}`` for every
    recorded function of every file that is unchanged since the run (a changed file is left out:
    its recorded shapes may no longer hold). ``path`` is absolute; annotations are jaxtyping
    source text (``Float[Tensor, "batch seq n_embd"]``) named as ``shapecheck annotate`` names them.
    ``sources`` may give a file's text by absolute path instead of reading it."""
    from ._naming import plan_project
    from ._static import analyse

    data = _shapesfile.load(shapes_path)
    root = data.get("root") or os.path.dirname(os.path.dirname(os.path.abspath(shapes_path)))
    inputs, paths = {}, {}
    for rel, entry in data["files"].items():
        path = os.path.join(root, *rel.split("/"))
        text = (sources or {}).get(path)
        try:
            if text is None:
                with open(path, "rb") as f:
                    raw = f.read()
            else:
                raw = text.encode("utf-8")
            if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                continue
            tree = ast.parse(raw.decode("utf-8"), path)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        inputs[rel] = (entry["functions"], analyse(tree))
        paths[rel] = path
    out = {}
    for rel, plans in plan_project(inputs, every_param=True).items():
        for plan in plans:
            if plan.params or plan.returns:
                out[(paths[rel], plan.qualname)] = {"params": dict(plan.params), "returns": plan.returns}
    return out
