#!/usr/bin/env python3
"""Run one of pyston/macrobenchmarks' benchmarks for bench/interp.

Usage: macro_driver.py --script RUN_BENCHMARK_PY --name NAME --loops L
                       [--reps K] [--warmup W] --json OUT

The benchmark's script runs in this process in its own `--legacy` mode, in
which it takes a loop count and writes the start time of every loop (and the
end of the last) as a JSON list. It imports `pyperf` at the top but uses only
`pyperf.perf_counter` in that mode, so this driver puts a stand-in module
under that name, with `time.perf_counter` and nothing else: the benchmark
runs with the standard library only. It runs (W + K) * L loops; the first
W * L are warm-up (the JIT compiles then) and each of the next K groups of L
loops is one sample, in seconds per loop.

Writes the JSON of runtime/bench/run.py ({"results": {NAME: [seconds, ...]}, ...}).
Runs on Python 3.8 and later.
"""

import argparse
import json
import os
import runpy
import sys
import time
import types

# Never write __pycache__ into the submodule: its tree must stay clean.
sys.dont_write_bytecode = True


def _pyperf_stand_in():
    module = types.ModuleType("pyperf")
    module.perf_counter = time.perf_counter

    def runner(*args, **kwargs):
        raise RuntimeError("pyperf.Runner is not here: the benchmark must run in its --legacy mode")

    module.Runner = runner
    return module


def main():
    parser = argparse.ArgumentParser(prog="macro_driver.py")
    parser.add_argument("--script", required=True, help="the benchmark's run_benchmark.py")
    parser.add_argument("--name", required=True, help="the benchmark's name in the results")
    parser.add_argument("--loops", type=int, required=True, help="loops per sample")
    parser.add_argument("--reps", type=int, default=3, help="samples (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up groups of --loops loops (default 1)")
    parser.add_argument("--json", dest="json_out", required=True)
    args = parser.parse_args()
    if args.loops < 1 or args.reps < 1 or args.warmup < 0:
        parser.error("--loops and --reps must be >= 1, --warmup >= 0")

    script = os.path.abspath(args.script)
    total = (args.warmup + args.reps) * args.loops
    times_file = "%s.times.%d" % (args.json_out, os.getpid())
    sys.modules["pyperf"] = _pyperf_stand_in()
    sys.path.insert(0, os.path.dirname(script))
    sys.argv = [script, "--legacy", str(total), times_file]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    else:
        raise RuntimeError("%s did not run its --legacy mode" % script)
    with open(times_file) as fh:
        times = json.load(fh)
    os.unlink(times_file)
    if len(times) != total + 1:
        raise RuntimeError("%s wrote %d times for %d loops" % (script, len(times), total))
    first = args.warmup
    samples = [(times[(k + 1) * args.loops] - times[k * args.loops]) / args.loops for k in range(first, first + args.reps)]

    payload = {
        "python": sys.version,
        "executable": sys.executable,
        "implementation": sys.implementation.name,
        "script": script,
        "reps": args.reps,
        "inner": args.loops,
        "warmup": args.warmup,
        "results": {args.name: samples},
        "failed": {},
    }
    tmp = "%s.tmp.%d" % (args.json_out, os.getpid())
    with open(tmp, "w") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, args.json_out)
    print("%s: median %.4fs per loop" % (args.name, sorted(samples)[len(samples) // 2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
