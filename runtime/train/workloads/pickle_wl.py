"""pickle: dump/load of object graphs with cycles and shared references, custom
reduction hooks, every protocol, pickletools.optimize, out-of-band buffers.

Loaded graphs are compared with the originals by a cycle-aware structural
comparison that also checks that sharing (identity) is preserved.
"""

import collections
import io
import pickle
import pickletools
import random

from ._common import VerificationError, check, check_eq, scaled

NAME = "pickle"
DESCRIPTION = "pickle object graphs (cycles, sharing, __reduce__/__getstate__) over all protocols"

Point = collections.namedtuple("Point", "x y z")


class Node(object):
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = []
        self.attrs = {}
        if parent is not None:
            parent.children.append(self)


class Account(object):
    """Custom state: the cache is dropped on pickling and rebuilt on load."""

    def __init__(self, owner, cents):
        self.owner = owner
        self.cents = cents
        self._cache = {"display": "%s: %d" % (owner, cents)}

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_cache"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache = {"display": "%s: %d" % (self.owner, self.cents)}


class Interval(object):
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        if lo > hi:
            raise ValueError("empty interval")
        self.lo = lo
        self.hi = hi

    def __reduce__(self):
        return (Interval, (self.lo, self.hi))


def _build_graph(rng, n_nodes):
    root = Node("root")
    nodes = [root]
    shared_tags = [frozenset(rng.sample(range(100), 5)) for _ in range(10)]
    shared_account = Account("shared", 12345)
    for i in range(1, n_nodes):
        parent = nodes[rng.randrange(len(nodes))]
        node = Node("n%d-%s" % (i, rng.choice(["α", "β", "γ", "x"])), parent)
        kind = rng.randrange(8)
        if kind == 0:
            node.attrs["blob"] = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        elif kind == 1:
            node.attrs["big"] = rng.getrandbits(200) - (1 << 199)
        elif kind == 2:
            node.attrs["f"] = (rng.random(), float("inf"), -0.0, complex(rng.random(), -1.5))
        elif kind == 3:
            node.attrs["tags"] = shared_tags[rng.randrange(len(shared_tags))]
        elif kind == 4:
            node.attrs["acct"] = shared_account if rng.random() < 0.5 else Account("o%d" % i, rng.randint(0, 10 ** 6))
        elif kind == 5:
            node.attrs["ival"] = Interval(i, i + rng.randint(0, 100))
            node.attrs["pt"] = Point(i, -i, i * 0.5)
        elif kind == 6:
            node.attrs["mixed"] = [None, True, "text\u2603", bytearray(b"ab"), {1, 2, 3}, (i,)]
        else:
            node.attrs["link"] = nodes[rng.randrange(len(nodes))]  # cross/back reference
    return {"root": root, "index": dict((n.name, n) for n in nodes), "tags": shared_tags,
            "account": shared_account, "order": collections.OrderedDict((str(i), i) for i in range(50)),
            "counts": collections.Counter("mississippi" * 3), "deque": collections.deque(range(20), maxlen=30)}


def _same(a, b, memo):
    """Structural equality of two graphs, with identity structure preserved."""
    key = id(a)
    if key in memo:
        if memo[key] is not b:
            raise VerificationError("sharing not preserved for %r" % type(a).__name__)
        return
    if isinstance(a, (Node, Account, Interval, list, dict, bytearray, set, collections.deque)):
        memo[key] = b
    if type(a) is not type(b):
        raise VerificationError("type %s became %s" % (type(a).__name__, type(b).__name__))
    if isinstance(a, Node):
        check_eq(b.name, a.name, "node name")
        _same(a.parent, b.parent, memo)
        _same(a.children, b.children, memo)
        _same(a.attrs, b.attrs, memo)
    elif isinstance(a, Account):
        check_eq((b.owner, b.cents), (a.owner, a.cents), "account state")
        check_eq(b._cache, a._cache, "account cache rebuilt")
    elif isinstance(a, Interval):
        check_eq((b.lo, b.hi), (a.lo, a.hi), "interval")
    elif isinstance(a, (list, tuple, collections.deque)):
        check_eq(len(b), len(a), "sequence length")
        for x, y in zip(a, b):
            _same(x, y, memo)
        if isinstance(a, collections.deque):
            check_eq(b.maxlen, a.maxlen, "deque maxlen")
    elif isinstance(a, dict):
        check_eq(list(b.keys()), list(a.keys()), "dict keys (order)")
        for k in a:
            _same(a[k], b[k], memo)
    elif isinstance(a, float):
        if repr(a) != repr(b):
            raise VerificationError("float %r became %r" % (a, b))
    elif isinstance(a, complex):
        check_eq(repr(b), repr(a), "complex")
    else:
        check_eq(b, a, "leaf value")


class _Resolver(pickle.Unpickler):
    """Refuses any global outside an allow-list."""

    _BUILTINS = {"set", "frozenset", "bytearray", "complex", "object", "tuple", "list", "dict", "bytes", "str", "int", "float"}
    ALLOWED = {
        "collections": {"OrderedDict", "Counter", "deque"},
        "builtins": _BUILTINS,
        "__builtin__": _BUILTINS,  # protocols 0-2 use Python 2 names
        "copyreg": {"_reconstructor"},
        "copy_reg": {"_reconstructor"},
        "_codecs": {"encode"},  # bytes under protocols 0-2
    }

    def find_class(self, module, name):
        if module == __name__ or name in self.ALLOWED.get(module, ()):
            return pickle.Unpickler.find_class(self, module, name)
        raise pickle.UnpicklingError("global %s.%s is forbidden" % (module, name))


def run(scale):
    rng = random.Random(77)
    rounds = scaled(7, scale)
    n_bytes = 0
    for r in range(rounds):
        graph = _build_graph(rng, 900)
        for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
            data = pickle.dumps(graph, protocol=proto)
            n_bytes += len(data)
            back = pickle.loads(data)
            _same(graph, back, {})
            check(back["index"]["root"] is back["root"], "index points into the same graph (proto %d)" % proto)
            if proto == pickle.HIGHEST_PROTOCOL and r % 4 == 0:
                opt = pickletools.optimize(data)
                check(len(opt) <= len(data), "optimize does not grow")
                _same(graph, pickle.loads(opt), {})
            buf = io.BytesIO()
            pickle.Pickler(buf, protocol=proto).dump(graph)
            buf.seek(0)
            checked = _Resolver(buf).load()
            check_eq(sorted(checked["index"]), sorted(graph["index"]), "restricted load: node names")
            check(checked["index"]["root"] is checked["root"], "restricted load: sharing")
        # The pure-Python pickler/unpickler on the same graph.
        data = pickle._dumps(graph, protocol=2 + r % (pickle.HIGHEST_PROTOCOL - 1))
        _same(graph, pickle._loads(data), {})
        # Out-of-band buffers (protocol 5).
        if pickle.HIGHEST_PROTOCOL >= 5:
            arrays = [bytearray(rng.getrandbits(8) for _ in range(1000)) for _ in range(8)]
            buffers = []
            data = pickle.dumps([pickle.PickleBuffer(a) for a in arrays], protocol=5, buffer_callback=buffers.append)
            check_eq(len(buffers), len(arrays), "out-of-band buffer count")
            back = pickle.loads(data, buffers=buffers)
            check_eq([bytes(b) for b in back], [bytes(a) for a in arrays], "out-of-band contents")
        # Restricted unpickler refuses unknown globals.
        try:
            _Resolver(io.BytesIO(pickle.dumps(random.Random))).load()
        except pickle.UnpicklingError:
            pass
        else:
            raise VerificationError("forbidden global loaded")
        try:
            Interval(3, 1)
        except ValueError:
            pass
        try:
            pickle.loads(b"\x80\x04not a pickle")
        except Exception:
            pass
        else:
            raise VerificationError("garbage unpickled")
    return "%d graphs x %d protocols, %.1f MiB pickled" % (rounds, pickle.HIGHEST_PROTOCOL + 1, n_bytes / 1048576.0)
