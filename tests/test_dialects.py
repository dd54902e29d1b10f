"""Annotation dialects besides jaxtyping's: torchtyping's ``TensorType``, the single-string ``Float``
of a project's typing module, and ``Float``/``Tensor`` re-exported by a project module
(``shapecheck/_core/_annot.py``, ``shapecheck/_engine/_dialects.py``)."""

from __future__ import annotations

import ast
import json
import textwrap

import pytest

from shapecheck._core._annot import collect_imports, read_annotation
from shapecheck._lint._cli import main


def spec_text(annotation: str, header: str = "from torchtyping import TensorType\n"):
    tree = ast.parse(header + f"x: {annotation}\n")
    ann = read_annotation(tree.body[-1].annotation, collect_imports(tree))
    return None if ann is None else (ann.spec.to_shape().__str__() if ann.spec is not None else "any")


@pytest.mark.parametrize("annotation, shape", [
    ('TensorType["batch", "pos"]', "batch pos"),
    ('TensorType["b", 3]', "b 3"),
    ('TensorType[..., "d"]', "... d"),
    ('TensorType["batch": 8, "channel": 3, float]', "8 3"),
    ('TensorType["extra": ..., "d"]', "*extra d"),
    ('TensorType[-1, "d"]', "? d"),
    ('TensorType[float]', "any"),  # a dtype alone: any shape
    ('TensorType', "any"),
    ('TensorType["b c"]', "any"),  # not a name torchtyping reads as one axis: unknown, never wrong
])
def test_torchtyping_forms(annotation, shape):
    assert spec_text(annotation) == shape


def test_a_single_dimension_string_needs_a_project_dtype_not_jaxtypings():
    assert spec_text('Float["b n"]', "from jaxtyping import Float\n") is None


def _run(capsys, *args):
    main(["check", "--output-format", "json", *args])
    return [(d["path"], d["line"], d["code"]) for d in json.loads(capsys.readouterr().out)]


def test_reexported_float_and_tensor_are_followed_and_the_cache_tracks_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "typing.py").write_text("from jaxtyping import Float\nfrom torch import Tensor\n")
    (tmp_path / "proj" / "model.py").write_text(textwrap.dedent("""\
        from proj.typing import Float, Tensor


        def head(x: Float[Tensor, "b d"], w: Float[Tensor, "e c"]):
            return x @ w
    """))
    assert _run(capsys, "proj/model.py") == [("proj/model.py", 5, "SHP101")]
    # the typing module stops re-exporting: its names mean nothing known, and the cached result is redone
    (tmp_path / "proj" / "typing.py").write_text("Float = Tensor = object\n")
    assert _run(capsys, "proj/model.py") == []


def test_a_file_using_only_a_project_float_is_analysed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "types_.py").write_text("import jaxtyping\n\nclass Float:\n    pass\n")
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
        from types_ import Float


        def head(x: Float["b d"], w: Float["e c"]):
            return x @ w
    """))
    assert _run(capsys, "--no-cache", "m.py") == [("m.py", 5, "SHP101")]
