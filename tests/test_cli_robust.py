"""Robustness, the cache, fixes and crash containment of ``shapecheck check``."""

from __future__ import annotations

import json
import os

from _cli_support import BAD, CLEAN, SELECT_SHP002, SINGLE, codes, shapecheck, write

from shapecheck._core._diag import Diagnostic
from shapecheck._lint._files import Target
from shapecheck._lint._runner import Job, lint_path, lint_text, run_files
from shapecheck._core._settings import Settings

AWKWARD = {
    "py2.py": "print 'hello'\nexec 'x = 1'\n",
    "nul.py": b"x = 1\x00\n",
    "notutf8.py": b"x = '\xff\xfe'\n",
    "latin1.py": b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",
    "bogus_cookie.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
    "empty.py": "",
    "bom_crlf.py": b"\xef\xbb\xbfimport torch\r\nx = torch.zeros(3)\r\n",
    "notebook.py": "# %%\nimport torch\n%matplotlib inline\n!pip install torch\n",
    "indent.py": "def f():\nreturn 1\n",
    "deep.py": "x = " + "(" * 300 + "1" + ")" * 300 + "\n",
}


def test_awkward_files_never_crash(tmp_path):
    write(tmp_path, AWKWARD)
    r = shapecheck("check", "--format", "json", "-j2", cwd=tmp_path)
    assert "Traceback" not in r.err
    found = {p: c for p, _, c in codes(r)}
    for name in ("py2.py", "nul.py", "notutf8.py", "bogus_cookie.py", "notebook.py", "indent.py"):
        assert found.get(name) == "SHP901", (name, r.out)
    for name in ("latin1.py", "empty.py", "bom_crlf.py"):
        assert name not in found, (name, r.out)
    assert "SHP900" not in found.values()
    assert r.code == 1  # skipped files count as findings


def test_huge_file_is_skipped_with_a_note(tmp_path):
    (tmp_path / "huge.py").write_bytes(b"x = 1\n" * (3 * 1024 * 1024))  # 18 MiB
    r = shapecheck("check", "--format", "json", cwd=tmp_path)
    d = r.json()
    assert [x["code"] for x in d] == ["SHP901"] and "too large" in d[0]["message"]


def test_syntax_error_location(tmp_path):
    write(tmp_path, {"m.py": "x = 1\ny = (\n"})
    d = shapecheck("check", "--format", "json", cwd=tmp_path).json()
    assert d[0]["code"] == "SHP901" and d[0]["line"] == 2 and d[0]["severity"] == "warning"
    assert "syntax error" in d[0]["message"]


def _cache_file(root):
    d = root / ".shapecheck_cache"
    return [p for p in d.iterdir() if p.name.startswith("results-")]


def test_cache_is_created_and_reused(tmp_path):
    write(tmp_path, {"a.py": BAD, "b.py": CLEAN})
    first = shapecheck("check", "--format", "json", cwd=tmp_path)
    cache = tmp_path / ".shapecheck_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    entries = json.loads(_cache_file(tmp_path)[0].read_text())["files"]
    assert set(map(os.path.basename, entries)) == {"a.py", "b.py"}
    second = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert first.json() == second.json() and second.code == 1
    # the same file seen from another directory keeps its display path
    sub = shapecheck("check", "--format", "json", str(tmp_path / "a.py"), cwd=tmp_path.parent)
    assert sub.json()[0]["path"] == os.path.join(tmp_path.name, "a.py")


def test_cache_notices_edits_and_touches(tmp_path):
    write(tmp_path, {"a.py": BAD})
    assert shapecheck("check", cwd=tmp_path).code == 1
    write(tmp_path, {"a.py": CLEAN})  # an edit: analysed again
    assert shapecheck("check", cwd=tmp_path).code == 0
    os.utime(tmp_path / "a.py", (1, 1))  # touched, unchanged content: still clean
    assert shapecheck("check", cwd=tmp_path).code == 0
    write(tmp_path, {"a.py": BAD})
    os.utime(tmp_path / "a.py", (2, 2))
    assert shapecheck("check", cwd=tmp_path).code == 1


def test_settings_change_invalidates_the_cache(tmp_path):
    write(tmp_path, {"a.py": BAD})
    assert shapecheck("check", cwd=tmp_path).code == 1
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nignore = ["SHP001"]\n'})
    assert shapecheck("check", cwd=tmp_path).code == 0


def test_no_cache_writes_nothing(tmp_path):
    write(tmp_path, {"a.py": BAD})
    assert shapecheck("check", "--no-cache", cwd=tmp_path).code == 1
    assert not (tmp_path / ".shapecheck_cache").exists()


def test_fix_rewrites_only_with_fix(tmp_path):
    write(tmp_path, {"m.py": SINGLE, "pyproject.toml": SELECT_SHP002})
    r = shapecheck("check", cwd=tmp_path)
    assert r.code == 1 and "SHP002" in r.out and "fixable" in r.out
    assert (tmp_path / "m.py").read_text() == SINGLE
    r = shapecheck("check", "--diff", cwd=tmp_path)
    assert r.code == 1 and '+def f(x: Float[Tensor, " batch"])' in r.out
    assert (tmp_path / "m.py").read_text() == SINGLE
    r = shapecheck("check", "--fix", cwd=tmp_path)
    assert r.code == 0, r.out
    assert "Fixed 1 problem" in r.out
    assert (tmp_path / "m.py").read_text() == SINGLE.replace('"batch"]', '" batch"]')
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert shapecheck("check", cwd=tmp_path).code == 0


def test_fix_keeps_bom_crlf_and_other_findings(tmp_path):
    src = ("\ufeff" + SINGLE + BAD.split("\n\n\n")[1]).replace("\n", "\r\n")
    (tmp_path / "m.py").write_bytes(src.encode("utf-8"))
    write(tmp_path, {"pyproject.toml": SELECT_SHP002})
    r = shapecheck("check", "--fix", "--format", "json", cwd=tmp_path)
    assert [d["code"] for d in r.json()] == ["SHP001"]
    data = (tmp_path / "m.py").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b'" batch"]' in data


def _boom(source, path, settings, project=None):
    if "boom" in path:
        raise KeyError("no such axis")
    return [Diagnostic(path, 1, 1, "SHP110", "Two sizes differ")]


def _die(source, path, settings, project=None):
    if "die" in path:
        os._exit(3)
    return []


def test_engine_exception_becomes_one_internal_error(tmp_path):
    job = Job(Settings(), str(tmp_path), check=_boom)
    diags = lint_text("x = 1\n", str(tmp_path / "boom.py"), "boom.py", job)
    assert [d.code for d in diags] == ["SHP900"]
    assert "Internal error" in diags[0].message and "KeyError" in diags[0].message and "report" in diags[0].message
    assert [d.code for d in lint_text("x = 1\n", "ok.py", "ok.py", job)] == ["SHP110"]


def test_worker_crash_costs_only_its_file(tmp_path):
    names = [f"f{i}.py" for i in range(10)] + ["die.py"] + [f"g{i}.py" for i in range(10)]
    write(tmp_path, {n: "x = 1\n" for n in names})
    job = Job(Settings(), str(tmp_path), check=_die)
    items = [(Target(str(tmp_path / n), n), None) for n in names]
    results = run_files(items, job, jobs=2)
    assert [r.display for r in results] == names
    bad = {r.display: [d.code for d in r.diagnostics] for r in results if r.diagnostics}
    assert bad == {"die.py": ["SHP900"]}
    assert "exited abruptly" in results[10].diagnostics[0].message
    assert lint_path(Target(str(tmp_path / "f0.py"), "f0.py"), job).diagnostics == []


def test_internal_error_exit_code_is_two_even_with_exit_zero(tmp_path, capsys):
    # a file the engine cannot handle must never look like a lint finding (1) or a pass (0)
    from shapecheck._lint._check import _report
    from shapecheck._lint._cli import _parser
    from shapecheck._lint._config import Config
    from shapecheck._lint._runner import internal_error

    config = Config(Settings(), str(tmp_path))
    finding = Diagnostic("a.py", 1, 1, "SHP110", "Two sizes differ")
    crash = internal_error("b.py", "KeyError: 'x'")
    for argv, diags, internal, expected in [
        (["check"], [finding], [], 1),
        (["check", "--exit-zero"], [finding], [], 0),
        (["check"], [finding, crash], ["shapecheck failed internally"], 2),
        (["check", "--exit-zero"], [crash], ["shapecheck failed internally"], 2),
        (["check", "--format", "json"], [crash], ["shapecheck failed internally"], 2),
    ]:
        args = _parser().parse_args(argv)
        fmt = args.output_format or "concise"
        assert _report(args, fmt, diags, {}, [], internal, config, {}, __import__("sys").stdout) == expected
    assert "shapecheck failed internally" in capsys.readouterr().err


def test_many_files_across_workers_do_not_deadlock(tmp_path):
    # a regression: bookkeeping through a queue nobody drained hung runs of some hundred files
    import subprocess
    import sys
    import textwrap

    from _cli_support import REPO

    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {REPO!r})
        from shapecheck._lint._files import Target
        from shapecheck._lint._runner import Job, run_files
        from shapecheck._core._settings import Settings

        def check(source, path, settings, project=None):
            return []

        root = {str(tmp_path)!r}
        names = [f"{{'d' * 120}}_{{i:05d}}.py" for i in range(3000)]
        for n in names:
            open(os.path.join(root, n), "w").close()
        items = [(Target(os.path.join(root, n), n), None) for n in names]
        results = run_files(items, Job(Settings(), root, check=check), jobs=3)
        print(len(results), sum(len(r.diagnostics) for r in results))
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["3000", "0"]


CALLEE = '''\
from jaxtyping import Float
from torch import Tensor


def proj(x: Float[Tensor, "n d"], w: Float[Tensor, "d k"]) -> Float[Tensor, "n k"]:
    return x @ w
'''

CALLER = '''\
from jaxtyping import Float
from torch import Tensor

from pkg.b import proj


def f(x: Float[Tensor, "n d"], w: Float[Tensor, "k d"]):
    return proj(x, w)
'''


def test_checking_one_file_follows_its_imports_and_the_cache_follows_them_too(tmp_path):
    # a pre-commit run names a.py alone: the project index still holds pkg/b.py
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'demo'\n", "pkg/__init__.py": "",
                     "pkg/b.py": CALLEE, "pkg/a.py": CALLER})
    first = shapecheck("check", "--format", "json", "pkg/a.py", cwd=tmp_path)
    assert first.code == 1 and [d["path"] for d in first.json()] == [os.path.join("pkg", "a.py")]
    assert shapecheck("check", "pkg/a.py", cwd=tmp_path).code == 1  # warm: same answer
    # the callee changes, the caller does not: the caller's cached result must not be reused
    write(tmp_path, {"pkg/b.py": CALLEE.replace('w: Float[Tensor, "d k"]', 'w: Float[Tensor, "k d"]')
                                        .replace("x @ w", "x @ w.transpose(0, 1)")})
    r = shapecheck("check", "--format", "json", "pkg/a.py", cwd=tmp_path)
    assert r.code == 0 and r.json() == []
    assert shapecheck("check", cwd=tmp_path).code == 0


LAYER = '''
import torch
import torch.nn.functional as F


class Norm(torch.nn.LayerNorm):
    def forward(self, x) -> torch.Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
'''

LAYER_USER = '''
import torch.nn as nn
from jaxtyping import Float
from torch import Tensor

from pkg.layer import Norm


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.norm = Norm(c)

    def forward(self, x: Float[Tensor, "b c h w"]):
        return self.norm(x)
'''


def test_the_cache_follows_the_forward_of_a_layer_subclass_in_another_file(tmp_path):
    # the subclass is the layer while its forward hands the input on as it came: a norm of the last axis
    # meets "w"; once the forward permutes the channels last around it, it is another layer (unknown)
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'demo'\n", "pkg/__init__.py": "",
                     "pkg/layer.py": LAYER, "pkg/user.py": LAYER_USER})
    assert shapecheck("check", "pkg/user.py", cwd=tmp_path).code == 1
    write(tmp_path, {"pkg/layer.py": LAYER.replace(
        "        return F.layer_norm(x,", "        x = x.permute(0, 2, 3, 1)\n        return F.layer_norm(x,")})
    r = shapecheck("check", "--format", "json", "pkg/user.py", cwd=tmp_path)
    assert r.code == 0 and r.json() == []
