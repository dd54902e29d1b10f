"""The plugin's entry point and version gate, without running mypy."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("mypy")

from shapecheck.plugin import MIN_MYPY, UnsupportedMypy, plugin
from shapecheck.plugin._compat import check_version
from shapecheck.plugin._compat import parse_version


def test_current_mypy_gets_the_plugin_class():
    import mypy.version
    from mypy.plugin import Plugin

    cls = plugin(mypy.version.__version__)
    assert issubclass(cls, Plugin)


@pytest.mark.parametrize("version", ["2.3.1", "1.18.2", "0.991"])
def test_old_mypy_is_refused_with_a_clear_message(version, capsys):
    with pytest.raises(SystemExit) as exit_:
        plugin(version)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert re.search(r"needs mypy >= 2\.4.*upgrade mypy", err), err
    with pytest.raises(UnsupportedMypy):
        check_version(version)


@pytest.mark.parametrize("version,expected", [("2.4.0", (2, 4)), ("2.4.1+dev.abc", (2, 4)), ("3.0", (3, 0))])
def test_versions_parse(version, expected):
    assert parse_version(version) == expected
    assert parse_version(version) >= MIN_MYPY


def test_config_data_names_the_version_sources_and_interface(tmp_path):
    from mypy.options import Options
    from mypy.plugin import ReportConfigContext

    import shapecheck

    m = tmp_path / "m.py"
    head = "from jaxtyping import Float\nfrom torch import Tensor\n\n"
    m.write_text(head + 'def f(x: Float[Tensor, "n"]) -> Float[Tensor, "n"]:\n    return x\n')
    cache = tmp_path / "cache"

    def config_data():  # one build each: within a build, files do not change
        options = Options()
        options.cache_dir = str(cache)
        return plugin("2.4.1")(options).report_config_data(ReportConfigContext("m", str(m), True))

    data = config_data()
    assert data["shapecheck"] == shapecheck.__version__
    assert len(data["sources"]) == 16
    # the interface changes with a signature, not with a body the engine does not read from elsewhere
    m.write_text(head + 'def f(x: Float[Tensor, "n"]) -> Float[Tensor, "n"]:\n    return x * 2\n')
    assert config_data() == data
    m.write_text(head + 'def f(x: Float[Tensor, "n"]) -> Float[Tensor, "m"]:\n    return x * 2\n')
    assert config_data()["interface"] != data["interface"]
    assert (cache / "shapecheck-interfaces.tsv").read_text().count(str(m)) == 3  # remembered for the next run


def test_every_linter_code_has_a_mypy_code_under_its_family():
    from shapecheck._core._diag import CODES
    from shapecheck.plugin import _report

    table = _report.CodeTable()
    codes = [c.code for c in table.codes()]
    assert all(c.startswith("shape-") for c in codes) and len(codes) == len(set(codes))
    assert table.mypy_code("SHP101").code == "shape-contraction-mismatch"
    assert table.mypy_code("SHP101").sub_code_of is _report.SHAPE_MISMATCH
    assert table.mypy_code("SHP104").sub_code_of is _report.SHAPE_RANK
    assert table.mypy_code("SHP001").sub_code_of is _report.SHAPE_ANNOTATION
    assert table.mypy_code("SHP201").code == "shape-untransposed-attention-key"
    assert table.mypy_code("SHP201").sub_code_of is _report.SHAPE_RULE
    assert table.mypy_code("SHP900") is _report.SHAPE_INTERNAL
    assert table.mypy_code("SHP901") is None  # a file mypy cannot parse: mypy says so itself
    assert table.mypy_code("SHP499") is _report.SHAPE_RULE  # a later rule falls into its family
    assert {c for c in CODES if c not in _report.NOT_REPORTED} <= set(table.by_code)


def test_cache_digest_only_for_user_modules():
    """Installed packages (torch) keep their cache when the plugin's sources change."""
    from mypy.options import Options
    from shapecheck.plugin._session import Session

    s = Session(Options())
    torch_data = s.config_data("torch", "/usr/lib/python3.11/site-packages/torch/__init__.pyi")
    user_data = s.config_data("model", "model.py")
    assert "sources" not in torch_data and user_data["sources"] == s.digest
    assert torch_data["shapecheck"] == user_data["shapecheck"]


@pytest.mark.parametrize("name,text", [
    ("mypy.ini", "[mypy]\nplugins = shapecheck.plugin\ndisable_error_code = shape-rank, misc\n"),
    ("pyproject.toml", '[tool.mypy]\nplugins = ["shapecheck.plugin"]\ndisable_error_code = ["shape-rank"]\n'),
])
def test_disabled_codes_are_read_from_the_config_file(tmp_path, name, text):
    from mypy.options import Options
    from shapecheck.plugin import _compat, _report

    cfg = tmp_path / name
    cfg.write_text(text)
    options = Options()
    options.config_file = str(cfg)
    _compat.apply_disabled_codes(options, _report.CodeTable().codes())
    assert _report.SHAPE_RANK in options.disabled_error_codes
    assert _report.SHAPE_MISMATCH not in options.disabled_error_codes
