"""docs/graph.md, generated: the page's text and the diagrams of the bundled examples, drawn now.

    python -m shapecheck._graph._doc > docs/graph.md

``tests/test_graph.py`` checks the page is current, so the diagrams in the docs are what the command
draws today.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

EXAMPLES = (
    ("The nanoGPT attention block", "fixtures/correct/nanogpt_model.py", "CausalSelfAttention",
     "No annotations: the axes come from `B, T, C = x.size()` and the constructor's sizes "
     "(`n_head`, `C // n_head`). Both branches of `if self.flash:` reach `y.transpose(1, 2)`."),
    ("A U-Net decoder block", "fixtures/correct/unet.py", "SkipUpBlock",
     "The transposed convolution doubles `h` and `w`; the concatenation adds the skip's channels, "
     "which the fusing convolution contracts."),
    ("LeNet", "fixtures/correct/lenet.py", "LeNet",
     "Each convolution and linear layer names the axis it contracts; the sizes are computed from the "
     "layers' constructor arguments."),
    ("Einsum attention output, with a bug", "fixtures/bugs/attention_annotated.py", "attention_output",
     "The two einsums contract `k_pos`, then `n_heads` and `d_head`; the return annotation says "
     "`batch d_model q_pos`, so the output is drawn red with the diagnostic."),
    ("Untransposed keys", "fixtures/bugs/attention_annotated.py", "scores_untransposed",
     "`q @ k` contracts `d_head` with `k_len`: the op is red, and its value is unknown downstream "
     "(one bug, one diagnostic)."),
)

INTRO = """\
# shapecheck graph

`shapecheck graph` draws a function's or a module's `forward` as a dataflow diagram: each operation a
node named by its code, each tensor an edge labelled with the shape shapecheck inferred for it, in
jaxtyping syntax (`?` an axis it does not know, `...` axes of unknown number). It runs the same static
analysis as `shapecheck check`, without importing or running the code.

```
shapecheck graph PATH[::QUALNAME] [-o FILE] [--format mermaid|dot|svg|png] [--depth N]
```

- `QUALNAME` is a module class (`Block`, its `forward`), a method (`GPT.forward`) or a function.
  Without it, every module class's `forward` and every function with tensor annotations in the file
  is drawn, each in its own box. An unknown name lists the candidates (exit 2).
- Inputs and the return value are rounded boxes at the borders. A contraction (matmul, `@`, einsum,
  linear, convolution) shows the axis it joins (`contracts d_head`, or `d_head ≠ k_len` when the two
  sides disagree). An elementwise op that broadcasts names the axes an operand lacked
  (`broadcasts over B n_head`: a mask of shape `1 1 T T` filled into `B n_head T T`). A call into the file's own modules and functions is a double box; `--depth N`
  draws its body (analysed with the call's arguments) in a cluster beside it, N levels deep.
- A diagnostic is drawn in place: the op is red and the message is written under its code. A
  finding on the return annotation is drawn on the output.
- `--format`: `mermaid` (the default on stdout; it renders in GitHub Markdown) and `dot` (Graphviz's
  language) need nothing else. `svg` and `png` are drawn by Graphviz: install the extra
  (`pip install 'shapecheck[graph]'`) and the `dot` program (`apt-get install graphviz`,
  `brew install graphviz`); without `dot` they fail with that advice and exit 2. With `-o FILE` the
  format defaults to the file's extension (`.svg`, `.png`, `.dot`/`.gv`, `.mmd`/`.md`).
- Exit status: 0 the diagram was written (diagnostics are drawn, not counted), 2 an error: a missing
  file, a syntax error (SHP901), an unknown `QUALNAME`, svg/png without Graphviz.

## Examples

These diagrams are generated from the bundled fixtures (`python -m shapecheck._graph._doc >
docs/graph.md`) and tested current.
"""


def diagram(path: str, qualname: str) -> str:
    from ._dataflow import build_graph
    from ._record import analyse, module_info, resolve
    from ._render import to_mermaid

    source = (ROOT / path).read_text(encoding="utf-8")
    info = module_info(path, source)
    fn, cls = resolve(info, qualname)
    return to_mermaid([build_graph(analyse(info, fn, cls), source)])


def render() -> str:
    parts = [INTRO]
    for title, path, qualname, text in EXAMPLES:
        parts.append(f"\n### {title}\n\n`shapecheck graph {path}::{qualname}`. {text}\n\n"
                     f"```mermaid\n{diagram(path, qualname)}```\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
