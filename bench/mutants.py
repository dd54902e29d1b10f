"""Seed realistic shape bugs into real model code, one at a time, and count how many the linter sees.

Usage::

    python bench/mutants.py [PATH ...] [--max-per-kind N] [--kind KIND] [--by-repo] [--json FILE] [--show]
                            [--in-project]

``--max-per-kind`` caps the mutants of each kind in each repository (default 10), so that one large
repository does not fill the sample. ``--kind`` (repeatable) keeps only the named kinds.
``--by-repo`` adds a table per repository; ``--json FILE`` writes every mutant (repository, file,
line, kind, seen, the new diagnostic codes at the edit, those away from it with their lines, the line
ranges that count as the edit, the messages) so that two engine versions can be compared mutant by
mutant.

PATH is a repository (directory) or a file; without PATH, every directory under
``$SHAPECHECK_REALCODE`` (default ``/work/realcode``, fetched public code that is never committed).
Each mutator is a textual edit that turns correct attention/convolution code into a classic bug:

* ``untransposed-key``: ``q @ k.transpose(-2, -1)`` -> ``q @ k``
* ``softmax-axis``: a softmax over ``dim=-1`` of attention scores -> ``dim=1``
* ``softmax-dim0``: the same softmax -> ``dim=0`` (normalises over the batch)
* ``log-softmax-axis``: ``log_softmax(..., dim=-1)`` (or ``-1`` as the positional axis) -> ``dim=0``;
  over the batch at any rank of at least 2, where ``dim=1`` would be correct on ``(batch, classes)``
  logits
* ``merge-heads``: ``y.transpose(1, 2).contiguous().view(...)`` -> ``y.contiguous().view(...)``
* ``cat-axis``: ``torch.cat([...], dim=1)`` in a file with ``Conv2d`` -> ``dim=2``
* ``permute-swap``: ``permute(0, 3, 1, 2)`` -> ``permute(0, 3, 2, 1)``
* ``linear-swap``: ``nn.Linear(a, b, ...)`` -> ``nn.Linear(b, a, ...)`` where ``a`` and ``b`` differ
  as text, and only where the layer is applied in the file (the name it is assigned to, or the
  ``nn.Sequential`` holding it, is called)
* ``conv-swap``: the same for ``nn.Conv1d`` / ``nn.Conv2d`` channel counts
* ``einsum-swap``: ``einsum("xy,yz->xz", A, B)`` -> ``einsum("xy,yz->xz", B, A)``, only where the
  two operand subscripts differ

Each mutant file is linted alone (``--no-cache --isolated``, its own directory) and compared with the
unmutated file. With ``--in-project`` each mutant is linted where its file is, in a copy of its
repository's Python files (as a sibling of the file it mutates), so the engine reads the modules it
imports and the callers of its own package: what a user running ``shapecheck check`` on the repository
(or a pre-commit hook on the changed file) sees. The two figures are reported separately, never mixed.
In both modes a mutant is *seen* when a new diagnostic appears within two lines of the edit (the
edited call's lines included) or, for ``linear-swap`` and ``conv-swap``, anywhere in a function that
applies the layer or in the ``nn.Sequential`` holding it (a wrong size shows where the layer meets its
input or where its output meets the next layer), or anywhere when one of its notes names the edited line as where
a size it reports was chosen (``(output channels of the `Conv2d` built at model.py:42)``: a class token joined
to a patch embedding's output, in the caller; ``(joined along axis 2 by the `cat` at model.py:40)``: a second
join that meets the first one's sum; ``... is the `Linear` built at model.py:42``: a layer refusing its input
where a caller's shapes reach it) or, in the file it is reported in, as the other party of what it
reports (``the `log_softmax` is at line 43``, on a loss that reads classes from another axis); a new diagnostic only away from these counts as
*elsewhere*, the false-alarm signal, which should stay 0. A mutant is not always a bug (a key may
already be transposed, ``a`` and ``b`` may be equal at run time), so the figure is a lower bound on
what a reader would call recall, not recall itself. Nothing is asserted: this is a measurement.
"""

from __future__ import annotations

import argparse
import ast
import collections
import io
import json
import os
import re
import subprocess
import sys
import tokenize
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path(os.environ.get("SHAPECHECK_REALCODE", "/work/realcode"))
_SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", "build", "dist", "tests", "test", "docs"}
_SCORE_NAMES = r"(?:att|attn|attention|attn_weights|attention_scores|attention_probs|scores|dots|sim|weights|qk|w)"
_NOT_TORCH = {"np", "numpy", "jnp", "jax.numpy", "tf"}  # einsum of another library
_NEAR = 2  # lines either side of the edit that count as "at the edit"


class Mutant:
    """One seeded bug: its kind, the first and last line of the edited code, the mutated text, and the
    line ranges where a new diagnostic counts as reporting it (the edit, two lines either side; for a
    layer, also every function that applies the layer, where a wrong size shows)."""

    __slots__ = ("kind", "line", "end", "text", "regions")

    def __init__(self, kind: str, line: int, end: int, text: str,
                 uses: tuple[tuple[int, int], ...] = ()) -> None:
        self.kind, self.line, self.end, self.text = kind, line, end, text
        self.regions = ((line - _NEAR, end + _NEAR), *uses)

    def at(self, line: int) -> bool:
        return any(lo <= line <= hi for lo, hi in self.regions)


def _points_at(diag: dict, name: str, m: Mutant) -> bool:
    """Does a note of the diagnostic name the edited lines as where a size it reports was chosen (``... (output
    channels of the `Conv2d` built at model.py:42)``, ``(joined along axis 2 by the `cat` at model.py:40)``,
    ``... is the `Linear` built at model.py:42``), or as the other party of what it reports, in the file it is
    reported in (``the `log_softmax` is at line 43`` of a loss that reads another axis)? A reader is sent there,
    as by a diagnostic on the line."""
    built = re.compile(rf"(?:built|joined(?: along axis -?\d+)? by the `\w+`) at (?:.*/)?{re.escape(name)}:(\d+)(?:\)|$)")
    here = re.compile(r"\bat line (\d+)\b")
    for note in diag.get("notes") or ():
        for hit in (*built.finditer(note), *here.finditer(note)):
            if m.line <= int(hit.group(1)) <= m.end:
                return True
    return False


def _not_code(text: str) -> list[tuple[int, int]]:
    """The character spans of the comments and string literals of ``text`` (commented-out code, a docstring's
    example): an edit there changes nothing that runs, so it seeds no bug."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.COMMENT, tokenize.STRING):
                spans.append((starts[tok.start[0] - 1] + tok.start[1], starts[tok.end[0] - 1] + tok.end[1]))
    except (tokenize.TokenError, SyntaxError, IndexError):
        return []
    return spans


def _regex(kind: str, pattern: str, repl: str, applies=lambda text: True):
    compiled = re.compile(pattern)

    def mutate(text: str, tree: ast.AST | None):
        if not applies(text):
            return
        not_code = None
        for m in compiled.finditer(text):
            not_code = _not_code(text) if not_code is None else not_code
            if any(lo <= m.start() < hi for lo, hi in not_code):
                continue
            line = text.count("\n", 0, m.start()) + 1
            end = line + m.group(0).count("\n")
            yield Mutant(kind, line, end, text[: m.start()] + m.expand(repl) + text[m.end():])

    return mutate


class _Source:
    """Character offsets of ``ast`` positions (which count UTF-8 bytes within a line)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for ln in self.lines:
            self.starts.append(self.starts[-1] + len(ln))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def swap(self, a: ast.AST, b: ast.AST) -> str:
        """The text with the source of ``a`` and ``b`` (``a`` before ``b``, disjoint) exchanged."""
        (a0, a1), (b0, b1) = self.span(a), self.span(b)
        t = self.text
        return t[:a0] + t[b0:b1] + t[a1:b0] + t[a0:a1] + t[b1:]


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _target_text(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        return f"{target.value.id}.{target.attr}"
    return None


def _call_sites(tree: ast.AST) -> dict[str, set[tuple[int, int]]]:
    """For each callee spelled as a name or ``obj.attr``, the line spans of the innermost functions
    that call it (of the call itself, two lines either side, at module level)."""
    innermost: dict[int, tuple[ast.Call, tuple[int, int] | None]] = {}
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:  # outer scopes come first, so inner ones overwrite
        span = (scope.lineno, scope.end_lineno) if scope is not tree else None
        for node in ast.walk(scope):
            if isinstance(node, ast.Call):
                innermost[id(node)] = (node, span)
    sites: dict[str, set[tuple[int, int]]] = collections.defaultdict(set)
    for call, span in innermost.values():
        name = _target_text(call.func)
        if name is not None:
            sites[name].add(span or (call.lineno - _NEAR, call.end_lineno + _NEAR))
    return sites


def _applied_layers(tree: ast.AST, names: set[str]):
    """``(call, spans)`` for each call ``nn.<name>(a, b, ...)`` whose layer is applied in the file: the
    statement holding it (directly or inside ``nn.Sequential``) assigns a name that is called (for
    ``self.<name>``, in a method of the same class); ``spans`` are the functions that call it, and the
    ``nn.Sequential`` call holding it, where the next layer meets its output."""
    sites = _call_sites(tree)
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        name = _target_text(target)
        if name is None or not isinstance(value, ast.Call) or not sites.get(name):
            continue
        spans = sites[name]
        if _callee(value) in names:
            layers = [value]
        elif _callee(value) == "Sequential":
            layers = [a for a in value.args if isinstance(a, ast.Call) and _callee(a) in names]
            spans = spans | {(value.lineno, value.end_lineno)}  # where the next layer meets the output
        else:
            continue
        if name.startswith("self."):  # the methods of the class that assigns it, not a namesake elsewhere
            owner = [c for c in classes if c.lineno <= stmt.lineno <= c.end_lineno]
            if owner:
                lo, hi = max((c.lineno, c.end_lineno) for c in owner)
                spans = {s for s in spans if lo <= s[0] <= hi}
        if not spans:
            continue
        for layer in layers:
            yield layer, tuple(sorted(spans))


def _size_swap(kind: str, layer_names: set[str]):
    def mutate(text: str, tree: ast.AST | None):
        if tree is None:
            return
        src = _Source(text)
        for call, uses in _applied_layers(tree, layer_names):
            if len(call.args) < 2 or any(isinstance(a, ast.Starred) for a in call.args[:2]):
                continue
            a, b = call.args[0], call.args[1]
            if ast.dump(a) == ast.dump(b):
                continue
            yield Mutant(kind, call.lineno, call.end_lineno, src.swap(a, b), uses)

    return mutate


def _einsum_swap(text: str, tree: ast.AST | None):
    if tree is None:
        return
    src = _Source(text)
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and _callee(call) == "einsum" and len(call.args) == 3):
            continue
        if isinstance(call.func, ast.Attribute) and ast.unparse(call.func.value) in _NOT_TORCH:
            continue
        spec, a, b = call.args
        if not (isinstance(spec, ast.Constant) and isinstance(spec.value, str)) or "->" not in spec.value:
            continue
        inputs = [s.replace(" ", "") for s in spec.value.split("->")[0].split(",")]
        if len(inputs) != 2 or inputs[0] == inputs[1] or any(isinstance(x, ast.Starred) for x in (a, b)):
            continue
        yield Mutant("einsum-swap", call.lineno, call.end_lineno, src.swap(a, b))


def _uses_conv2d(text: str) -> bool:
    return "Conv2d" in text


MUTATORS = [
    _regex("untransposed-key", r"(@\s*|matmul\([^,()]+,\s*)(\w+)\.transpose\((?:-2,\s*-1|-1,\s*-2|2,\s*3)\)", r"\1\2"),
    _regex("softmax-axis", rf"(softmax\(\s*{_SCORE_NAMES}(?:\.float\(\))?,\s*dim\s*=\s*)-1", r"\g<1>1"),
    _regex("softmax-axis", rf"(\b{_SCORE_NAMES}\.softmax\(\s*(?:dim\s*=\s*)?)-1\)", r"\g<1>1)"),
    _regex("softmax-dim0", rf"((?<!log_)softmax\(\s*{_SCORE_NAMES}(?:\.float\(\))?,\s*dim\s*=\s*)-1", r"\g<1>0"),
    _regex("softmax-dim0", rf"(\b{_SCORE_NAMES}\.softmax\(\s*(?:dim\s*=\s*)?)-1\)", r"\g<1>0)"),
    _regex("log-softmax-axis", r"(\blog_softmax\((?:(?:[^()\[\]]|\([^()]*\)|\[[^\[\]]*\])*?(?:,\s*|dim\s*=\s*))?)-1(\s*[,)])",
           r"\g<1>0\2"),
    _regex("merge-heads", r"\.transpose\(1,\s*2\)(\.contiguous\(\)\.(?:view|reshape)\()", r"\1"),
    _regex("cat-axis", r"(torch\.cat\(\s*[\[(][^\])]*[\])],\s*dim\s*=\s*)1\)", r"\g<1>2)", _uses_conv2d),
    _regex("permute-swap", r"permute\(0,\s*3,\s*1,\s*2\)", "permute(0, 3, 2, 1)"),
    _size_swap("linear-swap", {"Linear"}),
    _size_swap("conv-swap", {"Conv1d", "Conv2d"}),
    _einsum_swap,
]
KINDS = ["untransposed-key", "softmax-axis", "softmax-dim0", "log-softmax-axis", "merge-heads", "cat-axis",
         "permute-swap", "linear-swap", "conv-swap", "einsum-swap"]


def python_files(path: Path, skip: bool = True) -> list[Path]:
    """The Python files under ``path``; without the test, docs and build folders unless ``skip`` is False."""
    if path.is_file():
        return [path] if path.suffix == ".py" else []
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if (d not in _SKIP_DIRS or not skip) and not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return out


def _foreign_packages() -> str:
    """The packages of the linter (``shapecheck``, its rules and its plugin) that the ``check`` runs would import
    from outside this checkout, as a list; empty when all come from here."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    code = ("import shapecheck, shapecheck.rules, shapecheck.plugin as p; "
            "print(shapecheck.__file__, shapecheck.rules.__file__, p.__file__)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    names = ("shapecheck", "shapecheck.rules", "shapecheck.plugin")
    return ", ".join(n for n, f in zip(names, proc.stdout.split()) if not Path(f).resolve().is_relative_to(ROOT))


def lint(paths: list[Path]) -> dict[str, list[dict]] | None:
    """Diagnostics per file path of one ``check`` run over ``paths``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run([sys.executable, "-m", "shapecheck", "check", "--format", "json", "--no-cache",
                               "--isolated", "--exit-zero", "-j", "1", *map(str, paths)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        diags = json.loads(proc.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    out: dict[str, list[dict]] = {str(p): [] for p in paths}
    for d in diags:
        out.setdefault(str(Path(d["path"]).resolve()), []).append(d)
    return {str(p): out.get(str(p.resolve()), []) for p in paths}


def _copy_sources(repo: Path, dest: Path) -> Path:
    """A copy of the Python files of ``repo`` (the files ``--in-project`` mutants import and sit beside)."""
    for f in python_files(repo, skip=False):
        out = dest / f.relative_to(repo)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(f.read_bytes())
    return dest


def mutants(text: str, kinds: set[str] | None = None):
    """Every site of every mutator (of ``kinds``, when given), in file order within a kind."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        tree = None
    for mutate in MUTATORS:
        for m in mutate(text, tree):
            if kinds is None or m.kind in kinds:
                yield m


def _table(title: str, made, seen, noisy) -> None:
    print(title)
    print(f"{'mutator':<18} {'mutants':>8} {'seen':>6} {'seen %':>7} {'elsewhere':>10}")
    for kind in [k for k in KINDS if made[k]]:
        pct = 100.0 * seen[kind] / made[kind]
        print(f"{kind:<18} {made[kind]:>8} {seen[kind]:>6} {pct:>6.0f}% {noisy[kind]:>10}")
    total, total_seen = sum(made.values()), sum(seen.values())
    pct = 100.0 * total_seen / total if total else 0.0
    print(f"{'total':<18} {total:>8} {total_seen:>6} {pct:>6.0f}% {sum(noisy.values()):>10}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--max-per-kind", type=int, default=10, help="mutants per kind and repository (default 10)")
    ap.add_argument("--kind", action="append", choices=KINDS, help="only this kind (repeatable)")
    ap.add_argument("--by-repo", action="store_true", help="print a table per repository")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write every mutant and its outcome to FILE")
    ap.add_argument("--show", action="store_true", help="list every mutant and what was reported")
    ap.add_argument("--in-project", action="store_true",
                    help="lint each mutant beside its file in a copy of its repository, not alone")
    args = ap.parse_args(argv)
    if args.paths:
        paths = args.paths
    elif DEFAULT_DIR.is_dir():
        paths = sorted(p for p in DEFAULT_DIR.iterdir() if p.is_dir())
    else:
        print(f"no code: pass paths, or put repositories under {DEFAULT_DIR}", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"no such file or directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    kinds = set(args.kind) if args.kind else None
    foreign = _foreign_packages()
    if foreign:
        print(f"warning: the linter run here imports {foreign} from outside {ROOT} (an editable install of another "
              "checkout): the figures are not this checkout's", file=sys.stderr)

    made = collections.Counter()
    seen = collections.Counter()
    noisy = collections.Counter()  # new diagnostics only away from the edit
    per_repo: dict[str, tuple] = {}
    records = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shapecheck-mutants-") as tmp:
        for n_repo, repo in enumerate(paths):
            repo_name = repo.name if repo.is_dir() else str(repo)
            project = _copy_sources(repo, Path(tmp) / f"project{n_repo}") if args.in_project and repo.is_dir() else None
            r_made, r_seen, r_noisy = collections.Counter(), collections.Counter(), collections.Counter()
            per_repo[repo_name] = (r_made, r_seen, r_noisy)
            taken = collections.Counter()
            for f in python_files(repo):
                try:
                    text = f.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                sites = []
                for m in mutants(text, kinds):
                    if taken[m.kind] < args.max_per_kind:
                        taken[m.kind] += 1
                        sites.append(m)
                if not sites:
                    continue
                # the unmutated file and each mutant, each alone in its own directory, in one run
                targets = []
                for i in range(len(sites) + 1):
                    if project is not None:  # beside the file, in the copy of its repository
                        target = project / f.relative_to(repo).parent / f"{f.stem}__mutant{i}.py"
                    else:
                        d = Path(tmp) / f"m{i}"
                        d.mkdir(exist_ok=True)
                        target = d / f.name
                    target.write_text(text if i == 0 else sites[i - 1].text, encoding="utf-8")
                    targets.append(target)
                results = lint(targets)
                for target in targets:
                    target.unlink()
                if results is None:
                    continue
                base_keys = collections.Counter((d["code"], d["message"]) for d in results[str(targets[0])])
                for m, target in zip(sites, targets[1:]):
                    remaining = base_keys.copy()
                    new = []
                    for d in results[str(target)]:
                        key = (d["code"], d["message"])
                        if remaining[key] > 0:
                            remaining[key] -= 1
                        else:
                            new.append(d)
                    near = [d for d in new if m.at(d["line"]) or _points_at(d, target.name, m)]
                    away = [d for d in new if d not in near]
                    for counters in ((made, seen, noisy), (r_made, r_seen, r_noisy)):
                        counters[0][m.kind] += 1
                        counters[1][m.kind] += bool(near)
                        counters[2][m.kind] += bool(away) and not near
                    rel = f.relative_to(repo) if repo.is_dir() else f
                    records.append({
                        "repo": repo_name, "file": str(rel), "line": m.line, "kind": m.kind,
                        "seen": bool(near), "codes": [d["code"] for d in near],
                        "elsewhere": [f"{d['line']}:{d['code']}" for d in away], "regions": [list(r) for r in m.regions],
                        "messages": [f"{d['line']} {d['code']} {d['message']}" for d in near or away],
                    })
    wall = time.perf_counter() - start

    where = "each in a copy of its repository" if args.in_project else "each file alone"
    _table(f"mutants of real code ({len(paths)} paths, {where}, {wall:.0f} s)", made, seen, noisy)
    if args.by_repo:
        print()
        print(f"{'repository':<40} {'mutants':>8} {'seen':>6} {'seen %':>7} {'elsewhere':>10}  kinds seen/made")
        for name, (r_made, r_seen, r_noisy) in per_repo.items():
            total = sum(r_made.values())
            pct = 100.0 * sum(r_seen.values()) / total if total else 0.0
            detail = " ".join(f"{k}={r_seen[k]}/{r_made[k]}" for k in KINDS if r_made[k])
            print(f"{name[:40]:<40} {total:>8} {sum(r_seen.values()):>6} {pct:>6.0f}% "
                  f"{sum(r_noisy.values()):>10}  {detail}")
    if args.json:
        args.json.write_text(json.dumps({"paths": [str(p) for p in paths], "max_per_kind": args.max_per_kind,
                                         "mutants": records}, indent=1) + "\n", encoding="utf-8")
    if args.show:
        print()
        for r in records:
            what = "; ".join(msg[:100] for msg in r["messages"]) or "-"
            print(f"[{r['kind']}] {r['repo']}/{r['file']}:{r['line']}: {'seen' if r['seen'] else 'missed'}: {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
