"""Rewrite a staged _sysconfigdata module for shipping (pyston-build package).

Usage: sanitize_sysconfig.py [--map FROM TO]... FILE LIBPL DROP_REGEX BUILD_PATH...

Run by the staged interpreter itself, so the module is read as Python reads
it (its values are pretty-printed over several lines, which a text edit would
get wrong). In every string value:
- each --map FROM becomes its TO, first (a cross build's build python, a
  build-machine program, becomes the installed interpreter, which is what
  runs the build scripts on the target);
- each BUILD_PATH (source and build directories) becomes LIBPL, the
  installed config directory;
- every whitespace-separated word matching DROP_REGEX (our PGO and BOLT
  flags) is removed.
Then the module is written back and read again, and the script fails if any
value still names a build path or a dropped flag.

Exit codes: 0 done, 1 something survived, 2 usage.
"""

import importlib.util
import pprint
import re
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("_staged_sysconfigdata", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_time_vars


def clean(value, libpl, drop, paths, maps=()):
    for src, dst in maps:
        value = value.replace(src, dst)
    for p in paths:
        value = value.replace(p, libpl)
    words = re.split(r"(\s+)", value)
    out = []
    skip_space = False
    for w in words:
        if w and not w.isspace() and drop.match(w):
            skip_space = True
            continue
        if skip_space and w.isspace():
            skip_space = False
            continue
        skip_space = False
        out.append(w)
    return "".join(out)


def main(argv):
    maps = []
    while argv[:1] == ["--map"] and len(argv) >= 3:
        maps.append((argv[1], argv[2]))
        argv = argv[3:]
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, libpl, pattern, *paths = argv
    drop = re.compile(pattern)
    paths = sorted(paths, key=len, reverse=True)
    data = load(path)
    changed = 0
    for k, v in data.items():
        if isinstance(v, str):
            new = clean(v, libpl, drop, paths, maps)
            if new != v:
                data[k] = new
                changed += 1
    with open(path, "w", encoding="utf-8") as f:
        f.write("# system configuration generated and used by the sysconfig module\n")
        f.write("build_time_vars = ")
        f.write(pprint.pformat(data, width=100))
        f.write("\n")
    bad = []
    for k, v in load(path).items():
        if not isinstance(v, str):
            continue
        if any(p in v for p in paths + [m[0] for m in maps]) or any(drop.match(w) for w in v.split()):
            bad.append(k)
    if bad:
        print("still names a build path or a pipeline flag: " + ", ".join(sorted(bad)), file=sys.stderr)
        return 1
    print(f"sysconfig: {changed} values rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
