"""The documentation of the core's own codes (SHP0xx, SHP1xx, SHP9xx): what `shapecheck explain`
prints and `docs/rules.md` holds.

Every page has the sections of a lint rule's docstring: *What it does*, *Why is this bad?*,
*Example*, *Use instead* (and *Known problems* where they exist). The examples are whole modules
and they are tests (``tests/test_code_docs.py``): each *Example* makes the linter report the code,
each *Use instead* makes it report nothing, so a page cannot drift from what the linter does.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CodeDoc", "CODE_DOCS", "render"]


@dataclass(frozen=True)
class CodeDoc:
    what: str
    why: str
    example: str  # a whole module that reports the code ("" where no source can, see ``example_text``)
    use_instead: str  # the same module corrected: nothing is reported
    known_problems: str = ""
    example_text: str = ""  # for a code no correct linter reports on purpose (SHP900): what it looks like
    use_instead_text: str = ""  # ... and what to do instead


def render(doc: CodeDoc) -> str:
    """The page's fixed sections (Markdown); the code, its name and summary are printed above them."""
    out = ["## What it does", doc.what.strip(), "", "## Why is this bad?", doc.why.strip(), "", "## Example"]
    if doc.example:
        out += ["```python", doc.example.strip("\n"), "```"]
    else:
        out += [doc.example_text.strip()]
    out += ["", "## Use instead"]
    out += ["```python", doc.use_instead.strip("\n"), "```"] if doc.use_instead else [doc.use_instead_text.strip()]
    if doc.known_problems:
        out += ["", "## Known problems", doc.known_problems.strip()]
    return "\n".join(out) + "\n"


CODE_DOCS: dict[str, CodeDoc] = {}

# -- SHP0xx: annotations and suppressions -------------------------------------------------------------

CODE_DOCS["SHP001"] = CodeDoc(
    what="""
Checks every jaxtyping dimension string (the second item of `Float[Tensor, "..."]` and of the other
dtypes, also inside string annotations) against jaxtyping's grammar: axes separated by spaces, at
most one variadic axis (`*batch` or `...`), `#name` for a broadcastable axis, `_` for an anonymous
one, `name=4`, arithmetic such as `n+1` or `2*d`, and `""` for a scalar. The message quotes the bad
token and shows a valid spelling: a comma-separated string gets the same axes separated by spaces,
an einops group `(h p)` gets the product `h*p`.
""",
    why="""
jaxtyping parses the string only when the annotation is checked at run time, so a typo sits unseen
until a test or a training run hits it, and a string jaxtyping cannot read checks nothing at all.
shapecheck's own checks read the same strings: a malformed one also leaves the function's shapes
unknown to the linter and the mypy plugin.
""",
    example='''
from jaxtyping import Float
from torch import Tensor


def patchify(x: Float[Tensor, "batch, channels, height, width"]):
    return x
''',
    use_instead='''
from jaxtyping import Float
from torch import Tensor


def patchify(x: Float[Tensor, "batch channels height width"]):
    return x
''',
    known_problems="""
Only strings given to a jaxtyping dtype (or to one re-exported by a module named in
`shape-modules`) are checked; a dimension string built at run time (an f-string, a variable) is not.
""",
)

CODE_DOCS["SHP002"] = CodeDoc(
    what="""
Off by default: select it with `--select SHP002`, `--extend-select SHP002` or
`extend-select = ["SHP002"]` in `[tool.shapecheck]` (a prefix such as `SHP0` or `ALL` does not
select it). Flags a one-axis dimension string such as `"batch"` in an annotation when pyflakes (and
ruff's F821) would report it as an undefined name: pyflakes reads a string inside an annotation as
a forward reference, and `batch` is bound in no scope the annotation sees (the module, the enclosing
functions, the class body for a method's annotations, the builtins). A string whose name does
resolve, a string outside an annotation, and a line that carries `# noqa: F821` (or a bare
`# noqa`) are not reported, since the other tool reports nothing there. The fix inserts a leading
space: `" batch"` is the same one-axis shape to jaxtyping and is no longer a valid name.
""",
    why="""
For a project that runs pyflakes, flake8 or ruff, every such string is an F821 "undefined name"
error in its CI, and the usual remedy, a `# noqa: F821`, also hides real undefined names on that
line. Projects that run none of these tools can leave this code off.
""",
    example='''
from jaxtyping import Float
from torch import Tensor


def normalize(x: Float[Tensor, "features"]) -> Float[Tensor, "features"]:
    return x / x.norm()
''',
    use_instead='''
from jaxtyping import Float
from torch import Tensor


def normalize(x: Float[Tensor, " features"]) -> Float[Tensor, " features"]:
    return x / x.norm()
''',
    known_problems="""
The scope resolver is simpler than pyflakes': a name deleted with `del`, or bound only in an
`except ... as` clause, still counts as bound, so such a line may get F821 from pyflakes and no
SHP002. Strings in `typing.cast(...)` and other annotation-like call arguments are not examined.
""",
)

CODE_DOCS["SHP003"] = CodeDoc(
    what="""
Flags a suppression comment, `# noqa: SHPxxx` or `# shapecheck: ignore[...]` (also the
`ignore-file[...]` form), whose code silenced nothing on its line (or in its file). It is reported
only when the code it names is enabled for the file: a suppression of a code you ignore in the
configuration, or of an opt-in code you have not selected, is never called unused. The fix removes
the unused codes, or the whole comment when none is left; codes of other tools in the same `noqa`
list (`# noqa: F722, SHP101`) are kept.
""",
    why="""
A suppression outlives the finding it was written for: once the code is fixed, the comment stays
and would silently hide the next real finding of that code on the line.
""",
    example='''
import torch


def scale(x: torch.Tensor) -> torch.Tensor:
    return x * 2  # noqa: SHP102
''',
    use_instead='''
import torch


def scale(x: torch.Tensor) -> torch.Tensor:
    return x * 2
''',
    known_problems="""
A bare `# noqa` is never reported as unused (it is written for other tools, and it does not
silence shapecheck either); nor are the codes of other tools in a `noqa` list.
""",
)

# -- SHP1xx: shape errors ---------------------------------------------------------------------------

CODE_DOCS["SHP101"] = CodeDoc(
    what="""
Flags a matrix product (`@`, `torch.matmul`, `mm`, `bmm`...) that contracts two axes that cannot
be the same, the last axis of the left operand against axis -2 of the right one (or the last axis of
a vector), and an einsum that pairs two such axes under one subscript letter. Axes are compared by identity, not only by size:
inside one function two distinct names of its annotations (`"d_head"` and `"seq"`) are distinct
axes, and two distinct literal sizes never agree. The notes say where each axis comes from; when
the right operand's last axis would fit, the help suggests `.transpose(-2, -1)`.
""",
    why="""
When the two sizes happen to be equal (a 64-token test batch with 64-wide heads), the product runs
and silently mixes features with positions: the model trains, only worse. When they differ, the
error surfaces only at run time, with sizes but without the names of the axes.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "batch seq d_head"], k: Float[Tensor, "batch seq d_head"]):
    return q @ k
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "batch seq d_head"], k: Float[Tensor, "batch seq d_head"]):
    return q @ k.transpose(-2, -1)
''',
    known_problems="""
Axes the linter cannot identify (an unannotated tensor whose shape never narrows) are unknown, and
an unknown axis is never an error. The untransposed-key pattern on unannotated code is the
axis-order rule SHP201.
""",
)

CODE_DOCS["SHP102"] = CodeDoc(
    what="""
Flags elementwise operations (`+`, `*`, `torch.where`, `masked_fill`...) and the batch axes of
matrix products whose operands cannot broadcast: aligned from the right, each pair of axes must be
the same axis or one of them of size 1. Two distinct named axes, or two distinct literal sizes
other than 1, cannot broadcast.
""",
    why="""
A broadcast of the wrong axes either fails at run time or, when the sizes coincide, adds or scales
along the wrong dimension without any error: a bias of the model width added to a hidden layer of
the same size, a mask laid over the queries instead of the keys.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def add_bias(x: Float[Tensor, "batch d_mlp"], bias: Float[Tensor, " d_model"]):
    return x + bias
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def add_bias(x: Float[Tensor, "batch d_mlp"], bias: Float[Tensor, " d_mlp"]):
    return x + bias
''',
)

CODE_DOCS["SHP103"] = CodeDoc(
    what="""
Flags `view`, `reshape`, `unflatten` and their relatives when the requested sizes cannot hold the
same number of elements as the input (their products differ for every positive value of the axes),
when a size is zero or negative other than `-1`, or when `-1` appears more than once.
""",
    why="""
PyTorch raises at run time, after the data loading and the first layers have already run; with
symbolic sizes the mistake (a split that forgot to divide) is visible in the code itself.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def split_qk(x: Float[Tensor, "batch seq d_model"]):
    b, s, d = x.shape
    return x.view(b, s, 2, d)
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def split_qk(x: Float[Tensor, "batch seq d_model"]):
    b, s, d = x.shape
    return x.view(b, s, 2, d // 2)
''',
    known_problems="""
Element counts that cannot be proven different (`n + 2*(k//2) - k` against `n` with `k` unknown)
are not reported. A view that keeps the count but moves an axis is SHP109.
""",
)

CODE_DOCS["SHP104"] = CodeDoc(
    what="""
Flags an operation applied to a tensor with a number of axes it does not accept: `bmm` on 2-D
tensors, `mm` on 3-D ones, `nn.Conv2d` on an input without its channel and spatial axes,
`nn.BatchNorm1d` on a 4-D input, a normalisation over more trailing axes than the tensor has, a
product of a scalar.
""",
    why="""
A rank error means the tensor is not what the code thinks it is (a missing batch axis, an extra
head axis, an unsqueeze forgotten): PyTorch raises at run time, or, for the operations that accept
several ranks, reads the axes in another meaning.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "seq d"], k: Float[Tensor, "seq d"]):
    return torch.bmm(q, k.transpose(0, 1))
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "seq d"], k: Float[Tensor, "seq d"]):
    return torch.mm(q, k.transpose(0, 1))
''',
)

CODE_DOCS["SHP105"] = CodeDoc(
    what="""
Compares an inferred shape with the annotation that promises it: the return annotation against
the value returned, an annotated local (`y: Float[Tensor, "b n"] = ...`) against its value, and the
annotated parameters of a function or method of the analysed code against the arguments of a
call.
It reports a wrong number of axes, or the first axis whose identity or size contradicts the
annotation, with where that axis came from. A value computed by an operation that already failed
is unknown, so the same bug is not reported a second time here.
""",
    why="""
The annotation is what the readers, the callers and the runtime guards rely on. A function that
returns `(batch, seq)` where it promises `(batch, d_model)` fails at the first guarded call, or
feeds the wrong axis to every caller.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def pool(x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch d_model"]:
    return x.mean(dim=-1)
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def pool(x: Float[Tensor, "batch seq d_model"]) -> Float[Tensor, "batch d_model"]:
    return x.mean(dim=1)
''',
    known_problems="""
Only the first mismatching axis of a value is reported, and only the first mismatching argument
of a call: later ones were bound against the wrong one.
""",
)

CODE_DOCS["SHP106"] = CodeDoc(
    what="""
Flags a `dim` argument outside the range of the tensor's number of axes (`-rank .. rank-1`), a
`flatten` whose `start_dim` comes after its `end_dim`, and an operation given the same dim twice
in a tuple of dims.
""",
    why="""
PyTorch raises `IndexError: Dimension out of range` at run time. It usually means the tensor has
fewer axes than the code expects (a batch axis squeezed away, a head axis not yet split).
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def attention_weights(scores: Float[Tensor, "batch q k"]):
    return scores.softmax(dim=3)
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def attention_weights(scores: Float[Tensor, "batch q k"]):
    return scores.softmax(dim=-1)
''',
)

CODE_DOCS["SHP107"] = CodeDoc(
    what="""
Flags a layer whose configured size does not match the input it gets: `in_features` of
`nn.Linear` (and the weight of `F.linear`), `in_channels` of the convolutions, `num_features` of
the batch and instance norms, `normalized_shape` of `nn.LayerNorm`, `input_size` of the recurrent
layers, `embed_dim` of attention. Sizes come from the constructor arguments in `__init__`, so a
layer built with `nn.Conv2d(32, ...)` after one that produces 64 channels is caught in `forward`.
In an `nn.Sequential` whose layers are written out in the call, a layer that cannot take what the
layers before it give is reported where the chain is built, whatever it is later given. A weight
tied to another tensor (`self.classifier.weight = self.embedder.weight`) must have the shape its
layer was built for: a `Linear(hidden, vocab)` holds a `(vocab, hidden)` weight.
""",
    why="""
The mismatch raises at run time on the first batch ("mat1 and mat2 shapes cannot be multiplied",
"expected input to have 32 channels"), usually after a refactoring changed one layer and not the
next. With sizes that coincide it goes unnoticed until the configuration changes.
""",
    example='''
import torch.nn as nn


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 128, kernel_size=3, padding=1)

    def forward(self, x):
        return self.conv2(self.conv1(x).relu())
''',
    use_instead='''
import torch.nn as nn


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(64, 128, kernel_size=3, padding=1)

    def forward(self, x):
        return self.conv2(self.conv1(x).relu())
''',
    known_problems="""
Two sizes that both come from code (two constructor arguments, two config fields) are compared
only when the code relates them; a size from a parameter that no caller fixes is unknown.
""",
)

CODE_DOCS["SHP108"] = CodeDoc(
    what="""
Flags an `einsum` (`torch.einsum`, `einops.einsum`) or an einops pattern (`rearrange`, `reduce`,
`repeat`) whose subscripts disagree with the operands: a subscript naming more or fewer axes than
its tensor has, a different number of subscripts and tensors, an output letter that no input has or
that appears twice, more than one ellipsis, an einops name on one side of the pattern only. A letter
that pairs two different axes is a contraction error, SHP101.
""",
    why="""
einsum strings are read by position: a missing head letter shifts every following axis, so the
contraction runs over the wrong dimensions, or fails at run time with a message about the string,
not about the tensors.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "batch heads seq d"], k: Float[Tensor, "batch heads seq d"]):
    return torch.einsum("bqd,bkd->bqk", q, k)
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def scores(q: Float[Tensor, "batch heads seq d"], k: Float[Tensor, "batch heads seq d"]):
    return torch.einsum("bhqd,bhkd->bhqk", q, k)
''',
)

CODE_DOCS["SHP109"] = CodeDoc(
    what="""
Flags a `view` or `reshape` that keeps the number of elements but moves a named axis across other
axes: the result is not a split or a merge of adjacent axes of the input, so the data would have to
be reordered, which `view` and `reshape` never do. The batch axis (known from its producer, such as
the second axis of a recurrent layer's final states) is also followed across a literal factor: the
states `(2, batch, hidden)` of a bidirectional GRU viewed as `(batch, -1)` mix the two directions
of different examples. A target axis made of whole input axes that are not next to each other
(`(bs, n, blocks, d)` viewed `(bs * blocks, n, d)`) merges them across the axes between. The help
says to permute or transpose into the target order first.
""",
    why="""
The call succeeds and every shape downstream is right, but the values are scrambled: merging the
heads of `(batch, heads, seq, d_head)` straight into `(batch, seq, heads*d_head)` interleaves
positions of different heads. No run-time error ever points at it.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def merge_heads(x: Float[Tensor, "batch heads seq d_head"]):
    b, h, s, d = x.shape
    return x.reshape(b, s, h * d)
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def merge_heads(x: Float[Tensor, "batch heads seq d_head"]):
    b, h, s, d = x.shape
    return x.transpose(1, 2).reshape(b, s, h * d)
''',
    known_problems="""
A view whose moved factor cannot be named (memory reinterpreted on purpose) is not reported, and
neither are later views of its result; nor is a view whose result loses its first row next (the
relative position shift of Transformer-XL: `x.view(b, h, n + 1, m)[:, :, 1:]`). An axis moved
across a literal factor is reported only when it is the batch.
""",
)

CODE_DOCS["SHP110"] = CodeDoc(
    what="""
Flags two sizes that an operation needs equal (or related) and that cannot be: the axes other than
the joined one in `torch.cat`, the shapes given to `torch.stack`, the batch axes of `bmm`, an
embedding width not divisible by the number of heads in `nn.MultiheadAttention`, channels not
divisible into `nn.GroupNorm`'s groups, the point sizes of `cdist`, `num_classes` of `one_hot`,
`padding="same"` with a stride.
""",
    why="""
Each of these raises at run time on the first call, or, for the divisibility checks, when the
layer is built; the message then names sizes, not the axes that were mixed up.
""",
    example='''
import torch
from jaxtyping import Float
from torch import Tensor


def concat_features(a: Float[Tensor, "batch seq d_a"], b: Float[Tensor, "batch seq d_b"]):
    return torch.cat([a, b], dim=1)
''',
    use_instead='''
import torch
from jaxtyping import Float
from torch import Tensor


def concat_features(a: Float[Tensor, "batch seq d_a"], b: Float[Tensor, "batch seq d_b"]):
    return torch.cat([a, b], dim=-1)
''',
)

# -- SHP9xx: internal ---------------------------------------------------------------------------------

CODE_DOCS["SHP900"] = CodeDoc(
    what="""
Reported when shapecheck itself fails while analysing a file or one of its functions: the message
names the function (or the file) and the exception. The other functions of the file are still
analysed and their findings reported. It cannot be ignored, deselected or suppressed, and a run
that reports it exits with status 2, so a crash never looks like a clean file or like findings.
""",
    why="""
It is a bug in shapecheck, not in your code: the functions it names were not checked. Please report
it with the message and, if you can, the file (or a small piece that reproduces it).
""",
    example="",
    example_text="""
No source reports SHP900 on purpose. The diagnostic reads:

    model.py:12:1: SHP900 [internal-error] internal error while analysing `Block.forward`: ...; please report this with the file
""",
    use_instead="",
    use_instead_text="""
Nothing in your code needs to change. Report the message; meanwhile the rest of the run stands.
""",
    known_problems="""
Until a fix is released, `# shapecheck: ignore-file` at the top of the file skips it.
""",
)

CODE_DOCS["SHP901"] = CodeDoc(
    what="""
Reported, as a warning, for a file that could not be analysed at all: a syntax error, a file that
is not valid UTF-8 and declares no other encoding, a bad encoding declaration, NUL bytes, a file
too large or nested too deeply. The message says which, at the line where it was found. The other
files of the run are checked as usual.
""",
    why="""
Nothing in a skipped file is checked: a shape error in it would go unseen while the run looks
clean. Python would refuse to import such a file too.
""",
    example='''
import torch


def forward(x):
    return x.view(x.size(0), -1
''',
    use_instead='''
import torch


def forward(x):
    return x.view(x.size(0), -1)
''',
    known_problems="""
Files written for a newer Python than the one running shapecheck can be reported as syntax errors:
run shapecheck under the Python version the project targets.
""",
)

CODE_DOCS["SHP902"] = CodeDoc(
    what="""
Reports a file or directory named on the command line that does not exist. The other paths are
still checked, and the run exits with status 2 at the end (even with `--exit-zero`).
""",
    why="""
A misspelt path in a CI job or a pre-commit configuration would otherwise check nothing and pass.
""",
    example="",
    example_text="""
No source reports SHP902: it is about the command line. The diagnostic reads:

    $ shapecheck check src/ tset/
    tset:1:1: SHP902 [path-not-found] No such file or directory
""",
    use_instead="",
    use_instead_text="""
Name paths that exist (`shapecheck check src/ test/`), or remove the stale one from the command.
""",
)
