"""The linter's plumbing (``shapecheck check``): command line, configuration, file discovery,
cache, parallel runner, suppressions, fixes, output, and the driver that runs the engine over one
file (``_driver.check_source``)."""

from ._driver import check_source

__all__ = ["check_source"]
