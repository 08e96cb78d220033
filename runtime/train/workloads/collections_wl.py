"""collections, heapq and bisect: shortest paths (heap-based Dijkstra vs a
deque-based Bellman-Ford), an OrderedDict LRU cache vs functools.lru_cache,
Counter/defaultdict statistics, bisect interval lookups vs linear scans,
heapq merge/nlargest vs sorted().
"""

import bisect
import collections
import functools
import heapq
import random

from ._common import VerificationError, check, check_eq, scaled

NAME = "collections"
DESCRIPTION = "heapq Dijkstra vs deque Bellman-Ford, OrderedDict LRU, Counter/defaultdict, bisect, deque"


def make_graph(rng, n, extra_edges):
    graph = collections.defaultdict(list)
    for v in range(1, n):  # a random spanning tree keeps it connected
        u = rng.randrange(v)
        w = rng.randint(1, 100)
        graph[u].append((v, w))
        graph[v].append((u, w))
    for _ in range(extra_edges):
        u, v = rng.randrange(n), rng.randrange(n)
        graph[u].append((v, rng.randint(1, 100)))
    return graph


def dijkstra(graph, source):
    dist = {source: 0}
    heap = [(0, source)]
    done = set()
    while heap:
        d, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        for v, w in graph[u]:
            nd = d + w
            if nd < dist.get(v, nd + 1):
                dist[v] = nd
                heapq.heappush(heap, (nd, v))
    return dist


def bellman_ford_queue(graph, source):
    dist = {source: 0}
    queue = collections.deque([source])
    queued = {source}
    while queue:
        u = queue.popleft()
        queued.discard(u)
        du = dist[u]
        for v, w in graph[u]:
            if du + w < dist.get(v, du + w + 1):
                dist[v] = du + w
                if v not in queued:
                    queued.add(v)
                    queue.append(v)
    return dist


class LRU(object):
    def __init__(self, capacity):
        self.capacity = capacity
        self.data = collections.OrderedDict()
        self.hits = self.misses = 0

    def get(self, key, compute):
        try:
            value = self.data[key]
        except KeyError:
            self.misses += 1
            value = self.data[key] = compute(key)
            if len(self.data) > self.capacity:
                self.data.popitem(last=False)
            return value
        self.hits += 1
        self.data.move_to_end(key)
        return value


def run(scale):
    rng = random.Random(17)
    rounds = scaled(12, scale)
    checked = 0
    for r in range(rounds):
        graph = make_graph(rng, 2500, 6000)
        for source in rng.sample(range(2500), 3):
            a = dijkstra(graph, source)
            b = bellman_ford_queue(graph, source)
            check_eq(len(a), 2500, "all nodes reached")
            if a != b:
                raise VerificationError("Dijkstra and Bellman-Ford disagree from %d" % source)
            checked += 1

        # LRU cache vs functools.lru_cache: same hit/miss counts.
        keys = [int(rng.paretovariate(1.2)) % 500 for _ in range(20000)]
        lru = LRU(64)

        @functools.lru_cache(maxsize=64)
        def square(k):
            return k * k

        for k in keys:
            check(lru.get(k, lambda x: x * x) == square(k), "LRU value")
        info = square.cache_info()
        check_eq((lru.hits, lru.misses), (info.hits, info.misses), "LRU hit/miss counts")

        # Counter / defaultdict / namedtuple statistics.
        Sale = collections.namedtuple("Sale", "region product units")
        sales = [Sale(rng.choice("NSEW"), rng.choice(["ant", "bee", "cat", "dog", "eel"]), rng.randint(1, 50))
                 for _ in range(20000)]
        units = collections.Counter()
        by_region = collections.defaultdict(collections.Counter)
        for s in sales:
            units[s.product] += s.units
            by_region[s.region][s.product] += s.units
        check_eq(sum(units.values()), sum(s.units for s in sales), "Counter total")
        merged = sum(by_region.values(), collections.Counter())
        check_eq(merged, units, "Counter addition")
        top = units.most_common(2)
        check_eq([n for _, n in top], sorted(units.values(), reverse=True)[:2], "most_common")
        words = collections.Counter(s.product for s in sales)
        check_eq(sum(words.values()), len(sales), "Counter of iterable")
        chain = collections.ChainMap({"a": 1}, {"a": 2, "b": 3})
        check_eq((chain["a"], chain["b"], len(chain)), (1, 3, 2), "ChainMap")

        # bisect: map values to interval buckets, vs a linear scan.
        bounds = sorted(rng.sample(range(1, 100000), 300))
        values = [rng.randint(0, 100000) for _ in range(12000)]
        counts = [0] * (len(bounds) + 1)
        for v in values:
            counts[bisect.bisect_right(bounds, v)] += 1
        if r == 0:
            lin = [0] * (len(bounds) + 1)
            for v in values:
                i = 0
                while i < len(bounds) and bounds[i] <= v:
                    i += 1
                lin[i] += 1
            check_eq(counts, lin, "bisect vs linear scan")
        check_eq(sum(counts), len(values), "bucket total")
        sorted_vals = []
        for v in values[:3000]:
            bisect.insort(sorted_vals, v)
        check_eq(sorted_vals, sorted(values[:3000]), "insort")

        # heapq merge / nlargest / nsmallest / heapsort vs sorted().
        runs = [sorted(rng.randint(0, 10 ** 6) for _ in range(rng.randint(0, 2000))) for _ in range(12)]
        flat = [x for run_ in runs for x in run_]
        check_eq(list(heapq.merge(*runs)), sorted(flat), "heapq.merge")
        check_eq(heapq.nlargest(25, flat), sorted(flat, reverse=True)[:25], "nlargest")
        check_eq(heapq.nsmallest(25, flat, key=lambda x: -x), sorted(flat, reverse=True)[:25], "nsmallest with key")
        heap = []
        for x in flat:
            heapq.heappush(heap, x)
        out = [heapq.heappop(heap) for _ in range(len(heap))]
        check_eq(out, sorted(flat), "heapsort")

        # deque as a sliding window.
        window = collections.deque(maxlen=50)
        best = running = 0
        for i, v in enumerate(values):
            if len(window) == window.maxlen:
                running -= window[0]
            window.append(v)
            running += v
            best = max(best, running)
        want_best = max(sum(values[i:i + 50]) for i in range(0, len(values) - 49)) if r == 0 else best
        check_eq(best, want_best, "sliding window maximum")
        dq = collections.deque(range(100))
        dq.rotate(37)
        check_eq(dq[0], 63, "deque rotate")
        dq.rotate(-37)
        check_eq(list(dq), list(range(100)), "deque rotate back")
        od = collections.OrderedDict.fromkeys("abcde")
        od.move_to_end("b")
        od.move_to_end("e", last=False)
        check_eq("".join(od), "eacdb", "OrderedDict move_to_end")
    return "%d rounds, %d shortest-path trees" % (rounds, checked)
