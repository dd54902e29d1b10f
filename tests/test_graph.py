"""``shapecheck graph``: the dataflow drawn from the engine's own analysis, on the bundled fixtures.

The nanoGPT attention block (no annotations: the shapes come from ``B, T, C = x.size()``) and the
annotated attention bugs (the diagnostic drawn on its op). Rendering with the real ``dot`` runs where
Graphviz is installed; the message for a missing ``dot`` is tested by pointing PATH away from it.
"""

from __future__ import annotations

import ast
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from shapecheck._engine import FunctionAnalysis
from shapecheck._graph._dataflow import build_graph
from shapecheck._graph._record import analyse, module_info, resolve
from shapecheck._graph._render import ERROR_COLOR, to_dot, to_mermaid
from shapecheck._lint._cli import main
from shapecheck._lint._driver import check_source

ROOT = Path(__file__).resolve().parent.parent
NANOGPT = ROOT / "fixtures" / "correct" / "nanogpt_model.py"
BUGS = ROOT / "fixtures" / "bugs" / "attention_annotated.py"
HAS_DOT = shutil.which("dot") is not None


def graph_of(path: Path, qualname: str, depth: int = 0):
    source = path.read_text(encoding="utf-8")
    info = module_info(str(path), source)
    fn, cls = resolve(info, qualname)
    return build_graph(analyse(info, fn, cls, depth=depth), source)


def by_label(g, label: str):
    hits = [n for n in g.nodes if n.label == label]
    assert len(hits) == 1, (label, [n.label for n in g.nodes])
    return hits[0]


def edges_into(g, node) -> dict:
    """Source label -> edge label, for the edges into ``node``."""
    return {g.node(e.src).label: e.label for e in g.edges if e.dst == node.id}


# -- the graph ------------------------------------------------------------------------------------

def test_attention_ops_are_named_by_their_code_and_edges_carry_shapes():
    g = graph_of(NANOGPT, "CausalSelfAttention")
    assert g.title == "CausalSelfAttention.forward"
    x = by_label(g, "x")
    assert x.kind == "input"
    c_attn = by_label(g, "self.c_attn")
    assert edges_into(g, c_attn) == {"x": "B T C"}
    split = by_label(g, ".split(self.n_embd, dim=2)")
    assert edges_into(g, split) == {"self.c_attn": "B T C*3"}
    scores = by_label(g, "q @ k.transpose(-2, -1)")
    assert edges_into(g, scores) == {".transpose(1, 2)": "B n_head T C//n_head",
                                     "k.transpose(-2, -1)": "B n_head C//n_head T"}
    softmax = by_label(g, "softmax(dim=-1)")
    assert edges_into(g, softmax) == {'att.masked_fill(float("-inf"))': "B n_head T T"}
    proj = by_label(g, "self.c_proj")
    assert edges_into(g, proj) == {".view(B, T, C)": "B T C"}
    out = [n for n in g.nodes if n.kind == "output"]
    assert len(out) == 1 and edges_into(g, out[0]) == {"self.resid_dropout": "B T C"}


def test_both_branches_reach_the_use_after_them():
    g = graph_of(NANOGPT, "CausalSelfAttention")
    y_t = by_label(g, "y.transpose(1, 2)")
    srcs = edges_into(g, y_t)
    assert set(srcs) == {"att @ v", "scaled_dot_product_attention(attn_mask=None, dr…"}
    assert set(srcs.values()) == {"B n_head T C//n_head"}


def test_contractions_show_the_axis_they_join():
    g = graph_of(NANOGPT, "CausalSelfAttention")
    assert by_label(g, "q @ k.transpose(-2, -1)").contracted == "C//n_head"
    assert by_label(g, "att @ v").contracted == "T"
    assert by_label(g, "self.c_proj").contracted == "C"
    assert by_label(g, "softmax(dim=-1)").contracted is None
    ein = graph_of(BUGS, "attention_output")
    contracted = sorted(n.contracted for n in ein.nodes if n.contracted)
    assert contracted == ["k_pos", "n_heads d_head"]


def test_broadcasting_shows_the_axes_it_added():
    g = graph_of(NANOGPT, "CausalSelfAttention")
    fill = by_label(g, 'att.masked_fill(float("-inf"))')
    assert edges_into(g, fill)["self.bias[:, :, :T, :T] == 0"] == "1 1 T T"
    assert fill.broadcast == "B n_head"
    assert by_label(g, "softmax(dim=-1)").broadcast is None
    assert by_label(g, "q @ k.transpose(-2, -1)").broadcast is None  # a contraction, not elementwise
    scaled = [n for n in g.nodes if n.label.startswith("(q @ k.transpose(-2, -1)) * ")]
    assert len(scaled) == 1 and scaled[0].broadcast is None  # times a number: no axis added
    assert "broadcasts over B n_head" in to_dot([g])


def test_a_correct_module_has_no_red_node():
    g = graph_of(NANOGPT, "CausalSelfAttention")
    assert not [n for n in g.nodes if n.error]
    assert ERROR_COLOR not in to_dot([g])
    assert "class " not in to_mermaid([g]).replace("classDef", "")


def test_the_diagnostic_is_drawn_on_its_op():
    g = graph_of(BUGS, "scores_untransposed")
    red = [n for n in g.nodes if n.error]
    assert [n.label for n in red] == ["q @ k"]
    assert red[0].error == 'SHP101 matmul contracts "d_head" with "k_len"'
    assert red[0].contracted == "d_head ≠ k_len"
    assert edges_into(g, red[0]) == {"q": "batch heads q_len d_head", "k": "batch heads k_len d_head"}
    dot = to_dot([g])
    line = next(ln for ln in dot.splitlines() if "q @ k\\n" in ln)
    assert ERROR_COLOR in line and "SHP101" in line
    mm = to_mermaid([g])
    assert re.search(rf"^\s*class {red[0].id} error$", mm, re.M)


def test_a_return_annotation_mismatch_is_drawn_on_the_output():
    g = graph_of(BUGS, "attention_output")
    out = next(n for n in g.nodes if n.kind == "output")
    assert out.error is not None and out.error.startswith("SHP105 ")
    assert not [n for n in g.nodes if n.error and n is not out]


def test_the_recorder_changes_nothing_the_engine_reports():
    assert FunctionAnalysis.recorder is None  # off by default
    source = BUGS.read_text(encoding="utf-8")
    info = module_info(str(BUGS), source)
    tree_fns = [n.name for n in info.tree.body if isinstance(n, ast.FunctionDef)]
    seen = []
    for name in tree_fns:
        fn, cls = resolve(info, name)
        seen += [(d.line, d.code, d.message) for d in analyse(info, fn, cls).diags]
    linted = [(d.line, d.code, d.message) for d in check_source(source, str(BUGS))
              if d.code.startswith("SHP1") or d.code.startswith("SHP2")]
    assert sorted(seen) == sorted(linted)
    assert len(seen) >= 5


def test_depth_expands_a_submodule_into_a_cluster():
    flat = graph_of(NANOGPT, "Block")
    attn = by_label(flat, "self.attn")
    assert attn.kind == "call" and attn.sub is None
    deep = graph_of(NANOGPT, "Block", depth=1)
    attn = by_label(deep, "self.attn")
    assert attn.sub is not None and attn.sub.title == "CausalSelfAttention.forward"
    inner = by_label(attn.sub, "softmax(dim=-1)")
    assert inner.id.startswith(attn.id + "_")
    dot = to_dot([deep])
    assert f"subgraph cluster_{attn.id} {{" in dot
    mm = to_mermaid([deep])
    assert f'subgraph {attn.id}_body["CausalSelfAttention.forward"]' in mm


# -- the text formats -----------------------------------------------------------------------------

_NODE = re.compile(r'^(\w+)(\(\[|\[\[|\[)"([^"]*)"(\]\)|\]\]|\])$')
_EDGE = re.compile(r'^(\w+) -->\|"([^"]*)"\| (\w+)$')
_LINK = re.compile(r"^(\w+) -\.- (\w+)$")
_SUB = re.compile(r'^subgraph (\w+)\["[^"]*"\]$')


def parse_mermaid(text: str) -> tuple:
    """A strict reader of the flowchart subset the renderer writes: nodes, labelled edges, subgraphs."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    assert lines[0] == "flowchart TD"
    nodes, edges, depth, subs = {}, [], 0, set()
    for ln in lines[1:]:
        if m := _NODE.match(ln):
            assert m.group(1) not in nodes, ln
            nodes[m.group(1)] = m.group(3)
        elif m := _EDGE.match(ln):
            edges.append((m.group(1), m.group(2), m.group(3)))
        elif m := _SUB.match(ln):
            subs.add(m.group(1))
            depth += 1
        elif ln == "end":
            depth -= 1
            assert depth >= 0
        elif m := _LINK.match(ln):
            assert m.group(1) in nodes and m.group(2) in subs
        elif ln.startswith("classDef ") or ln.startswith("class "):
            continue
        else:
            raise AssertionError(f"not a flowchart line: {ln!r}")
    assert depth == 0
    for a, _, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def test_mermaid_is_a_flowchart(capsys):
    assert main(["graph", f"{NANOGPT}::CausalSelfAttention", "--format", "mermaid"]) == 0
    nodes, edges = parse_mermaid(capsys.readouterr().out)
    labels = {v: k for k, v in nodes.items()}
    assert (labels["softmax(dim=-1)"], "B n_head T T", labels["self.attn_dropout"]) in edges
    assert "q @ k.transpose(-2, -1)<br/>contracts C//n_head" in labels
    assert main(["graph", str(BUGS), "--depth", "1"]) == 0  # mermaid is the default on stdout
    nodes, _ = parse_mermaid(capsys.readouterr().out)
    assert any("SHP102 add cannot broadcast #quot;d_mlp#quot; with #quot;d_model#quot;" in v for v in nodes.values())


def test_every_module_of_the_file_without_qualname(capsys):
    assert main(["graph", str(NANOGPT), "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    titles = re.findall(r'^    label="([^"]+)";$', dot, re.M)
    assert titles == ["LayerNorm.forward", "CausalSelfAttention.forward", "MLP.forward", "Block.forward",
                      "GPT.forward"]
    assert dot.count("digraph ") == 1


def test_dot_is_accepted_by_graphviz(tmp_path):
    graphviz = pytest.importorskip("graphviz")
    g = graph_of(BUGS, "scores_untransposed")
    src = graphviz.Source(to_dot([g]))
    assert src.source.startswith("digraph shapecheck {")
    if not HAS_DOT:
        pytest.skip("the Graphviz dot program is not installed")
    svg = src.pipe(format="svg")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "batch heads q_len d_head" in [t.strip() for t in texts if t]
    assert 'SHP101 matmul contracts "d_head" with "k_len"' in texts


@pytest.mark.skipif(not HAS_DOT, reason="the Graphviz dot program is not installed")
def test_svg_and_png_files(tmp_path):
    pytest.importorskip("graphviz")
    svg = tmp_path / "attn.svg"
    assert main(["graph", f"{NANOGPT}::CausalSelfAttention", "-o", str(svg)]) == 0
    texts = {(t.text or "").strip() for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert {"B n_head T T", "softmax(dim=-1)", "contracts C//n_head"} <= texts
    png = tmp_path / "attn.png"
    assert main(["graph", f"{NANOGPT}::CausalSelfAttention", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_dot_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    out = tmp_path / "a.svg"
    assert main(["graph", f"{NANOGPT}::CausalSelfAttention", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["graph", f"{NANOGPT}::CausalSelfAttention", "--format", "dot"]) == 0  # text still works


# -- bad input ------------------------------------------------------------------------------------

def test_unknown_qualname_lists_the_candidates(capsys):
    assert main(["graph", f"{NANOGPT}::Attention"]) == 2
    err = capsys.readouterr().err
    assert "no `Attention`" in err
    for name in ("CausalSelfAttention", "Block", "GPT.forward", "GPT.generate"):
        assert name in err


def test_syntax_error_is_shp901(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\ndef f(:\n    pass\n")
    assert main(["graph", str(bad)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"bad\.py:2:\d+: SHP901 \[file-skipped\] Skipped: syntax error", err)


def test_missing_file_and_folder(tmp_path, capsys):
    assert main(["graph", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["graph", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_nothing_to_draw_and_png_to_stdout(tmp_path, capsys):
    plain = tmp_path / "plain.py"
    plain.write_text("def f(a, b):\n    return a + b\n")
    assert main(["graph", str(plain)]) == 2
    assert "no module with a forward" in capsys.readouterr().err
    assert main(["graph", f"{NANOGPT}::Block", "--format", "png"]) == 2
    assert "-o FILE" in capsys.readouterr().err


def test_docs_graph_md_is_current():
    from shapecheck._graph._doc import render

    text = (ROOT / "docs" / "graph.md").read_text(encoding="utf-8")
    assert text == render(), "docs/graph.md is stale: run `python -m shapecheck._graph._doc > docs/graph.md`"
    for block in re.findall(r"```mermaid\n(.*?)```", text, re.S):
        parse_mermaid(block)
    assert text.count("```mermaid") == 5 and "class n" in text  # the bug examples are drawn red
