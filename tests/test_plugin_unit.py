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


@pytest.mark.parametrize("version", ["1.17.1", "1.9.0", "0.991"])
def test_old_mypy_is_refused_with_a_clear_message(version, capsys):
    with pytest.raises(SystemExit) as exit_:
        plugin(version)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert re.search(r"needs mypy >= 1\.18.*upgrade mypy", err), err
    with pytest.raises(UnsupportedMypy):
        check_version(version)


@pytest.mark.parametrize("version,expected", [("1.18.0", (1, 18)), ("2.4.1+dev.abc", (2, 4)), ("2.0", (2, 0))])
def test_versions_parse(version, expected):
    assert parse_version(version) == expected
    assert parse_version(version) >= MIN_MYPY


def test_config_data_names_the_version_and_sources():
    from mypy.options import Options

    import shapecheck

    p = plugin("2.4.1")(Options())
    data = p.report_config_data(None)
    assert data["shapecheck"] == shapecheck.__version__
    assert len(data["sources"]) == 16


def test_error_codes_start_with_shape():
    from shapecheck.plugin import _report

    codes = [v.code for k, v in vars(_report).items() if k.startswith("SHAPE_")]
    assert codes and all(c.startswith("shape-") for c in codes)
    assert {"shape-mismatch", "shape-rank", "shape-annotation", "shape-internal"} <= set(codes)


def test_cache_digest_only_for_user_modules():
    """Installed packages (torch) keep their cache when the plugin's sources change."""
    from mypy.options import Options
    from shapecheck.plugin._session import Session

    s = Session.from_options(Options())
    torch_data = s.config_data("1", "/usr/lib/python3.11/site-packages/torch/__init__.pyi")
    user_data = s.config_data("1", "model.py")
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
    _compat.apply_disabled_codes(options, _report.CODES)
    assert _report.SHAPE_RANK in options.disabled_error_codes
    assert _report.SHAPE_MISMATCH not in options.disabled_error_codes
