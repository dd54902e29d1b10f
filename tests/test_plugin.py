"""The mypy plugin, end to end: real mypy over tests/mypy_cases with inline expectations.

One mypy run checks every case file (cold cache); the same cache then serves a warm run and a
dmypy run, which must report exactly the same.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mypy")
pytest.importorskip("torch")
pytest.importorskip("jaxtyping")

import _mypy_harness as H

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves these to CI


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mypy_plugin")
    return d


@pytest.fixture(scope="module")
def cold(workdir):
    files = H.case_files()
    cfg = H.write_config(workdir)
    out = H.run_mypy(files, workdir / "cache", cfg)
    return files, cfg, out


def test_cases_report_exactly_what_they_expect(cold):
    files, _, out = cold
    expected = H.expectations(files)
    assert len([e for e in expected if e.kind == "error"]) >= 20
    problems = H.compare(expected, H.parse(out))
    assert not problems, "\n".join(problems) + "\n--- mypy output ---\n" + out


def test_every_code_appears(cold):
    codes = {r[3] for r in H.parse(cold[2]) if r[2] == "error"}
    assert {"shape-mismatch", "shape-rank", "shape-annotation"} <= codes


def test_warm_cache_reports_the_same(cold, workdir):
    files, cfg, out = cold
    warm = H.run_mypy(files, workdir / "cache", cfg)
    assert sorted(H.parse(warm)) == sorted(H.parse(out))


def test_dmypy_reports_the_same(cold, workdir):
    files, cfg, out = cold
    status = workdir / "dmypy.json"
    try:
        first = H.run_mypy(files, workdir / "cache", cfg, dmypy_status=status)
        again = H.run_mypy(files, workdir / "cache", cfg, dmypy_status=status)
    finally:
        subprocess.run([sys.executable, "-m", "mypy.dmypy", "--status-file", str(status), "stop"],
                       capture_output=True, timeout=120, check=False)
    assert sorted(H.parse(first)) == sorted(H.parse(out))
    assert sorted(H.parse(again)) == sorted(H.parse(out))


def test_dmypy_fine_grained_update_matches_mypy(cold, workdir):
    """After edits (an annotation of an imported function, a new `return` mismatch found by the
    post-pass), a dmypy update reports what a fresh mypy run on the edited files reports."""
    _, cfg, _ = cold
    proj = workdir / "fine"
    shutil.copytree(H.CASES / "pkg", proj / "pkg")
    files = sorted(str(p.relative_to(proj)) for p in (proj / "pkg").glob("*.py"))
    status = workdir / "dmypy-fine.json"
    try:
        H.run_mypy(files, workdir / "cache", cfg, cwd=proj, dmypy_status=status)
        layers = proj / "pkg" / "layers.py"
        text = layers.read_text().replace('w: Float[Tensor, "d_in d_out"]', 'w: Float[Tensor, "d_out d_in"]')
        text += (
            "\n\ndef flipped(x: Float[Tensor, \"a b\"]) -> Float[Tensor, \"b a\"]:\n"
            "    return x\n"
        )
        layers.write_text(text)
        updated = H.parse(H.run_mypy(files, workdir / "cache", cfg, cwd=proj, dmypy_status=status))
    finally:
        subprocess.run([sys.executable, "-m", "mypy.dmypy", "--status-file", str(status), "stop"],
                       capture_output=True, timeout=120, check=False)
    fresh = H.parse(H.run_mypy(files, workdir / "cache", cfg, cwd=proj))
    assert any(r[0] == "pkg/use.py" and r[2] == "error" for r in fresh)
    from shapecheck.plugin._compat import has_post_pass

    if has_post_pass():
        assert any(r[0] == "pkg/layers.py" and "return value" in r[4] for r in fresh)
    assert sorted(updated) == sorted(fresh)


def test_changed_annotation_rechecks_dependents(cold, workdir):
    """Editing a callee's annotation in one module changes the errors reported in its caller."""
    _, cfg, _ = cold
    proj = workdir / "proj"
    shutil.copytree(H.CASES / "pkg", proj / "pkg")
    files = ["pkg/layers.py", "pkg/use.py"]
    before = H.parse(H.run_mypy(files, workdir / "cache", cfg, cwd=proj))
    assert not [r for r in before if r[2] == "error" and r[1] == 12]
    layers = proj / "pkg" / "layers.py"
    layers.write_text(layers.read_text().replace('w: Float[Tensor, "d_in d_out"]', 'w: Float[Tensor, "d_out d_in"]'))
    after = H.parse(H.run_mypy(["pkg/use.py"], workdir / "cache", cfg, cwd=proj))
    assert any(r[2] == "error" and r[1] == 12 and "of `project` has" in r[4] for r in after), after
    assert (12, "...") in {(r[1], r[3]) for r in after if r[2] == "reveal"}, after


def test_error_codes_can_be_disabled(cold, workdir):
    files, _, _ = cold
    cfg = H.write_config(workdir / "..", extra="disable_error_code = shape-mismatch, shape-rank")
    out = H.parse(H.run_mypy(files, workdir / "cache", cfg))
    codes = {r[3] for r in out if r[2] == "error"}
    assert "shape-mismatch" not in codes and "shape-rank" not in codes
    assert "shape-annotation" in codes


# -- fixtures/: realistic annotated models written for every face of shapecheck ----------------------

_MARK = re.compile(r"#\s*error:\s*SHP")
_REVEAL = re.compile(r"#\s*reveal:(.*)$")


@pytest.fixture(scope="module")
def on_fixtures(cold, workdir):
    root = H.REPO / "fixtures"
    dirs = [d for d in ("correct", "bugs", "reveal", "packages") if (root / d).is_dir()]
    if not dirs:
        pytest.skip("fixtures/ has no scenarios yet")
    cfg = H.write_config(workdir / "..", extra="check_untyped_defs = True\nignore_missing_imports = True")
    out = H.run_mypy([f"fixtures/{d}" for d in dirs], workdir / "cache", cfg, cwd=H.REPO)
    return root, H.parse(out), out


def _lines(path, pattern):
    return {i for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)}


def test_no_false_alarm_on_correct_models(on_fixtures):
    _, reported, out = on_fixtures
    alarms = [r for r in reported if r[2] == "error" and r[3].startswith("shape-")
              and r[0].startswith(("fixtures/correct/", "fixtures/reveal/"))]
    assert not alarms, out


def test_bugs_are_reported_only_on_marked_lines(on_fixtures):
    root, reported, out = on_fixtures
    marked = {}
    for sub in ("bugs", "packages"):
        for p in (root / sub).rglob("*.py"):
            marked[str(p.relative_to(H.REPO))] = _lines(p, _MARK)
    errors = [r for r in reported if r[2] == "error" and r[3].startswith("shape-") and r[0] in marked]
    stray = [r for r in errors if r[1] not in marked[r[0]]]
    assert not stray, "\n".join(map(str, stray))
    hit = {(r[0], r[1]) for r in errors}
    total = sum(len(v) for v in marked.values())
    print(f"plugin recall on fixtures/bugs: {len(hit)} of {total} marked lines")
    assert len(hit) >= 20, out


def _same_size(a, b) -> bool:
    """Equal sizes: the same canonical form, or the same value for many positive symbol values
    (`(h-1)//2+1` and `(h+1)//2`)."""
    from shapecheck._core._algebra import Expr, const

    if a == b:
        return True
    if not (isinstance(a, Expr) and isinstance(b, Expr)):
        return False
    names = sorted(a.symbols() | b.symbols(), key=lambda s: s.name)
    for trial in range(1, 40):
        mapping = {s: const(1 + (trial * (i + 3) * 7919) % 97) for i, s in enumerate(names)}
        va, vb = a.subst(mapping).value, b.subst(mapping).value
        if va is None or vb is None or va != vb:
            return False
    return True


def test_revealed_shapes_match_the_fixtures(on_fixtures):
    """Every revealed shape is the expected one; unknown axes ("_", "...") are allowed, wrong ones not."""
    from shapecheck._core._shape import UNKNOWN, Variadic, shape_of

    root, reported, _ = on_fixtures
    expected = {}
    for p in (root / "reveal").rglob("*.py"):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            m = _REVEAL.search(line)
            if m and "reveal_shape(" in line:
                expected[(str(p.relative_to(H.REPO)), i)] = [a.strip() for a in m.group(1).split("|")]
    exact = 0
    for r in reported:
        if r[2] != "reveal" or (r[0], r[1]) not in expected or r[3] == "...":
            continue
        got = shape_of(r[3])
        ok = False
        for alt in expected[(r[0], r[1])]:
            want = shape_of(alt)
            if len(want.dims) == len(got.dims) and all(
                    g == UNKNOWN or isinstance(g, Variadic) or _same_size(g, w) for g, w in zip(got.dims, want.dims)):
                ok = True
                exact += all(_same_size(g, w) for g, w in zip(got.dims, want.dims))
        assert ok, f"{r[0]}:{r[1]}: revealed {r[3]!r}, expected {expected[(r[0], r[1])]}"
    print(f"plugin reveals on fixtures/reveal: {exact} exact of {len(expected)}")
    assert exact >= 15


def test_an_internal_failure_is_one_error_not_a_crash(cold, workdir):
    """A hook that raises becomes one `shape-internal` error at its expression; checking goes on."""
    here = H.CASES.parent / "mypy_plugin_internal"
    cfg = workdir / "failing.ini"
    cfg.write_text(H.CONFIG.format(repo=H.REPO, extra="").replace(
        "plugins = shapecheck.plugin", f"plugins = {here / 'failing_plugin.py'}"))
    out = H.parse(H.run_mypy(["explodes.py"], workdir / "cache", cfg, cwd=here))
    internal = [r for r in out if r[3] == "shape-internal"]
    assert [(r[1], r[2]) for r in internal] == [(10, "error")], out
    assert "ZeroDivisionError" in internal[0][4] and "please report" in internal[0][4]
    assert any(r[1] == 11 and r[3] == "shape-mismatch" for r in out), out


# what the plugin says about a shape problem, the linter says in the same words (shapecheck._core._wording);
# lines where the two report different problems (not different words), each with why
_OTHER_PROBLEM = {
    ("fixtures/bugs/attention_annotated.py", 85): "the linter reports the broadcast upstream (SHP102), not the return",
}


def test_linter_and_plugin_word_a_mismatch_the_same(on_fixtures):
    from shapecheck._lint import check_source

    root, reported, out = on_fixtures
    linted = {}
    for p in (root / "bugs").rglob("*.py"):
        rel = str(p.relative_to(H.REPO))
        for d in check_source(p.read_text(), rel):
            linted.setdefault((rel, d.line), []).append(d.message)
    compared, different, seen = 0, [], set()
    for path, line, kind, code, message in reported:
        if kind != "error" or code not in ("shape-mismatch", "shape-rank") or not path.startswith("fixtures/bugs/"):
            continue
        if (path, line) in _OTHER_PROBLEM or (path, line) in seen:
            continue  # the linter reports one problem per call; the first of the plugin's is that one
        seen.add((path, line))
        compared += 1
        if message not in linted.get((path, line), []):
            different.append(f"{path}:{line}: plugin {message!r}, linter {linted.get((path, line))!r}")
    assert compared >= 20
    assert not different, "\n".join(different)
