"""``shapecheck trace``: the recorder in a real subprocess, the shapes file, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from shapecheck._annotate import _shapesfile
from shapecheck._annotate._trace import TraceError, split_command

SHAPECHECK = [sys.executable, "-m", "shapecheck"]

MODEL = textwrap.dedent('''
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, d_in, d_out):
            super().__init__()
            self.d_out = d_out
            self.lin = nn.Linear(d_in, d_out)

        def forward(self, x, extras=None):
            return self.lin(x), {"mean": x.mean(0)}

        @torch.no_grad()
        def predict(self, x):
            return self.lin(x).argmax(-1)

        @staticmethod
        def pair(a, b):
            return [a, b]


    def helper(xs, n: int):
        return torch.stack(list(xs))[:n] > 0
''')

SCRIPT = textwrap.dedent('''
    import sys
    import torch
    from model import Net, helper

    def local_fn(t):
        return t * 2

    def main():
        dev = sys.argv[1]
        net = Net(6, 3).to(dev)
        for b in range(2, 2 + int(sys.argv[2])):
            net(torch.randn(b, 6, device=dev))
        net.predict(torch.randn(4, 6, device=dev))
        Net.pair(torch.zeros(2, device=dev), torch.zeros(2, device=dev))
        helper((torch.randn(5, 2, device=dev), torch.randn(5, 2, device=dev)), 1)
        local_fn(torch.ones(7, device=dev, dtype=torch.int64))
        if "--fail" in sys.argv:
            raise SystemExit(3)

    main()
''')


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "run.py").write_text(SCRIPT)
    return tmp_path


def _trace(cwd, *cmd, out=None, extra=()):
    args = SHAPECHECK + ["trace", *extra] + (["-o", str(out)] if out else []) + ["--", *cmd]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def _functions(path):
    data = _shapesfile.load(str(path))
    return {f"{rel}::{q}": fn for rel, e in data["files"].items() for q, fn in e["functions"].items()}, data


@pytest.mark.slow  # a traced torch program in a subprocess
def test_trace_records_shapes_dtypes_and_containers_on_meta_tensors(project):
    # meta tensors hold no data: reading anything but shape and dtype would raise
    r = _trace(project, "python", "run.py", "meta", "3")
    assert r.returncode == 0, r.stderr
    fns, data = _functions(project / ".shapecheck" / "shapes.json")
    assert data["version"] == _shapesfile.VERSION and data["exit_code"] == 0
    assert data["command"] == ["python", "run.py", "meta", "3"]
    fwd = fns["model.py::Net.forward"]["calls"]
    assert [c["args"]["x"]["shape"] for c in fwd] == [[2, 6], [3, 6], [4, 6]]
    assert fwd[0]["ints"]["self.d_out"] == 3
    # the constructor's int arguments, the submodules' ints, and the caller's int locals
    assert fwd[0]["ints"]["init.d_in"] == 6 and fwd[0]["ints"]["self.lin.out_features"] == 3
    assert [c["caller"]["b"] for c in fwd] == [2, 3, 4]
    ret = fwd[1]["return"]
    assert ret["kind"] == "tuple" and ret["items"][0] == {"dtype": "float32", "shape": [3, 3]}
    assert ret["items"][1] == {"dict": {"mean": {"dtype": "float32", "shape": [6]}}}
    # a decorated method is recorded under its own name; a staticmethod; a list return
    assert fns["model.py::Net.predict"]["calls"][0]["return"] == {"dtype": "int64", "shape": [4]}
    assert fns["model.py::Net.pair"]["calls"][0]["return"]["kind"] == "list"
    helper = fns["model.py::helper"]["calls"][0]
    assert helper["args"]["n"] == {"int": 1} and helper["args"]["xs"]["kind"] == "tuple"
    assert helper["return"] == {"dtype": "bool", "shape": [1, 5, 2]}
    # functions of the main script are recorded too, with the script's file hash
    assert fns["run.py::local_fn"]["calls"][0]["args"]["t"] == {"dtype": "int64", "shape": [7]}
    assert data["files"]["run.py"]["sha256"] == _shapesfile.file_hash(str(project / "run.py"))
    # torch itself (site-packages) is never recorded
    assert all(not k.startswith("..") and "site-packages" not in k for k in fns)


@pytest.mark.slow  # a traced torch program in a subprocess
def test_trace_keeps_distinct_calls_up_to_max_calls(project, tmp_path):
    out = tmp_path / "s.json"
    r = _trace(project, "python", "run.py", "cpu", "6", out=out, extra=("--max-calls", "2"))
    assert r.returncode == 0, r.stderr
    fns, data = _functions(out)
    assert data["max_calls"] == 2
    assert [c["args"]["x"]["shape"] for c in fns["model.py::Net.forward"]["calls"]] == [[2, 6], [3, 6]]


@pytest.mark.slow  # a traced torch program in a subprocess
def test_failing_command_passes_its_exit_code_and_still_writes(project):
    r = _trace(project, "python", "run.py", "cpu", "2", "--fail")
    assert r.returncode == 3
    fns, data = _functions(project / ".shapecheck" / "shapes.json")
    assert data["exit_code"] == 3
    assert len(fns["model.py::Net.forward"]["calls"]) == 2
    assert "exited with status 3" in r.stderr


@pytest.mark.slow  # a traced torch program in a subprocess
def test_uncaught_exception_gives_status_1_and_a_record(project):
    (project / "boom.py").write_text("import torch\nfrom model import helper\n"
                                     "helper([torch.ones(2)], 1)\nraise ValueError('boom')\n")
    r = _trace(project, "python", "boom.py")
    assert r.returncode == 1
    assert "ValueError: boom" in r.stderr
    fns, _ = _functions(project / ".shapecheck" / "shapes.json")
    assert "model.py::helper" in fns


@pytest.mark.slow  # a traced torch program in a subprocess
def test_python_dash_m_runs_a_project_module_as_main(project):
    (project / "pkg").mkdir()
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "__main__.py").write_text(
        "import torch\n\ndef twice(x):\n    return x * 2\n\nif __name__ == '__main__':\n    twice(torch.ones(3, 4))\n")
    r = _trace(project, "python", "-m", "pkg")
    assert r.returncode == 0, r.stderr
    fns, _ = _functions(project / ".shapecheck" / "shapes.json")
    assert fns["pkg/__main__.py::twice"]["calls"][0]["return"]["shape"] == [3, 4]


@pytest.mark.slow  # a traced torch program in a subprocess
def test_python_dash_m_pytest(project):
    (project / "test_model.py").write_text(
        "import torch\nfrom model import Net\n\ndef test_net():\n    Net(6, 2)(torch.ones(5, 6))\n")
    r = _trace(project, "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_model.py")
    assert r.returncode == 0, r.stdout + r.stderr
    fns, _ = _functions(project / ".shapecheck" / "shapes.json")
    assert fns["model.py::Net.forward"]["calls"][0]["args"]["x"]["shape"] == [5, 6]


@pytest.mark.parametrize("cmd, message", [
    ([], "no command given"),
    (["ls", "-l"], "is not a Python command"),
    (["python", "missing.py"], "no such script"),
    (["python", "-u"], "runs no script or module"),
    (["python", "-m"], "needs an argument"),
])
def test_bad_commands(cmd, message):
    with pytest.raises(TraceError, match=message):
        split_command(cmd)


def test_bad_command_on_the_command_line_is_a_clear_error(tmp_path):
    r = _trace(tmp_path, "ls")
    assert r.returncode == 2 and "is not a Python command" in r.stderr and "Traceback" not in r.stderr


def test_split_command_keeps_interpreter_options(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("")
    exe, opts, mode, target, args = split_command(["python", "-X", "dev", "-u", str(script), "a"])
    assert opts == ["-X", "dev", "-u"] and mode == "script" and target == str(script) and args == ["a"]
    assert split_command(["python", "-mpytest", "-q"])[2:] == ("module", "pytest", ["-q"])


def test_shapes_file_of_another_version_is_a_clear_error(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"format": "shapecheck-shapes", "version": 99, "files": {}}))
    with pytest.raises(_shapesfile.ShapesFileError, match="version 99; this shapecheck reads version 1"):
        _shapesfile.load(str(p))
    p.write_text("{not json")
    with pytest.raises(_shapesfile.ShapesFileError, match="not a shapes file"):
        _shapesfile.load(str(p))
    p.write_text(json.dumps({"format": "shapecheck-shapes", "version": 1, "files": {"a.py": {"sha256": "x"}}}))
    with pytest.raises(_shapesfile.ShapesFileError, match="damaged"):
        _shapesfile.load(str(p))
    for bad_call in ({"args": {"x": {"dtype": "float32", "shape": "3x4"}}}, {"args": [1]},
                     {"args": {}, "return": {"kind": "set", "items": []}}, {"ints": {"self.n": "8"}}):
        p.write_text(json.dumps({"format": "shapecheck-shapes", "version": 1, "files": {"a.py": {
            "sha256": "x", "functions": {"f": {"line": 1, "calls": [bad_call]}}}}}))
        with pytest.raises(_shapesfile.ShapesFileError, match=r"damaged shapes file \(calls of a.py:f\)"):
            _shapesfile.load(str(p))
    with pytest.raises(_shapesfile.ShapesFileError, match="no shapes file"):
        _shapesfile.load(str(tmp_path / "none.json"))
    r = subprocess.run(SHAPECHECK + ["annotate", "--shapes", str(p)], capture_output=True, text=True)
    assert r.returncode == 2 and "damaged shapes file" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow  # a traced torch program in a subprocess
def test_trace_does_not_touch_sys_path_semantics(project):
    # the script sees its own folder first on sys.path and its own name in argv, as under python
    (project / "where.py").write_text("import sys, os\nprint(os.path.basename(sys.argv[0]), "
                                      "sys.path[0] == os.path.dirname(os.path.abspath(__file__)), __name__)\n")
    r = _trace(project, "python", "where.py")
    assert r.returncode == 0 and r.stdout.strip() == "where.py True __main__", r.stdout + r.stderr
    assert os.path.isfile(project / ".shapecheck" / "shapes.json")


@pytest.mark.slow  # a traced torch program in a subprocess
def test_wrappers_put_the_original_back_after_the_last_recorded_call(project):
    (project / "restore.py").write_text(textwrap.dedent('''
        import torch
        import model
        from model import Net

        net = Net(6, 3)
        wrapped = getattr(Net.forward, "__shapecheck_trace__", False)
        for b in range(2, 10):
            net(torch.ones(b, 6))
        for _ in range(3):
            model.helper([torch.ones(2)], 1)
        print(wrapped, getattr(Net.forward, "__shapecheck_trace__", False),
              getattr(model.helper, "__shapecheck_trace__", False))
    '''))
    r = _trace(project, "python", "restore.py", extra=("--max-calls", "3"))
    assert r.returncode == 0, r.stderr
    # wrapped while recording; the plain method after 3 distinct calls; helper is watched for
    # at most 3 * 20 calls, so after 3 identical calls it is still wrapped
    assert r.stdout.split() == ["True", "False", "True"], r.stdout
    fns, _ = _functions(project / ".shapecheck" / "shapes.json")
    assert len(fns["model.py::Net.forward"]["calls"]) == 3
    assert len(fns["model.py::helper"]["calls"]) == 1
