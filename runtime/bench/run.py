#!/usr/bin/env python3
"""pyston-build held-out benchmark set.

Usage: run.py [--list] [--only NAME,...] [--reps K] [--inner N] [--warmup W] --json OUT

Runs each benchmark in this process.  After W warm-up runs it takes K timed
samples; each sample runs the benchmark N times back to back (pyperf-style
inner loops) and records the elapsed time divided by N, i.e. seconds per run.
Every run's result is verified outside the timed region and must equal the
first run's result (the benchmarks are deterministic).

The code here is deliberately separate from runtime/train/: a profile trained
on the training set is measured on code it has never seen.

Output JSON:
  {"python": sys.version, "executable": sys.executable,
   "results": {"name": [seconds, ...], ...},
   "reps": K, "inner": N, "warmup": W, "failed": {"name": "error", ...}}

Exit codes: 0 all benchmarks passed, 1 at least one failed (the JSON is still
written, without the failed ones in "results"), 2 usage error.
"""

import argparse
import gc
import importlib
import json
import os
import platform
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Never write __pycache__ into the source tree: build tasks digest these files.
sys.dont_write_bytecode = True
if HERE not in sys.path:  # not on sys.path under -I / -P
    sys.path.insert(0, HERE)

from benchmarks import BENCHMARKS  # noqa: E402


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog="run.py", description="pyston-build held-out benchmarks")
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--reps", type=int, default=5, help="timed samples per benchmark (default 5)")
    parser.add_argument("--inner", type=int, default=1, help="runs per timed sample (default 1)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs (default 1)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write results to this JSON file")
    args = parser.parse_args(argv)
    if not args.list and not args.json_out:
        parser.error("--json OUT is required (unless --list)")
    if args.reps < 1 or args.inner < 1 or args.warmup < 0:
        parser.error("--reps and --inner must be >= 1, --warmup >= 0")
    names = [name for name, _ in BENCHMARKS]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error("unknown benchmark(s): %s (known: %s)" % (", ".join(unknown), ", ".join(names)))
        args.selected = [b for b in BENCHMARKS if b[0] in wanted]
    else:
        args.selected = list(BENCHMARKS)
    return args


def _load(module_name):
    return importlib.import_module("benchmarks." + module_name)


def _run_one(module, reps, inner, warmup):
    state = module.setup() if hasattr(module, "setup") else None
    reference = []  # the first result; every later one must equal it

    def check(result):
        module.verify(result)
        if not reference:
            reference.append(result)
        elif result != reference[0]:
            raise AssertionError("non-deterministic result: %r != %r" % (result, reference[0]))

    try:
        for _ in range(warmup):
            check(module.run(state))
        timer = time.perf_counter
        samples = []
        for _ in range(reps):
            results = []
            gc.collect()
            t0 = timer()
            for _ in range(inner):
                results.append(module.run(state))
            elapsed = timer() - t0
            samples.append(elapsed / inner)
            for result in results:  # verified outside the timed region
                check(result)
    finally:
        if hasattr(module, "teardown"):
            module.teardown(state)
    return samples


def _write_json(path, payload):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    width = max(len(name) for name, _ in BENCHMARKS)
    if args.list:
        for name, module_name in BENCHMARKS:
            try:
                desc = _load(module_name).DESCRIPTION
            except Exception as exc:
                desc = "(cannot import: %s)" % exc
            print("%-*s  %s" % (width, name, desc))
        return 0

    print("bench: %s %s (%s), reps %d, inner %d, warmup %d" % (
        sys.implementation.name, sys.version.split()[0], sys.executable, args.reps, args.inner, args.warmup))
    sys.stdout.flush()
    results = {}
    failed = {}
    started = time.perf_counter()
    for name, module_name in args.selected:
        try:
            module = _load(module_name)
            samples = _run_one(module, args.reps, args.inner, args.warmup)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: B902 - record and continue
            traceback.print_exc()
            failed[name] = "%s: %s" % (type(exc).__name__, exc)
            print("%-*s  FAILED  %s" % (width, name, failed[name]))
            sys.stdout.flush()
            continue
        results[name] = samples
        ordered = sorted(samples)
        median = ordered[len(ordered) // 2]
        print("%-*s  median %8.4fs  min %8.4fs  max %8.4fs" % (width, name, median, ordered[0], ordered[-1]))
        sys.stdout.flush()

    payload = {
        "python": sys.version,
        "executable": sys.executable,
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "reps": args.reps,
        "inner": args.inner,
        "warmup": args.warmup,
        "results": results,
        "failed": failed,
    }
    _write_json(args.json_out, payload)
    total = time.perf_counter() - started
    if failed:
        print("bench: FAILED (%s) in %.1fs; wrote %s" % (", ".join(sorted(failed)), total, args.json_out))
        return 1
    print("bench: OK (%d benchmarks) in %.1fs; wrote %s" % (len(results), total, args.json_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
