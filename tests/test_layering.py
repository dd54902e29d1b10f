"""The layering of the package: one core, the engine on it, and the faces (linter, plugin, lint rules,
runtime) on top. An import scan (ast, nothing executed) keeps each layer to what it may use."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# installed name -> folder in the repository
PACKAGES = {"shapecheck": ROOT / "shapecheck", "shapecheck.plugin": ROOT / "plugin",
            "shapecheck.rules": ROOT / "rules"}

CORE = "shapecheck._core"
ENGINE = "shapecheck._engine"
LINT = "shapecheck._lint"
RUNTIME = "shapecheck._runtime"
PLUGIN = "shapecheck.plugin"
RULES = "shapecheck.rules"
ANNOTATE = "shapecheck._annotate"


def _modules():
    """(module name, path, is package) for every Python file of the installed packages."""
    for pkg, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts]
            if pkg == "shapecheck" and parts[0] in ("plugin", "rules"):
                continue
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            yield ".".join([pkg] + parts), path, is_pkg


def imports_of(name: str, path: Path, is_pkg: bool) -> set:
    """Every module ``path`` imports, at any depth of the file, relative imports resolved."""
    out = set()
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from . import _interp` imports a module
    return out


MODULES = list(_modules())


def _under(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def _violations(layer: str, forbidden) -> list:
    bad = []
    for name, path, is_pkg in MODULES:
        if not _under(name, layer):
            continue
        for mod in imports_of(name, path, is_pkg):
            if any(f(mod) if callable(f) else _under(mod, f) for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    return sorted(set(bad))


def test_the_scan_sees_the_layers():
    names = {n for n, _, _ in MODULES}
    for layer in (CORE, ENGINE, LINT, RUNTIME, PLUGIN, RULES):
        assert layer in names
    assert "shapecheck._engine._walk" in imports_of("shapecheck._engine", *[(p, k) for n, p, k in MODULES
                                                                              if n == "shapecheck._engine"][0])


@pytest.mark.parametrize("layer, forbidden", [
    (CORE, [ENGINE, LINT, PLUGIN, RULES, RUNTIME, ANNOTATE]),
    (ENGINE, [LINT, PLUGIN, RULES, RUNTIME, ANNOTATE]),
    (LINT, [PLUGIN, RUNTIME]),
    # the plugin delivers the linter's analysis: one file through the linter's pipeline
    # (_lint._runner.lint_text, which runs the engine and the lint rules), never the command line
    (PLUGIN, [LINT + "._cli", LINT + "._check", LINT + "._output", LINT + "._watch", RULES, RUNTIME, ANNOTATE]),
    (RULES, [LINT, PLUGIN, RUNTIME]),
    (RUNTIME, [ENGINE, LINT, PLUGIN, RULES, "mypy"]),  # the runtime needs no mypy
])
def test_a_layer_imports_only_what_is_below_it(layer, forbidden):
    assert _violations(layer, forbidden) == []


def test_the_scan_would_catch_a_face_imported_by_the_core(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from .._engine import FunctionAnalysis\nimport mypy.nodes\n")
    found = imports_of("shapecheck._core._m", f, False)
    assert "shapecheck._engine" in found and "mypy.nodes" in found


def test_import_shapecheck_loads_no_torch_and_no_mypy():
    code = ("import json, sys, shapecheck; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mypy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_result_cache_stamp_covers_every_folder_of_the_analysis(tmp_path):
    """On a copy of the analysis code (the installed package is never written: other tests import it
    in parallel): a change of text in any folder changes the stamp; a new modification time does not."""
    import os
    import shutil

    import shapecheck
    import shapecheck.rules as rules_pkg
    from shapecheck._lint._check import _engine_stamp

    pkg = Path(shapecheck.__file__).parent
    copy = tmp_path / "shapecheck"
    for sub in ("", "_core", "_core/_ops", "_engine", "_lint"):
        (copy / sub).mkdir(parents=True, exist_ok=True)
        for f in (pkg / sub).glob("*.py"):
            shutil.copy2(f, copy / sub / f.name)
    shutil.copytree(Path(list(rules_pkg.__path__)[0]), copy / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    assert _engine_stamp(str(copy)) == _engine_stamp(str(copy))
    for sub in ("_core", "_core/_ops", "_engine", "_lint", "rules"):
        f = copy / sub / "__init__.py"
        st = f.stat()
        text = f.read_bytes()
        before = _engine_stamp(str(copy))
        f.write_bytes(text + b"\n# a change to the analysis code\n")
        assert _engine_stamp(str(copy)) != before, sub
        f.write_bytes(text)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        assert _engine_stamp(str(copy)) == before, sub  # the text decides, not the modification time


def test_the_plugin_cache_version_covers_every_folder_of_the_analysis():
    """mypy's cache of a module is stale when any source that decides its findings changes."""
    pytest.importorskip("mypy")
    import os

    import shapecheck
    from shapecheck.plugin import _session

    pkg = Path(shapecheck.__file__).parent
    before = _session._source_digest()
    for sub in ("_core", "_core/_ops", "_engine", "_lint"):
        f = pkg / sub / "__init__.py"
        st = f.stat()
        try:
            os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
            assert _session._source_digest() != before, sub
        finally:
            os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _session._source_digest() == before
