#!/usr/bin/env python3
"""pyston-build smoke-test probe, run against every built interpreter.

Usage: probe.py [--expect-modules a,b|c,...] [--allow-missing a,b] [--no-venv]
                [--libpython-dir DIR] [--pyston yes|no] [--json OUT]

For each required module it prints ``ok <module>`` or
``MISSING <module>: <error>`` (import failed) or ``BROKEN <module>: <why>``
(imported, but real work with it went wrong).  Optional modules (``_tkinter``)
are reported as ``info`` lines only.  An entry ``a|b`` is satisfied by either
module.  Unless --no-venv, it also creates a venv with pip (ensurepip works
offline) and checks ``<venv>/bin/python -m pip --version`` and the venv's
``sys.prefix``.  A shared build must be running on its own libpython: the one
beside the interpreter or in ``../lib`` (or in --libpython-dir).  With
``--pyston yes`` a Pyston build must have ``sys.pyston_version_info``; with
``--pyston no`` (a Pyston tree's stock variants) it must not.  A build that
has it must also JIT-compile a hot function (``JIT_SHOW_STATS=1``).

Last line: ``probe: OK (<n> modules, venv ok|venv skipped)`` or
``probe: FAILED (...)``.

Exit codes: 0 everything required works, 1 something required is missing or
broken (or the venv check failed), 2 usage error.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

V = sys.version_info

# A full build should have all of these.  "a|b" means either one will do.
DEFAULT_REQUIRED = [
    "ssl", "_ssl", "hashlib", "_hashlib", "sqlite3", "_sqlite3", "ctypes", "_ctypes",
    "lzma", "_lzma", "bz2", "_bz2", "zlib", "readline", "decimal", "_decimal",
    "_json", "_pickle", "_socket", "select", "_uuid", "_gdbm|_dbm", "_curses",
    "pyexpat", "_elementtree", "array", "math", "cmath", "_struct", "binascii",
    "unicodedata", "mmap", "fcntl", "termios", "resource", "grp", "_posixsubprocess",
    "_multiprocessing", "_queue", "_asyncio", "_contextvars",
    # Core accelerators every CPython build compiles.
    "_datetime", "_csv", "_random", "_bisect", "_heapq", "_lsprof", "_posixshmem",
]
if V >= (3, 9):
    DEFAULT_REQUIRED += ["zoneinfo", "_zoneinfo"]
if V < (3, 13):
    DEFAULT_REQUIRED.append("_crypt")  # removed from CPython in 3.13

OPTIONAL = ["_tkinter"]

SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA3_256_ABC = "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
BLAKE2B_ABC = ("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
               "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
BLAKE2S_ABC = "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"


class Broken(Exception):
    """The module imported but does not work."""


def need(cond, message):
    if not cond:
        raise Broken(message)


# --------------------------------------------------------------------------
# Real work per module.  Each returns an optional detail string.


def work_ssl(mod):
    ctx = mod.create_default_context()
    version = mod.OPENSSL_VERSION
    need(version.startswith(("OpenSSL", "LibreSSL", "BoringSSL")), "unexpected OPENSSL_VERSION %r" % version)
    need(ctx.verify_mode == mod.CERT_REQUIRED and ctx.check_hostname, "default context does not verify")
    need(getattr(mod, "HAS_TLSv1_2", True), "no TLS 1.2")
    paths = mod.get_default_verify_paths()
    return "%s; TLS1.3=%s; cafile=%s" % (version, getattr(mod, "HAS_TLSv1_3", "?"), paths.cafile or paths.openssl_cafile)


def work_hashlib(mod):
    need(mod.sha256(b"abc").hexdigest() == SHA256_ABC, "sha256('abc') is wrong")
    need(mod.sha3_256(b"abc").hexdigest() == SHA3_256_ABC, "sha3_256('abc') is wrong")
    need(mod.blake2b(b"abc").hexdigest() == BLAKE2B_ABC, "blake2b('abc') is wrong")
    need(mod.blake2s(b"abc").hexdigest() == BLAKE2S_ABC, "blake2s('abc') is wrong")
    h = mod.sha256()
    for i in range(0, 3):
        h.update(b"abc"[i:i + 1])
    need(h.hexdigest() == SHA256_ABC, "incremental sha256 is wrong")
    need(mod.pbkdf2_hmac("sha256", b"pw", b"salt", 2, 8) == mod.pbkdf2_hmac("sha256", b"pw", b"salt", 2, 8), "pbkdf2")
    return "%d algorithms" % len(mod.algorithms_available)


def work__hashlib(mod):
    need(mod.openssl_sha256(b"abc").hexdigest() == SHA256_ABC, "OpenSSL sha256('abc') is wrong")
    return None


def work_sqlite3(mod):
    conn = mod.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [("row%d" % i,) for i in range(100)])
        total, count = conn.execute("SELECT SUM(k), COUNT(*) FROM t WHERE v LIKE 'row%'").fetchone()
        need((total, count) == (5050, 100), "query returned %r" % ((total, count),))
        need(conn.execute("SELECT json_extract('{\"a\": [1, 2]}', '$.a[1]')").fetchone()[0] == 2
             if mod.sqlite_version_info >= (3, 38, 0) else True, "JSON functions")
    finally:
        conn.close()
    return "SQLite %s" % mod.sqlite_version


def work_ctypes(mod):
    import ctypes.util
    name = ctypes.util.find_library("c")
    libc = mod.CDLL(name) if name else mod.CDLL(None)
    strlen = libc.strlen
    strlen.argtypes = [mod.c_char_p]
    strlen.restype = mod.c_size_t
    need(strlen(b"pyston-build") == 12, "libc strlen returned the wrong length")
    buf = mod.create_string_buffer(b"abc", 8)
    need(mod.sizeof(buf) == 8 and buf.value == b"abc", "string buffer")
    return "libc=%s" % (name or "<process>")


def _roundtrip(mod, what):
    data = b"".join(b"line %d of some moderately compressible text\n" % i for i in range(3000))
    comp = mod.compress(data)
    need(mod.decompress(comp) == data, "%s round trip" % what)
    need(len(comp) < len(data) // 4, "%s does not compress" % what)
    return None


def work_lzma(mod):
    return _roundtrip(mod, "lzma")


def work_bz2(mod):
    return _roundtrip(mod, "bz2")


def work_zlib(mod):
    _roundtrip(mod, "zlib")
    need(mod.crc32(b"123456789") == 0xCBF43926, "crc32 check value")
    return "zlib %s" % mod.ZLIB_RUNTIME_VERSION


def work_decimal(mod):
    import _decimal
    need(mod.Decimal is _decimal.Decimal, "decimal is the pure-Python implementation, not _decimal")
    need(mod.Decimal("1.1") + mod.Decimal("2.2") == mod.Decimal("3.3"), "decimal arithmetic")
    return "libmpdec %s" % getattr(mod, "__libmpdec_version__", "?")


def work_readline(mod):
    doc = mod.__doc__ or ""
    backend = getattr(mod, "backend", "editline" if "libedit" in doc else "readline")
    return "%s %s" % (backend, getattr(mod, "_READLINE_LIBRARY_VERSION", "?"))


def work__json(mod):
    import json.decoder
    import json.scanner
    need(json.scanner.c_make_scanner is not None and json.decoder.c_scanstring is not None, "json not accelerated")
    need(json.loads('{"a": [1, 2.5, "\\u00e9"]}') == {"a": [1, 2.5, "\u00e9"]}, "json decode")
    return None


def work__pickle(mod):
    import pickle
    need(pickle.Pickler is mod.Pickler, "pickle is not using _pickle")
    obj = {"a": [1, 2, (3, 4)], "b": {1, 2}}
    need(pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)) == obj, "pickle round trip")
    return None


def work__socket(mod):
    import socket
    a, b = socket.socketpair()
    try:
        a.sendall(b"ping")
        need(b.recv(4) == b"ping", "socketpair")
    finally:
        a.close()
        b.close()
    return None


def work_select(mod):
    need(hasattr(mod, "poll"), "select.poll missing")
    if sys.platform.startswith("linux"):
        need(hasattr(mod, "epoll"), "select.epoll missing")
        ep = mod.epoll()
        ep.close()
    return None


def work__uuid(mod):
    import uuid
    u = uuid.uuid1()
    need(u.version == 1, "uuid1")
    return "has_uuid_generate_time_safe=%s" % getattr(mod, "has_uuid_generate_time_safe", "?")


def work__gdbm(mod):
    tmp = tempfile.mkdtemp(prefix="probe-dbm-")
    try:
        db = mod.open(os.path.join(tmp, "db"), "c")
        db[b"key"] = b"value"
        db.close()
        db = mod.open(os.path.join(tmp, "db"), "r")
        need(db[b"key"] == b"value", "dbm read back")
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return None


work__dbm = work__gdbm


def work_pyexpat(mod):
    seen = []
    parser = mod.ParserCreate()
    parser.StartElementHandler = lambda name, attrs: seen.append((name, attrs))
    parser.Parse(b"<a x='1'><b/></a>", True)
    need(seen == [("a", {"x": "1"}), ("b", {})], "expat events %r" % seen)
    return mod.EXPAT_VERSION


def work__elementtree(mod):
    import xml.etree.ElementTree as ET
    need(ET.XMLParser is mod.XMLParser, "ElementTree is not using _elementtree")
    root = ET.fromstring("<r><i n='1'/><i n='2'/></r>")
    need([e.get("n") for e in root.iter("i")] == ["1", "2"], "ElementTree parse")
    return None


def work_array(mod):
    a = mod.array("d", [0.5 * i for i in range(10)])
    b = mod.array("d")
    b.frombytes(a.tobytes())
    need(a == b and sum(b) == 22.5, "array round trip")
    return None


def work_cmath(mod):
    import math
    z = mod.exp(1j * math.pi)
    need(abs(z + 1) < 1e-12, "exp(i pi) = %r" % z)
    return None


def work_binascii(mod):
    need(mod.crc32(b"123456789") == 0xCBF43926 and mod.hexlify(b"\x01\xff") == b"01ff", "binascii")
    return None


def work_unicodedata(mod):
    need(mod.normalize("NFC", "e\u0301") == "\u00e9", "NFC")
    need(mod.name("\u00e9") == "LATIN SMALL LETTER E WITH ACUTE", "name")
    return "Unicode %s" % mod.unidata_version


def work_mmap(mod):
    m = mod.mmap(-1, 4096)
    try:
        m[:5] = b"hello"
        need(m[:5] == b"hello", "anonymous mmap")
    finally:
        m.close()
    return None


def work_fcntl(mod):
    with tempfile.TemporaryFile() as fh:
        flags = mod.fcntl(fh.fileno(), mod.F_GETFD)
        need(isinstance(flags, int), "F_GETFD")
        mod.flock(fh.fileno(), mod.LOCK_EX | mod.LOCK_NB)
        mod.flock(fh.fileno(), mod.LOCK_UN)
    return None


def work_resource(mod):
    soft, hard = mod.getrlimit(mod.RLIMIT_NOFILE)
    need(soft > 0, "RLIMIT_NOFILE")
    return "nofile=%d/%d" % (soft, hard)


def work_grp(mod):
    mod.getgrall()  # may legitimately be empty in a container
    return None


def work__posixsubprocess(mod):
    out = subprocess.run([sys.executable, "-I", "-c", "print(6 * 7)"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=120, env=_child_env())
    need(out.returncode == 0 and out.stdout.strip() == b"42",
         "child interpreter failed: rc=%d %s" % (out.returncode, out.stderr.decode("utf-8", "replace")[-300:]))
    return None


def work__multiprocessing(mod):
    need(hasattr(mod, "SemLock"), "_multiprocessing.SemLock missing (no sem_open support)")
    return None


def work__queue(mod):
    q = mod.SimpleQueue()
    q.put(1)
    need(q.get() == 1, "SimpleQueue")
    return None


def work__asyncio(mod):
    import asyncio

    async def main():
        await asyncio.sleep(0)
        return 42

    need(asyncio.Future is mod.Future, "asyncio.Future is not the C implementation")
    need(asyncio.run(main()) == 42, "asyncio.run")
    return None


def work__contextvars(mod):
    var = mod.ContextVar("probe", default=0)
    ctx = mod.copy_context()
    ctx.run(var.set, 5)
    need(var.get() == 0 and ctx[var] == 5, "context isolation")
    return None


def work_zoneinfo(mod):
    try:
        utc = mod.ZoneInfo("UTC")
    except Exception as exc:  # no tz database is a system matter, not a build defect
        return "no tz database (%s)" % type(exc).__name__
    return "UTC=%s" % utc.key


def work__zoneinfo(mod):
    import zoneinfo
    need(zoneinfo.ZoneInfo is mod.ZoneInfo, "zoneinfo is not using _zoneinfo")
    return None


def work__crypt(mod):
    hashed = mod.crypt("password", "$6$saltsalt$")
    need(isinstance(hashed, str) and hashed.startswith("$6$saltsalt$"), "crypt sha512 returned %r" % hashed)
    return None


def work_math(mod):
    need(mod.isclose(mod.fsum([0.1] * 10), 1.0) and mod.factorial(20) == 2432902008176640000, "math")
    return None


def work__struct(mod):
    need(mod.pack("!IhQ", 1, -2, 3) == b"\x00\x00\x00\x01\xff\xfe" + b"\x00" * 7 + b"\x03", "struct.pack")
    return None


def work_termios(mod):
    need(hasattr(mod, "tcgetattr") and hasattr(mod, "TCSANOW"), "termios API")
    return None


def work__curses(mod):
    need(hasattr(mod, "initscr"), "curses API")
    v = getattr(mod, "ncurses_version", None)
    return "ncurses %d.%d.%d" % tuple(v) if v else None


def work__tkinter(mod):
    return "Tk %s" % getattr(mod, "TK_VERSION", "?")


WORK = dict((name[5:], fn) for name, fn in list(globals().items()) if name.startswith("work_") and callable(fn))


# --------------------------------------------------------------------------


def _child_env():
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE",
                "VIRTUAL_ENV", "__PYVENV_LAUNCHER__"):
        env.pop(key, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PIP_NO_INDEX"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def check_module(name):
    """Returns (status, detail): status is ok / missing / broken."""
    import importlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mod = importlib.import_module(name)
        except BaseException as exc:  # noqa: B902 - ImportError, OSError from dlopen, ...
            if isinstance(exc, KeyboardInterrupt):
                raise
            return "missing", "%s: %s" % (type(exc).__name__, exc)
        work = WORK.get(name)
        if work is None:
            return "ok", None
        try:
            return "ok", work(mod)
        except Broken as exc:
            return "broken", str(exc)
        except BaseException as exc:  # noqa: B902
            if isinstance(exc, KeyboardInterrupt):
                raise
            return "broken", "%s: %s" % (type(exc).__name__, exc)


def check_entry(entry):
    """An entry is 'mod' or 'a|b' (either satisfies). Returns (status, detail, satisfied_by)."""
    alternatives = [a for a in entry.split("|") if a]
    failures = []
    broken = None
    for alt in alternatives:
        status, detail = check_module(alt)
        if status == "ok":
            return "ok", detail, alt
        failures.append("%s: %s" % (alt, detail) if len(alternatives) > 1 else detail)
        if status == "broken" and broken is None:
            broken = failures[-1]
    if broken is not None:
        return "broken", broken, None
    return "missing", "; ".join(failures), None


JIT_PROGRAM = """
def hot(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

for _ in range(200):
    hot(1000)
print("done")
"""


def check_jit():
    """Pyston's JIT compiles a hot function: a child with JIT_SHOW_STATS=1 prints
    'jit: successfully compiled N functions' at exit, and N must be at least 1.
    Returns (ok, detail)."""
    env = _child_env()
    env["JIT_SHOW_STATS"] = "1"
    for name in ("JIT_MIN_RUNS", "DISABLE_PYSTON"):
        env.pop(name, None)
    r = subprocess.run([sys.executable, "-c", JIT_PROGRAM], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300, env=env)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0 or "done" not in out:
        return False, "the JIT check program failed (exit %d): %s" % (r.returncode, " | ".join(err.splitlines()[-4:]))
    m = re.search(r"jit: successfully compiled (\d+) functions, failed to compile (\d+)", err)
    if m is None:
        return False, "JIT_SHOW_STATS=1 printed no 'jit: successfully compiled' line: the JIT is not in this build"
    compiled, failed = int(m.group(1)), int(m.group(2))
    if compiled < 1:
        return False, "the JIT compiled no function (%d failed)" % failed
    return True, "compiled %d functions, %d failed (JIT_SHOW_STATS)" % (compiled, failed)


def check_venv():
    """Creates a venv with pip and checks it. Returns (ok, detail)."""
    tmp = tempfile.mkdtemp(prefix="pyston-probe-")
    venv_dir = os.path.join(tmp, "venv")
    env = _child_env()
    try:
        r = subprocess.run([sys.executable, "-m", "venv", venv_dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=900, env=env)
        if r.returncode != 0:
            output = r.stdout.decode("utf-8", "replace").strip()
            tail = " | ".join(output.splitlines()[-6:]) or "(no output)"
            hint = ""
            if "ensurepip" in output:
                hint = " [ensurepip is not available; Debian/Ubuntu split it into python3.X-venv]"
            return False, "'%s -m venv' failed (exit %d): %s%s" % (sys.executable, r.returncode, tail, hint)
        vpy = os.path.join(venv_dir, "bin", "python")
        if not os.path.exists(vpy):
            return False, "venv has no bin/python"
        r = subprocess.run([vpy, "-m", "pip", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300, env=env)
        text = r.stdout.decode("utf-8", "replace").strip()
        if r.returncode != 0 or "pip" not in text:
            return False, "'<venv>/bin/python -m pip --version' failed (exit %d): %s" % (r.returncode, text[-400:])
        r = subprocess.run([vpy, "-c", "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix]))"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, env=env)
        if r.returncode != 0:
            return False, "venv python failed: %s" % r.stderr.decode("utf-8", "replace")[-300:]
        prefix, base_prefix = json.loads(r.stdout.decode("utf-8"))
        if os.path.realpath(prefix) != os.path.realpath(venv_dir):
            return False, "venv sys.prefix is %r, expected %r" % (prefix, venv_dir)
        if os.path.realpath(base_prefix) != os.path.realpath(sys.base_prefix):
            return False, "venv sys.base_prefix is %r, expected %r" % (base_prefix, sys.base_prefix)
        return True, text.split(" from ")[0]
    except subprocess.TimeoutExpired as exc:
        return False, "timed out: %s" % (exc.cmd,)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_libpython(expected_dir=None):
    """A shared build must run on its own libpython, never a system one that
    happens to have the same soname (the loader falls back to the default
    search path when the RUNPATH or LD_LIBRARY_PATH misses).  Returns None when
    no libpython is mapped (a static build) or where /proc is missing, else
    (ok, detail)."""
    import sysconfig
    if not sysconfig.get_config_var("Py_ENABLE_SHARED") or not os.path.exists("/proc/self/maps"):
        return None
    with open("/proc/self/maps") as fh:
        fields = [line.rstrip("\n").split(None, 5) for line in fh]
    libs = sorted({f[5] for f in fields if len(f) == 6 and os.path.basename(f[5]).startswith("libpython")})
    if not libs:
        # Debian's own python3.11 says Py_ENABLE_SHARED but links its core in.
        return None
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    # The build tree keeps the library beside the interpreter; an install (or
    # the portable directory) in ../lib, where the RUNPATH $ORIGIN/../lib points.
    # A caller that loads another copy on purpose (the BOLTed one) names its directory.
    own = {os.path.realpath(expected_dir)} if expected_dir else {exe_dir, os.path.realpath(os.path.join(exe_dir, "..", "lib"))}
    foreign = [lib for lib in libs if os.path.dirname(os.path.realpath(lib)) not in own]
    if foreign:
        return False, "runs on %s, not its own libpython (expected in %s)" % (", ".join(foreign), " or ".join(sorted(own)))
    return True, ", ".join(libs)


def _split(value):
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def main(argv=None):
    parser = argparse.ArgumentParser(prog="probe.py", description="pyston-build interpreter smoke test")
    parser.add_argument("--expect-modules", default=None,
                        help="comma-separated required modules, replacing the default list ('a|b' = either)")
    parser.add_argument("--allow-missing", default="", help="comma-separated modules to drop from the required list")
    parser.add_argument("--no-venv", action="store_true", help="skip the venv + pip check")
    parser.add_argument("--libpython-dir", default=None,
                        help="a shared build must have loaded its libpython from this directory")
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--pyston", choices=["yes", "no"], default=None,
                        help="a Pyston tree's build: 'yes' requires sys.pyston_version_info (its JIT variants), "
                             "'no' requires its absence (the stock variants)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    required = _split(args.expect_modules) if args.expect_modules is not None else list(DEFAULT_REQUIRED)
    allowed = set(_split(args.allow_missing))
    if allowed:
        required = [e for e in required if e not in allowed and not (set(e.split("|")) & allowed)]

    print("info python: %s" % sys.version.replace("\n", " "))
    print("info executable: %s" % sys.executable)
    print("info prefix: %s" % sys.prefix)
    report = {"python": sys.version, "executable": sys.executable, "modules": {}, "optional": {}, "venv": None}
    missing, broken = [], []
    for entry in required:
        status, detail, used = check_entry(entry)
        report["modules"][entry] = {"status": status, "detail": detail, "satisfied_by": used}
        if status == "ok":
            note = []
            if used != entry:
                note.append(used)
            if detail:
                note.append(detail)
            print("ok %s%s" % (entry, ("  (%s)" % "; ".join(note)) if note else ""))
        elif status == "missing":
            missing.append(entry)
            print("MISSING %s: %s" % (entry, detail))
        else:
            broken.append(entry)
            print("BROKEN %s: %s" % (entry, detail))
        sys.stdout.flush()
    for name in OPTIONAL:
        if name in required:
            continue
        status, detail = check_module(name)
        report["optional"][name] = {"status": status, "detail": detail}
        if status == "ok":
            print("info %s: available (optional)%s" % (name, ("  (%s)" % detail) if detail else ""))
        else:
            print("info %s: not available (optional): %s" % (name, detail))

    libpython = check_libpython(args.libpython_dir)
    if libpython is not None:
        report["libpython"] = {"ok": libpython[0], "detail": libpython[1]}
        print("%s libpython: %s" % ("ok" if libpython[0] else "BROKEN", libpython[1]))
        if not libpython[0]:
            broken.append("libpython")

    if args.pyston is not None:
        info = getattr(sys, "pyston_version_info", None)
        want = args.pyston == "yes"
        ok = (info is not None) == want
        detail = ("sys.pyston_version_info = %s" % ".".join(str(x) for x in info[:3])) if info is not None else "no sys.pyston_version_info"
        report["pyston"] = {"ok": ok, "detail": detail}
        print("%s pyston: %s%s" % ("ok" if ok else "BROKEN", detail, "" if ok else " (expected %s)" % ("it" if want else "none")))
        if not ok:
            broken.append("pyston")
        if want and info is not None:
            jit_ok, jit_detail = check_jit()
            report["jit"] = {"ok": jit_ok, "detail": jit_detail}
            print("%s jit: %s" % ("ok" if jit_ok else "BROKEN", jit_detail))
            if not jit_ok:
                broken.append("jit")

    venv_ok, venv_detail = True, "skipped"
    if not args.no_venv:
        venv_ok, venv_detail = check_venv()
        report["venv"] = {"ok": venv_ok, "detail": venv_detail}
        print("%s venv: %s" % ("ok" if venv_ok else "FAILED", venv_detail))

    n_ok = len(required) - len(missing) - len([b for b in broken if b not in ("libpython", "pyston", "jit")])
    venv_word = "venv skipped" if args.no_venv else ("venv ok" if venv_ok else "venv FAILED")
    problems = []
    if missing:
        problems.append("missing: %s" % ", ".join(missing))
    if broken:
        problems.append("broken: %s" % ", ".join(broken))
    if not venv_ok:
        problems.append("venv: %s" % venv_detail)
    report["ok"] = not problems
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
            fh.write("\n")
    if problems:
        print("probe: FAILED (%s; %d of %d modules ok, %s)" % ("; ".join(problems), n_ok, len(required), venv_word))
        return 1
    print("probe: OK (%d modules, %s)" % (n_ok, venv_word))
    return 0


if __name__ == "__main__":
    sys.exit(main())
