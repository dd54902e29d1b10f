"""Dependency-aware cache invalidation: after every edit, the warm run reports exactly what a cold
``--no-cache`` run reports, and re-analyses only the files whose text changed or whose dependencies'
interfaces changed (``SHAPECHECK_DEBUG_CACHE=1`` names the analysed files on stderr)."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from shapecheck._engine import _project
from shapecheck._lint._cli import main

LAYERS = '''\
from jaxtyping import Float
from torch import Tensor


def proj(x: Float[Tensor, "b d"], w: Float[Tensor, "d c"]) -> Float[Tensor, "b c"]:
    return x @ w


def norm(x):
    return x.sum(-1)
'''

# an unannotated wrapper: a caller of ``wrap`` depends on ``proj`` through it (``mid`` itself does not:
# ``wrap`` alone gets no shapes, so its analysis never looks ``proj`` up)
MID = '''\
from pkg.layers import proj


def wrap(x, w):
    return proj(x, w)
'''

TOP = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape
from pkg.mid import wrap
from pkg.layers import norm


def go(x: Float[Tensor, "b 4"], w: Float[Tensor, "4 8"]):
    y = wrap(x, w)
    reveal_shape(y)
    reveal_shape(norm(y))
    return y
'''

# calls ``proj`` directly, with a mismatching weight: SHP105 as long as ``proj`` is annotated so
MODEL = '''\
from jaxtyping import Float
from torch import Tensor
from pkg.layers import proj


def run(x: Float[Tensor, "b 4"], w: Float[Tensor, "5 8"]) -> Float[Tensor, "b 8"]:
    return proj(x, w)
'''

# imports ``proj`` from the package: what it sees depends on what ``pkg/__init__.py`` re-exports
USER = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape
from pkg import proj


def f(x: Float[Tensor, "b 3"], w: Float[Tensor, "3 2"]):
    reveal_shape(proj(x, w))
'''

LEAF = '''\
from jaxtyping import Float
from torch import Tensor


def leaf(x: Float[Tensor, "n"]) -> Float[Tensor, "n"]:
    return x * 2
'''


class Tree:
    def __init__(self, root, monkeypatch, capsys):
        self.root, self.capsys = root, capsys
        monkeypatch.chdir(root)
        monkeypatch.setenv("SHAPECHECK_DEBUG_CACHE", "1")
        monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
        (root / "pyproject.toml").write_text("")
        (root / "pkg").mkdir()
        for name, text in {"__init__": "", "layers": LAYERS, "mid": MID, "top": TOP, "model": MODEL,
                           "user": USER, "leaf": LEAF}.items():
            self.write(name, text)

    def write(self, name: str, text: str) -> None:
        (self.root / "pkg" / f"{name}.py").write_text(textwrap.dedent(text))

    def edit(self, name: str, old: str, new: str) -> None:
        p = self.root / "pkg" / f"{name}.py"
        text = p.read_text()
        assert old in text, (name, old)
        p.write_text(text.replace(old, new))

    def _run(self, *extra, jobs: int = 1) -> tuple[list, set]:
        main(["check", "-j", str(jobs), "--output-format", "json", *extra, "."])
        cap = self.capsys.readouterr()
        line = next(x for x in cap.err.splitlines() if x.startswith("shapecheck: debug: analysed"))
        analysed = set(line.split(":", 3)[3].split())
        return sorted(json.loads(cap.out), key=lambda d: json.dumps(d, sort_keys=True)), analysed

    def check(self, *, analysed: set, jobs: int = 1) -> list:
        """A warm run: its diagnostics equal a cold run's, and it analysed ``analysed`` (names in pkg/)."""
        warm, done = self._run(jobs=jobs)
        cold, _ = self._run("--no-cache")
        assert warm == cold
        assert done == {f"pkg/{n}.py" for n in analysed}
        return warm


def _codes(diags, name):
    return [(d["code"], d["message"]) for d in diags if d["path"] == f"pkg/{name}.py"]


@pytest.fixture(params=["kept", "dropped"])
def tree(request, tmp_path, monkeypatch, capsys):
    """The tree, checked with the project's parsed modules kept, or with every one dropped after each
    file (a budget of nothing: what other files read comes from the dropped modules' summaries)."""
    if request.param == "dropped":
        monkeypatch.setattr(_project, "SOURCE_BUDGET", 0)
    return Tree(tmp_path, monkeypatch, capsys)


ALL = {"__init__", "layers", "mid", "top", "model", "user", "leaf"}


def test_edits_reanalyse_only_what_depends_on_them(tree):
    first = tree.check(analysed=ALL)
    assert [c for c, _ in _codes(first, "model")] == ["SHP105"]
    assert ("reveal", "b 8") in _codes(first, "top")
    tree.check(analysed=set())  # nothing changed

    # a body edit of an annotated function: its callers read only the signature
    tree.edit("layers", "return x @ w", "y = x @ w\n    return y")
    tree.check(analysed={"layers"})

    # a body edit of an unannotated function: its callers analyse the body, so they are redone (the
    # unit is the module: ``model`` reads ``layers`` too, if not ``norm``)
    tree.edit("layers", "return x.sum(-1)", "return x.sum(0)")
    diags = tree.check(analysed={"layers", "top", "model"})
    assert ("reveal", "8") in _codes(diags, "top")

    # a signature edit: the direct caller and the caller through the unannotated wrapper
    tree.edit("layers", 'w: Float[Tensor, "d c"]) -> Float[Tensor, "b c"]',
              'w: Float[Tensor, "d c"]) -> Float[Tensor, "b d"]')
    diags = tree.check(analysed={"layers", "top", "model"})
    assert ("reveal", "b 4") in _codes(diags, "top")

    # a leaf nobody imports
    tree.edit("leaf", "x * 2", "x * 3")
    tree.check(analysed={"leaf"})


def test_rename_delete_and_recreate_a_module(tree):
    tree.check(analysed=ALL)
    tree.edit("layers", "def proj(", "def projection(")  # the callers' import no longer resolves
    diags = tree.check(analysed={"layers", "top", "model"})
    assert _codes(diags, "model") == []

    os.remove(tree.root / "pkg" / "layers.py")
    tree.check(analysed={"top", "model"})
    assert not any("layers" in p for p in json.loads(
        next((tree.root / ".shapecheck_cache").glob("results-*.json")).read_text())["files"])

    tree.write("layers", LAYERS)
    diags = tree.check(analysed={"layers", "top", "model"})
    assert [c for c, _ in _codes(diags, "model")] == ["SHP105"]


def test_reexports(tree):
    tree.check(analysed=ALL)
    # the package starts re-exporting ``proj``: what ``from pkg import proj`` reads changes
    tree.write("__init__", "from pkg.layers import proj as proj\n")
    first = tree.check(analysed={"__init__", "user"})

    # an edit of the re-exported module: whatever the analysis of ``user`` followed is redone
    tree.edit("layers", '-> Float[Tensor, "b c"]', '-> Float[Tensor, "c b"]')
    second = tree.check(analysed={"layers", "top", "model"} | _followed(first))
    assert _codes(second, "model") == _codes(first, "model")

    # a re-export through a second module
    tree.write("api", "from pkg.layers import proj\n")
    tree.write("__init__", "from pkg.api import proj as proj\n")
    tree.check(analysed={"__init__", "api", "user"})
    tree.edit("layers", '"d c"]) ->', '"d e"]) ->')
    tree.check(analysed={"layers", "top", "model"} | _followed(first))


def _followed(diags):
    """``user`` when its analysis followed the re-export to ``proj`` (its revealed shape is known, not
    ``...``): the files a run redoes are those whose analysis asked for the edited module, directly
    or through the modules it asked for, whatever the engine follows."""
    return {"user"} if any(code == "reveal" and msg != "..." for code, msg in _codes(diags, "user")) else set()


def test_a_module_that_appears_later_is_a_changed_dependency(tree):
    tree.check(analysed=ALL)
    os.remove(tree.root / "pkg" / "mid.py")
    tree.check(analysed={"top"})
    tree.write("mid", MID)
    tree.check(analysed={"mid", "top"})


def test_workers_record_dependencies_too(tree):
    """With worker processes, each file's dependencies come back with its result."""
    tree.check(analysed=ALL, jobs=2)
    tree.edit("layers", "return x @ w", "y = x @ w\n    return y")
    tree.check(analysed={"layers"}, jobs=2)
    tree.edit("layers", '-> Float[Tensor, "b c"]', '-> Float[Tensor, "b d"]')
    tree.check(analysed={"layers", "top", "model"}, jobs=2)


BLOCKS = '''\
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 8)

    def forward(self, x):
        return self.lin(x)


class Other(nn.Module):
    def helper(self, x: Float[Tensor, "n"]) -> Float[Tensor, "n"]:
        return x
'''

NET = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape
from pkg.blocks import Block


def f(x: Float[Tensor, "b 4"]):
    reveal_shape(Block()(x))
'''


def test_a_class_interface_includes_what_its_users_read(tree):
    """A module's ``self`` is built from its ``__init__`` and an unannotated ``forward`` is analysed at
    the call: both bodies are part of the class's interface; an annotated method's body is not."""
    tree.write("blocks", "from jaxtyping import Float\nfrom torch import Tensor\n" + BLOCKS)
    tree.write("net", NET)
    first = tree.check(analysed=ALL | {"blocks", "net"})
    assert _codes(first, "net") == [("reveal", "b 8")]
    tree.edit("blocks", "nn.Linear(4, 8)", "nn.Linear(4, 16)")
    assert _codes(tree.check(analysed={"blocks", "net"}), "net") == [("reveal", "b 16")]
    tree.edit("blocks", "return self.lin(x)", "return self.lin(x).relu()")
    assert _codes(tree.check(analysed={"blocks", "net"}), "net") == [("reveal", "b 16")]
    tree.edit("blocks", "        return x\n", "        y = x\n        return y\n")
    tree.check(analysed={"blocks"})


def test_one_staged_file_reaches_the_rest_of_a_project_found_by_git(tmp_path, monkeypatch, capsys):
    """pre-commit passes only the staged files: their imports of the project's other modules still
    resolve (the root is found by ``.git``; the other modules are located and parsed on demand), and the
    cache redoes the staged file when a module it reached changes its interface."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHAPECHECK_DEBUG_CACHE", "1")
    monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "layers.py").write_text(LAYERS)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "train.py").write_text(MODEL.replace("pkg.layers", "models.layers"))

    def run(*extra):
        main(["check", "--output-format", "json", *extra, "scripts/train.py"])
        cap = capsys.readouterr()
        line = next(x for x in cap.err.splitlines() if x.startswith("shapecheck: debug: analysed"))
        return [d["code"] for d in json.loads(cap.out)], set(line.split(":", 3)[3].split())

    assert run() == (["SHP105"], {"scripts/train.py"})
    assert run() == (["SHP105"], set())  # warm: nothing it reached changed
    layers = tmp_path / "models" / "layers.py"
    layers.write_text(LAYERS.replace('w: Float[Tensor, "d c"]', 'w: Float[Tensor, "e c"]'))
    assert run() == ([], {"scripts/train.py"})
    assert run("--no-cache")[0] == []
