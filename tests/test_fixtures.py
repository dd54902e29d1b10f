"""Whole-module fixtures: run the linter's CLI on each file and compare with its inline expectations.

Every file under ``fixtures/`` starts with ``# shapecheck-fixture: <kind>``:

* ``correct``: realistic, correct model code; the linter must report nothing at all.
* ``reveal``: like ``correct``, plus ``shapecheck.reveal_shape(...)`` calls; the line of each call
  carries ``# reveal: <shape>`` and the linter must report exactly that inferred shape there.
* ``bugs`` (in ``fixtures/bugs/`` and ``fixtures/rules/``): realistic modules with seeded bugs; each
  bug line carries ``# error: <codes>``.
* ``package`` (in ``fixtures/packages/<name>/``): linted in one run over the directory, so that calls
  reach annotated code in sibling modules; each file is compared with its markers as for ``bugs``.

Grammar of ``# error:`` (codes match by prefix, so ``SHP2`` is any attention rule):
``SHP101, SHP102`` both required; ``SHP3|SHP107`` one of them required; ``SHP105?`` allowed, not
required (a line marked with optional codes only may report a follow-on error of a bug above it).
Every diagnostic on a marked line must match one of the listed codes; a diagnostic on an unmarked
line fails the test. Internal errors (``SHP9xx``) fail every kind.

The correct and reveal fixtures also define ``_smoke()``, which builds the modules with small sizes
and runs them on random tensors with jaxtyping + beartype checking every annotation: that proves with
PyTorch itself that the "correct" code and its annotations are correct. A bug fixture may define
``_crashes()``, calls that run its seeded bugs, each of which must raise a shape error.

Each correct, reveal and bugs fixture is also linted respelled with exactly equivalent PyTorch
(``x.size(1)`` as ``x.shape[1]``, ``torch.matmul(a, b)`` as ``a @ b``, ...): the verdict must not change.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

from _lanes import fast_sample

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
KINDS = ("correct", "reveal", "bugs", "package")

_HEADER = re.compile(r"#\s*shapecheck-fixture:\s*(\w+)")
_ERROR = re.compile(r"#\s*error:\s*([^#]+)")
_REVEAL = re.compile(r"#\s*reveal:\s*([^#]*)")
_CODE = re.compile(r"SHP\d{1,3}$")


@dataclass(frozen=True)
class Expectation:
    line: int
    required: tuple  # of tuples of alternatives: each inner tuple needs one match
    optional: tuple  # codes (prefixes) that may also appear


def fixture_files(kind: str | None = None) -> list[Path]:
    files = sorted(p for p in FIXTURES.rglob("*.py") if not p.name.startswith("_") or p.name == "__init__.py")
    if kind is None:
        return files
    return [p for p in files if fixture_kind(p) == kind]


def fixture_kind(path: Path) -> str | None:
    with path.open(encoding="utf-8") as f:
        first = f.readline()
    m = _HEADER.match(first.strip())
    return m.group(1) if m else None


def parse_error_marker(text: str, line: int) -> Expectation:
    required, optional = [], []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        opt = item.endswith("?")
        alts = tuple(a.strip() for a in item.rstrip("?").split("|"))
        for a in alts:
            if not _CODE.match(a):
                raise ValueError(f"line {line}: {a!r} is not a code or code prefix (SHP1, SHP101)")
        if opt:
            optional.extend(alts)
        else:
            required.append(alts)
    if not required and not optional:
        raise ValueError(f"line {line}: an error marker needs at least one code")
    return Expectation(line, tuple(required), tuple(optional))


def comments(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every real comment (markers quoted in docstrings do not count)."""
    with path.open("rb") as f:
        return [(t.start[0], t.string) for t in tokenize.tokenize(f.readline) if t.type == tokenize.COMMENT]


def error_markers(path: Path) -> dict[int, Expectation]:
    out = {}
    for line, text in comments(path):
        m = _ERROR.search(text)
        if m:
            out[line] = parse_error_marker(m.group(1), line)
    return out


def reveal_markers(path: Path) -> dict[int, tuple]:
    """Line -> accepted shapes (``# reveal: B T C | B T n_embd`` where either spelling is right)."""
    out = {}
    for line, text in comments(path):
        m = _REVEAL.search(text)
        if m:
            out[line] = tuple(normalize_shape(alt) for alt in m.group(1).split("|"))
    return out


def normalize_shape(text: str) -> str:
    """``"b  h s s"`` / ``Float[Tensor, "b h s s"]`` -> ``b h s s``, sizes in canonical form.

    The canonical form comes from the core's parser (``d*h`` and ``h*d`` are one size); text that
    it does not parse is compared with its whitespace collapsed.
    """
    text = text.strip()
    m = re.search(r"\"([^\"]*)\"|'([^']*)'", text)
    if m:
        text = m.group(1) if m.group(1) is not None else m.group(2)
    text = " ".join(text.split())
    try:
        from shapecheck._core._shape import shape_of

        return " ".join(str(shape_of(text)).split())
    except Exception:
        return text


def same_shape(got: str, expected: str) -> bool:
    """Equal texts, or the same rank with sizes that agree at many positive values of their names.

    ``((h-1)//2-1)//2+1`` and ``((h-1)//2+1)//2`` are one size; axes the core cannot parse (``...``,
    ``?``) must match as text.
    """
    if got == expected:
        return True
    try:
        from shapecheck._core._algebra import Expr, const
        from shapecheck._core._shape import shape_of

        a, b = shape_of(got).dims, shape_of(expected).dims
    except Exception:
        return False
    if len(a) != len(b):
        return False
    import random

    rng = random.Random(0)
    for x, y in zip(a, b):
        if not (isinstance(x, Expr) and isinstance(y, Expr)):
            if str(x) != str(y):
                return False
            continue
        names = sorted({s.name for s in x.symbols() | y.symbols()})
        for _ in range(40):
            values = {n: rng.randint(1, 97) for n in names}
            vx = x.subst({s: const(values[s.name]) for s in x.symbols()}).value
            vy = y.subst({s: const(values[s.name]) for s in y.symbols()}).value
            if vx is None or vy is None or vx != vy:
                return False
    return True


def _run_cli(paths: list[Path], timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache", "--isolated",
         *map(str, paths)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


_BATCHES: dict = {}


def lint_batch(key: str, files: list[Path]) -> dict | None:
    """One linter run over many files, its diagnostics grouped by file (resolved path).

    It gives what one run per file gives (the fixtures import nothing from one another) in a fraction
    of the time. None when the run is not clean (a crash, an exit status other than 0 or 1, output
    that is not JSON): the tests then lint their file alone, so that the failure names it.
    """
    if key not in _BATCHES:
        result = None
        try:
            proc = _run_cli(files, timeout=600)
            if proc.returncode in (0, 1) and "Traceback (most recent call last)" not in proc.stderr:
                data = json.loads(proc.stdout)
                if isinstance(data, list):
                    result = {f.resolve(): [] for f in files}
                    for d in data:
                        where = _resolve(d["path"])
                        if where not in result:  # a path we cannot place: do not guess
                            result = None
                            break
                        result[where].append(d)
        except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError, TypeError):
            result = None
        _BATCHES[key] = result
    return _BATCHES[key]


def _resolve(reported: str) -> Path:
    """A reported path as an absolute one (the linter runs in the repository root)."""
    p = Path(reported)
    return (p if p.is_absolute() else ROOT / p).resolve()


def diagnostics_of(path: Path, key: str, group: list[Path]) -> list[dict]:
    """The diagnostics of ``path``, from the batch run over ``group`` when it was clean."""
    batch = lint_batch(key, group)
    if batch is None or path.resolve() not in batch:
        return run_check(path)
    diags = batch[path.resolve()]
    _validate(diags, path)
    return diags


def run_check(path: Path) -> list[dict]:
    """The JSON diagnostics of one linter run over a file or a directory."""
    proc = _run_cli([path])
    assert "Traceback (most recent call last)" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), \
        f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as e:  # pragma: no cover - reported as a failure
        pytest.fail(f"output is not JSON ({e}): {proc.stdout[:2000]!r} stderr: {proc.stderr[-2000:]!r}")
    assert isinstance(data, list), data
    _validate(data, path)
    return data


def _validate(data: list, path: Path) -> None:
    """The JSON fields the tests rely on."""
    for d in data:
        for key in ("path", "line", "column", "code", "severity", "message"):
            assert key in d, f"diagnostic without {key!r}: {d}"
        assert isinstance(d["line"], int) and d["line"] >= 1, d
        assert isinstance(d["column"], int) and d["column"] >= 1, d
        assert d["severity"] in ("error", "warning", "note"), d
        if path.is_file():
            assert Path(d["path"]).name == path.name, d


def _fmt(diags) -> str:
    return "\n".join(f"  {d['line']}:{d['column']}: {d['code']} {d['message']}" for d in diags) or "  (none)"


def _matches(code: str, prefix: str) -> bool:
    return code.startswith(prefix)


def _ids(files):
    return [str(p.relative_to(FIXTURES)) for p in files]


# -- the fixtures themselves are well formed --------------------------------------------------------

ALL = fixture_files()


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_fixture_is_well_formed(path: Path):
    kind = fixture_kind(path)
    assert kind in KINDS, f"{path.name}: first line must be '# shapecheck-fixture: {'|'.join(KINDS)}'"
    if kind == "package":
        assert FIXTURES / "packages" in path.parents and path.parent != FIXTURES / "packages", \
            f"{path}: package fixtures live in fixtures/packages/<name>/ (subpackages included)"
    else:
        assert path.parent.name == kind or (kind, path.parent.name) == ("bugs", "rules"), \
            f"{path.name}: a {kind} fixture belongs in fixtures/{kind}/ (or fixtures/rules/ for the lint rules' bugs)"
    text = path.read_text(encoding="utf-8")
    compile(text, str(path), "exec")
    head = "\n".join(text.splitlines()[:12]).lower()
    assert "expect" in head, f"{path.name}: the first lines must state what the file expects"
    markers = error_markers(path)
    reveals = reveal_markers(path)
    if kind == "bugs":
        assert markers, f"{path.name}: a bugs fixture needs at least one '# error:' line"
        assert not reveals
    elif kind == "package":
        assert not reveals
    elif kind == "reveal":
        assert reveals and not markers
        assert "reveal_shape" in text
    else:
        assert not markers and not reveals, f"{path.name}: a correct fixture has no markers"
        assert "reveal_shape" not in text, f"{path.name}: reveal_shape belongs in fixtures/reveal/"


def test_marker_grammar():
    e = parse_error_marker("SHP101, SHP3|SHP107, SHP105?", 7)
    assert e.required == (("SHP101",), ("SHP3", "SHP107"))
    assert e.optional == ("SHP105",)
    with pytest.raises(ValueError):
        parse_error_marker("SHP101 SHP102", 3)
    with pytest.raises(ValueError):
        parse_error_marker(" ", 3)
    follow_on = parse_error_marker("SHP107?", 4)  # a follow-on error the linter may repeat
    assert follow_on.required == () and follow_on.optional == ("SHP107",)
    assert normalize_shape(' "b  h s s" ') == "b h s s"
    assert normalize_shape('Float[Tensor, "batch 3"]') == "batch 3"
    assert normalize_shape("b h*d") == normalize_shape("b d*h")
    assert same_shape("b ((h-1)//2-1)//2+1", "b ((h-1)//2+1)//2")
    assert not same_shape("b h//2", "b h")
    assert not same_shape("b h w", "b w h")
    assert not same_shape("b h", "b h 1")
    imports = EQUIVALENT_SPELLINGS["imports"]
    assert respell("import torch.nn as nn\nfrom torch import nn", imports, exclusive=True) == \
        "from torch import nn\nimport torch.nn as nn"
    assert respell("a = x.size(1) + y.transpose(1, 2)", EQUIVALENT_SPELLINGS["methods"]) == \
        "a = x.shape[1] + y.transpose(2, 1)"


# -- the correct code is correct: PyTorch runs it ---------------------------------------------------

RUNNABLE = [p for p in ALL if fixture_kind(p) in ("correct", "reveal")]


@pytest.mark.parametrize("path", fast_sample(RUNNABLE, keep=4), ids=_ids(RUNNABLE))
def test_correct_fixture_runs_under_torch(path: Path, tmp_path: Path, monkeypatch):
    """Run ``_smoke()`` with every annotation checked at run time by jaxtyping + beartype."""
    pytest.importorskip("torch")
    pytest.importorskip("einops")
    pytest.importorskip("beartype")
    jaxtyping = pytest.importorskip("jaxtyping")
    name = f"_shapecheck_fixture_{path.parent.name}_{path.stem}"
    (tmp_path / f"{name}.py").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with jaxtyping.install_import_hook(name, "beartype.beartype"):
            module = importlib.import_module(name)
        assert hasattr(module, "_smoke"), f"{path.name} must define _smoke()"
        module._smoke()
    finally:
        sys.modules.pop(name, None)


CRASHING = [p for p in ALL if fixture_kind(p) == "bugs" and "def _crashes(" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", CRASHING, ids=_ids(CRASHING))
def test_seeded_bugs_are_real(path: Path, tmp_path: Path, monkeypatch):
    """A bug file's ``_crashes()`` lists calls that run its seeded bugs: each must raise."""
    pytest.importorskip("torch")
    pytest.importorskip("beartype")
    jaxtyping = pytest.importorskip("jaxtyping")
    name = f"_shapecheck_fixture_bugs_{path.stem}"
    (tmp_path / f"{name}.py").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with jaxtyping.install_import_hook(name, "beartype.beartype"):
            module = importlib.import_module(name)
        # what a shape bug raises: torch and einops (RuntimeError, AssertionError in MHA), losses
        # (ValueError), indexing, jaxtyping's check of an annotation (TypeCheckError); a NameError
        # or AttributeError would be a broken test case, not a shape bug
        shape_errors = (RuntimeError, AssertionError, ValueError, IndexError, jaxtyping.TypeCheckError)
        cases = module._crashes()
        assert cases
        for i, case in enumerate(cases):
            try:
                case()
            except shape_errors:
                continue
            pytest.fail(f"{path.name}: case {i} of _crashes() ran without a shape error")
    finally:
        sys.modules.pop(name, None)


# -- the linter agrees with the expectations --------------------------------------------------------

CORRECT = fixture_files("correct")
REVEAL = fixture_files("reveal")
BUGS = fixture_files("bugs")
SINGLE_FILES = CORRECT + REVEAL + BUGS  # linted together in one batch


@pytest.mark.parametrize("path", CORRECT, ids=_ids(CORRECT))
def test_correct_fixture_has_no_diagnostics(path: Path):
    diags = diagnostics_of(path, "fixtures", SINGLE_FILES)
    assert not diags, f"false alarms on correct code {path.name}:\n{_fmt(diags)}"


@pytest.mark.parametrize("path", REVEAL, ids=_ids(REVEAL))
def test_reveal_fixture_shapes(path: Path):
    diags = diagnostics_of(path, "fixtures", SINGLE_FILES)
    expected = reveal_markers(path)
    others = [d for d in diags if d["code"] != "reveal"]
    assert not others, f"diagnostics other than reveal in {path.name}:\n{_fmt(others)}"
    got: dict[int, list[str]] = {}
    for d in diags:
        got.setdefault(d["line"], []).append(normalize_shape(d["message"]))
    problems = []
    for line, shapes in sorted(expected.items()):
        seen = got.get(line, [])
        if len(seen) != 1 or not any(same_shape(seen[0], shape) for shape in shapes):
            problems.append(f"  line {line}: expected {' | '.join(shapes)!r}, got {seen!r}")
    for line in sorted(set(got) - set(expected)):
        problems.append(f"  line {line}: unexpected reveal {got[line]!r}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", BUGS, ids=_ids(BUGS))
def test_bug_fixture_diagnostics(path: Path):
    problems = compare_with_markers(diagnostics_of(path, "fixtures", SINGLE_FILES), error_markers(path))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


PACKAGES = sorted(p for p in (FIXTURES / "packages").glob("*") if p.is_dir())


@pytest.mark.parametrize("pkg", PACKAGES, ids=[p.name for p in PACKAGES])
def test_package_fixture_diagnostics(pkg: Path):
    """One run over the whole package, so that calls reach annotated code in sibling modules."""
    diags = run_check(pkg)
    files = sorted(pkg.rglob("*.py"))
    problems = []
    for f in files:
        mine = [d for d in diags if _resolve(d["path"]) == f.resolve()]
        problems += [f"{f.name}{p}" for p in compare_with_markers(mine, error_markers(f))]
    known = {f.resolve() for f in files}
    problems += [f"  diagnostic outside the package files: {d}"
                 for d in diags if _resolve(d["path"]) not in known]
    assert not problems, f"{pkg.name}:\n" + "\n".join(problems)


def compare_with_markers(diags: list[dict], markers: dict[int, Expectation]) -> list[str]:
    """What differs between one file's diagnostics and its ``# error:`` markers (empty if nothing)."""
    by_line: dict[int, list[dict]] = {}
    for d in diags:
        by_line.setdefault(d["line"], []).append(d)
    problems = []
    internal = [d for d in diags if d["code"].startswith("SHP9")]
    if internal:
        problems.append("internal errors:\n" + _fmt(internal))
    for line, exp in sorted(markers.items()):
        here = by_line.get(line, [])
        for alts in exp.required:
            if not any(_matches(d["code"], a) for d in here for a in alts):
                problems.append(f"  line {line}: missed {'|'.join(alts)} (got {[d['code'] for d in here]})")
        allowed = [a for alts in exp.required for a in alts] + list(exp.optional)
        for d in here:
            if not any(_matches(d["code"], a) for a in allowed):
                problems.append(f"  line {line}: unexpected {d['code']} {d['message']}")
    for line in sorted(set(by_line) - set(markers)):
        for d in by_line[line]:
            problems.append(f"  line {line}: false alarm {d['code']} {d['message']}")
    return problems


# -- the same fixtures spelled differently: the verdict must not change -----------------------------

# Rewrites that keep the meaning and the line numbers of PyTorch code exactly.
EQUIVALENT_SPELLINGS = {
    # ``x.size(1)`` is ``x.shape[1]``, ``transpose(a, b)`` is ``transpose(b, a)``,
    # ``contiguous().view(...)`` is ``reshape(...)``
    "methods": (
        (re.compile(r"\.size\((-?\d+)\)"), r".shape[\1]"),
        (re.compile(r"\.size\(\)"), ".shape"),
        (re.compile(r"\.transpose\((-?\d+), (-?\d+)\)"), r".transpose(\2, \1)"),
        (re.compile(r"\.contiguous\(\)\.view\("), ".reshape("),
    ),
    # functions and their method or operator forms; ``permute(0, 2, 1)`` (3 axes) and
    # ``permute(0, 2, 1, 3)`` (4 axes) are ``transpose(1, 2)``
    "functions": (
        (re.compile(r"\bF\.softmax\((\w+), dim=(-?\d+)\)"), r"\1.softmax(dim=\2)"),
        (re.compile(r"\btorch\.matmul\((\w+), (\w+)\)"), r"(\1 @ \2)"),
        (re.compile(r"\btorch\.flatten\((\w+), 1\)"), r"\1.flatten(1)"),
        (re.compile(r"\.permute\(0, 2, 1(, 3)?\)"), ".transpose(1, 2)"),
    ),
    # the same modules imported another way
    "imports": (
        (re.compile(r"^import torch\.nn as nn$", re.M), "from torch import nn"),
        (re.compile(r"^from torch import nn$", re.M), "import torch.nn as nn"),
        (re.compile(r"^import torch\.nn\.functional as F$", re.M), "from torch.nn import functional as F"),
        (re.compile(r"^from torch\.nn import functional as F$", re.M), "import torch.nn.functional as F"),
        (re.compile(r"^from torch import Tensor$", re.M), "from torch import Tensor as Tensor"),
        (re.compile(r"^from jaxtyping import (.+)$", re.M), r"from jaxtyping import \1  # noqa: F722"),
    ),
}

def respell(text: str, rules, exclusive: bool = False) -> str:
    """Apply every rule; ``exclusive``: at most one rule per line (for rules that undo each other)."""
    if not exclusive:
        for pattern, repl in rules:
            text = pattern.sub(repl, text)
        return text
    out = []
    for line in text.split("\n"):
        for pattern, repl in rules:
            changed = pattern.sub(repl, line)
            if changed != line:
                line = changed
                break
        out.append(line)
    return "\n".join(out)


RESPELLABLE = [p for p in ALL if fixture_kind(p) in ("correct", "reveal", "bugs")]
# the fast lane lints one spelling (one batch run); CI lints every spelling
FAST_SPELLING = "functions"
RESPELL_CASES = [(p, name) if name == FAST_SPELLING else pytest.param(p, name, marks=pytest.mark.slow)
                 for p in RESPELLABLE for name in EQUIVALENT_SPELLINGS]


@pytest.fixture(scope="session")
def respelled_dir(tmp_path_factory) -> Path:
    """Every respellable fixture under every spelling: ``<dir>/<spelling>/<kind>/<name>.py``."""
    base = tmp_path_factory.mktemp("respelled")
    for spelling, rules in EQUIVALENT_SPELLINGS.items():
        for p in RESPELLABLE:
            text = p.read_text(encoding="utf-8")
            new = respell(text, rules, exclusive=spelling == "imports")
            if new != text:
                target = base / spelling / p.parent.name / p.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(new, encoding="utf-8")
    return base


@pytest.mark.parametrize("path, spelling", RESPELL_CASES,
                         ids=[f"{_ids([p])[0]}-{name}" for p in RESPELLABLE for name in EQUIVALENT_SPELLINGS])
def test_equivalent_spelling_keeps_the_verdict(path: Path, spelling: str, respelled_dir: Path):
    variant = respelled_dir / spelling / path.parent.name / path.name
    if not variant.exists():
        pytest.skip("nothing to respell")
    assert variant.read_text(encoding="utf-8").count("\n") == path.read_text(encoding="utf-8").count("\n")
    group = sorted((respelled_dir / spelling).rglob("*.py"))
    diags = diagnostics_of(variant, f"respelled-{spelling}", group)
    kind = fixture_kind(path)
    if kind == "correct":
        assert not diags, f"false alarms on {path.name} respelled:\n{_fmt(diags)}"
    elif kind == "reveal":
        others = [d for d in diags if d["code"] != "reveal"]
        assert not others, f"diagnostics other than reveal in {path.name} respelled:\n{_fmt(others)}"
        got = {}
        for d in diags:
            got.setdefault(d["line"], []).append(normalize_shape(d["message"]))
        bad = [line for line, shapes in reveal_markers(path).items()
               if len(got.get(line, [])) != 1 or not any(same_shape(got[line][0], s) for s in shapes)]
        assert not bad, f"{path.name} respelled: reveals differ on lines {bad}: {got}"
    else:
        problems = compare_with_markers(diags, error_markers(path))
        assert not problems, f"{path.name} respelled:\n" + "\n".join(problems)



def test_bug_and_correct_fixtures_have_distinct_module_names():
    # the mypy plugin's parity run checks both folders at once, and mypy refuses two modules of one name
    bugs = {p.name for p in (FIXTURES / "bugs").glob("*.py")}
    correct = {p.name for p in (FIXTURES / "correct").glob("*.py")}
    assert bugs and correct
    assert not bugs & correct, f"rename one of each pair: {sorted(bugs & correct)}"
