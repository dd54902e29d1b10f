"""The core: what every face of shapecheck shares, and nothing that belongs to one face.

Shape algebra (``_algebra``), shapes (``_shape``), the dimension-string parser (``_parse``),
unification and matching against annotations (``_unify``), annotation reading (``_annot``), the
analysis settings (``_settings``), diagnostics (``_diag``) and the operator shape rules (``_ops``).
The core imports no face: not the engine, the linter, the plugin, the lint rules or the runtime.
"""
