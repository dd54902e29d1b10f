"""shapecheck as users install it: the wheel built from this tree, installed without ``-e`` into fresh
virtualenvs that see nothing of this machine's packages.

- the wheel holds every package of the tree (and no test module), with ``py.typed``;
- ``pip install .`` on a machine without torch gives a working ``shapecheck check``;
- ``pip install "torch==2.13.0"`` then ``pip install ".[runtime,mypy]"``: every public name imports, a
  guard rejects a bad call, mypy runs the plugin (``reveal_shape`` typed, its note shown), the CLI
  reports, and the README's pre-commit snippet works with the real pre-commit.

One wheel and one virtualenv of each kind serve the whole module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# installed package -> its folder in the repository
FOLDERS = {"shapecheck": "shapecheck", "shapecheck/plugin": "plugin", "shapecheck/rules": "rules"}
TORCH = "torch==2.13.0"  # the pin that installs from this machine's disk; any other version downloads gigabytes
_COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                      ".shapecheck_cache", ".mypy_cache", ".pytest_cache", ".hypothesis")


def _run(cmd, cwd: Path, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**base, **(env or {})})


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # built from a copy, so that no build/ or egg-info lands in the tree (other tests run beside this one)
    src = tmp_path_factory.mktemp("src") / "shapecheck"
    shutil.copytree(ROOT, src, ignore=_COPY_IGNORE)
    out = tmp_path_factory.mktemp("wheel")
    _ok(_run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, src], cwd=out))
    [whl] = out.glob("shapecheck-*.whl")
    return whl


def _fresh_env(where: Path, *installs: list) -> Path:
    venv.create(where, with_pip=True, system_site_packages=False, clear=True)
    for args in installs:
        _ok(_run([where / "bin" / "python", "-m", "pip", "install", "-q", *args], cwd=where))
    return where / "bin"


@pytest.fixture(scope="module")
def bare_env(wheel, tmp_path_factory) -> Path:
    """The wheel alone: no torch, no extras."""
    return _fresh_env(tmp_path_factory.mktemp("bare-venv"), [wheel])


@pytest.fixture(scope="module")
def full_env(wheel, tmp_path_factory) -> Path:
    """What the README tells a user: torch first, then the package with its runtime and mypy extras."""
    return _fresh_env(tmp_path_factory.mktemp("full-venv"), [TORCH], [f"{wheel}[runtime,mypy]", "pre-commit"])


# -- the wheel --------------------------------------------------------------------------------------

def _tree_modules() -> set:
    """Where every module of every package folder of the tree lands when installed (test modules excepted)."""
    out = set()
    for installed, folder in FOLDERS.items():
        base = ROOT / folder
        if installed != folder and not base.is_dir():
            continue  # a mapped folder that moved under shapecheck/ is found there
        for init in base.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            for mod in init.parent.glob("*.py"):
                if not mod.name.startswith("test_"):
                    out.add(f"{installed}/{mod.relative_to(base).as_posix()}")
    return out


def test_wheel_holds_every_package_and_no_test_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n for n in names if n.endswith(".py")}
    expected = _tree_modules()
    assert "shapecheck/_runtime/__init__.py" in expected  # the package that once went missing
    assert not expected - shipped, f"missing from the wheel: {sorted(expected - shipped)}"
    assert not shipped - expected, f"in the wheel but not a package module of the tree: {sorted(shipped - expected)}"
    assert not [n for n in names if Path(n).name.startswith("test_")]
    assert "shapecheck/py.typed" in names
    assert not [n for n in names if n.split("/")[0] in ("plugin", "rules")], "nothing installs as a bare module"
    assert [n for n in names if re.fullmatch(r"shapecheck-[^/]+\.dist-info/(licenses/)?LICENSE", n)]


# -- the linter alone, without torch ----------------------------------------------------------------

BAD_MODEL = textwrap.dedent('''\
    import torch
    from torch import Tensor
    from jaxtyping import Float


    def attend(q: Float[Tensor, "b s d"], k: Float[Tensor, "b s d"]):
        return q @ k
''')


def test_installed_linter_runs_without_torch(bare_env, tmp_path):
    no_torch = _run([bare_env / "python", "-c", "import torch"], cwd=tmp_path)
    assert no_torch.returncode != 0, "the bare environment must not have torch"
    model = tmp_path / "model.py"
    model.write_text(BAD_MODEL)
    out = _run([bare_env / "shapecheck", "check", "--format", "json", "--no-cache", model], cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    found = json.loads(out.stdout)
    assert [(d["line"], d["code"]) for d in found] == [(7, "SHP101")]
    # and the bundled examples: findings, not a crash
    ex = _run([bare_env / "shapecheck", "check", "--no-cache", "--format", "json", ROOT / "fixtures" / "bugs"],
              cwd=tmp_path)
    assert ex.returncode == 1, ex.stderr
    assert not [d for d in json.loads(ex.stdout) if d["code"] == "SHP900"]


# -- everything, installed as the README says -------------------------------------------------------

def test_every_public_name_imports_from_the_installed_package(full_env, tmp_path):
    script = textwrap.dedent('''\
        import pathlib, sys
        import shapecheck
        from shapecheck import guard, install_import_hook, reveal_shape, ShapeError
        import shapecheck.plugin, shapecheck.rules
        assert callable(guard) and callable(install_import_hook) and reveal_shape(3) == 3
        assert issubclass(ShapeError, TypeError)
        assert shapecheck.rules.all_rules() and not shapecheck.rules.LOAD_ERRORS, shapecheck.rules.LOAD_ERRORS
        assert callable(shapecheck.plugin.plugin)
        print(pathlib.Path(shapecheck.__file__).resolve())
    ''')
    where = Path(_ok(_run([full_env / "python", "-c", script], cwd=tmp_path)).strip())
    assert where.is_relative_to(full_env.parent.resolve()), f"imported from {where}, not the installed copy"
    assert not where.is_relative_to(ROOT)


def test_installed_guard_rejects_a_bad_call(full_env, tmp_path):
    script = textwrap.dedent('''\
        import torch
        from jaxtyping import Float
        from torch import Tensor

        import shapecheck


        @shapecheck.guard
        def scores(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Float[Tensor, "b s t"]:
            return q @ k.transpose(-2, -1)


        assert scores(torch.zeros(2, 3, 4), torch.zeros(2, 5, 4)).shape == (2, 3, 5)
        try:
            scores(torch.zeros(2, 3, 4), torch.zeros(2, 4, 5))
        except shapecheck.ShapeError as e:
            print(e)
        else:
            raise SystemExit("the guard let a bad call through")
    ''')
    out = _ok(_run([full_env / "python", "-c", script], cwd=tmp_path))
    assert 'argument `k` of `scores` has 5 at the last axis where "d" is 4' in out, out


MYPY_CASE = textwrap.dedent('''\
    from jaxtyping import Float
    from torch import Tensor

    from shapecheck import reveal_shape


    def scores(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Float[Tensor, "b s t"]:
        out = q @ k.transpose(-2, -1)
        reveal_shape(out)
        return q @ k
''')


def test_installed_mypy_plugin_reports_and_reveals(full_env, tmp_path):
    (tmp_path / "scores.py").write_text(MYPY_CASE)
    (tmp_path / "mypy.ini").write_text("[mypy]\nplugins = shapecheck.plugin\n")
    out = _run([full_env / "python", "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", tmp_path / "cache",
                "--no-error-summary", "scores.py"], cwd=tmp_path, timeout=600)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert 'scores.py:9: note: Revealed shape is "b s t"' in lines, out.stdout  # reveal_shape is typed: py.typed ships
    assert any(re.match(r'scores\.py:10: error: matmul contracts "d" with "t"\s+\[shape-contraction-mismatch\]$', l)
               for l in lines), out.stdout
    assert "import-untyped" not in out.stdout and "import-not-found" not in out.stdout, out.stdout
    assert [l for l in lines if ": error:" in l] == [l for l in lines if "scores.py:10: error:" in l], out.stdout


def test_installed_cli_reports_a_finding(full_env, tmp_path):
    (tmp_path / "model.py").write_text(BAD_MODEL)
    out = _run([full_env / "shapecheck", "check", "--no-cache", "model.py"], cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"^model\.py:7:\d+: SHP101 ", out.stdout, re.M), out.stdout


# -- pre-commit, with the snippet as the README and docs/cli.md give it ------------------------------

def _hook_snippets(path: Path) -> list:
    """The ```yaml blocks of `path` that configure pre-commit hooks."""
    return [b for b in re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S) if "hooks:" in b]


def _snippets() -> list:
    out = []
    for doc in ("README.md", "docs/cli.md"):
        blocks = _hook_snippets(ROOT / doc)
        assert len(blocks) == 1, f"{doc}: expected one pre-commit snippet, found {len(blocks)}"
        out.append(pytest.param(blocks[0], id=doc))
    return out


@pytest.mark.parametrize("snippet", _snippets())
def test_pre_commit_snippet_works_as_written(snippet, full_env, tmp_path):
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / ".pre-commit-config.yaml").write_text(snippet)
    (repo / "good.py").write_text("import torch\n\n\ndef f(x):\n    return x + 1\n")
    env = {"PATH": f"{full_env}{os.pathsep}{os.environ.get('PATH', '')}", "PRE_COMMIT_HOME": str(tmp_path / "pc"),
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"]):
        _ok(_run(cmd, cwd=repo, env=env))
    clean = _run([full_env / "pre-commit", "run", "--all-files"], cwd=repo, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"^shapecheck\.+Passed$", clean.stdout, re.M), clean.stdout
    assert "[WARNING]" not in clean.stdout + clean.stderr, clean.stdout + clean.stderr
    (repo / "model.py").write_text(BAD_MODEL)
    _ok(_run(["git", "add", "-A"], cwd=repo, env=env))
    bad = _run([full_env / "pre-commit", "run", "--all-files"], cwd=repo, env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(r"^shapecheck\.+Failed$", bad.stdout, re.M), bad.stdout
    assert re.search(r"^model\.py:7:\d+: SHP101 ", bad.stdout, re.M), bad.stdout


def test_pre_commit_snippet_matches_the_published_hook(full_env, tmp_path):
    """The local hook of the snippet runs what `.pre-commit-hooks.yaml` defines, on the same files."""
    script = textwrap.dedent('''\
        import json, sys, yaml
        [published] = yaml.safe_load(open(sys.argv[1]))
        [repo] = yaml.safe_load(sys.argv[2])["repos"]
        [local] = repo["hooks"]
        print(json.dumps([published, repo["repo"], local]))
    ''')
    for param in _snippets():
        [snippet] = param.values
        published, where, local = json.loads(_ok(_run([full_env / "python", "-c", script,
                                                       ROOT / ".pre-commit-hooks.yaml", snippet], cwd=tmp_path)))
        assert where == "local"
        assert local["id"] == published["id"]
        assert local["entry"].split() == published["entry"].split() + published.get("args", [])
        for key in ("types_or", "require_serial"):
            assert local[key] == published[key], key
