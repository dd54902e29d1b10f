"""``shapecheck annotate``: names, dtypes, the libcst writer and the command, on recorded calls
written by hand (no subprocess; tests/test_trace.py runs the recorder, test_annotate_roundtrip.py both)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap

import pytest

from shapecheck._annotate import _shapesfile
from shapecheck._annotate._command import annotate_files
from shapecheck._annotate._naming import dtype_category, is_word, plan_project
from shapecheck._annotate._signatures import recorded_signatures
from shapecheck._annotate._static import analyse
from shapecheck._annotate._writer import apply_plans


def T(*shape, dtype="float32"):
    return {"dtype": dtype, "shape": list(shape)}


def call(ret=None, ints=None, caller=None, **args):
    c = {"args": args}
    if ret is not None:
        c["return"] = ret
    if ints:
        c["ints"] = ints
    if caller:
        c["caller"] = caller
    return c


def plans_for(files: dict) -> dict:
    """{qualname: plan} for sources {path: (source, {qualname: [calls]})}."""
    inputs = {}
    for path, (src, records) in files.items():
        facts = analyse(ast.parse(textwrap.dedent(src)))
        inputs[path] = ({q: {"line": 1, "calls": c} for q, c in records.items()}, facts)
    return {p.qualname: p for plans in plan_project(inputs).values() for p in plans}


ATTN = '''
class Attention(nn.Module):
    def __init__(self, n_embd, n_head):
        self.n_embd = n_embd
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.size()
        q = x.view(B, T, self.n_head, C // self.n_head)
        return q.split(self.n_embd, dim=2)[0]


class Block(nn.Module):
    def __init__(self, n_embd, n_layer):
        self.attn = Attention(n_embd, 4)
        self.n_layer = n_layer

    def forward(self, x):
        return x + self.attn(x)
'''


def test_names_from_ints_in_scope_and_size_locals_agree_across_the_call_graph():
    ints = {"self.n_embd": 48, "self.n_head": 4}
    att = [call(x=T(b, t, 48), ret=T(b, t, 48), ints=ints) for b, t in ((3, 9), (5, 12))]
    blk = [call(x=T(b, t, 48), ret=T(b, t, 48), ints={"self.n_layer": 2}) for b, t in ((3, 9), (5, 12))]
    plans = plans_for({"m.py": (ATTN, {"Attention.forward": att, "Block.forward": blk})})
    # C is self.n_embd, which the body mentions; B and T are words; the callee-free Block agrees
    assert plans["Attention.forward"].params == {"x": 'Float[Tensor, "batch seq n_embd"]'}
    assert plans["Attention.forward"].returns == 'Float[Tensor, "batch seq n_embd"]'
    assert plans["Block.forward"].params == {"x": 'Float[Tensor, "batch seq n_embd"]'}
    kinds = dict(plans["Block.forward"].names)
    assert kinds == {"batch": "global", "seq": "global", "n_embd": "global"}


def test_a_name_crosses_files():
    att = [call(x=T(b, 16, 48), ret=T(b, 16, 48), ints={"self.n_embd": 48, "self.n_head": 4}) for b in (3, 5)]
    other = [call(h=T(b, 16, 48), ret=T(b, 48)) for b in (3, 5)]
    plans = plans_for({"a.py": (ATTN, {"Attention.forward": att}),
                       "b.py": ("def pool(h):\n    return h.mean(1)\n", {"pool": other})})
    assert plans["pool"].params == {"h": 'Float[Tensor, "batch seq n_embd"]'}
    assert plans["pool"].returns == 'Float[Tensor, "batch n_embd"]'


def test_a_fixed_size_without_a_name_is_a_literal_and_a_coincidence_is_no_name():
    src = '''
    class Net(nn.Module):
        def __init__(self, n_layer):
            self.n_layer = n_layer
            self.layers = [Layer() for _ in range(n_layer)]

        def generate(self, idx):
            return idx
    '''
    # n_layer is 2 and the batch is 2, but nothing in the class uses n_layer as a size
    plans = plans_for({"m.py": (src, {"Net.generate": [call(idx=T(2, 1, dtype="int64"),
                                                              ret=T(2, 1, dtype="int64"),
                                                              ints={"self.n_layer": 2})]})})
    assert plans["Net.generate"].params == {"idx": 'Int[Tensor, "2 1"]'}


def test_an_int_the_class_uses_as_a_size_names_an_axis_the_method_does_not_mention():
    src = '''
    class Head(nn.Module):
        def __init__(self, config):
            self.config = config
            self.out = nn.Linear(config.n_embd, config.vocab_size)

        def forward(self, x):
            return self.out(x)
    '''
    ints = {"self.config.n_embd": 32, "self.config.vocab_size": 65}
    plans = plans_for({"m.py": (src, {"Head.forward": [call(x=T(b, 32), ret=T(b, 65), ints=ints)
                                                       for b in (2, 3)]})})
    assert plans["Head.forward"].params == {"x": 'Float[Tensor, "dim0 n_embd"]'}
    assert plans["Head.forward"].returns == 'Float[Tensor, "dim0 vocab_size"]'


def test_two_ints_of_one_size_are_settled_by_the_code_or_not_at_all():
    src = '''
    class M(nn.Module):
        def forward(self, x):
            return self.proj(x) + self.d_model
    '''
    ints = {"self.d_model": 16, "self.block_size": 16}
    plans = plans_for({"m.py": (src, {"M.forward": [call(x=T(b, 16), ints=ints) for b in (2, 3)]})})
    assert plans["M.forward"].params["x"] == 'Float[Tensor, "dim0 d_model"]'
    src2 = src.replace("self.d_model", "1")
    plans = plans_for({"m.py": (src2, {"M.forward": [call(x=T(b, 16), ints=ints) for b in (2, 3)]})})
    assert plans["M.forward"].params["x"] == 'Float[Tensor, "dim0 16"]'  # never a guess


def test_conv_locals_and_int_arguments():
    src = '''
    def conv_block(img, kernel_size: int):
        N, C, H, W = img.shape
        return img
    '''
    calls = [call(img=T(b, 3, h, 2 * h), kernel_size={"int": 5}, ret=T(b, 3, h, 2 * h)) for b, h in ((2, 8), (4, 6))]
    plans = plans_for({"m.py": (src, {"conv_block": calls})})
    # a fixed size that the code names (C) keeps the name; N with H and W is the batch
    assert plans["conv_block"].params == {"img": 'Float[Tensor, "batch channels height width"]'}
    # the return value has no locals of its own: its sizes take the names the argument gave them
    assert plans["conv_block"].returns == 'Float[Tensor, "batch channels height width"]'


def test_leading_axes_that_vary_in_number_are_variadic():
    src = "def norm(x, w):\n    return x * w\n"
    calls = [call(x=T(*lead, 24), w=T(24), ret=T(*lead, 24)) for lead in ((3, 9), (5,), (2, 2, 7))]
    plans = plans_for({"m.py": (src, {"norm": calls})})
    assert plans["norm"].params == {"x": 'Float[Tensor, "*batch 24"]', "w": 'Float[Tensor, "24"]'}
    assert plans["norm"].returns == 'Float[Tensor, "*batch 24"]'


def test_dtypes_optionals_tuples_lists_and_a_single_name():
    src = '''
    def f(ids, mask, feats=None, *, width: int):
        return ids
    '''
    calls = [call(ids=T(b, dtype="int64"), mask=T(b, dtype="bool"), feats=T(b, width, dtype=dt),
                  width={"int": width},
                  ret={"kind": "tuple", "items": [T(b, width), {"none": True} if b == 2 else T()]})
             for b, width, dt in ((2, 5, "float16"), (3, 7, "int32"))]
    calls.append(call(ids=T(4, dtype="int64"), mask=T(4, dtype="bool"), width={"int": 7},
                      ret={"kind": "tuple", "items": [T(4, 7), T()]}))
    plans = plans_for({"m.py": (src, {"f": calls})})
    p = plans["f"]
    assert p.params["ids"] == 'Int[Tensor, " dim0"]'  # one name: a leading space, read as dims by ruff
    assert p.params["mask"] == 'Bool[Tensor, " dim0"]'
    assert p.params["feats"] == 'Shaped[Tensor, "dim0 width"] | None'  # float16 then int32; default None
    assert p.returns == 'tuple[Float[Tensor, "dim0 width"], Float[Tensor, ""] | None]'
    lst = plans_for({"m.py": ("def g(xs):\n    return xs\n",
                              {"g": [call(xs={"kind": "list", "items": [T(2, 3), T(2, 3)]})]})})
    assert lst["g"].params == {"xs": 'list[Float[Tensor, "2 3"]]'}
    assert [dtype_category(d) for d in ("bfloat16", "uint8", "bool", "complex64", "quint8")] == \
        ["Float", "Int", "Bool", "Complex", "Shaped"]


def test_a_word_is_never_a_name_the_guard_would_bind_to_another_size():
    src = '''
    def f(x, batch: int):
        B, n = x.shape
        return x
    '''
    plans = plans_for({"m.py": (src, {"f": [call(x=T(b, 6), batch={"int": 99}) for b in (2, 3)]})})
    assert plans["f"].params["x"] == 'Float[Tensor, "dim0 n"]'


def test_is_word():
    assert [is_word(n) for n in ("batch", "n_embd", "vocab_size", "seq", "B", "dim0", "d", "nh")] == \
        [True, True, True, True, False, False, False, False]


# -- the writer -------------------------------------------------------------------------------------

SOURCE = '''\
"""Docstring."""
from __future__ import annotations

import torch  # the framework
from jaxtyping import Float


# a comment that stays
def f(x,   y=None):  # trailing comment
    return x  # same


def g(x: "keep me"):
    return x
'''


def test_writer_keeps_every_byte_outside_the_edits_and_imports_once():
    tree = ast.parse(SOURCE)
    facts = analyse(tree)
    calls = [call(x=T(2, 3), y=T(2, dtype="int64"), ret=T(2, 3))]
    plans = plan_project({"m.py": ({"f": {"line": 9, "calls": calls}, "g": {"line": 13, "calls": calls}},
                                   facts)})["m.py"]
    new, conflicts = apply_plans(SOURCE, plans, tree)
    assert not conflicts
    assert new == SOURCE.replace(
        "from jaxtyping import Float\n", "from jaxtyping import Float\nfrom jaxtyping import Int\n"
        "from torch import Tensor\n").replace(
        "def f(x,   y=None):", 'def f(x: Float[Tensor, "2 3"],   y: Int[Tensor, "2"] | None = None) -> '
        'Float[Tensor, "2 3"]:').replace('def g(x: "keep me"):', 'def g(x: "keep me") -> Float[Tensor, "2 3"]:')
    # the result is valid Python, and annotating it again changes nothing
    tree2 = ast.parse(new)
    plans2 = plan_project({"m.py": ({"f": {"line": 9, "calls": calls}}, analyse(tree2))})["m.py"]
    assert apply_plans(new, plans2, tree2)[0] == new


def test_writer_refuses_a_name_that_means_something_else():
    src = "Float = 3\n\ndef f(x):\n    return x\n"
    tree = ast.parse(src)
    plans = plan_project({"m.py": ({"f": {"line": 3, "calls": [call(x=T(2))]}}, analyse(tree))})["m.py"]
    new, conflicts = apply_plans(src, plans, tree)
    assert new == src and conflicts == ["Float"]


# -- the command ------------------------------------------------------------------------------------

MODEL = '''\
import torch


def embed(ids, table):
    return table[ids]


def scale(x: "Float[Tensor, 'b 3']", k: int):
    return x * k
'''


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "pkg").mkdir()
    model = tmp_path / "pkg" / "model.py"
    model.write_text(MODEL)
    shapes = {"format": "shapecheck-shapes", "version": 1, "root": str(tmp_path), "command": ["python", "x.py"],
              "exit_code": 0, "max_calls": 10,
              "files": {"pkg/model.py": {"sha256": _shapesfile.file_hash(str(model)), "functions": {
                  "embed": {"line": 4, "calls": [call(ids=T(b, 7, dtype="int64"), table=T(50, 16),
                                                      ret=T(b, 7, 16)) for b in (2, 3)]}}}}}
    path = tmp_path / ".shapecheck" / "shapes.json"
    path.parent.mkdir()
    path.write_text(json.dumps(shapes))
    return tmp_path


def _cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "shapecheck", "annotate", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_annotate_prints_a_diff_by_default_and_writes_with_write(project):
    before = (project / "pkg" / "model.py").read_text()
    r = _cli(project)
    assert r.returncode == 0, r.stderr
    assert "--- a/pkg/model.py" in r.stdout
    assert '+def embed(ids: Int[Tensor, "dim0 7"], table: Float[Tensor, "50 16"]) -> Float[Tensor, "dim0 7 16"]:' \
        in r.stdout
    assert (project / "pkg" / "model.py").read_text() == before
    r = _cli(project, "--write")
    assert r.returncode == 0, r.stderr
    after = (project / "pkg" / "model.py").read_text()
    assert after.startswith("import torch\nfrom jaxtyping import Float, Int\nfrom torch import Tensor\n")
    assert not [p for p in os.listdir(project / "pkg") if p.endswith(".tmp")]
    # the file changed since the run: refused, with the reason, no traceback
    r = _cli(project)
    assert r.returncode == 2 and "pkg/model.py changed since the run" in r.stderr and "Traceback" not in r.stderr


def test_paths_select_files(project, tmp_path):
    (project / "other").mkdir()
    r = _cli(project, "other")
    assert r.returncode == 0 and r.stdout == ""
    r = _cli(project, "missing_dir")
    assert r.returncode == 2 and "no such file or folder" in r.stderr


def test_a_run_that_contradicts_an_annotation_is_a_finding_and_the_annotation_stays(project):
    model = project / "pkg" / "model.py"
    model.write_text(MODEL.replace('def scale(x: "Float[Tensor, \'b 3\']", k: int):',
                                   'def scale(x: Float[Tensor, "b 3"], k: int):'))
    shapes = json.loads((project / ".shapecheck" / "shapes.json").read_text())
    entry = shapes["files"]["pkg/model.py"]
    entry["sha256"] = _shapesfile.file_hash(str(model))
    entry["functions"]["scale"] = {"line": 8, "calls": [call(x=T(2, 4), k={"int": 5}, ret=T(2, 4)),
                                                        call(x=T(2, 3, dtype="int64"), k={"int": 5})]}
    (project / ".shapecheck" / "shapes.json").write_text(json.dumps(shapes))
    res = annotate_files(str(project / ".shapecheck" / "shapes.json"))
    assert len(res.findings) == 1
    assert 'pkg/model.py:8: `scale` argument `x` is annotated "b 3", but the run gave (2, 4) float32: ' \
           'axis 1 "3" is 4 (the annotation is kept)' == res.findings[0]
    assert 'def scale(x: Float[Tensor, "b 3"], k: int) -> Float[Tensor, "2 4"]:' in res.new_text["pkg/model.py"]
    r = _cli(project)
    assert r.returncode == 1 and "is annotated" in r.stderr


def test_recorded_signatures_for_the_analysis(project):
    sigs = recorded_signatures(str(project / ".shapecheck" / "shapes.json"))
    key = (str(project / "pkg" / "model.py"), "embed")
    assert sigs[key] == {"params": {"ids": 'Int[Tensor, "dim0 7"]', "table": 'Float[Tensor, "50 16"]'},
                         "returns": 'Float[Tensor, "dim0 7 16"]'}
    (project / "pkg" / "model.py").write_text(MODEL + "\n")
    assert recorded_signatures(str(project / ".shapecheck" / "shapes.json")) == {}  # changed: left out


def test_a_size_that_varied_takes_the_name_of_the_callers_local_and_a_fixed_one_never_takes_it():
    src = "class Net(nn.Module):\n    def forward(self, img):\n        return img\n"
    calls = [call(img=T(b, 3, h, w), ret=T(b, 3, h, w), caller={"b": b, "h": h, "w": w, "steps": 9})
             for b, h, w in ((2, 32, 48), (3, 40, 24))]
    helper = [call(x=T(2, 5), ret=T(2, 5))]  # a fixed 2 is not the batch that varied over 2 and 3
    plans = plans_for({"m.py": (src, {"Net.forward": calls}),
                       "h.py": ("def helper(x):\n    return x\n", {"helper": helper})})
    assert plans["Net.forward"].params == {"img": 'Float[Tensor, "batch 3 height width"]'}
    assert plans["helper"].params == {"x": 'Float[Tensor, "2 5"]'}
    # a caller local that held the size in one call only is no name
    calls[1]["caller"] = {"n": 3, "h": 40, "w": 24}
    plans = plans_for({"m.py": (src, {"Net.forward": calls})})
    assert plans["Net.forward"].params == {"img": 'Float[Tensor, "dim0 3 height width"]'}


def test_constructor_ints_name_the_axes_of_their_instance():
    src = "class LayerNorm(nn.Module):\n    def __init__(self, ndim):\n        self.w = nn.Parameter(torch.ones(ndim))\n" \
          "\n    def forward(self, input):\n        return input\n"
    calls = [call(input=T(b, 7, 48), ret=T(b, 7, 48), ints={"init.ndim": 48}) for b in (2, 3)]
    plans = plans_for({"m.py": (src, {"LayerNorm.forward": calls})})
    assert plans["LayerNorm.forward"].params == {"input": 'Float[Tensor, "dim0 7 ndim"]'}


def test_without_libcst_annotate_says_what_to_install_and_the_linter_does_not_need_it(monkeypatch, project):
    from shapecheck._annotate._writer import WriterError

    monkeypatch.setitem(sys.modules, "libcst", None)  # `import libcst` now raises ImportError
    with pytest.raises(WriterError, match=r"annotate needs libcst: pip install 'shapecheck\[annotate\]'"):
        annotate_files(str(project / ".shapecheck" / "shapes.json"))
    code = ("import sys; sys.modules['libcst'] = None\n"
            "from shapecheck._lint._cli import main\n"
            "rc = main(['check', '--isolated', '--no-cache', 'pkg'])\n"
            "assert 'libcst' not in sys.modules or sys.modules['libcst'] is None\n"
            "rc2 = main(['annotate'])\n"
            "print(rc, rc2)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120)
    assert r.stdout.splitlines()[-1] == "0 2", r.stdout + r.stderr
    assert "annotate needs libcst" in r.stderr and "Traceback" not in r.stderr
