"""The corpora list the real-code figures are measured on (bench/corpora.txt) is consistent, and the
script that builds the corpora turns notebooks into the Python source that gets linted.

bench/corpora.py needs the network to clone; this checks what it stands on without it.
"""

from __future__ import annotations

import json
import re

from _bench_support import load_bench


def _corpora():
    return load_bench("corpora")


def test_each_repository_is_in_one_corpus_at_one_pinned_commit():
    rows = _corpora().read_list()
    tuning = {"tuning"} | {f"tuning{i}" for i in range(2, 18)}
    assert {c for c, _, _ in rows} == tuning | {"heldout", "heldout2", "heldout3", "precision"}
    repos = [r for _, r, _ in rows]
    assert len(repos) == len(set(repos)), "a repository is in two corpora: held-out figures would be tuned on"
    for _, repo, commit in rows:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo), repo
        assert re.fullmatch(r"[0-9a-f]{40}", commit), (repo, commit)


def test_notebook_code_cells_become_one_source_without_shell_lines(tmp_path):
    # a shell line that is a block's body becomes ``pass``, so the source still parses
    corpora = _corpora()
    nb = {"cells": [
        {"cell_type": "markdown", "source": ["# title\n"]},
        {"cell_type": "code", "source": ["!pip install x\n", "import torch\n", "%matplotlib inline\n", "x = torch.zeros(2)\n"]},
        {"cell_type": "code", "source": "y = x + 1"},
        {"cell_type": "code", "source": ["%%time\n", "if y is not None:\n", "    !nvidia-smi\n"]},
        {"cell_type": "code", "source": ["!python export.py --weights w.pt \\\n", "        --grid --simplify \\\n",
                                         "        --img-size 640\n", "z = 1\n"]},
        # another language's cell, pasted output and a shell command's output assigned
        {"cell_type": "code", "source": ["%%bash\n", "for f in *.py; do\n", "  echo $f\n", "done\n"]},
        {"cell_type": "code", "source": ["Epoch 1/10: loss 0.31 (12 s)\n"]},
        {"cell_type": "code", "source": ["files = !ls data \\\n", "    | head\n", "n = len(files)\n"]},
    ]}
    checkout = tmp_path / "co"
    (checkout / "sub").mkdir(parents=True)
    (checkout / "sub" / "1 - Intro.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (checkout / "model.py").write_text("import torch\n", encoding="utf-8")
    (checkout / "README.md").write_text("text\n", encoding="utf-8")
    assert corpora.keep_sources(checkout, tmp_path / "out") == 2
    assert (tmp_path / "out" / "model.py").read_text() == "import torch\n"
    assert (tmp_path / "out" / "sub" / "nb_1_Intro.py").read_text() == (
        "import torch\nx = torch.zeros(2)\n\ny = x + 1\n\nif y is not None:\n    pass\n\nz = 1\n\nfiles = []\nn = len(files)\n")
    assert not (tmp_path / "out" / "README.md").exists()


def test_an_unknown_corpus_is_refused_with_a_message(capsys):
    assert _corpora().main(["/nonexistent", "--corpus", "nope"]) == 2
    assert "no such corpus: nope" in capsys.readouterr().err
