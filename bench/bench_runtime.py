"""Per-call overhead of the runtime guards against the plain function and jaxtyping + beartype.

Run: ``python bench/bench_runtime.py [--rounds 7] [--number 20000] [--wall] [--cuda]``. Prints microseconds
per call (median of interleaved rounds, timeit), the overhead over the plain call, and the ratio of
jaxtyping's overhead to shapecheck's. CPU tensors; nothing is computed in the functions. The timer
is this process's CPU time (``time.process_time``), so that other jobs on a shared machine inflate
the figures less; ``--wall`` uses ``time.perf_counter`` instead.

``--cuda`` (on a machine with a CUDA GPU) instead shows that the guards cause no device sync and
what they cost next to real kernels: guarded attention blocks run under
``torch.cuda.set_sync_debug_mode("error")`` (any synchronizing call raises), then guarded and plain
versions are timed (wall clock, one synchronize per timed loop) at a few sizes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from beartype import beartype  # noqa: E402
from jaxtyping import Float, jaxtyped  # noqa: E402
from torch import Tensor  # noqa: E402

import shapecheck  # noqa: E402


def make_function(n_args: int):
    """``f(x0, ..., x{n-1})`` annotated ``Float[Tensor, "b n d"]`` each, returning ``x0``."""
    params = ", ".join(f"x{i}: Float[Tensor, 'b n d']" for i in range(n_args))
    ns = {"Float": Float, "Tensor": Tensor}
    exec(f"def f({params}) -> Float[Tensor, 'b n d']:\n    return x0\n", ns)
    return ns["f"]


_WITH_LOCAL = """
from jaxtyping import Float
from torch import Tensor

def f(x0: Float[Tensor, "b n d"], x1: Float[Tensor, "b n d"], x2: Float[Tensor, "b n d"]) -> Float[Tensor, "b n d"]:
    h: Float[Tensor, "b n d"] = x0
    return h
"""


def local_function():
    """A 3-tensor function with one annotated local: guarded through the interpreter."""
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "bench_local_mod.py")
    with open(path, "w") as fh:
        fh.write(_WITH_LOCAL)
    spec = importlib.util.spec_from_file_location("bench_local_mod", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.f


def bench_local(rounds: int, number: int, timer) -> dict:
    f = local_function()
    g = shapecheck.guard(f)
    assert g.__shapecheck_plan__.locals_specs
    args = tuple(torch.zeros(8, 16, 32) for _ in range(3))
    times: dict = {"plain": [], "shapecheck.guard": []}
    for _ in range(rounds):
        for name, fn in (("plain", f), ("shapecheck.guard", g)):
            times[name].append(timeit.timeit(lambda fn=fn: fn(*args), number=number, timer=timer) / number * 1e6)
    return {k: statistics.median(v) for k, v in times.items()}


def bench(n_args: int, rounds: int, number: int, timer) -> dict:
    f = make_function(n_args)
    variants = {"plain": f, "shapecheck.guard": shapecheck.guard(f),
                "jaxtyped+beartype": jaxtyped(typechecker=beartype)(f)}
    args = tuple(torch.zeros(8, 16, 32) for _ in range(n_args))
    for fn in variants.values():
        fn(*args)
    times: dict = {k: [] for k in variants}
    for _ in range(rounds):  # interleaved: each round times every variant once
        for name, fn in variants.items():
            t = timeit.timeit(lambda fn=fn: fn(*args), number=number, timer=timer)
            times[name].append(t / number * 1e6)
    return {k: statistics.median(v) for k, v in times.items()}


def _attention(q, k, v):
    return torch.softmax(q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5, dim=-1) @ v


_ATTN = """
import torch
from jaxtyping import Float
from torch import Tensor

def attention(q: Float[Tensor, "b h s d"], k: Float[Tensor, "b h s d"],
              v: Float[Tensor, "b h s d"]) -> Float[Tensor, "b h s d"]:
    scores: Float[Tensor, "b h s s"] = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5
    return torch.softmax(scores, dim=-1) @ v
"""


def bench_cuda(rounds: int, number: int) -> int:
    """The GPU check: no device sync under the guards, and their cost next to real kernels."""
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure (the CPU figures are the default run)")
        return 0
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "bench_cuda_attn.py")
    with open(path, "w") as fh:
        fh.write(_ATTN)
    spec = importlib.util.spec_from_file_location("bench_cuda_attn", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    plain = mod.attention
    guarded = shapecheck.guard(plain)  # arguments on the fast path, the local and return interpreted
    args_only = shapecheck.guard(plain, check_locals=False)
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(dev)}; wall-clock us/call, "
          f"median of {rounds} rounds x {number} calls, one synchronize per timed loop")
    sizes = [(1, 1, 16, 16), (8, 12, 128, 64), (16, 16, 1024, 64)]
    for shape in sizes:
        q, k, v = (torch.randn(shape, device=dev) for _ in range(3))
        for fn in (plain, guarded, args_only):
            fn(q, k, v)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")  # a synchronizing call inside the guards raises
        try:
            for fn in (guarded, args_only):
                for _ in range(3):
                    fn(q, k, v)
            try:
                guarded(q, k[..., :-1], v)
            except shapecheck.ShapeError:
                pass  # the message is written from .shape only: no sync either
            else:
                raise AssertionError("a bad call was accepted")
        finally:
            torch.cuda.set_sync_debug_mode("default")
        times: dict = {"plain": [], "guard (args, local, return)": [], "guard (args, return)": []}
        for _ in range(rounds):
            for name, fn in zip(times, (plain, guarded, args_only)):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(number):
                    fn(q, k, v)
                torch.cuda.synchronize()
                times[name].append((time.perf_counter() - t0) / number * 1e6)
        med = {k2: statistics.median(v2) for k2, v2 in times.items()}
        base = med["plain"]
        print(f"shape {shape}: no device sync in the guards; " + ", ".join(
            f"{k2} {t:.1f} us ({(t - base) / base * 100:+.1f}%)" for k2, t in med.items()))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--number", type=int, default=20000)
    ap.add_argument("--wall", action="store_true", help="time wall-clock instead of CPU time")
    ap.add_argument("--cuda", action="store_true", help="the GPU check: no device sync, cost next to kernels")
    opts = ap.parse_args(argv)
    if opts.cuda:
        return bench_cuda(opts.rounds, max(1, opts.number // 100))
    timer = time.perf_counter if opts.wall else time.process_time
    print(f"torch {torch.__version__}, python {sys.version.split()[0]}, "
          f"{opts.rounds} rounds x {opts.number} calls, median us/call "
          f"({'wall' if opts.wall else 'CPU'} time; return value checked too)")
    print(f"{'tensor args':>11}  {'variant':<18} {'us/call':>9} {'overhead':>9}")
    results = {}
    for n in (3, 10):
        med = bench(n, opts.rounds, opts.number if n == 3 else max(1, opts.number // 3), timer)
        results[n] = med
        base = med["plain"]
        for name, t in med.items():
            over = "" if name == "plain" else f"{t - base:9.3f}"
            print(f"{n:>11}  {name:<18} {t:9.3f} {over:>9}")
        sc = med["shapecheck.guard"] - base
        jt = med["jaxtyped+beartype"] - base
        print(f"{n:>11}  jaxtyping overhead / shapecheck overhead = {jt / sc:.1f}x")
    per_extra = ((results[10]["shapecheck.guard"] - results[10]["plain"])
                 - (results[3]["shapecheck.guard"] - results[3]["plain"])) / 7
    print(f"shapecheck cost per additional tensor argument: {per_extra:.3f} us")
    loc = bench_local(opts.rounds, max(1, opts.number // 5), timer)
    print(f"3 tensor args + 1 annotated local (checked by the interpreter): plain {loc['plain']:.3f} us, "
          f"guard {loc['shapecheck.guard']:.3f} us (+{loc['shapecheck.guard'] - loc['plain']:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
