"""Large runs: the project index lets go of parsed modules between files (bounded memory, same
results), and shards of one run that share a cache directory leave one cache a full run reuses."""

from __future__ import annotations

import json
import os
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


# -- the summaries of dropped modules -----------------------------------------------------------------

API = '''\
from jaxtyping import Float
from torch import Tensor
import torch.nn as nn


def proj(x: Float[Tensor, "b d"], w: Float[Tensor, "d c"]) -> Float[Tensor, "b c"]:
    return x @ w


def helper(n):
    return n


class Config:
    width = 4


class Head(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = nn.Linear(d, 3)

    def forward(self, x):
        return self.lin(x)


WIDTH = 4
'''

CALLER = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape
from pkg.api import WIDTH, Config, Head, helper, proj


def go{n}(x: Float[Tensor, "b 4"], w: Float[Tensor, "5 8"]):
    cfg = Config()
    helper("relu")
    return proj(x, w) * WIDTH
'''

HEAD_USER = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape
from pkg.api import Head


def go(y: Float[Tensor, "b 7"]):
    reveal_shape(Head(7)(y))
'''


@pytest.fixture
def api(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    p = tmp_path / "pkg"
    p.mkdir()
    (p / "__init__.py").write_text("")
    (p / "api.py").write_text(API)
    for n in range(4):
        (p / f"caller{n}.py").write_text(CALLER.format(n=n))
    return tmp_path


def _project_parses(monkeypatch) -> list:
    """The files the project index parses from now on (not the checked files' own parse)."""
    parsed: list = []
    real = _project.parse_module

    def counting(source, path):
        parsed.append(path.replace("\\", "/").rsplit("/", 1)[-1])
        return real(source, path)

    monkeypatch.setattr(_project, "parse_module", counting)
    return parsed


def test_a_dropped_module_answers_from_its_summary(api, capsys, monkeypatch):
    """Every module dropped after every file: the callers of an annotated function, of an unannotated
    one given no tensor, size or object (a string: nothing to analyse it for), of a class that is no nn.Module and of a constant are answered from the
    summary, so the module is parsed once, and each caller reports what it reports with nothing dropped."""
    kept = _json(capsys, "--no-cache", "-j", "1", ".")
    assert sorted({d["path"] for d in kept if d["code"].startswith("SHP1")}) == \
        [f"pkg/caller{n}.py" for n in range(4)]  # proj's "d" is 4 against 5 in every caller
    monkeypatch.setattr(_project, "SOURCE_BUDGET", 0)
    parsed = _project_parses(monkeypatch)
    assert _json(capsys, "--no-cache", "-j", "1", ".") == kept
    assert parsed.count("api.py") == 1


def test_a_dropped_module_is_parsed_again_for_a_body(api, capsys, monkeypatch):
    """An nn.Module of a dropped module called with a tensor needs its ``__init__`` and ``forward``:
    the module is parsed again, and the result is the one with nothing dropped."""
    for n in range(3):
        (api / "pkg" / f"head{n}.py").write_text(HEAD_USER)
    kept = _json(capsys, "--no-cache", "-j", "1", ".")
    assert [d["message"] for d in kept if d["code"] == "reveal"] == ["b 3"] * 3
    monkeypatch.setattr(_project, "SOURCE_BUDGET", 0)
    parsed = _project_parses(monkeypatch)
    assert _json(capsys, "--no-cache", "-j", "1", ".") == kept
    assert parsed.count("api.py") > 1  # each file with a Head call parses it again (the summary has no body)
    assert parsed.count("api.py") <= 1 + 3


def test_summary_keeps_what_other_files_read(api):
    project = Project([str(api / "pkg" / n) for n in ("__init__.py", "api.py", "caller0.py")], budget=0)
    settings = Settings()
    info = project.module_info("pkg.api", settings)
    caller = project.module_info("pkg.caller0", settings)
    assert caller.resolve_import("pkg.api.Head").is_module
    assert project.dropped("pkg.api", settings) is None  # held
    project.release()
    gone = weakref.ref(info)
    del info
    s = project.dropped("pkg.api", settings).summary
    assert set(s.functions) == {"proj", "helper"} and set(s.classes) == {"Config", "Head"}
    proj = s.functions["proj"].signature
    assert [p.arg.arg for p in proj.params] == ["x", "w"] and str(proj.returns.spec) == "b c"
    assert all(p.arg.annotation is None for p in proj.params)  # none of the tree: the annotation was read
    assert s.classes["Head"].is_module is True and s.classes["Config"].is_module is None  # never asked
    parsed = []
    real = project.module_info
    project.module_info = lambda m, st: parsed.append(m) or real(m, st)
    assert caller.resolve_import("pkg.api.WIDTH") is None  # not a function or class: no parse
    ref = caller.resolve_import("pkg.api.proj")
    assert ref.signature() is proj and ref.place() == (str(api / "pkg" / "api.py"), 6)
    assert caller.resolve_import("pkg.api.helper").signature().params[0].arg.arg == "n"
    assert caller.resolve_import("pkg.api.Head").is_module
    assert parsed == []
    assert gone() is None  # nothing of the dropped tree is held
    assert not caller.resolve_import("pkg.api.Config").is_module  # not known: parsed again
    assert parsed == ["pkg.api"]
    assert project.dropped("pkg.api", settings) is None  # held again
    assert ref.node.name == "proj" and ref.info is project.module_info("pkg.api", settings)  # the body


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

    from shapecheck._lint._check import code_digest

    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "x.py").write_text("X = 1\n")
        (tmp_path / where / "notes.txt").write_text(where)
    os.utime(tmp_path / "b" / "x.py", ns=(10 ** 9, 10 ** 9))
    first = code_digest([("pkg", str(tmp_path / "a"))])
    assert code_digest([("pkg", str(tmp_path / "b"))]) == first
    (tmp_path / "b" / "x.py").write_text("X = 2\n")
    assert code_digest([("pkg", str(tmp_path / "b"))]) != first


def test_module_lookups_under_the_roots_read_each_directory_once(pkg, monkeypatch):
    """Finding where a module lives under the project's roots reads directory listings, once each: a
    name that is no project module (``numpy.linalg``) costs no file-system call per candidate file,
    which on a large tree was most of a warm run."""
    project = Project.from_files([str(pkg / "pkg" / "layers.py")], str(pkg))
    calls = []
    real_isfile, real_listdir = os.path.isfile, os.listdir
    monkeypatch.setattr(os.path, "isfile", lambda p: calls.append(("isfile", p)) or real_isfile(p))
    monkeypatch.setattr(os, "listdir", lambda d: calls.append(("listdir", d)) or real_listdir(d))
    for n in range(50):
        assert project.path_of(f"numpy.linalg{n}") is None
        assert project.path_of(f"pkg.missing{n}") is None
    assert not [c for c in calls if c[0] == "isfile"]
    listed = [d for kind, d in calls if kind == "listdir"]
    assert len(listed) == len(set(listed)) <= 2 * len(project.roots)
    assert project.path_of("pkg.blocks") == os.path.abspath(str(pkg / "pkg" / "blocks.py"))


def test_re_exports_of_a_dropped_package_are_followed(capsys, monkeypatch):
    """A name re-exported by a package's ``__init__.py`` (by name or through ``from .x import *``) is
    followed to its class also when the ``__init__`` was dropped and is answered by its summary."""
    layerpkg = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "packages", "layerpkg")
    monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
    held = _json(capsys, "--no-cache", "--isolated", "-j", "1", layerpkg)
    assert len([d for d in held if d["code"] == "SHP106"]) == 4
    monkeypatch.setattr(_project, "SOURCE_BUDGET", 0)
    assert _json(capsys, "--no-cache", "--isolated", "-j", "1", layerpkg) == held


def test_summary_keeps_re_exports_and_star_imports(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    p = tmp_path / "lib"
    p.mkdir()
    (p / "__init__.py").write_text("from .a import Thing as Alias\nfrom .b import *\n")
    (p / "a.py").write_text("class Thing:\n    pass\n")
    (p / "b.py").write_text("def helper():\n    return 1\n")
    (tmp_path / "use.py").write_text("from lib import Alias, helper\n")
    project = Project.from_files([str(tmp_path / "use.py")], str(tmp_path))
    info = project.module_info("lib", Settings())
    assert info.star_modules == ("lib.b",)
    assert info.imports.names["Alias"] == "lib.a.Thing"  # ``.`` in an ``__init__`` is the package itself
    project.budget = 0
    project.release()
    use = project.module_info("use", Settings())
    assert project.dropped("lib", Settings()) is not None
    assert use.resolve_import("lib.Alias").name == "Thing"
    assert use.resolve_import("lib.helper").name == "helper"
    assert use.resolve_import("lib.missing") is None


SIBLING_MODELS = {
    "gan_a/models.py": """\
        import torch.nn as nn


        class Generator(nn.Module):
            def __init__(self, latent_dim):
                super().__init__()
                self.fc = nn.Linear(latent_dim, 128)

            def forward(self, z):
                return self.fc(z)
        """,
    "gan_b/models.py": """\
        import torch.nn as nn


        class Generator(nn.Module):
            def __init__(self, channels=64):
                super().__init__()
                self.conv = nn.Conv2d(channels, 3, 3, padding=1)

            def forward(self, x):
                return self.conv(x)
        """,
    "gan_b/train.py": """\
        import torch
        from models import *

        generator = Generator(64)
        images = generator(torch.randn(8, 64, 32, 32))
        """,
}


@pytest.mark.parametrize("budget", [None, 0])
def test_a_script_imports_the_module_beside_it(tmp_path, capsys, monkeypatch, budget):
    """A repository of scripts that each sit beside their own ``models.py``: ``from models import *`` in
    one is the ``models.py`` of its own folder (Python puts a script's folder first on ``sys.path``),
    not another folder's module of that name, which would be analysed under shapes it was never
    given. Also when modules are dropped and answered by their summaries."""
    for rel, text in SIBLING_MODELS.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(text))
    if budget is not None:
        monkeypatch.setattr(_project, "SOURCE_BUDGET", budget)
    monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
    assert _json(capsys, "--no-cache", "--isolated", "-j", "1", str(tmp_path)) == []
    # the sibling is really followed: built for 3 channels, it is given 64
    (tmp_path / "gan_b" / "train.py").write_text(textwrap.dedent(SIBLING_MODELS["gan_b/train.py"]).replace(
        "Generator(64)", "Generator(3)"))
    found = _json(capsys, "--no-cache", "--isolated", "-j", "1", str(tmp_path))
    assert [(d["code"], os.path.basename(d["path"]), d["line"]) for d in found] == \
        [("SHP107", "train.py", 5)]
    project = Project.from_files([str(tmp_path / "gan_b" / "train.py")])
    assert project.local_name("models", str(tmp_path / "gan_b" / "train.py")) == "models"  # the only one known
    files = [str(tmp_path / rel) for rel in SIBLING_MODELS]
    scoped = Project.from_files(files).local_name("models", files[2])
    assert scoped.startswith("models@")
    # a later process (a cached result's dependencies) finds the folder of a scoped name again
    assert Project.from_files(files).path_of(scoped) == os.path.abspath(files[1])
