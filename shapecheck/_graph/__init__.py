"""``shapecheck graph``: a function's or a module's named-axis dataflow as a diagram.

The engine analyses the function as the linter does, with an observer (``_record.Recorder``) that
sees every operation it applies; ``_dataflow`` turns what it saw and the function's ``ast`` into a
graph (ops as nodes, tensors as edges labelled with their shapes); ``_render`` writes it as
Graphviz ``dot``, Mermaid, or (through the ``graphviz`` binding and the ``dot`` program) SVG/PNG.
"""
