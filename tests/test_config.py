"""``[tool.shapecheck]`` in pyproject.toml: discovery, keys, and errors that say what to fix."""

from __future__ import annotations

import os

import pytest

from _cli_support import BAD, BAD_LINE, CLEAN, codes, shapecheck, write
from _lanes import fast_sample

from shapecheck._lint._config import ConfigError, load_config


def _project(tmp_path, table: str, files=None):
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'demo'\n\n[tool.shapecheck]\n" + table,
                     **(files or {"m.py": BAD})})


@pytest.mark.parametrize("table, needle", fast_sample([
    ('selec = ["SHP1"]\n', "unknown key `selec` (did you mean `select`?)"),
    ('per_file_ignores = {}\n', "did you mean `per-file-ignores`?"),
    ('select = "SHP101"\n', "expected a list of strings, got the string 'SHP101'"),
    ('ignore = [101]\n', "expected a list of strings"),
    ('select = ["SHP999"]\n', "`SHP999` is not a shapecheck code"),
    ('ignore = ["contraction-mismatc"]\n', "did you mean `contraction-mismatch`?"),
    ('per-file-ignores = ["tests/*"]\n', "expected a table of glob = [codes]"),
    ('per-file-ignores = {"tests/*" = ["SHP9x"]}\n', "`SHP9x` is not a shapecheck code"),
    ('axis-aliases = {seq = 3}\n', "expected an axis name"),
    ('exclude = "build"\n', "expected a list of strings"),
    ('select = [\n', "invalid TOML"),
], keep=3))
def test_bad_config_is_a_clear_error(tmp_path, table, needle):
    _project(tmp_path, table)
    r = shapecheck("check", cwd=tmp_path)
    assert r.code == 2, (r.out, r.err)
    assert needle in r.err, r.err
    assert "pyproject.toml" in r.err
    assert "Traceback" not in r.err and r.out == ""


def test_select_and_ignore_from_config(tmp_path):
    _project(tmp_path, 'ignore = ["annotation-syntax"]\n')
    assert shapecheck("check", cwd=tmp_path).code == 0
    _project(tmp_path, 'select = ["SHP1"]\n')
    assert shapecheck("check", cwd=tmp_path).code == 0
    _project(tmp_path, 'select = ["SHP1"]\nextend-select = ["SHP001"]\n')
    assert shapecheck("check", cwd=tmp_path).code == 1
    # the command line's --select replaces the file's
    _project(tmp_path, 'select = ["SHP1"]\n')
    assert shapecheck("check", "--select", "SHP0", cwd=tmp_path).code == 1


def test_per_file_ignores(tmp_path):
    _project(tmp_path, '[tool.shapecheck.per-file-ignores]\n"tests/**" = ["SHP001"]\n"gen_*.py" = ["SHP0"]\n',
             {"tests/unit/t.py": BAD, "src/gen_x.py": BAD, "src/m.py": BAD})
    r = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert codes(r) == [(os.path.join("src", "m.py"), BAD_LINE, "SHP001")]


def test_exclude_replaces_and_extend_exclude_adds(tmp_path):
    _project(tmp_path, 'extend-exclude = ["vendored/", "/scripts/*.py"]\n',
             {"vendored/v.py": BAD, "scripts/s.py": BAD, "pkg/scripts/s.py": BAD, "build/b.py": BAD})
    r = shapecheck("check", "--format", "json", cwd=tmp_path)
    assert [p for p, _, _ in codes(r)] == [os.path.join("pkg", "scripts", "s.py")]
    _project(tmp_path, 'exclude = ["vendored"]\n',
             {"vendored/v.py": BAD, "build/b.py": BAD})
    r = shapecheck("check", "--format", "json", cwd=tmp_path)
    # exclude replaces the defaults, so build/ is checked now
    assert os.path.join("build", "b.py") in [p for p, _, _ in codes(r)]
    assert os.path.join("vendored", "v.py") not in [p for p, _, _ in codes(r)]


def test_nearest_pyproject_from_a_subdirectory(tmp_path):
    _project(tmp_path, 'ignore = ["SHP001"]\n', {"pkg/sub/m.py": BAD})
    write(tmp_path, {"pkg/pyproject.toml": "[project]\nname = 'inner'\n"})  # no [tool.shapecheck]: skipped
    assert shapecheck("check", cwd=tmp_path / "pkg" / "sub").code == 0
    assert shapecheck("check", "pkg", cwd=tmp_path).code == 0


def test_config_option_and_isolated(tmp_path):
    write(tmp_path, {"m.py": BAD, "pyproject.toml": '[tool.shapecheck]\nignore = ["SHP001"]\n',
                     "ci/strict.toml": 'select = ["SHP0"]\n'})
    assert shapecheck("check", cwd=tmp_path).code == 0
    assert shapecheck("check", "--isolated", cwd=tmp_path).code == 1
    assert shapecheck("check", "--config", "ci/strict.toml", cwd=tmp_path).code == 1
    r = shapecheck("check", "--config", "nope.toml", cwd=tmp_path)
    assert r.code == 2 and "no such file" in r.err


def test_domain_keys_reach_settings(tmp_path):
    write(tmp_path, {"pyproject.toml": (
        '[tool.shapecheck]\nshape-modules = ["myproj.typing"]\ntensor-types = ["myproj.T"]\n'
        '[tool.shapecheck.axis-aliases]\nseq_len = "seq"\n')})
    cfg = load_config(str(tmp_path))
    assert cfg.root == str(tmp_path)
    assert cfg.settings.shape_modules == ("myproj.typing",)
    assert cfg.settings.tensor_types == ("myproj.T",)
    assert cfg.settings.axis_aliases == (("seq_len", "seq"),)
    assert "build" in cfg.settings.exclude


def test_load_config_raises_config_error(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.shapecheck]\nselect = ["nonsense-rule"]\n'})
    with pytest.raises(ConfigError, match="nonsense-rule"):
        load_config(str(tmp_path))


def test_clean_with_config(tmp_path):
    _project(tmp_path, 'select = ["SHP"]\n', {"m.py": CLEAN})
    assert shapecheck("check", cwd=tmp_path).code == 0
