"""The plugin's entry point and version gate, without running mypy."""

from __future__ import annotations

import pytest

pytest.importorskip("mypy")

from shapecheck.plugin import MIN_MYPY, UnsupportedMypy, plugin
from shapecheck.plugin._compat import parse_version


def test_current_mypy_gets_the_plugin_class():
    import mypy.version
    from mypy.plugin import Plugin

    cls = plugin(mypy.version.__version__)
    assert issubclass(cls, Plugin)


@pytest.mark.parametrize("version", ["1.17.1", "1.9.0", "0.991"])
def test_old_mypy_is_refused_with_a_clear_message(version):
    with pytest.raises(UnsupportedMypy, match=r"needs mypy >= 1\.18.*upgrade mypy"):
        plugin(version)


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
