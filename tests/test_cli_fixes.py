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
