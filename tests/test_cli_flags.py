"""The command-line conventions of ruff: -V, --show-fixes, --add-noqa, the exclude and ignore options,
--cache-dir, `rule`, missing paths, progress on a terminal and the summary line.

Everything runs the real command (a subprocess, or ``main()`` where the operating system must be
made to fail).
"""

from __future__ import annotations

import errno
import json
import os
import pty
import subprocess
import sys
from unittest import mock

import pytest

from _cli_support import BAD, BAD_LINE, CLEAN, REPO, codes, shapecheck, write

# A product that contracts two distinct axes: SHP101 on the `return` line (9), and on the
# first line of a statement that spans two lines (13)
MATMUL = '''\
from jaxtyping import Float
from torch import Tensor


def h(a: Float[Tensor, "b n d"], b: Float[Tensor, "b m e"]) -> Float[Tensor, "b n e"]:
    return a @ b


def k(a: Float[Tensor, "b n d"], b: Float[Tensor, "b m e"]) -> Float[Tensor, "b n e"]:
    return (a @
            b)
'''

# An unused suppression: SHP003, whose fix removes it
UNUSED = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x  # noqa: SHP101
'''


def _read(root, name) -> str:
    with open(os.path.join(str(root), name), newline="") as fh:
        return fh.read()


# -- -V ---------------------------------------------------------------------------------------------

def test_short_version_flag(tmp_path):
    short, long = shapecheck("-V", cwd=tmp_path), shapecheck("--version", cwd=tmp_path)
    assert short.code == long.code == 0
    assert short.out == long.out and short.out.startswith("shapecheck ")


# -- a path that does not exist ---------------------------------------------------------------------

def test_missing_path_is_reported_and_the_others_are_still_checked(tmp_path):
    write(tmp_path, {"good/m.py": BAD, "other.py": BAD})
    r = shapecheck("check", "good", "nothere.py", "other.py", "--format", "json", cwd=tmp_path)
    assert r.code == 2, r.err
    assert codes(r) == [(os.path.join("good", "m.py"), BAD_LINE, "SHP001"), ("nothere.py", 1, "SHP902"),
                        ("other.py", BAD_LINE, "SHP001")]
    assert [d["severity"] for d in r.json() if d["code"] == "SHP902"] == ["error"]
    assert "nothere.py: no such file or directory" in r.err  # json on stdout: stderr says why it is 2
    assert "Traceback" not in r.err


def test_missing_path_exit_two_even_when_the_rest_is_clean_or_exit_zero(tmp_path):
    write(tmp_path, {"ok.py": CLEAN})
    r = shapecheck("check", "ok.py", "typo/", cwd=tmp_path)
    assert r.code == 2
    assert "typo/:1:1: SHP902 [path-not-found] No such file or directory" in r.out
    assert "(1 file checked)" in r.out
    assert shapecheck("check", "--exit-zero", "ok.py", "typo/", cwd=tmp_path).code == 2
    # selection cannot hide it: the command line itself is wrong
    assert shapecheck("check", "--ignore", "SHP9", "ok.py", "typo/", cwd=tmp_path).code == 2
    assert shapecheck("check", "ok.py", cwd=tmp_path).code == 0


def test_missing_path_with_diff_and_add_noqa(tmp_path):
    write(tmp_path, {"m.py": UNUSED})
    r = shapecheck("check", "--diff", "m.py", "gone.py", cwd=tmp_path)
    assert r.code == 2 and "+++ b/m.py" in r.out and "gone.py: no such file" in r.err
    r = shapecheck("check", "--add-noqa", "m.py", "gone.py", cwd=tmp_path)
    assert r.code == 2 and "gone.py: no such file" in r.err
    assert "# noqa: SHP101, SHP003" in _read(tmp_path, "m.py")  # the existing path was still handled


# -- the summary line -------------------------------------------------------------------------------

REVEAL = '''\
from jaxtyping import Float
from torch import Tensor
from shapecheck import reveal_shape


def f(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    reveal_shape(x)
    return x
'''


def test_summary_counts_files_checked_and_reveal_notes_apart(tmp_path):
    write(tmp_path, {"a.py": BAD, "b.py": BAD, "c.py": CLEAN, "r.py": REVEAL})
    r = shapecheck("check", "--output-format", "concise", cwd=tmp_path)
    assert r.code == 1
    assert r.out.splitlines()[-1] == "Found 2 problems (2 errors) in 2 files (4 files checked); 1 reveal note"
    r = shapecheck("check", "--output-format", "concise", "c.py", "r.py", cwd=tmp_path)
    assert r.code == 0
    assert r.out.splitlines()[-1] == "All checks passed (2 files checked); 1 reveal note"
    r = shapecheck("check", "c.py", cwd=tmp_path)
    assert r.out.splitlines()[-1] == "All checks passed (1 file checked)"


# -- --show-fixes -----------------------------------------------------------------------------------

def test_show_fixes_lists_available_then_applied_fixes(tmp_path):
    write(tmp_path, {"m.py": UNUSED, "n.py": UNUSED, "bad.py": BAD})
    r = shapecheck("check", "--show-fixes", "--output-format", "concise", cwd=tmp_path)
    assert r.code == 1
    assert "2 fixes available with `shapecheck check --fix`:\n- m.py:\n    1 × SHP003 (unused-suppression)\n" \
           "- n.py:\n    1 × SHP003 (unused-suppression)\n" in r.out
    before = _read(tmp_path, "m.py")
    assert _read(tmp_path, "m.py") == before  # --show-fixes alone writes nothing

    r = shapecheck("check", "--fix", "--show-fixes", "--output-format", "concise", cwd=tmp_path)
    assert r.code == 1  # bad.py remains
    assert "Fixed 2 problems:\n- m.py:\n    1 × SHP003 (unused-suppression)\n- n.py:\n" in r.out
    assert "available" not in r.out
    assert "# noqa" not in _read(tmp_path, "m.py")

    r = shapecheck("check", "--show-fixes", "m.py", cwd=tmp_path)
    assert r.code == 0 and "No fixes applied or available" in r.out
    # machine formats keep stdout for the data: the listing goes to stderr
    r = shapecheck("check", "--show-fixes", "--format", "json", "bad.py", cwd=tmp_path)
    assert json.loads(r.out) and "No fixes applied or available" in r.err


def test_without_show_fixes_there_is_no_listing(tmp_path):
    write(tmp_path, {"m.py": UNUSED})
    r = shapecheck("check", "--fix", cwd=tmp_path)
    assert r.code == 0 and "Fixed 1 problem" in r.out and "×" not in r.out


# -- --add-noqa -------------------------------------------------------------------------------------

COMMENTED = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:  # type: ignore[valid-type]
    return x


def g(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:  # noqa: F722 (jaxtyping)
    return x


def h(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:  # noqa: SHP101
    return x


def k(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:  # noqa
    return x
'''


def test_add_noqa_keeps_existing_comments_and_a_rerun_reports_nothing(tmp_path):
    write(tmp_path, {"c.py": COMMENTED, "mm.py": MATMUL, "clean.py": CLEAN})
    before = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert before.code == 1 and len(before.json()) == 7
    r = shapecheck("check", "--add-noqa", cwd=tmp_path)
    assert r.code == 0, (r.out, r.err)
    assert "Added noqa codes to 6 lines in 2 files" in r.err
    lines = _read(tmp_path, "c.py").splitlines()
    # another tool's comment is kept and followed by the new one
    assert lines[4].endswith('"b n"]:  # type: ignore[valid-type]  # noqa: SHP001')
    # a noqa list of other codes gets ours merged in, and the prose after it stays
    assert lines[8].endswith("# noqa: F722, SHP001 (jaxtyping)")
    # a noqa of ours that silenced nothing (SHP003 on that line) gets both codes
    assert lines[12].endswith("# noqa: SHP101, SHP001, SHP003")
    # a bare noqa belongs to flake8/ruff: it stays bare and ours follows it
    assert lines[16].endswith('"b n"]:  # noqa  # noqa: SHP001')
    mm = _read(tmp_path, "mm.py").splitlines()
    assert mm[5] == "    return a @ b  # noqa: SHP101"
    # inside a statement that spans lines the comment goes on the line the finding is reported on
    assert mm[9:11] == ["    return (a @  # noqa: SHP101", "            b)"]
    assert _read(tmp_path, "clean.py") == CLEAN
    again = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert again.code == 0 and again.json() == []
    # a second --add-noqa has nothing to add and changes nothing
    snapshot = _read(tmp_path, "c.py")
    r = shapecheck("check", "--add-noqa", cwd=tmp_path)
    assert r.code == 0 and "Added noqa codes to 0 lines in 0 files" in r.err
    assert _read(tmp_path, "c.py") == snapshot


def test_add_noqa_skips_lines_that_cannot_take_a_comment(tmp_path):
    src = (
        "from jaxtyping import Float\n"
        "from torch import Tensor\n"
        "\n"
        "\n"
        'def f(x: Float[Tensor, "b, n"], doc: str = """first\n'
        'second""") -> Float[Tensor, "b n"]:\n'
        "    return x\n"
        "\n"
        "\n"
        'def g(x: Float[Tensor, "b, n"]) \\\n'
        '        -> Float[Tensor, "b n"]:\n'
        "    return x\n"
        "\n"
        "\n"
        'def h(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:\n'
        "    return x\n"
    )
    write(tmp_path, {"s.py": src})
    r = shapecheck("check", "--add-noqa", cwd=tmp_path)
    assert r.code == 1, (r.out, r.err)  # two findings are left without a comment
    assert "s.py:5: could not add `# noqa: SHP001`: it ends inside a multi-line string" in r.err
    assert "s.py:10: could not add `# noqa: SHP001`: it continues with a backslash" in r.err
    new = _read(tmp_path, "s.py")
    assert new == src.replace('"b n"]:\n    return x\n', '"b n"]:  # noqa: SHP001\n    return x\n', 3).replace(
        'second""") -> Float[Tensor, "b n"]:  # noqa: SHP001', 'second""") -> Float[Tensor, "b n"]:').replace(
        '        -> Float[Tensor, "b n"]:  # noqa: SHP001', '        -> Float[Tensor, "b n"]:')
    compile(new, "s.py", "exec")
    left = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert [(d["line"], d["code"]) for d in left.json()] == [(5, "SHP001"), (10, "SHP001")]


def test_add_noqa_keeps_crlf_and_bom(tmp_path):
    data = b"\xef\xbb\xbf" + BAD.replace("\n", "\r\n").encode()
    write(tmp_path, {"w.py": data})
    assert shapecheck("check", "--add-noqa", cwd=tmp_path).code == 0
    new = (tmp_path / "w.py").read_bytes()
    assert new.startswith(b"\xef\xbb\xbf") and b"\n" not in new.replace(b"\r\n", b"")
    assert b'"b n"]:  # noqa: SHP001\r\n' in new
    assert shapecheck("check", cwd=tmp_path).code == 0


def test_add_noqa_on_a_read_only_file_reports_it_and_goes_on(tmp_path):
    # a file without write bits is left alone even by root, who could rename over it
    write(tmp_path, {"ro.py": BAD, "rw.py": BAD})
    os.chmod(tmp_path / "ro.py", 0o444)
    try:
        r = shapecheck("check", "--add-noqa", cwd=tmp_path)
        assert r.code == 2, (r.out, r.err)
        assert "shapecheck: error: ro.py: cannot write the noqa comments: the file is read-only" in r.err
        assert "Traceback" not in r.err
        assert _read(tmp_path, "ro.py") == BAD
        assert "# noqa: SHP001" in _read(tmp_path, "rw.py")
        assert sorted(os.listdir(tmp_path)) == [".shapecheck_cache", "ro.py", "rw.py"]  # no temporary left
    finally:
        os.chmod(tmp_path / "ro.py", 0o644)


def test_add_noqa_when_the_rename_fails(tmp_path, monkeypatch, capsys):
    # A directory nobody may write to cannot be made for root (who runs these tests in some
    # places), so the operating system's refusal is simulated: os.replace, the last step of the
    # atomic write, fails for one file. The file must stay as it was, its temporary file must be
    # gone, and the other file must still be written.
    from shapecheck._lint._cli import main

    write(tmp_path, {"a.py": BAD, "b.py": BAD})
    monkeypatch.chdir(tmp_path)
    real = os.replace

    def refuse(src, dst, *a, **k):
        if os.path.basename(str(dst)) == "a.py":
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real(src, dst, *a, **k)

    with mock.patch("shapecheck._lint._fixes.os.replace", side_effect=refuse):
        status = main(["check", "--add-noqa", "--no-cache", "-j", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert "a.py: cannot write the noqa comments: Permission denied" in err
    assert _read(tmp_path, "a.py") == BAD and "# noqa: SHP001" in _read(tmp_path, "b.py")
    assert sorted(os.listdir(tmp_path)) == ["a.py", "b.py"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into any directory")
def test_add_noqa_in_a_directory_without_write_permission(tmp_path):
    write(tmp_path, {"locked/a.py": BAD, "b.py": BAD})
    os.chmod(tmp_path / "locked", 0o555)
    try:
        r = shapecheck("check", "--add-noqa", "--no-cache", cwd=tmp_path)
        assert r.code == 2 and "locked/a.py: cannot write the noqa comments" in r.err
        assert _read(tmp_path, "locked/a.py") == BAD and "# noqa" in _read(tmp_path, "b.py")
    finally:
        os.chmod(tmp_path / "locked", 0o755)


def test_add_noqa_usage_errors(tmp_path):
    write(tmp_path, {"m.py": BAD})
    for extra in (["--fix"], ["--diff"]):
        r = shapecheck("check", "--add-noqa", *extra, cwd=tmp_path)
        assert r.code == 2 and "--add-noqa cannot be combined" in r.err
    r = shapecheck("check", "--add-noqa", "-", cwd=tmp_path, stdin=BAD)
    assert r.code == 2 and "cannot read stdin" in r.err
    assert _read(tmp_path, "m.py") == BAD


def test_add_noqa_leaves_skipped_files_alone(tmp_path):
    write(tmp_path, {"broken.py": "def f(:\n    pass\n", "m.py": BAD})
    r = shapecheck("check", "--add-noqa", cwd=tmp_path)
    assert r.code == 1  # the syntax error is still there for the next run to report
    assert _read(tmp_path, "broken.py") == "def f(:\n    pass\n"
    assert "# noqa: SHP001" in _read(tmp_path, "m.py")


# -- exclude and ignore options on the command line -------------------------------------------------

def _paths(run):
    return sorted({p for p, _, _ in codes(run)})


def test_exclude_and_extend_exclude_on_the_command_line(tmp_path):
    write(tmp_path, {"a/m.py": BAD, "b/m.py": BAD, "build/m.py": BAD})
    a, b, build = (os.path.join(d, "m.py") for d in ("a", "b", "build"))
    assert _paths(shapecheck("check", "--format", "json", cwd=tmp_path)) == [a, b]
    # --extend-exclude adds to the default list
    assert _paths(shapecheck("check", "--format", "json", "--extend-exclude", "b", cwd=tmp_path)) == [a]
    # --exclude replaces it: build/ is checked again
    assert _paths(shapecheck("check", "--format", "json", "--exclude", "a", cwd=tmp_path)) == [b, build]
    assert _paths(shapecheck("check", "--format", "json", "--exclude", "a,b", cwd=tmp_path)) == [build]
    # with a config: --extend-exclude extends the config's list, --exclude replaces the config's
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nexclude = ["a"]\nextend-exclude = ["build"]\n'})
    assert _paths(shapecheck("check", "--format", "json", cwd=tmp_path)) == [b]
    assert _paths(shapecheck("check", "--format", "json", "--extend-exclude", "b", cwd=tmp_path)) == []
    assert _paths(shapecheck("check", "--format", "json", "--exclude", "b", cwd=tmp_path)) == [a]


def test_extend_ignore_on_the_command_line(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nignore = ["SHP101"]\n', "bad.py": BAD, "mm.py": MATMUL})
    assert _paths(shapecheck("check", "--format", "json", cwd=tmp_path)) == ["bad.py"]
    r = shapecheck("check", "--format", "json", "--extend-ignore", "annotation-syntax", cwd=tmp_path)
    assert r.code == 0 and r.json() == []
    r = shapecheck("check", "--extend-ignore", "SHP1O1", cwd=tmp_path)
    assert r.code == 2 and "--extend-ignore" in r.err and "did you mean" in r.err


def test_per_file_ignores_on_the_command_line(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck.per-file-ignores]\n"a.py" = ["SHP001"]\n',
                     "a.py": BAD, "tests/t.py": BAD, "mm.py": MATMUL})
    t = os.path.join("tests", "t.py")
    assert _paths(shapecheck("check", "--format", "json", cwd=tmp_path)) == ["mm.py", t]
    # --per-file-ignores replaces the config's table
    r = shapecheck("check", "--format", "json", "--per-file-ignores", "tests/**:SHP001", cwd=tmp_path)
    assert _paths(r) == ["a.py", "mm.py"]
    # --extend-per-file-ignores adds to it; a code list may follow its pattern after commas
    r = shapecheck("check", "--format", "json", "--extend-per-file-ignores", "tests/**:SHP001,mm.py:SHP1",
                   cwd=tmp_path)
    assert r.code == 0 and r.json() == []
    r = shapecheck("check", "--format", "json", "--per-file-ignores", "*.py:SHP101,SHP001", cwd=tmp_path)
    assert r.code == 0 and r.json() == []


@pytest.mark.parametrize("value, message", [
    ("SHP001", "is not PATTERN:CODES"),
    (":SHP001", "has no file pattern"),
    ("tests/**:", "no codes after the `:`"),
    ("tests/**:SHP9999x", "not a shapecheck code"),
])
def test_bad_per_file_ignores_is_a_usage_error(tmp_path, value, message):
    write(tmp_path, {"m.py": BAD})
    r = shapecheck("check", "--per-file-ignores", value, cwd=tmp_path)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err, r.err


# -- --cache-dir ------------------------------------------------------------------------------------

def test_cache_dir(tmp_path):
    write(tmp_path, {"a.py": BAD})
    first = shapecheck("check", "--format", "json", "--cache-dir", "elsewhere/c", cwd=tmp_path)
    assert first.code == 1
    assert not (tmp_path / ".shapecheck_cache").exists()
    results = [p for p in os.listdir(tmp_path / "elsewhere" / "c") if p.startswith("results-")]
    assert len(results) == 1
    entry = json.loads((tmp_path / "elsewhere" / "c" / results[0]).read_text())["files"]
    assert [os.path.basename(p) for p in entry] == ["a.py"]
    second = shapecheck("check", "--format", "json", "--cache-dir", "elsewhere/c", cwd=tmp_path)
    assert second.json() == first.json()
    r = shapecheck("check", cwd=tmp_path, env={"SHAPECHECK_CACHE_DIR": str(tmp_path / "from_env")})
    assert r.code == 1 and (tmp_path / "from_env" / "CACHEDIR.TAG").exists()
    # a cache directory that cannot be made is no reason to fail the run
    write(tmp_path, {"plainfile": "x"})
    r = shapecheck("check", "--cache-dir", "plainfile/c", cwd=tmp_path)
    assert r.code == 1 and "Traceback" not in r.err


# -- rule -------------------------------------------------------------------------------------------

def test_rule_is_explain(tmp_path):
    for key in ("SHP101", "contraction-mismatch", "SHP902"):
        rule, explain = shapecheck("rule", key, cwd=tmp_path), shapecheck("explain", key, cwd=tmp_path)
        assert rule.code == explain.code == 0 and rule.out == explain.out and rule.out
    assert shapecheck("rule", "SHP9999", cwd=tmp_path).code == 2
    r = shapecheck("rule", cwd=tmp_path)
    assert r.code == 2 and "a code or rule name, or --all" in r.err


def test_rule_all_explains_every_code(tmp_path):
    r = shapecheck("rule", "--all", cwd=tmp_path)
    assert r.code == 0
    listed = [d["code"] for d in shapecheck("rules", "--format", "json", cwd=tmp_path).json()]
    assert len(listed) > 10
    pages = r.out.split("\n" + "-" * 72 + "\n")
    assert [p.strip().split()[0] for p in pages] == listed


# -- progress on a terminal -------------------------------------------------------------------------

def _stderr_on_a_terminal(args, cwd, **extra_env) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("CI", None)
    env.update(extra_env)
    p = subprocess.Popen([sys.executable, "-m", "shapecheck", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_progress_on_a_terminal_for_long_runs_only(tmp_path):
    write(tmp_path, {f"pkg/m{i:02d}.py": CLEAN for i in range(60)})
    write(tmp_path, {"small/a.py": CLEAN})
    code, err = _stderr_on_a_terminal(["check", "--no-cache", "-j", "1", "pkg"], tmp_path)
    assert code == 0
    assert "checked 1 of 60 files" in err and "checked 60 of 60 files" in err
    assert err.endswith("\r")  # the line is erased before the report
    # not a terminal: nothing on stderr
    r = shapecheck("check", "--no-cache", "-j", "1", "pkg", cwd=tmp_path)
    assert r.code == 0 and r.err == ""
    # a tiny run, or a quiet one, on a terminal: no progress either
    code, err = _stderr_on_a_terminal(["check", "--no-cache", "small"], tmp_path)
    assert code == 0 and "checked" not in err
    code, err = _stderr_on_a_terminal(["check", "-q", "--no-cache", "-j", "1", "pkg"], tmp_path)
    assert code == 0 and "checked" not in err


def test_no_progress_in_ci_or_for_machine_readable_output(tmp_path):
    write(tmp_path, {f"pkg/m{i:02d}.py": CLEAN for i in range(60)})
    code, err = _stderr_on_a_terminal(["check", "--no-cache", "-j", "1", "pkg"], tmp_path, CI="true")
    assert code == 0 and "checked" not in err
    code, err = _stderr_on_a_terminal(["check", "--no-cache", "-j", "1", "pkg"], tmp_path, CI="false")
    assert code == 0 and "checked 60 of 60 files" in err
    for fmt in ("json", "sarif", "github"):
        code, err = _stderr_on_a_terminal(["check", "--no-cache", "-j", "1", "--output-format", fmt, "pkg"],
                                          tmp_path)
        assert code == 0 and "checked" not in err, fmt


def test_progress_counts_cached_and_parallel_files(tmp_path):
    write(tmp_path, {f"pkg/m{i:02d}.py": CLEAN for i in range(60)})
    assert shapecheck("check", "pkg/m00.py", "pkg/m01.py", cwd=tmp_path).code == 0  # two cached
    code, err = _stderr_on_a_terminal(["check", "-j", "2", "pkg"], tmp_path)
    assert code == 0 and "checked 60 of 60 files" in err
