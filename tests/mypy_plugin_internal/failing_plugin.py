"""shapecheck's plugin with one hook that fails, to test that a failure never crashes mypy.

The hook for ``explode`` goes through the plugin's own guard, exactly as every real hook does.
"""

from shapecheck.plugin import plugin as _shapecheck_plugin


def plugin(version: str):
    base = _shapecheck_plugin(version)

    class FailingPlugin(base):
        def get_function_hook(self, fullname: str):
            if fullname == "explodes.explode":
                return self._guard(lambda ctx: 1 // 0, "`explode`")
            return super().get_function_hook(fullname)

    return FailingPlugin
