"""The ``shapecheck`` command driven as a user drives it: a subprocess in a scratch directory."""

from __future__ import annotations

import os
import re

import pytest

from _cli_support import BAD, BAD_LINE, CLEAN, REPO, SELECT_SHP002, SINGLE, codes, shapecheck, write
from _lanes import fast_sample


def test_version(tmp_path):
    r = shapecheck("--version", cwd=tmp_path)
    assert r.code == 0
    assert re.fullmatch(r"shapecheck \d+\.\d+\.\d+\S*\n", r.out)


def test_clean_tree_exits_zero(tmp_path):
    write(tmp_path, {"pkg/m.py": CLEAN})
    r = shapecheck("check", cwd=tmp_path)
    assert r.code == 0, r.err
    assert "All checks passed" in r.out


def test_finding_exits_one_and_is_reported_concise(tmp_path):
    write(tmp_path, {"m.py": BAD})
    r = shapecheck("check", cwd=tmp_path)
    assert r.code == 1
    assert re.search(rf"^m\.py:{BAD_LINE}:\d+: SHP001 \[annotation-syntax\] \S", r.out, re.M), r.out
    assert "Traceback" not in r.err


def test_default_path_and_implicit_check_command(tmp_path):
    write(tmp_path, {"a/m.py": BAD, "b/ok.py": CLEAN})
    r1 = shapecheck("check", "--format", "json", cwd=tmp_path)
    r2 = shapecheck("--format", "json", ".", cwd=tmp_path)
    assert codes(r1) == codes(r2) == [(os.path.join("a", "m.py"), BAD_LINE, "SHP001")]
    bare = shapecheck(cwd=tmp_path)  # no command, no path: check .
    assert bare.code == 1 and f"a/m.py:{BAD_LINE}:" in bare.out


def test_exit_zero(tmp_path):
    write(tmp_path, {"m.py": BAD})
    r = shapecheck("check", "--exit-zero", cwd=tmp_path)
    assert r.code == 0
    assert "SHP001" in r.out


@pytest.mark.parametrize("args, expected", fast_sample([
    (["--ignore", "SHP001"], 0),
    (["--ignore", "annotation-syntax"], 0),
    (["--ignore", "SHP0"], 0),
    (["--select", "SHP1"], 0),
    (["--select", "annotation-syntax"], 1),
    (["--select", "SHP101,SHP001"], 1),
    (["--select", "SHP1", "--extend-select", "SHP001"], 1),
], keep=3))
def test_select_and_ignore(tmp_path, args, expected):
    write(tmp_path, {"m.py": BAD})
    r = shapecheck("check", *args, cwd=tmp_path)
    assert r.code == expected, (r.out, r.err)


def test_unknown_selector_is_a_usage_error(tmp_path):
    write(tmp_path, {"m.py": CLEAN})
    r = shapecheck("check", "--select", "SHP9999x", cwd=tmp_path)
    assert r.code == 2
    assert "not a shapecheck code" in r.err and "Traceback" not in r.err
    r = shapecheck("check", "--ignore", "contraction-mismatc", cwd=tmp_path)
    assert r.code == 2 and "did you mean `contraction-mismatch`" in r.err


def test_usage_errors_exit_two(tmp_path):
    assert shapecheck("check", "missing.py", cwd=tmp_path).code == 2
    assert shapecheck("check", "--output-format", "xml", cwd=tmp_path).code == 2
    assert shapecheck("check", "--jobs", "0", cwd=tmp_path).code == 2
    assert shapecheck("check", "--unsafe-fixes", cwd=tmp_path).code == 2
    r = shapecheck("check", "missing.py", cwd=tmp_path)
    assert "missing.py:1:1: SHP902 [path-not-found]" in r.out and "Traceback" not in r.err


def test_gitignore_and_default_excludes(tmp_path):
    write(tmp_path, {
        ".gitignore": "generated/\nskip_me.py\n",
        "src/.gitignore": "local_*.py\n",
        "generated/g.py": BAD,
        "skip_me.py": BAD,
        "src/local_x.py": BAD,
        "src/kept.py": BAD,
        ".venv/lib/v.py": BAD,
        "build/b.py": BAD,
    })
    os.mkdir(tmp_path / ".git")
    r = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert [p for p, _, _ in codes(r)] == [os.path.join("src", "kept.py")]
    # the .gitignore above a directory named on the command line still applies
    r = shapecheck("check", "--format", "json", "src", cwd=tmp_path)
    assert [p for p, _, _ in codes(r)] == [os.path.join("src", "kept.py")]
    r = shapecheck("check", "--format", "json", "--no-respect-gitignore", cwd=tmp_path)
    assert len(codes(r)) == 4  # .venv and build stay excluded by default


def test_explicit_file_is_checked_unless_force_exclude(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[tool.shapecheck]\nextend-exclude = ["legacy"]\n',
        "legacy/old.py": BAD,
        "new.py": CLEAN,
    })
    assert shapecheck("check", cwd=tmp_path).code == 0
    assert shapecheck("check", "legacy/old.py", cwd=tmp_path).code == 1
    r = shapecheck("check", "--force-exclude", "legacy/old.py", cwd=tmp_path)
    assert r.code == 0, r.out


def test_stdin(tmp_path):
    r = shapecheck("check", "--stdin-filename", "pkg/model.py", "--format", "json", "-", cwd=tmp_path, stdin=BAD)
    assert r.code == 1
    assert codes(r) == [("pkg/model.py", BAD_LINE, "SHP001")]
    r = shapecheck("check", "-", cwd=tmp_path, stdin=CLEAN)
    assert r.code == 0, r.err


def test_stdin_fix_writes_fixed_source_to_stdout(tmp_path):
    r = shapecheck("check", "--fix", "--extend-select", "SHP002", "--stdin-filename", "m.py", cwd=tmp_path,
                   stdin=SINGLE)
    assert '" batch"]' in r.out and '"batch"' not in r.out
    assert r.code == 0, r.err


def test_parallel_results_equal_serial(tmp_path):
    files = {f"m{i:02d}.py": (BAD if i % 3 == 0 else CLEAN) for i in range(24)}
    files["broken.py"] = "def f(:\n"
    write(tmp_path, files)
    serial = shapecheck("check", "-j1", "--no-cache", "--format", "json", cwd=tmp_path)
    parallel = shapecheck("check", "-j3", "--no-cache", "--format", "json", cwd=tmp_path)
    assert serial.code == parallel.code == 1
    assert serial.json() == parallel.json()
    assert len([c for c in codes(serial) if c[2] == "SHP001"]) == 8
    assert ("broken.py", 1, "SHP901") in codes(serial)


def test_statistics(tmp_path):
    write(tmp_path, {"a.py": BAD, "b.py": BAD, "c.py": SINGLE, "pyproject.toml": SELECT_SHP002})
    r = shapecheck("check", "--statistics", cwd=tmp_path)
    assert r.code == 1
    rows = [line.split() for line in r.out.splitlines() if line.strip() and not line.startswith(("Found", "All"))]
    assert ["2", "SHP001", "annotation-syntax"] in rows
    assert ["1", "SHP002", "[*]", "single-axis-string"] in rows
    j = shapecheck("check", "--statistics", "--format", "json", cwd=tmp_path).json()
    assert {"code": "SHP001", "name": "annotation-syntax", "count": 2, "fixable": False} in j


def test_output_file(tmp_path):
    write(tmp_path, {"m.py": BAD})
    r = shapecheck("check", "--format", "json", "-o", "report.json", cwd=tmp_path)
    assert r.code == 1 and r.out == ""
    import json

    assert json.loads((tmp_path / "report.json").read_text())[0]["code"] == "SHP001"


def test_explain(tmp_path):
    r = shapecheck("explain", "SHP101", cwd=tmp_path)
    assert r.code == 0 and r.out.startswith("SHP101 [contraction-mismatch]")
    by_name = shapecheck("explain", "contraction-mismatch", cwd=tmp_path)
    assert by_name.out == r.out
    bad = shapecheck("explain", "contraction-mismatc", cwd=tmp_path)
    assert bad.code == 2 and "contraction-mismatch" in bad.err


def test_rules(tmp_path):
    r = shapecheck("rules", cwd=tmp_path)
    assert r.code == 0
    lines = r.out.splitlines()
    assert any(re.match(r"SHP001\s+annotation-syntax\s", x) for x in lines)
    assert any(re.match(r"SHP101\s+contraction-mismatch\s", x) for x in lines)
    j = shapecheck("rules", "--format", "json", cwd=tmp_path).json()
    assert len(j) == len(lines)
    assert {"code", "name", "summary", "severity"} <= set(j[0])


def _read_flat_yaml(text: str) -> list:
    """A list of flat mappings with scalar or ``[a, b]`` values: all .pre-commit-hooks.yaml needs."""
    items: list = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            items.append({})
            line = line[2:]
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if value.startswith("["):
            parsed = [v.strip() for v in value.strip("[]").split(",") if v.strip()]
        elif value in ("true", "false"):
            parsed = value == "true"
        else:
            parsed = value.strip('"')
        items[-1][key.strip()] = parsed
    return items


def test_pre_commit_hook_definition_runs_as_pre_commit_would(tmp_path):
    import shlex

    with open(os.path.join(REPO, ".pre-commit-hooks.yaml"), encoding="utf-8") as fh:
        text = fh.read()
    try:
        import yaml
    except ImportError:  # PyYAML is not a test dependency: read the flat subset the file uses
        hooks = _read_flat_yaml(text)
    else:
        hooks = yaml.safe_load(text)
        assert hooks == _read_flat_yaml(text)
    hook = {h["id"]: h for h in hooks}["shapecheck"]
    assert hook["language"] == "python" and hook["require_serial"] is True
    assert set(hook["types_or"]) == {"python", "pyi"}
    argv = shlex.split(hook["entry"]) + list(hook.get("args", []))
    assert argv[:2] == ["shapecheck", "check"]
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nextend-exclude = ["vendored/"]\n',
                     "model.py": BAD, "stubs.pyi": CLEAN, "vendored/v.py": BAD})
    # pre-commit appends the staged file names to entry + args
    r = shapecheck(*argv[1:], "model.py", "stubs.pyi", "vendored/v.py", "--format", "json", cwd=tmp_path)
    assert r.code == 1
    assert codes(r) == [("model.py", BAD_LINE, "SHP001")]


REVEAL = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape


def f(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    reveal_shape(x)
    return x
'''


def test_reveal_notes_do_not_count_as_findings(tmp_path):
    write(tmp_path, {"r.py": REVEAL})
    r = shapecheck("check", "--format", "json", "--select", "SHP1", cwd=tmp_path)
    assert r.code == 0
    assert [(d["code"], d["severity"], d["line"]) for d in r.json()] == [("reveal", "note", 7)]


def test_no_python_files_is_a_warning_not_an_error(tmp_path):
    write(tmp_path, {"README.md": "# nothing here\n"})
    r = shapecheck("check", cwd=tmp_path)
    assert r.code == 0 and "no Python files found" in r.err


def test_a_directory_named_explicitly_is_walked_even_below_an_excluded_one(tmp_path):
    # e.g. `shapecheck check ~/.venv/lib/python3.11/site-packages/torch` inside a git checkout
    write(tmp_path, {".gitignore": "versions/\n",
                     "versions/lib/site-packages/pkg/m.py": BAD,
                     "versions/lib/site-packages/pkg/build/b.py": BAD})
    os.mkdir(tmp_path / ".git")
    assert codes(shapecheck("check", "--format", "json", cwd=tmp_path)) == []
    r = shapecheck("check", "--format", "json", "versions/lib/site-packages/pkg", cwd=tmp_path)
    # the default excludes still apply below the named directory (build/)
    assert [p for p, _, _ in codes(r)] == [os.path.join("versions", "lib", "site-packages", "pkg", "m.py")]
    r = shapecheck("check", "--force-exclude", "versions/lib/site-packages/pkg", cwd=tmp_path)
    assert r.code == 0
