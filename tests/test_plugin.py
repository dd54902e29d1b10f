"""The mypy plugin, end to end: real mypy over tests/mypy_cases with inline expectations.

One mypy run checks every case file (cold cache); the same cache then serves a warm run and a
dmypy run, which must report exactly the same.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mypy")
pytest.importorskip("torch")
pytest.importorskip("jaxtyping")

import _mypy_harness as H


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
                       capture_output=True, timeout=120)
    assert sorted(H.parse(first)) == sorted(H.parse(out))
    assert sorted(H.parse(again)) == sorted(H.parse(out))


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
    assert any(r[2] == "error" and r[1] == 12 and "`project` expects" in r[4] for r in after), after
    assert (12, "...") in {(r[1], r[3]) for r in after if r[2] == "reveal"}, after


def test_error_codes_can_be_disabled(cold, workdir):
    files, _, _ = cold
    cfg = H.write_config(workdir / "..", extra="disable_error_code = shape-mismatch, shape-rank")
    out = H.parse(H.run_mypy(files, workdir / "cache", cfg))
    codes = {r[3] for r in out if r[2] == "error"}
    assert "shape-mismatch" not in codes and "shape-rank" not in codes
    assert "shape-annotation" in codes
