"""The mypy ``Plugin`` subclass: it only dispatches, to the post-pass and the cache configuration."""

from __future__ import annotations

from typing import Any

from mypy.nodes import MypyFile
from mypy.options import Options
from mypy.plugin import Plugin, ReportConfigContext

from . import _compat, _session


class ShapecheckPlugin(Plugin):
    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._session = _session.Session(options)
        if _compat.disables_shape_codes(options):
            self._session.table  # the codes exist before mypy reads `disable_error_code`

    def set_modules(self, modules: dict) -> None:
        super().set_modules(modules)
        self._session.set_build(modules)

    def report_config_data(self, ctx: ReportConfigContext) -> Any:
        return self._session.config_data(getattr(ctx, "id", None), getattr(ctx, "path", None))

    def get_additional_indirect_deps(self, file: MypyFile) -> set[str]:
        """mypy's call after a module is type-checked: the engine's post-pass (``_session``)."""
        return self._session.after_check(file)
