"""Entry shapes: unannotated code analysed under the shapes the project's own calls pass, its findings
reported in the callee with the call named (``shapecheck/_engine/_entries.py``)."""

from __future__ import annotations

import textwrap

from shapecheck._engine._entries import ENTRY_NOTE
from shapecheck._engine._project import Project
from shapecheck._lint import check_source

HEADER = """\
import pytest
import torch
import torch.nn as nn
"""
N = HEADER.count("\n")

SCORES = """
def scores(q, k):
    return q @ k
"""


def run(src: str, path: str = "m.py", project=None):
    return [d for d in check_source(HEADER + textwrap.dedent(src), path, project=project, strict=True)
            if d.code != "reveal"]


def entry_notes(d) -> list:
    return [n for n in d.notes if n.startswith(ENTRY_NOTE)]


def test_a_finding_under_a_calls_shapes_is_reported_in_the_callee_naming_the_call():
    found = run(SCORES + """
def main():
    return scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 3)]
    assert entry_notes(found[0]) == [f"{ENTRY_NOTE}the call at m.py:{N + 6} passes to `scores`"]


def test_the_callee_alone_or_with_shapes_that_fit_reports_nothing():
    assert run(SCORES) == []
    assert run(SCORES + """
def main():
    return scores(torch.randn(2, 5, 8), torch.randn(2, 8, 9))
""") == []


def test_calls_memoised_by_shapes_still_tell_apart_the_wrong_one():
    found = run(SCORES + """
def main():
    a = scores(torch.randn(2, 5, 8), torch.randn(2, 8, 9))
    b = scores(torch.randn(2, 5, 8), torch.randn(2, 8, 9))
    return scores(torch.randn(2, 5, 8), torch.randn(2, 4, 9))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 3)]
    assert f"m.py:{N + 8}" in entry_notes(found[0])[0]


def test_a_call_expected_to_raise_or_never_reached_proves_nothing():
    assert run(SCORES + """
def test_rejects():
    with pytest.raises(RuntimeError):
        scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9))

def dead():
    return None
    scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9))

def decided(cuda):
    x = torch.zeros(2, 3)
    if x.ndim == 4 and cuda:
        scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9))
""") == []


def test_module_level_code_and_the_main_block_are_entries():
    found = run(SCORES + """
if __name__ == "__main__":
    print(scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9)))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 3)]
    found = run(SCORES + """
out = scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 3)]


def test_a_tests_fixture_supplies_its_parameter():
    src = SCORES + """
@pytest.fixture
def keys():
    return torch.randn(2, 7, 9)

def test_scores(keys):
    assert scores(torch.randn(2, 5, 8), keys).shape == (2, 5, 9)
"""
    found = run(src)
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 3)]
    # a fixture that takes other fixtures is not followed: nothing is known of its value
    assert run(src.replace("def keys():", "def keys(request):")) == []


def test_a_dry_run_in_init_and_example_input_array_are_entries():
    found = run("""
class Smoother(nn.Module):
    def __init__(self, steps: int, feats: int):
        super().__init__()
        self.steps, self.feats = steps, feats
        self.conv = nn.Conv1d(feats, feats, 3, padding=1)
        self.forward(torch.zeros(1, self.steps, self.feats))

    def forward(self, x):
        return self.conv(self.to_channels(x))

    def to_channels(self, x):
        return x.view(-1, self.feats, self.steps)
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP109", 13)]
    assert len(entry_notes(found[0])) == 2  # to_channels called by forward, called by the dry run
    found = run("""
class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        self.example_input_array = torch.zeros(8, 32)

    def forward(self, x):
        return self.fc(x)
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP107", 9)]
    assert f"m.py:{N + 6}" in entry_notes(found[0])[0]


def test_one_calls_shapes_give_one_finding():
    """What fails after the first failure under the same call may be its consequence."""
    found = run("""
def two_steps(a, b):
    c = a @ b
    return a.view(3, 3) @ b

def main():
    return two_steps(torch.randn(2, 5), torch.randn(4, 6))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 3)]


def test_a_finding_in_another_files_callee_is_reported_on_the_call(tmp_path):
    (tmp_path / "layers.py").write_text(HEADER + SCORES)
    user = tmp_path / "train.py"
    src = "from layers import scores\n" + textwrap.dedent("""
    def main():
        return scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9))
    """)
    user.write_text(HEADER + src)
    project = Project.from_files([tmp_path / "layers.py", user])
    found = run(src, path=str(user), project=project)
    assert [(d.code, d.line - N, d.path) for d in found] == [("SHP101", 4, str(user))]
    assert entry_notes(found[0]) == [f"{ENTRY_NOTE}this call passes, `scores` fails at layers.py:{N + 3}"]


ANNOTATED = """
from jaxtyping import Float
from torch import Tensor

def proj(x: Float[Tensor, "b d"], w: Float[Tensor, "d c"]) -> Float[Tensor, "b c"]:
    return x @ w
"""


def test_a_finding_caused_by_another_files_definition_names_it(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "layers.py").write_text(HEADER + ANNOTATED)
    user = tmp_path / "train.py"
    src = "from models.layers import proj\n" + textwrap.dedent("""
    def bad_argument():
        return proj(torch.randn(2, 4), torch.randn(5, 8))

    def bad_use_of_the_result():
        return proj(torch.randn(2, 4), torch.randn(4, 8)) @ torch.randn(4, 8)
    """)
    project = Project.from_files([tmp_path / "models" / "layers.py", user])
    found = run(src, path=str(user), project=project)
    assert [(d.code, d.line - N) for d in found] == [("SHP105", 4), ("SHP101", 7)]
    defined = f"models/layers.py:{N + 5}"
    assert found[0].notes[-1] == f"`proj` is defined at {defined}"
    assert any(f"(return annotation of `proj`, {defined})" in n for n in found[1].notes)
    # the same definitions in the checked file itself need no file named
    local = run(ANNOTATED + src.split("\n", 1)[1])
    assert [d.code for d in local] == ["SHP105", "SHP101"]
    assert not any("defined at" in n or "layers.py" in n for d in local for n in d.notes)


def test_a_module_of_a_namespace_package_is_reached(tmp_path):
    # ``speech/`` has no ``__init__.py`` (a PEP 420 namespace package); ``speech/models`` is a package. An import
    # by the full name, from a module of that package, reaches the file its package knows as ``models.layers``
    pkg = tmp_path / "speech" / "models"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(HEADER + ANNOTATED)
    user = pkg / "heads.py"  # in the package: the import goes by the project's roots
    src = "from speech.models.layers import proj\n" + textwrap.dedent("""
    def bad_argument():
        return proj(torch.randn(2, 4), torch.randn(5, 8))
    """)
    project = Project([pkg / "layers.py", user], roots=[str(tmp_path)])
    found = run(src, path=str(user), project=project)
    assert [(d.code, d.line - N) for d in found] == [("SHP105", 4)]


def test_a_conftest_fixture_supplies_a_tests_parameter_and_the_cache_follows_it(tmp_path, monkeypatch, capsys):
    import json

    from shapecheck._lint._cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHAPECHECK_CACHE_DIR", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "tests").mkdir()
    conftest = tmp_path / "tests" / "conftest.py"
    conftest.write_text(HEADER + textwrap.dedent("""
        @pytest.fixture
        def keys() -> torch.Tensor:
            return torch.randn(2, 7, 9)
    """))
    (tmp_path / "tests" / "test_scores.py").write_text(HEADER + SCORES + textwrap.dedent("""
        def test_scores(keys):
            assert scores(torch.randn(2, 5, 8), keys).shape == (2, 5, 9)
    """))

    def codes():
        main(["check", "--output-format", "json", "tests/test_scores.py"])
        return [(d["line"] - N, d["code"]) for d in json.loads(capsys.readouterr().out)]

    assert codes() == [(3, "SHP101")]
    conftest.write_text(conftest.read_text().replace("2, 7, 9", "2, 8, 9"))  # a body edit of the fixture
    assert codes() == []


def test_a_branch_the_call_may_not_take_proves_nothing_for_it():
    """Under a call's shapes, a finding must hold on the path that call takes: an undecided branch, or
    what follows an early return, is analysed but not reported; a flag or a ``None`` the call leaves at
    its default decides its branch."""
    flagged = """
class Norm(nn.Module):
    def __init__(self, channels: int, channels_last: bool = False):
        super().__init__()
        self.channels_last = channels_last
        self.norm = nn.LayerNorm(channels)

    def forward(self, x, mask=None):
        if mask is not None:
            x = x * mask
        if self.channels_last:
            return self.norm(x)
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

def main():
    return Norm(3)(torch.randn(2, 3, 5, 7), torch.ones(2, 3, 5, 6))
"""
    found = run(flagged)
    assert [(d.code, d.line - N) for d in found] == [("SHP102", 10)]  # the mask the call passes is a tensor
    assert run(flagged.replace("torch.ones(2, 3, 5, 6)", "None")) == []
    assert [(d.code, d.line - N) for d in run(flagged.replace("Norm(3)(", "Norm(3, True)("))] == [("SHP102", 10)]
    found = run(flagged.replace("Norm(3)(", "Norm(3, True)(").replace(", torch.ones(2, 3, 5, 6)", ""))
    # the module's own LayerNorm meets what the call gave it: the call's finding, on the call
    assert [(d.code, d.line - N) for d in found] == [("SHP107", 16)]
    assert run("""
def scores(q, k, grouped):
    if grouped:
        q = q.mean(1)
    if q.shape[1] > 4:
        return q.sum()
    return q @ k

def main(flag):
    return scores(torch.randn(2, 5, 8), torch.randn(2, 7, 9), flag)
""") == []


CHANNEL_NORM = """
class ChannelNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))

    def forward(self, x):
        return x * self.g
"""


def test_a_module_given_an_input_it_was_not_built_for_is_reported_on_the_call():
    found = run(CHANNEL_NORM + """
class Block(nn.Module):
    def __init__(self, dim, dim_out):
        super().__init__()
        self.proj = nn.Conv2d(dim_out, dim, 3, padding=1)
        self.norm = ChannelNorm(dim_out)

    def forward(self, x):
        x = self.proj(x)
        return self.norm(x)
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP102", 18)]
    assert entry_notes(found[0]) == [f"{ENTRY_NOTE}this call passes, `ChannelNorm.forward` fails at m.py:{N + 8}"]


def test_a_modules_own_layer_given_an_input_it_was_not_built_for_is_reported_on_the_call():
    # the module is right (its layers take the channels it was built with); the caller gives it the output
    # of a convolution built backwards, and that is where the bug is reported
    src = """
class Branches(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.one = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.pool = nn.Conv2d(in_channels, 24, kernel_size=1)

    def forward(self, x):
        a = self.one(x)
        b = self.pool(torch.nn.functional.avg_pool2d(x, 3, 1, 1))
        return torch.cat([a, b], 1)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(10, 1, kernel_size=5)
        self.branches = Branches(in_channels=10)

    def forward(self, x):
        return self.branches(self.conv1(x))
"""
    found = run(src)
    assert [(d.code, d.line - N) for d in found] == [("SHP107", 20)]
    assert entry_notes(found[0]) == [f"{ENTRY_NOTE}this call passes, `Branches.forward` fails at m.py:{N + 9}"]
    assert run(src.replace("nn.Conv2d(10, 1, kernel_size=5)", "nn.Conv2d(1, 10, kernel_size=5)")) == []


def test_a_modules_own_computation_under_a_calls_shapes_stays_in_the_module():
    # two tensors that both came in: the module's own code combines them wrongly
    found = run("""
class Scores(nn.Module):
    def forward(self, q, k):
        return q @ k

class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.scores = Scores()

    def forward(self, x):
        return self.scores(x, x)

def main():
    return Attn()(torch.randn(2, 5, 8))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 4)]


def test_a_module_finding_its_code_proves_alone_is_not_reported_again_on_the_call():
    found = run("""
class Proj(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, d, d))

    def forward(self, x):
        return torch.einsum("ij,btj->bti", self.w, x)

def main():
    return Proj(4)(torch.randn(2, 3, 4))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP108", 8)]
    assert entry_notes(found[0]) == []


ATTENTION = """
class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        w = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return w @ v
"""


def test_a_size_one_axis_that_a_call_chose_is_that_calls_edge_case_not_a_bug():
    # a test of one-token input: the softmax over a key axis of size 1 is the case under test; the
    # softmax-over-a-size-one-axis rule is for a 1 the code itself makes (a (d, 1) weight, keepdim)
    assert run(ATTENTION + """
def test_one_token():
    m = Attention(8)
    assert m(torch.rand(16, 1, 8)).shape == (16, 1, 8)
""") == []


def test_a_literal_first_layer_size_in_a_module_built_with_sizes_is_the_modules_own():
    # the branch is built backwards (16 first, though the module was told its input has in_channels): the
    # module's mistake, reported in the module, once, whichever caller
    src = """
class Branch(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.one = nn.Conv2d(16, in_channels, kernel_size=1)

    def forward(self, x):
        return self.one(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.first = Branch(in_channels=10)
        self.second = Branch(in_channels=10)

    def forward(self, x):
        return self.second(self.first(self.conv1(x)))
"""
    assert [(d.code, d.line - N) for d in run(src)] == [("SHP107", 8)]
    # a module that takes no sizes is built for the input it is given: the call gave it another
    found = run("""
class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=3)

    def forward(self, x):
        return self.conv(x)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.stem = Stem()

    def forward(self, x):
        return self.stem(self.conv1(x))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP107", 17)]


def test_a_call_python_refuses_passes_no_shapes():
    # a stale demo that passes the tokens where the text goes and one argument too many: Python raises a
    # TypeError before any shape meets another, so the callee's code is not judged under those shapes
    src = """
class Pair(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.emb = nn.Embedding(256, dim)
        self.pos = nn.Embedding(512, dim)
    def forward(self, text, tokens, return_loss=False):
        e = self.emb(tokens)
        return e + self.pos(torch.arange(e.shape[1]))

def main():
    m = Pair(512)
    return m({args})
"""
    assert [d.code for d in run(src.format(args="torch.zeros(2, 9).long(), torch.tensor([5, 9])"))] == ["SHP102"]
    for args in ("torch.zeros(2, 9).long(), torch.tensor([5, 9]), torch.zeros(2, 9).long(), True",
                 "torch.zeros(2, 9).long(), torch.tensor([5, 9]), True, return_loss=True",
                 "torch.zeros(2, 9).long(), torch.tensor([5, 9]), text=torch.zeros(2, 9).long()",
                 "torch.zeros(2, 9).long(), torch.tensor([5, 9]), labels=None"):
        assert run(src.format(args=args)) == [], args


def test_a_layer_refusing_a_callers_input_names_where_it_was_built():
    # a head's key projection built with its sizes swapped: the misfit shows where the heads are called with the
    # model's width, far from the line that chose the sizes, which a note names
    found = run("""
WIDTH = 96

class Head(nn.Module):
    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(head_size, WIDTH)
        self.query = nn.Linear(WIDTH, head_size)

    def forward(self, x):
        return self.query(x) @ self.key(x).transpose(-2, -1)

class Heads(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.heads = nn.ModuleList([Head(WIDTH // n) for _ in range(n)])

    def forward(self, x):
        return torch.cat([h(x) for h in self.heads], dim=-1)

def main():
    return Heads(4)(torch.randn(2, 5, WIDTH))
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP107", 19)]
    assert f"`self.key` is the `Linear` built at m.py:{N + 7}" in found[0].notes


def test_a_call_a_decorators_wrapper_takes_still_passes_its_shapes():
    # the wrapper takes a keyword of its own (``fetch``) that the function lacks: Python accepts the call
    found = run("""
def cached(fn):
    def wrapper(self, *args, fetch=False, **kwargs):
        return fn(self, *args, **kwargs)
    return wrapper

class Scores(nn.Module):
    @cached
    def forward(self, q, k):
        return q @ k

def main():
    return Scores()(torch.randn(2, 5, 8), torch.randn(2, 7, 9), fetch=True)
""")
    assert [(d.code, d.line - N) for d in found] == [("SHP101", 10)]
