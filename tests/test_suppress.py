"""Suppression comments: what silences shapecheck, what does not, and unused suppressions."""

from __future__ import annotations

import pytest

from _cli_support import BAD, BAD_LINE, shapecheck, write
from _lanes import fast_sample

from shapecheck._core._diag import Diagnostic
from shapecheck._lint._suppress import apply_suppressions, parse_suppressions

SIG = 'def f(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:'


def _with_comment(comment: str) -> str:
    assert SIG in BAD
    return BAD.replace(SIG, f"{SIG}  {comment}")


def _run(tmp_path, source: str, *args):
    write(tmp_path, {"m.py": source})
    r = shapecheck("check", "--format", "json", *args, cwd=tmp_path)
    assert "Traceback" not in r.err
    return [(d["line"], d["code"], d["message"]) for d in r.json()], r.code


@pytest.mark.parametrize("comment", fast_sample([
    "# noqa: SHP001",
    "# noqa:SHP001",
    "# NOQA: SHP001",
    "# noqa: F722, SHP001",
    "# noqa: F722 SHP001",
    "# shapecheck: ignore[SHP001]",
    "# shapecheck: ignore[annotation-syntax]",
    "# shapecheck: ignore[SHP0]",
    "# shapecheck: ignore",
    "# type: ignore  # noqa: SHP001",
], keep=3))
def test_silences(tmp_path, comment):
    found, code = _run(tmp_path, _with_comment(comment))
    assert found == [] and code == 0, found


@pytest.mark.parametrize("comment", [
    "# noqa",
    "# noqa: F722",
    "# shapecheck: ignore[SHP101]",
    "# shapecheck: ignore[contraction-mismatch]",
])
def test_does_not_silence(tmp_path, comment):
    found, code = _run(tmp_path, _with_comment(comment))
    assert (BAD_LINE, "SHP001") in [(x[0], x[1]) for x in found]
    assert code == 1


def test_hash_in_a_string_is_not_a_comment(tmp_path):
    # a string holding a suppression on the diagnostic's own line silences nothing
    src = BAD.replace(SIG, 'def f(x: Float[Tensor, "b, n"], note="# noqa: SHP001") -> Float[Tensor, "b n"]:')
    found, code = _run(tmp_path, src)
    assert [(x[0], x[1]) for x in found] == [(BAD_LINE, "SHP001")]
    assert code == 1


def test_ignore_file(tmp_path):
    found, code = _run(tmp_path, "# shapecheck: ignore-file\n" + BAD)
    assert found == [] and code == 0
    # a file that is not even Python is skipped too
    found, code = _run(tmp_path, "# shapecheck: ignore-file\nprint 'py2'\n")
    assert found == [] and code == 0


def test_ignore_file_with_codes(tmp_path):
    found, _ = _run(tmp_path, "# shapecheck: ignore-file[SHP0]\n" + BAD)
    assert found == []
    found, _ = _run(tmp_path, "# shapecheck: ignore-file[SHP101]\n" + BAD)
    codes = sorted(x[1] for x in found)
    assert codes == ["SHP001", "SHP003"]
    unused = [x for x in found if x[1] == "SHP003"][0]
    assert unused[0] == 1 and "SHP101" in unused[2] and "in this file" in unused[2]


def test_unused_suppression_reports_only_shapecheck_codes(tmp_path):
    src = BAD.replace("    return x", "    return x  # noqa: F401, SHP101")
    found, code = _run(tmp_path, src)
    unused = [x for x in found if x[1] == "SHP003"]
    assert len(unused) == 1 and "SHP101" in unused[0][2] and "F401" not in unused[0][2]
    assert unused[0][0] == BAD_LINE + 1
    assert code == 1


def test_partly_used_suppression(tmp_path):
    found, _ = _run(tmp_path, _with_comment("# noqa: SHP001, SHP102"))
    assert [(x[0], x[1]) for x in found] == [(BAD_LINE, "SHP003")]
    assert "SHP102" in found[0][2] and "SHP001" not in found[0][2]


def test_unused_suppression_of_a_disabled_code_is_quiet(tmp_path):
    src = BAD.replace("    return x", "    return x  # noqa: SHP101")
    found, _ = _run(tmp_path, src, "--ignore", "SHP101")
    assert [x[1] for x in found] == ["SHP001"]
    found, _ = _run(tmp_path, src, "--ignore", "SHP003")
    assert [x[1] for x in found] == ["SHP001"]


def test_shp003_can_itself_be_silenced(tmp_path):
    src = BAD.replace("    return x", "    return x  # noqa: SHP101, SHP003")
    found, _ = _run(tmp_path, src)
    assert [x[1] for x in found] == ["SHP001"]


# -- the parser and matcher, without the engine --------------------------------------------------

def test_parse_positions_and_kinds():
    s = parse_suppressions('x = 1  # noqa: SHP101,SHP102\ny = "# noqa: SHP103"\n'
                           "z = 2  # shapecheck: ignore[contraction-mismatch, SHP1]\n"
                           "# shapecheck: ignore-file[SHP4]\n")
    assert [(d.kind, d.entries, d.column) for d in s.by_line[1]] == [("noqa", ("SHP101", "SHP102"), 8)]
    assert 2 not in s.by_line
    assert s.by_line[3][0].entries == ("contraction-mismatch", "SHP1")
    assert s.file_level[0].entries == ("SHP4",) and not s.skip_file


def test_parse_survives_broken_source():
    s = parse_suppressions('x = 1  # noqa: SHP101\ndef f(:\n    """unterminated\n')
    assert s.by_line[1][0].entries == ("SHP101",)


def test_apply_keeps_internal_errors():
    s = parse_suppressions("x = 1  # shapecheck: ignore\n")
    d = [Diagnostic("m.py", 1, 1, "SHP900", "Internal error"), Diagnostic("m.py", 1, 5, "SHP110", "sizes")]
    kept = apply_suppressions(d, s, "m.py", lambda c: True)
    assert [x.code for x in kept] == ["SHP900"]


def test_fix_removes_unused_suppressions(tmp_path):
    src = ("x = 1  # noqa: SHP101\n"
           "y = 2  # noqa: F401, SHP101, SHP102\n"
           "z = 3  # type: ignore  # shapecheck: ignore[contraction-mismatch]\n"
           "w = 4  # noqa: SHP101 explained here\n"
           "v = 5  # shapecheck: ignore\n")
    write(tmp_path, {"s.py": src})
    r = shapecheck("check", "--fix", "s.py", cwd=tmp_path)
    assert (tmp_path / "s.py").read_text() == ("x = 1\n"
                                              "y = 2  # noqa: F401\n"
                                              "z = 3  # type: ignore\n"
                                              "w = 4  # noqa: SHP101 explained here\n"
                                              "v = 5\n")
    # the directive followed by prose has no automatic fix: it stays reported
    assert r.code == 1 and "Fixed 5 problems, 1 remaining" in r.out and "s.py:4:8: SHP003" in r.out


def test_fix_keeps_the_used_part_of_a_suppression(tmp_path):
    write(tmp_path, {"m.py": _with_comment("# noqa: SHP001, SHP102")})
    r = shapecheck("check", "--fix", "m.py", cwd=tmp_path)
    assert r.code == 0, r.out
    assert f"{SIG}  # noqa: SHP001\n" in (tmp_path / "m.py").read_text()
