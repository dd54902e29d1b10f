"""``shapecheck trace`` and ``shapecheck annotate``: shapes from one real run, written back as
jaxtyping annotations. See docs/annotate.md.

``_recorder`` runs inside the traced command; ``_trace`` starts it and writes the shapes file
(``_shapesfile``); ``_static`` reads the source with ``ast``; ``_naming`` chooses dtypes and axis
names; ``_writer`` inserts them with libcst; ``_command`` is the command line of both.
"""
