"""Output formats: full, concise, json, sarif (validated against the SARIF 2.1.0 schema), github."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest

from _cli_support import BAD, BAD_LINE, REPO, SELECT_SHP002, SINGLE, shapecheck, write

# The OASIS SARIF 2.1.0 schema (sarif-2.1/schema/sarif-schema-2.1.0.json in oasis-tcs/sarif-spec).
# It is not shipped by any installed package, so it is looked up beside the checkout (shared/) or
# through SARIF_SCHEMA; test_sarif_required_structure checks the spec's required skeleton without it.
_SCHEMA_CANDIDATES = [
    os.environ.get("SARIF_SCHEMA", ""),
    os.path.join(REPO, "shared", "sarif-schema-2.1.0.json"),
    os.path.join(os.path.dirname(REPO), "shared", "sarif-schema-2.1.0.json"),
]


def _schema():
    for p in _SCHEMA_CANDIDATES:
        if p and os.path.isfile(p):
            with open(p, encoding="utf-8") as fh:
                return json.load(fh)
    return None


@pytest.fixture()
def project(tmp_path):
    write(tmp_path, {"pkg/bad.py": BAD, "pkg/single.py": SINGLE, "pyproject.toml": SELECT_SHP002})
    return tmp_path


def test_json_contract(project):
    r = shapecheck("check", "--format", "json", cwd=project)
    data = r.json()
    assert r.code == 1 and isinstance(data, list) and len(data) == 2
    for d in data:
        assert {"path", "line", "column", "code", "severity", "message"} <= set(d)
        assert d["line"] >= 1 and d["column"] >= 1
    bad = [d for d in data if d["code"] == "SHP001"][0]
    assert bad["path"] == os.path.join("pkg", "bad.py") and bad["line"] == BAD_LINE
    assert bad["column"] == BAD.splitlines()[BAD_LINE - 1].index('"b, n"') + 1
    single = [d for d in data if d["code"] == "SHP002"][0]
    assert single["severity"] == "warning" and single["fix"]["safe"] is True


def test_concise_is_the_default_off_a_terminal(project):
    r = shapecheck("check", cwd=project)
    lines = [x for x in r.out.splitlines() if x]
    assert re.fullmatch(rf"pkg/bad\.py:{BAD_LINE}:\d+: SHP001 \[annotation-syntax\] .+", lines[0])
    assert re.fullmatch(r"pkg/single\.py:\d+:\d+: SHP002 \[single-axis-string\] .+", lines[1])
    assert lines[2].startswith("Found 2 problems (1 error, 1 warning)")
    assert "\033[" not in r.out


def test_full_has_a_code_frame_and_caret(project):
    r = shapecheck("check", "--output-format", "full", "pkg/bad.py", cwd=project)
    lines = r.out.splitlines()
    header = lines[0]
    m = re.fullmatch(rf"pkg/bad\.py:{BAD_LINE}:(\d+): SHP001 \[annotation-syntax\] .+", header)
    assert m
    col = int(m.group(1))
    src = BAD.splitlines()[BAD_LINE - 1]
    assert lines[1].endswith(f"{BAD_LINE} | {src}")
    caret_line = lines[2]
    bar = lines[1].index("|")
    assert caret_line.index("^") - (bar + 2) == col - 1
    r = shapecheck("check", "--output-format", "full", "pkg/single.py", cwd=project)
    assert re.search(r"^  help: .+", r.out, re.M) and re.search(r"^  fix: .+", r.out, re.M)


def _run_on_tty(cwd, *args, env=None):
    master, slave = pty.openpty()
    e = dict(os.environ, PYTHONPATH=REPO, TERM="xterm")
    e.pop("NO_COLOR", None)
    e.pop("FORCE_COLOR", None)
    e.update(env or {})
    p = subprocess.Popen([sys.executable, "-m", "shapecheck", *args], cwd=cwd, stdout=slave, stderr=slave,
                         stdin=subprocess.DEVNULL, env=e)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    p.wait(timeout=120)
    os.close(master)
    return p.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_terminal_gets_full_format_in_colour(project):
    code, out = _run_on_tty(project, "check", "pkg/bad.py")
    assert code == 1
    plain = re.sub(r"\033\[[0-9;]*m", "", out)
    assert "\033[" in out and f"{BAD_LINE} | " in plain  # colour and a code frame: the full format
    code, out = _run_on_tty(project, "check", "pkg/bad.py", env={"NO_COLOR": "1"})
    assert code == 1 and "\033[" not in out and " | " in out


def test_github_annotations(project):
    r = shapecheck("check", "--format", "github", cwd=project)
    lines = r.out.splitlines()
    assert re.fullmatch(rf"::error file=pkg/bad\.py,line={BAD_LINE},col=\d+(,endLine=\d+,endColumn=\d+)?"
                        r",title=SHP001 \[annotation-syntax\]::.+", lines[0]), lines[0]
    assert lines[1].startswith("::warning file=pkg/single.py,")
    assert all("\n" not in x for x in lines) and len(lines) == 2


def test_github_escapes_properties_and_data():
    from shapecheck._core._diag import Diagnostic
    from shapecheck._lint._output import render

    d = Diagnostic("a,b:c.py", 3, 4, "SHP110", "50% off\nsecond line", notes=("n",))
    out = render("github", [d])
    assert out == ("::error file=a%2Cb%3Ac.py,line=3,col=4,title=SHP110 [size-mismatch]"
                   "::50%25 off%0Asecond line%0Anote: n\n")


def _sarif(project):
    r = shapecheck("check", "--format", "sarif", cwd=project)
    assert r.code == 1
    return json.loads(r.out)


def test_sarif_validates_against_the_2_1_0_schema(project):
    schema = _schema()
    if schema is None:
        pytest.skip("the SARIF 2.1.0 schema file is not available (set SARIF_SCHEMA)")
    import jsonschema

    log = _sarif(project)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    # a reveal note (a code outside the table) and a log with no results are valid too
    write(project, {"pkg/reveal.py": "from shapecheck import reveal_shape\nimport torch\n"
                                     "reveal_shape(torch.zeros(2, 3))\n"})
    log = _sarif(project)
    assert not list(validator.iter_errors(log))
    clean = shapecheck("check", "--format", "sarif", "--select", "SHP1", cwd=project)
    assert clean.code == 0
    assert not list(validator.iter_errors(json.loads(clean.out)))


def test_sarif_required_structure(project):
    log = _sarif(project)
    assert log["version"] == "2.1.0" and isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "shapecheck"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert "SHP001" in ids and "SHP101" in ids and len(ids) == len(set(ids))
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"])
    assert uris == ["pkg/bad.py", "pkg/single.py"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    fixed = [r for r in run["results"] if r["ruleId"] == "SHP002"][0]
    assert fixed["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
