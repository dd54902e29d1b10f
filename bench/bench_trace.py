"""What `shapecheck trace` costs: the same command run plain and under the recorder, side by side
with RightTyper (`righttyper run --infer-shapes`) when it is installed, and with the least a
`sys.setprofile` recorder could cost (a profile function that returns at once).

    python bench/bench_trace.py                      # the annotate fixture's model, 3 lengths
    python bench/bench_trace.py --repeat 5 --steps 20 200
    python bench/bench_trace.py --command "python train.py" --cwd /path/to/repo

Each figure is the median CPU time (user + system, of the command and all it started) of --repeat
runs, process start and imports included; overhead is (traced - plain) / plain. torch runs on one
thread (OMP_NUM_THREADS=1, set_num_threads(1)) so that the figures do not depend on the cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "annotate"

LOOP = '''
import sys
import torch
from _tinygpt import Config, TinyGPT

torch.manual_seed(0)
torch.set_num_threads(1)
config = Config(vocab_size=512, block_size=64, n_layer=4, n_head=4, n_embd=128)
model = TinyGPT(config)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
for step in range(int(sys.argv[1])):
    idx = torch.randint(0, config.vocab_size, (8, 64))
    _, loss = model(idx, idx)
    opt.zero_grad()
    loss.backward()
    opt.step()
'''

SETPROFILE = ("import runpy, sys; sys.setprofile(lambda frame, event, arg: None); "
              "script = sys.argv[1]; sys.argv = sys.argv[1:]; sys.path[0] = '.'; "
              "runpy.run_path(script, run_name='__main__')")


def timed(cmd, cwd, repeat):
    """Median CPU time (user + system, the command and everything it started) of ``repeat`` runs:
    on a machine that other work shares, CPU time moves far less than wall time."""
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if r.returncode != 0:
            raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return statistics.median(times)


def righttyper_cmd(py_args):
    exe = shutil.which("righttyper")
    if exe is None:
        return None
    return [exe, "run", "--infer-shapes", "--output-files", *py_args]


def bench(label, py_args, cwd, repeat, out):
    python = [sys.executable]
    plain = timed(python + py_args, cwd, repeat)
    traced = timed([sys.executable, "-m", "shapecheck", "trace", "-o", out, "--"] + ["python"] + py_args, cwd, repeat)
    prof = timed(python + ["-c", SETPROFILE] + py_args, cwd, repeat) if py_args[0].endswith(".py") else None
    rt = righttyper_cmd(py_args)
    rt_time = timed(rt, cwd, repeat) if rt else None

    def pct(t):
        return f"{t:7.2f}s {100 * (t - plain) / plain:+6.1f}%"

    print(f"{label:<28} {plain:7.2f}s   {pct(traced)}   "
          f"{pct(prof) if prof is not None else '      -        '}   "
          f"{pct(rt_time) if rt_time is not None else 'not installed'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, nargs="*", default=[5, 50, 200], help="training steps of the fixture model")
    ap.add_argument("--command", help="a Python command to time instead, e.g. 'python train.py'")
    ap.add_argument("--cwd", default=".", help="where --command runs")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, median CPU seconds of {args.repeat} runs, start-up included")
    print(f"{'command':<28} {'plain':>8}   {'shapecheck trace':>15}   {'setprofile (no-op)':>15}   "
          "RightTyper --infer-shapes")
    if shutil.which("righttyper") is None:
        print("(RightTyper is not installed: it needs Python >= 3.12; `pip install righttyper` on one to compare)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "shapes.json")
        if args.command:
            words = shlex.split(args.command)
            if words and os.path.basename(words[0]).startswith("python"):
                words = words[1:]
            bench(args.command[:28], words, args.cwd, args.repeat, out)
            return
        work = Path(tmp) / "work"
        work.mkdir()
        shutil.copy(FIXTURE / "_tinygpt.py", work / "_tinygpt.py")
        (work / "loop.py").write_text(LOOP)
        for steps in args.steps:
            bench(f"tinygpt, {steps} steps", ["loop.py", str(steps)], str(work), args.repeat, out)


if __name__ == "__main__":
    main()
