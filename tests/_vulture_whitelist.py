"""Names that vulture cannot see used, each with why (read by tests/test_dead_code.py).

Only legitimate dynamic uses belong here: protocols called by a framework, names read by generated
code, parameters a signature must have. Dead code is deleted, not listed.
"""

# ruff: noqa
# fmt: off

# shape rules mirror PyTorch's signatures: every parameter must be there for arguments to bind,
# even those that do not change the result's shape
align_corners
alpha
antialias
beta
compute_mode
count_include_pad
diagonal
divisor_override
dropout_p
eps
fill_value
ignore_index
is_causal
key_padding_mask
label_smoothing
largest
memory_is_causal
memory_key_padding_mask
memory_mask
mode
recompute_scale_factor
scale
src_is_causal
src_key_padding_mask
src_mask
tgt_is_causal
tgt_key_padding_mask
tgt_mask

# read by tests/test_op_examples.py through getattr: an op rule that never rejects a call
never_fails

# mypy's Plugin protocol, called by mypy
report_config_data
get_type_analyze_hook
get_function_hook
get_method_signature_hook
get_method_hook
get_attribute_hook
get_function_signature_hook
get_class_decorator_hook
get_base_class_hook
get_dynamic_class_hook
get_customize_class_mro_hook
get_additional_deps
get_additional_indirect_deps

# ast.NodeTransformer / NodeVisitor protocol
generic_visit

# libcst's transformer protocol (shapecheck/_annotate/_writer.py), called by libcst
leave_ClassDef
leave_FunctionDef

# module attributes the import system reads (shapecheck/_annotate/_recorder.py runs a script as __main__)
__spec__
__loader__
__package__

# isinstance() protocol of a class's metaclass (the runtime's array-type checks)
__instancecheck__

# read by the runtime's generated wrappers (``S.fast`` in shapecheck/_runtime/_codegen.py)
fast

# module __getattr__ (PEP 562): shapecheck.guard and the other runtime names load lazily
__getattr__

# the engine's statement handlers, dispatched by name from _engine/_statements._HANDLERS
stmt_assign
stmt_annassign
stmt_augassign
stmt_expr
stmt_return
stmt_if
stmt_for
stmt_while
stmt_with
stmt_try
stmt_match
stmt_assert
stmt_raise
stmt_def
stmt_class
stmt_delete
stmt_import

# lint rules: class attributes read by the rule loader and the generated tests
VALID
INVALID

# pytest reads these by name
pytestmark

# trace: the attributes of the __main__ module the recorder runs a script as (read by the import system)
__spec__
__loader__
__package__

# annotate: libcst calls a transformer's leave_<Node> methods by name
leave_ClassDef
leave_FunctionDef
