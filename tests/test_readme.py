"""The README says what is true: CI runs its test command, its Python examples run as shown, the
bundled examples exit as it says; and the test command cannot pass by running nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def _blocks(lang: str | None = None) -> list:
    """(language, body) of every fenced block of the README, in order."""
    found = [(m.group(1), m.group(2)) for m in _FENCE.finditer(README.read_text(encoding="utf-8"))]
    return [b for b in found if lang is None or b[0] == lang]


def _readme_test_command() -> str:
    [command] = [body.strip() for lang, body in _blocks("bash") if "pytest" in body]
    assert "\n" not in command, "the README's test command is one line"
    return command


def test_ci_runs_exactly_the_readme_test_command_in_a_fresh_virtualenv():
    command = _readme_test_command()
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert lines.count(command) == 1, f".ci/run does not run the README's line:\n{command}"
    created = [i for i, line in enumerate(lines) if re.search(r"\s-m venv\s", line)]
    activated = [i for i, line in enumerate(lines) if re.match(r"(source|\.) .*/bin/activate\"?$", line)]
    assert created and activated and created[0] < activated[0] < lines.index(command)
    assert not [line for line in lines if "system-site-packages" in line]


def _python_blocks() -> list:
    blocks = _blocks()
    out = []
    for i, (lang, body) in enumerate(blocks):
        if lang == "python":
            after = next((b for lg, b in blocks[i + 1:] if lg == ""), None)
            out.append(pytest.param(body, after, id=f"python-block-{len(out) + 1}"))
    assert out, "the README has Python examples"
    return out


@pytest.mark.slow  # runs Python or pytest in a subprocess
@pytest.mark.parametrize("code, next_plain_block", _python_blocks())
def test_readme_python_example_runs_as_shown(code, next_plain_block, tmp_path):
    """Every Python block runs as written. One whose last line says `# raises NAME` stops there with
    that exception, and its message is the plain block that follows it in the README."""
    pytest.importorskip("torch")
    pytest.importorskip("jaxtyping")
    pytest.importorskip("beartype")
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    last = [line for line in code.splitlines() if line.strip()][-1]
    raises = re.search(r"#\s*raises\s+([\w.]+)", last)
    if raises is None:
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 1, proc.stdout + proc.stderr
    name = raises.group(1).rsplit(".", 1)[-1]
    assert next_plain_block is not None, "the README shows the message the example raises"
    message = next_plain_block.strip()
    tail = proc.stderr.strip().splitlines()
    shown = "\n".join(tail[-len(message.splitlines()):])
    assert re.match(rf"(\w+\.)*{name}: ", shown), proc.stderr
    assert re.sub(rf"^(\w+\.)*{name}: ", "", shown) == message, proc.stderr


@pytest.mark.slow  # runs Python or pytest in a subprocess
def test_bundled_examples_exit_as_the_readme_says(tmp_path):
    text = README.read_text(encoding="utf-8")
    assert "python -m pip install . && shapecheck check fixtures/" in text
    assert "It exits 1: `fixtures/bugs/` holds the seeded bugs" in text
    assert "`fixtures/correct/`\nalone exits 0" in text
    run = [sys.executable, "-m", "shapecheck", "check", "--no-cache", "-q"]
    everything = subprocess.run([*run, "fixtures/"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert everything.returncode == 1, everything.stderr
    assert re.search(r"^fixtures/bugs/\S+:\d+:\d+: SHP\d{3} ", everything.stdout, re.M), everything.stdout
    assert not re.search(r"^fixtures/correct/", everything.stdout, re.M), everything.stdout
    correct = subprocess.run([*run, "fixtures/correct/"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert correct.returncode == 0, correct.stdout + correct.stderr


# -- the test command cannot pass on nothing --------------------------------------------------------

def _pytest_with_the_guard(where: Path, tests: str, *args: str) -> subprocess.CompletedProcess:
    shutil.copy(ROOT / "tests" / "conftest.py", where / "conftest.py")
    (where / "test_sample.py").write_text(tests, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], capture_output=True,
                          text=True, cwd=where, timeout=300)


@pytest.mark.parametrize("tests, args", [
    pytest.param("def test_one():\n    pass\n", ["-k", "no_such_test"], id="all-deselected"),
    pytest.param("import pytest\n\n\n@pytest.mark.skip\ndef test_one():\n    pass\n", [], id="all-skipped"),
    pytest.param("import pytest\n\n\n@pytest.mark.skip\ndef test_one():\n    pass\n", ["-n", "2"], id="all-skipped-xdist"),
    pytest.param("", [], id="none-collected"),
])
@pytest.mark.slow  # runs Python or pytest in a subprocess
def test_a_run_of_no_test_fails(tests, args, tmp_path):
    if "-n" in args:
        pytest.importorskip("xdist")
    proc = _pytest_with_the_guard(tmp_path, tests, *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no test ran" in proc.stdout, proc.stdout


@pytest.mark.slow  # runs Python or pytest in a subprocess
def test_a_run_of_some_tests_passes(tmp_path):
    proc = _pytest_with_the_guard(tmp_path, "import pytest\n\n\ndef test_one():\n    pass\n\n\n"
                                            "@pytest.mark.skip\ndef test_two():\n    pass\n", "-n", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout
