#!/usr/bin/env python3
"""pyston-build training workload (PGO / BOLT profile collection).

Usage: run.py [--scale N] [--only NAME,...] [--shard K/N] [--list] [--strict]

--shard K/N runs the K-th of N interleaved parts of the selected workloads
(workload i runs in shard i mod N), so N processes can train at once; the
N shards together run exactly the workloads one process would.

Runs stdlib-only macro workloads that look like server-side Python.  Each one
verifies what it computed, so a miscompiled interpreter fails loudly instead
of silently producing a bad profile.

Exit codes: 0 all workloads passed (skips allowed unless --strict),
            1 at least one workload failed (or was skipped under --strict),
            2 usage error (bad flag, unknown workload name).
"""

import argparse
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Never write __pycache__ into the source tree: build tasks digest these files.
sys.dont_write_bytecode = True
# Under -I / -P the script directory is not on sys.path; add it explicitly.
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from workloads import WORKLOADS  # noqa: E402
from workloads._common import Skip, VerificationError  # noqa: E402


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="run.py", description="pyston-build PGO/BOLT training workloads"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0,
        help="multiply the amount of work (default 1.0; e.g. 0.2 for a quick check)",
    )
    parser.add_argument("--only", default="", help="comma-separated workload names to run")
    parser.add_argument("--shard", default="", help="K/N: run only the K-th of N parts (0 <= K < N)")
    parser.add_argument("--list", action="store_true", help="list workloads and exit")
    parser.add_argument(
        "--strict", action="store_true",
        help="treat a skipped workload (missing optional module) as a failure",
    )
    args = parser.parse_args(argv)
    if not args.scale > 0:
        parser.error("--scale must be > 0")
    names = [name for name, _ in WORKLOADS]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(
                "unknown workload(s): %s (known: %s)" % (", ".join(unknown), ", ".join(names))
            )
        args.selected = [w for w in WORKLOADS if w[0] in wanted]
    else:
        args.selected = list(WORKLOADS)
    if args.shard:
        parts = args.shard.split("/")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or not int(parts[0]) < int(parts[1]):
            parser.error("--shard needs K/N with 0 <= K < N, got %r" % args.shard)
        k, n = int(parts[0]), int(parts[1])
        args.selected = [w for i, w in enumerate(args.selected) if i % n == k]
    return args


def _load(module_name):
    return importlib.import_module("workloads." + module_name)


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    width = max(len(name) for name, _ in WORKLOADS)

    if args.list:
        for name, module_name in WORKLOADS:
            try:
                desc = _load(module_name).DESCRIPTION
            except Exception as exc:  # listing must not die on one bad module
                desc = "(cannot import: %s)" % exc
            print("%-*s  %s" % (width, name, desc))
        return 0

    print(
        "train: %s %s, scale %g, %d workload(s)"
        % (sys.implementation.name, sys.version.split()[0], args.scale, len(args.selected))
    )
    sys.stdout.flush()
    failed = []
    skipped = []
    started = time.perf_counter()
    for name, module_name in args.selected:
        t0 = time.perf_counter()
        status = "ok"
        detail = ""
        try:
            module = _load(module_name)
            detail = module.run(args.scale) or ""
        except Skip as exc:
            status = "SKIP"
            detail = str(exc)
            skipped.append(name)
        except VerificationError as exc:
            status = "FAILED"
            detail = "verification failed: %s" % exc
            failed.append((name, detail))
            traceback.print_exc()
        except BaseException as exc:  # noqa: B902 - report, then keep going
            if isinstance(exc, KeyboardInterrupt):
                raise
            status = "FAILED"
            detail = "%s: %s" % (type(exc).__name__, exc)
            failed.append((name, detail))
            traceback.print_exc()
        elapsed = time.perf_counter() - t0
        print("%-*s  %7.2fs  %-6s  %s" % (width, name, elapsed, status, detail))
        sys.stdout.flush()

    total = time.perf_counter() - started
    if args.strict:
        failed.extend((name, "skipped under --strict") for name in skipped)
    if failed:
        print(
            "train: FAILED (%d of %d failed: %s) in %.2fs"
            % (len(failed), len(args.selected), "; ".join("%s: %s" % f for f in failed), total)
        )
        return 1
    extra = (", %d skipped: %s" % (len(skipped), ", ".join(skipped))) if skipped else ""
    print("train: OK (%d workloads%s) in %.2fs" % (len(args.selected), extra, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
