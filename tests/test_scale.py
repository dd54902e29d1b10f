"""Large runs: the project index lets go of parsed modules between files (bounded memory, same
results), and shards of one run that share a cache directory leave one cache a full run reuses."""

from __future__ import annotations

import json
import textwrap
import weakref

import pytest

from shapecheck._core._settings import Settings
from shapecheck._engine import _project
from shapecheck._engine._project import Project
from shapecheck._lint._cache import Cache
from shapecheck._lint._cli import main

LAYERS = '''\
from jaxtyping import Float
from torch import Tensor


def proj(x: Float[Tensor, "b d"], w: Float[Tensor, "d c"]) -> Float[Tensor, "b c"]:
    return x @ w


def double(x):
    return x.sum(-1)
'''

BLOCKS = '''\
import torch.nn as nn
from pkg.layers import double


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = nn.Linear(d, 8)

    def forward(self, x):
        return double(self.lin(x))
'''

USE = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape
from pkg.layers import proj
from pkg.blocks import Block


def go{n}(x: Float[Tensor, "b 4"], w: Float[Tensor, "5 8"], y: Float[Tensor, "b 3 4"]):
    reveal_shape(Block(4)(y))
    return proj(x, w)
'''


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text("")
    p = tmp_path / "pkg"
    p.mkdir()
    (p / "__init__.py").write_text("")
    (p / "layers.py").write_text(LAYERS)
    (p / "blocks.py").write_text(BLOCKS)
    for n in range(6):
        (p / f"use{n}.py").write_text(textwrap.dedent(USE.format(n=n)))
    return tmp_path


def _json(capsys, *argv) -> list:
    main(["check", "--output-format", "json", "--exit-zero", *argv])
    return json.loads(capsys.readouterr().out)


def test_a_budget_of_nothing_gives_the_same_results(pkg, capsys, monkeypatch):
    """Every module dropped after every file: each file parses what it reaches again, and reports the same."""
    big = _json(capsys, "--no-cache", "-j", "1", ".")
    assert {d["code"] for d in big} >= {"SHP105", "reveal"}  # the cross-module findings are there
    monkeypatch.setattr(_project, "SOURCE_BUDGET", 0)
    assert _json(capsys, "--no-cache", "-j", "1", ".") == big


def test_release_drops_the_least_recently_used_modules(pkg):
    project = Project([str(pkg / "pkg" / n) for n in ("__init__.py", "layers.py", "blocks.py", "use0.py")],
                      budget=max(len(LAYERS), len(BLOCKS)))  # room for one of the two
    settings = Settings()
    layers = project.module_info("pkg.layers", settings)
    project.release()  # within the budget: kept
    assert project.module_info("pkg.layers", settings) is layers
    blocks = project.module_info("pkg.blocks", settings)
    assert project.module_info("pkg.layers", settings) is layers  # used last
    gone = weakref.ref(blocks)
    del blocks
    project.release()
    assert gone() is None  # freed at once, not at the next full collection
    assert project.module_info("pkg.layers", settings) is layers
    again = project.module_info("pkg.blocks", settings)  # parsed again when reached again
    assert again is not None and "Block" in again.classes
    project.release()  # now layers was used longest ago
    assert project.module_info("pkg.blocks", settings) is again


def test_release_within_budget_keeps_everything(pkg):
    project = Project([str(pkg / "pkg" / n) for n in ("layers.py", "blocks.py")], budget=10 ** 9)
    settings = Settings()
    layers = project.module_info("pkg.layers", settings)
    project.release()
    assert project.module_info("pkg.layers", settings) is layers


# -- shards sharing one cache ----------------------------------------------------------------------

def _analysed(capsys, *argv) -> set:
    main(["check", "--output-format", "json", "--exit-zero", *argv])
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("shapecheck: debug: analysed"))
    return set(line.split(":", 3)[3].split())


def test_two_shards_fill_one_cache_that_a_full_run_reuses(pkg, capsys, monkeypatch):
    monkeypatch.setenv("SHAPECHECK_DEBUG_CACHE", "1")
    files = sorted(str(p.relative_to(pkg)) for p in (pkg / "pkg").glob("*.py"))
    one, two = files[::2], files[1::2]
    assert _analysed(capsys, "--cache-dir", "shared", *one) == set(one)
    assert _analysed(capsys, "--cache-dir", "shared", *two) == set(two)
    assert _analysed(capsys, "--cache-dir", "shared", ".") == set()
    cold = _json(capsys, "--no-cache", ".")
    assert _json(capsys, "--cache-dir", "shared", ".") == cold


def test_shards_saving_at_the_same_time_keep_each_others_entries(pkg, capsys, monkeypatch):
    """Two shards load the cache before either saves (parallel CI jobs on one cache directory): the
    second save merges what the first wrote instead of overwriting it."""
    monkeypatch.setenv("SHAPECHECK_DEBUG_CACHE", "1")
    files = sorted(str(p.relative_to(pkg)) for p in (pkg / "pkg").glob("*.py"))
    one, two = files[::2], files[1::2]
    saves = []
    real_save = Cache.save

    def later(self, checked=()):  # hold every save back until both shards are done
        saves.append((self, list(checked)))

    monkeypatch.setattr(Cache, "save", later)
    _analysed(capsys, "--cache-dir", "shared", *one)
    _analysed(capsys, "--cache-dir", "shared", *two)
    monkeypatch.setattr(Cache, "save", real_save)
    for cache, checked in saves:
        cache.save(checked)
    assert _analysed(capsys, "--cache-dir", "shared", ".") == set()


def test_the_code_stamp_is_the_same_wherever_and_whenever_shapecheck_is_installed(tmp_path):
    """Shards in CI install shapecheck each in their own environment: the cache key reads the code's
    text, not its path or modification times."""
    import os

    from shapecheck._lint._cli import code_digest

    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "x.py").write_text("X = 1\n")
        (tmp_path / where / "notes.txt").write_text(where)
    os.utime(tmp_path / "b" / "x.py", ns=(10 ** 9, 10 ** 9))
    first = code_digest([("pkg", str(tmp_path / "a"))])
    assert code_digest([("pkg", str(tmp_path / "b"))]) == first
    (tmp_path / "b" / "x.py").write_text("X = 2\n")
    assert code_digest([("pkg", str(tmp_path / "b"))]) != first
