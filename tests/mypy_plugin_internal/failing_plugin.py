"""shapecheck's plugin whose analysis fails on one module, to test that a failure never crashes mypy.

The failure is raised inside the plugin's own analysis of ``explodes.py``, exactly where a bug of the
engine would raise.
"""

from shapecheck.plugin import plugin as _shapecheck_plugin


def plugin(version: str):
    base = _shapecheck_plugin(version)

    class FailingPlugin(base):
        def __init__(self, options):
            super().__init__(options)
            analyse = self._session.analyse

            def failing(module, path):
                if module == "explodes":
                    return 1 // 0
                return analyse(module, path)

            self._session.analyse = failing

    return FailingPlugin
