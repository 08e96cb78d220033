#!/usr/bin/env python3
"""pyston-build's check of an extension module that an autoload .pth enables.

Usage: wheel.py MODULE [--from DIR] [--jit-stats] [--no-autoload]

Run with the Python whose site-packages holds the autoload .pth (a venv).
It checks, printing ``ok <what>`` or ``FAILED <what>: <why>`` for each:

- autoload: MODULE is in sys.modules at startup, before this script imports it
  (--no-autoload: it is not, and importing it still works);
- from: with --from DIR, the loaded module's file is in DIR;
- disable: in a child started with DISABLE_PYSTON=1, MODULE is not loaded at
  startup;
- jit: with --jit-stats, a child started with JIT_SHOW_STATS=1 runs a hot loop
  and prints 'jit: successfully compiled N functions' at exit, N >= 1.

Children inherit PYTHONPATH, so a module found through it (a build
directory) is the one checked there too.

Last line: ``wheel: OK (<module>)`` or ``wheel: FAILED (<what>)``; exit 0 or 1.
"""

import argparse
import os
import re
import subprocess
import sys

LOADED_AT_START = set(sys.modules)

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe import JIT_PROGRAM  # noqa: E402


def child(env_extra, code):
    env = dict(os.environ)
    for key in ("DISABLE_PYSTON", "JIT_SHOW_STATS", "JIT_MIN_RUNS", "PYTHONSTARTUP"):
        env.pop(key, None)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("module")
    ap.add_argument("--from", dest="from_dir")
    ap.add_argument("--jit-stats", action="store_true")
    ap.add_argument("--no-autoload", action="store_true")
    a = ap.parse_args()
    failed = []

    def report(what, ok, detail):
        print("%s %s: %s" % ("ok" if ok else "FAILED", what, detail))
        if not ok:
            failed.append(what)

    at_start = a.module in LOADED_AT_START
    if a.no_autoload:
        report("autoload", not at_start, "not loaded at startup, as expected" if not at_start else "loaded at startup, but no autoload was expected")
    else:
        report("autoload", at_start, "loaded at startup by the .pth" if at_start else "not in sys.modules at startup: the autoload .pth did not load it")
    try:
        mod = __import__(a.module)
        report("import", True, getattr(mod, "__file__", "?"))
    except Exception as e:  # any import failure is the finding
        report("import", False, "%s: %s" % (type(e).__name__, e))
        mod = None
    if a.from_dir and mod is not None:
        where = os.path.dirname(os.path.realpath(getattr(mod, "__file__", "")))
        want = os.path.realpath(a.from_dir)
        report("from", where == want, "loaded from %s%s" % (where, "" if where == want else ", expected %s" % want))

    r = child({"DISABLE_PYSTON": "1"}, "import sys; print(%r in sys.modules)" % a.module)
    out = r.stdout.decode().strip()
    report("disable", r.returncode == 0 and out == "False",
           "DISABLE_PYSTON=1 leaves it unloaded" if out == "False" else "DISABLE_PYSTON=1: exit %d, loaded=%s %s" % (r.returncode, out, r.stderr.decode()[-300:]))

    if a.jit_stats:
        r = child({"JIT_SHOW_STATS": "1"}, JIT_PROGRAM)
        err = r.stderr.decode("utf-8", "replace")
        m = re.search(r"jit: successfully compiled (\d+) functions, failed to compile (\d+)", err)
        if r.returncode != 0 or m is None:
            report("jit", False, "exit %d, no 'jit: successfully compiled' line: %s" % (r.returncode, " | ".join(err.splitlines()[-3:])))
        else:
            report("jit", int(m.group(1)) >= 1, "compiled %s functions, %s failed (JIT_SHOW_STATS)" % (m.group(1), m.group(2)))

    if failed:
        print("wheel: FAILED (%s)" % ", ".join(failed))
        return 1
    print("wheel: OK (%s)" % a.module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
