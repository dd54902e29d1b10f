"""The mypy plugin, end to end: real mypy (and dmypy) with the plugin, against the linter.

The plugin runs the linter's engine on every module mypy checks, so the parity test is the heart
of this file: over every fixture, mypy with the plugin reports exactly the linter's findings (line,
column, code through the plugin's code table, message). The rest checks mypy's side of the
delivery: suppressions, the cache (a warm run reports what a cold one reports), dmypy (an edit of
one module re-checks the modules whose findings depend on it), and failures (never a crash).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("mypy")
pytest.importorskip("torch")
pytest.importorskip("jaxtyping")

import _mypy_harness as H

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves these to CI

FIXTURE_DIRS = ("fixtures/correct", "fixtures/reveal", "fixtures/bugs", "fixtures/rules", "fixtures/packages/attnpkg")


def _files(dirs) -> list:
    return sorted(str(p.relative_to(H.REPO)) for d in dirs for p in (H.REPO / d).rglob("*.py"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("mypy_plugin")


@pytest.fixture(scope="module")
def on_fixtures(workdir):
    files = _files(FIXTURE_DIRS)
    cfg = H.write_config(workdir / "fixtures")
    out = H.run_mypy(files, workdir / "cache", cfg, cwd=H.REPO)
    return files, cfg, out


def test_plugin_reports_what_the_linter_reports_on_every_fixture(on_fixtures):
    files, _, out = on_fixtures
    plugin = H.plugin_findings(out)
    linter = H.linter_findings(files)
    assert len([f for f in linter if f.code.startswith("SHP")]) >= 60  # the fixtures are not empty
    assert {f.path for f in linter} >= {"fixtures/packages/attnpkg/model.py", "fixtures/rules/attention_rules.py"}
    only_linter = sorted(linter - plugin, key=lambda f: (f.path, f.line))
    only_plugin = sorted(plugin - linter, key=lambda f: (f.path, f.line))
    assert not only_linter and not only_plugin, (
        "linter only:\n" + "\n".join(map(str, only_linter)) + "\nplugin only:\n" + "\n".join(map(str, only_plugin))
        + "\n--- mypy output ---\n" + out)


def test_plugin_findings_match_the_fixture_markers(on_fixtures):
    files, _, out = on_fixtures
    problems = H.compare_with_markers(H.plugin_findings(out), H.REPO, [H.REPO / f for f in files])
    assert not problems, "\n".join(problems)


def test_every_family_of_codes_appears(on_fixtures):
    from shapecheck.plugin import _report

    table = _report.CodeTable()
    codes = {r[4] for r in H.parse(on_fixtures[2]) if r[3] == "error" and r[4].startswith("shape-")}
    families = {table.by_code[shp].sub_code_of.code for shp in table.by_code
                if table.by_code[shp].code in codes and table.by_code[shp].sub_code_of is not None}
    assert families >= {"shape-annotation", "shape-mismatch", "shape-rule"}, codes  # no fixture has SHP104/106
    assert {"shape-contraction-mismatch", "shape-annotation-syntax", "shape-untransposed-attention-key"} <= codes


def test_a_finding_carries_its_notes(on_fixtures):
    lines = on_fixtures[2].splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.endswith("[shape-contraction-mismatch]"))
    assert lines[i + 1].split(": note: ")[0].rsplit(":", 2)[0] == lines[i].split(": error: ")[0].rsplit(":", 2)[0]
    assert ": note: " in lines[i + 1]


def test_warm_cache_reports_the_same(on_fixtures, workdir):
    files, cfg, out = on_fixtures
    warm = H.run_mypy(files, workdir / "cache", cfg, cwd=H.REPO)
    assert sorted(H.parse(warm)) == sorted(H.parse(out))


# -- mypy's side: suppressions, codes, reveal_type --------------------------------------------------

_SUPPRESS = '''\
import torch


def f() -> None:
    a = torch.zeros(3, 4)
    a @ a  # type: ignore[shape-contraction-mismatch]
    a @ a  # type: ignore[shape-mismatch]
    a @ a  # noqa: SHP101
    a @ a  # shapecheck: ignore[contraction-mismatch]
    a @ a  # type: ignore[shape-rank]
    a @ a


def g(x):
    return x @ torch.zeros(3, 4).T  # noqa: SHP101


def h(x: torch.Tensor) -> None:
    y = torch.zeros(2, 5) @ torch.zeros(5, 7)
    reveal_type(y)
'''


@pytest.fixture(scope="module")
def suppress_case(workdir):
    d = workdir / "suppress"
    d.mkdir()
    (d / "m.py").write_text(_SUPPRESS)
    return d, H.write_config(d, extra="warn_unused_ignores = True")


def test_type_ignore_and_noqa_both_silence_a_finding(suppress_case, workdir):
    d, cfg = suppress_case
    got = H.parse(H.run_mypy(["m.py"], workdir / "cache-s", cfg, cwd=d))
    errors = [(r[1], r[4]) for r in got if r[3] == "error"]
    assert (10, "unused-ignore") in errors  # the wrong code silences nothing
    assert [e for e in errors if e[1].startswith("shape-")] == [
        (10, "shape-contraction-mismatch"), (11, "shape-contraction-mismatch"), (15, "shape-suppression")], got


def test_reveal_type_of_a_tensor_notes_its_shape(suppress_case, workdir):
    d, cfg = suppress_case
    got = H.parse(H.run_mypy(["m.py"], workdir / "cache-s", cfg, cwd=d))
    notes = [r[5] for r in got if r[1] == 20 and r[3] == "note"]
    assert 'Revealed shape is "2 7"' in notes and any(n.startswith("Revealed type is") for n in notes), got


def test_error_codes_can_be_disabled_by_family_and_one_by_one(suppress_case, workdir):
    d, _ = suppress_case
    cfg = H.write_config(d, extra="disable_error_code = shape-mismatch, shape-suppression", name="off.ini")
    got = H.parse(H.run_mypy(["m.py"], workdir / "cache-off", cfg, cwd=d))
    assert not [r for r in got if r[3] == "error" and r[4].startswith("shape-")], got
    cfg = H.write_config(d, extra="disable_error_code = shape-contraction-mismatch", name="one.ini")
    got = H.parse(H.run_mypy(["m.py"], workdir / "cache-one", cfg, cwd=d))
    assert [r[4] for r in got if r[3] == "error" and r[4].startswith("shape-")] == ["shape-suppression"], got


def test_an_internal_failure_is_one_note_not_a_crash(workdir):
    """A failure of the analysis on one module is one `shape-internal` note there; mypy and the other
    modules' findings go on."""
    here = H.CASES.parent / "mypy_plugin_internal"
    cfg = workdir / "failing.ini"
    cfg.write_text(H.CONFIG.format(repo=H.REPO, extra="").replace(
        "plugins = shapecheck.plugin", f"plugins = {here / 'failing_plugin.py'}"))
    out = H.parse(H.run_mypy(["explodes.py", "fine.py"], workdir / "cache-f", cfg, cwd=here))
    internal = [r for r in out if "shapecheck failed internally" in r[5]]
    assert [(r[0], r[1], r[3]) for r in internal] == [("explodes.py", 1, "note")], out
    assert "ZeroDivisionError" in internal[0][5] and "please report" in internal[0][5]
    assert any(r[0] == "fine.py" and r[4] == "shape-contraction-mismatch" for r in out), out


# -- the cache and dmypy: a finding that depends on another module ----------------------------------

def _pkg(where: Path) -> list:
    shutil.copytree(H.CASES / "pkg", where / "pkg")
    return sorted(str(p.relative_to(where)) for p in (where / "pkg").glob("*.py"))


def _edit(path: Path, text: str) -> None:
    """Write ``text`` as a later edit would: dmypy (like mypy) takes a file whose size and mtime are
    unchanged as unchanged, and the annotation flip keeps the size, so two writes within the
    file system's timestamp granularity would look like none. The mtime moves two seconds on."""
    before = path.stat().st_mtime
    path.write_text(text)
    later = max(path.stat().st_mtime, before + 2)
    os.utime(path, (later, later))


def _flip(where: Path) -> None:
    layers = where / "pkg" / "layers.py"
    _edit(layers, layers.read_text().replace('w: Float[Tensor, "d_in d_out"]', 'w: Float[Tensor, "d_out d_in"]'))


def _use_errors(parsed) -> list:
    return sorted({(r[1], r[4]) for r in parsed if r[0] == "pkg/use.py" and r[3] == "error"})


def test_the_package_case_reports_its_markers(workdir):
    proj = workdir / "pkg-markers"
    files = _pkg(proj)
    cfg = H.write_config(proj)
    out = H.run_mypy(files, proj / "cache", cfg, cwd=proj)
    problems = H.compare_with_markers(H.plugin_findings(out), proj, [proj / f for f in files])
    assert not problems, "\n".join(problems) + "\n" + out
    assert H.plugin_findings(out) == H.linter_findings(files, cwd=proj)


def test_changed_annotation_rechecks_dependents_through_the_cache(workdir):
    """Editing a callee's annotation in one module changes the findings of its caller on a warm run,
    exactly as a cold run reports them."""
    proj = workdir / "incremental"
    files = _pkg(proj)
    cfg = H.write_config(proj)
    before = _use_errors(H.parse(H.run_mypy(files, proj / "cache", cfg, cwd=proj)))
    assert before == [(13, "shape-annotation-mismatch")], before
    _flip(proj)
    warm = H.parse(H.run_mypy(files, proj / "cache", cfg, cwd=proj))
    cold = H.parse(H.run_mypy(files, proj / "cache-cold", cfg, cwd=proj))
    assert sorted(warm) == sorted(cold)
    assert _use_errors(warm) == [(12, "shape-annotation-mismatch"), (14, "shape-annotation-mismatch")], warm


def test_dmypy_update_rechecks_the_dependent_module(workdir):
    """With dmypy, changing a shape annotation in pkg/layers.py makes the finding in pkg/use.py appear
    and disappear, and every update reports what a fresh mypy run reports."""
    proj = workdir / "daemon"
    files = _pkg(proj)
    cfg = H.write_config(proj)
    status = workdir / "dmypy.json"
    layers = proj / "pkg" / "layers.py"
    original = layers.read_text()
    try:
        first = H.parse(H.run_mypy(files, proj / "cache", cfg, cwd=proj, dmypy_status=status))
        _flip(proj)
        flipped = H.parse(H.run_mypy(files, proj / "cache", cfg, cwd=proj, dmypy_status=status))
        _edit(layers, original)
        back = H.parse(H.run_mypy(files, proj / "cache", cfg, cwd=proj, dmypy_status=status))
    finally:
        H.stop_dmypy(status)
    assert _use_errors(first) == [(13, "shape-annotation-mismatch")], first
    assert _use_errors(flipped) == [(12, "shape-annotation-mismatch"), (14, "shape-annotation-mismatch")], flipped
    assert sorted(back) == sorted(first)
    _flip(proj)
    fresh = H.parse(H.run_mypy(files, proj / "cache-fresh", cfg, cwd=proj))
    assert sorted(flipped) == sorted(fresh)
