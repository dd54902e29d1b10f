"""The fix applier: edits by (line, column), several fixes per file, overlaps, line endings."""

from __future__ import annotations

import os

from shapecheck._core._diag import Diagnostic, Edit, Fix
from shapecheck._lint._fixes import apply_fixes, write_atomic


def _d(line, col, edits, safe=True, code="SHP002"):
    return Diagnostic("m.py", line, col, code, "msg", fix=Fix("fix it", tuple(edits), safe))


def test_edits_by_line_and_column_keep_crlf():
    text = 'a = "batch"\r\nb = "seq"\r\n'
    diags = [_d(1, 5, [Edit(1, 5, 1, 6, '" ')]), _d(2, 5, [Edit(2, 5, 2, 6, '" ')])]
    new, n = apply_fixes(text, diags)
    assert new == 'a = " batch"\r\nb = " seq"\r\n' and n == 2


def test_columns_are_characters_not_bytes():
    text = 'é = "batch"\n'
    new, n = apply_fixes(text, [_d(1, 5, [Edit(1, 5, 1, 6, '" ')])])
    assert new == 'é = " batch"\n' and n == 1


def test_unsafe_fixes_need_the_flag():
    text = "x = 1\n"
    d = _d(1, 1, [Edit(1, 1, 1, 2, "y")], safe=False)
    assert apply_fixes(text, [d]) == (text, 0)
    assert apply_fixes(text, [d], unsafe=True) == ("y = 1\n", 1)


def test_overlapping_fixes_wait_for_the_next_round():
    text = "abcdef\n"
    a = _d(1, 1, [Edit(1, 1, 1, 4, "X")])
    b = _d(1, 3, [Edit(1, 3, 1, 6, "Y")])
    new, n = apply_fixes(text, [a, b])
    assert (new, n) == ("Xdef\n", 1)


def test_out_of_range_edits_are_dropped():
    text = "x = 1\n"
    assert apply_fixes(text, [_d(1, 1, [Edit(3, 1, 3, 9, "y")])]) == (text, 0)
    assert apply_fixes(text, [_d(1, 9, [Edit(1, 9, 1, 10, "y")])]) == (text, 0)


def test_write_atomic_replaces_and_keeps_mode(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("old\n")
    os.chmod(p, 0o640)
    write_atomic(str(p), b"new\n")
    assert p.read_bytes() == b"new\n"
    assert os.stat(p).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["m.py"]


def test_write_atomic_refuses_a_read_only_file_and_leaves_no_temporary(tmp_path):
    import errno

    import pytest

    p = tmp_path / "m.py"
    p.write_text("old\n")
    os.chmod(p, 0o444)
    try:
        with pytest.raises(PermissionError) as e:
            write_atomic(str(p), b"new\n")
        assert e.value.errno == errno.EACCES and "read-only" in str(e.value)
        assert p.read_bytes() == b"old\n"
        assert sorted(os.listdir(tmp_path)) == ["m.py"]
    finally:
        os.chmod(p, 0o644)
    write_atomic(str(tmp_path / "new.py"), b"x = 1\n")  # a new file is not read-only
    assert (tmp_path / "new.py").read_bytes() == b"x = 1\n"


def test_fix_on_a_read_only_file_is_an_error_for_that_file(tmp_path):
    from _cli_support import shapecheck, write

    unused = "x = 1  # noqa: SHP101\n"
    write(tmp_path, {"ro.py": unused, "rw.py": unused})
    os.chmod(tmp_path / "ro.py", 0o444)
    try:
        r = shapecheck("check", "--fix", cwd=tmp_path)
        assert "ro.py: could not write the fixes: the file is read-only" in r.err
        assert (tmp_path / "ro.py").read_text() == unused
        assert (tmp_path / "rw.py").read_text() == "x = 1\n"
        # the read-only file still holds its finding, and the run says it failed
        assert "ro.py:1:8: SHP003" in r.out and "rw.py" not in r.out
        assert r.code == 2 and "Fixed 1 problem, 1 remaining" in r.out
        assert "the fixes to 1 file could not be written" in r.err
    finally:
        os.chmod(tmp_path / "ro.py", 0o644)


def test_add_noqa_text_transform():
    from shapecheck._lint._noqa import add_noqa

    src = ('x = f(a)  # type: ignore\n'
           'y = g(b)  # noqa: F722\n'
           'z = h(c)  # noqa\n'
           's = """abc\n'
           'def"""\n'
           't = a + \\\n'
           '   b\n'
           'u = call(\n'
           '    q,  # hi\n'
           '    r)\n'
           'w = 1  # noqa: SHP101\n')
    wanted = {1: {"SHP101"}, 2: {"SHP105", "SHP101"}, 3: {"SHP001"}, 4: {"SHP002"}, 6: {"SHP001"},
              8: {"SHP104"}, 9: {"SHP101"}, 11: {"SHP101", "SHP003"}, 40: {"SHP101"}}
    new, added, skipped = add_noqa(src, wanted)
    assert new.splitlines() == [
        'x = f(a)  # type: ignore  # noqa: SHP101',
        'y = g(b)  # noqa: F722, SHP101, SHP105',
        'z = h(c)  # noqa  # noqa: SHP001',
        's = """abc',
        'def"""',
        't = a + \\',
        '   b',
        'u = call(  # noqa: SHP104',
        '    q,  # hi  # noqa: SHP101',
        '    r)',
        'w = 1  # noqa: SHP101, SHP003',
    ]
    assert added == {1: ("SHP101",), 2: ("SHP101", "SHP105"), 3: ("SHP001",), 8: ("SHP104",),
                     9: ("SHP101",), 11: ("SHP003", "SHP101")}
    assert skipped == {4: "it ends inside a multi-line string", 6: "it continues with a backslash",
                       40: "the line is past the end of the file"}
    # nothing to do: the text comes back as it was
    assert add_noqa("w = 1  # noqa: SHP101\n", {1: {"SHP101"}}) == ("w = 1  # noqa: SHP101\n", {}, {})
