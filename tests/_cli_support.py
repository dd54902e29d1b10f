"""Running the ``shapecheck`` command as a user does: a subprocess in a scratch directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A malformed jaxtyping string (a comma inside the dimension string): SHP001 annotation-syntax
BAD = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "b, n"]) -> Float[Tensor, "b n"]:
    return x
'''
BAD_LINE = 5

# A one-axis string without its leading space: SHP002 single-axis-string (opt-in: selected by
# SELECT_SHP002), with a safe fix
SELECT_SHP002 = '[tool.shapecheck]\nextend-select = ["SHP002"]\n'
SINGLE = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "batch"]) -> Float[Tensor, " batch"]:
    return x
'''

CLEAN = '''\
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x
'''


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def shapecheck(*args, cwd, stdin: str | bytes | None = None, env: dict | None = None, timeout: int = 120) -> Run:
    e = dict(os.environ)
    e["PYTHONPATH"] = REPO + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("NO_COLOR", None)
    e.pop("FORCE_COLOR", None)
    if env:
        e.update(env)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    p = subprocess.run([sys.executable, "-m", "shapecheck", *map(str, args)], cwd=cwd, input=data,
                       capture_output=True, env=e, timeout=timeout)
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def write(root, files: dict) -> None:
    for name, text in files.items():
        path = os.path.join(str(root), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(path, mode) as fh:
            fh.write(text if isinstance(text, bytes) else textwrap.dedent(text))


def codes(run: Run) -> list:
    return [(d["path"], d["line"], d["code"]) for d in run.json()]
