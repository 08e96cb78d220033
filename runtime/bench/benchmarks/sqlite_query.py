"""sqlite3 query workload on a prebuilt in-memory database: recursive CTEs
(graph reachability), window functions (running totals, ranks), and many
small parameterized point queries with Python-side row handling.

verify() recomputes the answers in Python (BFS, prefix sums, sorting).
"""

import collections
import random
import sqlite3

from ._verify import expect_eq

NAME = "sqlite_query"
DESCRIPTION = "sqlite3: recursive CTE reachability, window functions, many point queries"

N_NODES = 1200
N_EDGES = 2400
N_READINGS = 20000
N_POINT = 45000
STARTS = (0, 7, 99, 512, 3, 1001, 640, 77)


def _data():
    rng = random.Random(9)
    edges = set()
    while len(edges) < N_EDGES:
        a, b = rng.randrange(N_NODES), rng.randrange(N_NODES)
        if a != b:
            edges.add((a, b))
    edges = sorted(edges)
    readings = [(i, "sensor%d" % (i % 7), rng.randint(-500, 500)) for i in range(N_READINGS)]
    return edges, readings


def setup():
    edges, readings = _data()
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE edge (src INTEGER, dst INTEGER, PRIMARY KEY (src, dst));
        CREATE TABLE reading (t INTEGER PRIMARY KEY, sensor TEXT, value INTEGER);
        CREATE INDEX ix_reading_sensor ON reading(sensor, t);
    """)
    conn.executemany("INSERT INTO edge VALUES (?, ?)", edges)
    conn.executemany("INSERT INTO reading VALUES (?, ?, ?)", readings)
    conn.commit()
    return conn


def teardown(conn):
    conn.close()


_REACH = """
WITH RECURSIVE reach(node) AS (
    SELECT ? UNION SELECT edge.dst FROM edge JOIN reach ON edge.src = reach.node
) SELECT COUNT(*), SUM(node) FROM reach
"""

_RUNNING = """
SELECT sensor, t, SUM(value) OVER (PARTITION BY sensor ORDER BY t ROWS UNBOUNDED PRECEDING)
FROM reading ORDER BY sensor, t
"""

_RANKED = """
SELECT sensor, MAX(value), MIN(value), COUNT(*) FROM reading GROUP BY sensor ORDER BY sensor
"""


def run(conn):
    reach = [tuple(conn.execute(_REACH, (start,)).fetchone()) for start in STARTS]
    if sqlite3.sqlite_version_info >= (3, 25, 0):
        finals = {}
        n_rows = 0
        for sensor, t, total in conn.execute(_RUNNING):
            finals[sensor] = total
            n_rows += 1
    else:  # SQLite < 3.25 has no window functions; the final running totals are plain sums
        finals = dict(conn.execute("SELECT sensor, SUM(value) FROM reading GROUP BY sensor").fetchall())
        n_rows = N_READINGS
    groups = [tuple(r) for r in conn.execute(_RANKED)]
    point_sum = 0
    for i in range(N_POINT):
        row = conn.execute("SELECT value FROM reading WHERE t = ?", ((i * 7919) % N_READINGS,)).fetchone()
        point_sum += row[0]
    out_degree = conn.execute(
        "SELECT src, COUNT(*) AS n FROM edge GROUP BY src ORDER BY n DESC, src LIMIT 5").fetchall()
    return {"reach": reach, "finals": finals, "n_rows": n_rows, "groups": groups,
            "point_sum": point_sum, "out_degree": [tuple(r) for r in out_degree]}


def _reference():
    edges, readings = _data()
    adj = collections.defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
    reach = []
    for start in STARTS:
        seen = {start}
        todo = collections.deque([start])
        while todo:
            u = todo.popleft()
            for v in adj[u]:
                if v not in seen:
                    seen.add(v)
                    todo.append(v)
        reach.append((len(seen), sum(seen)))
    finals = collections.Counter()
    by_sensor = collections.defaultdict(list)
    for t, sensor, value in readings:
        finals[sensor] += value
        by_sensor[sensor].append(value)
    groups = [(s, max(v), min(v), len(v)) for s, v in sorted(by_sensor.items())]
    values = dict((t, v) for t, _, v in readings)
    point_sum = sum(values[(i * 7919) % N_READINGS] for i in range(N_POINT))
    degree = collections.Counter(a for a, _ in edges)
    top = sorted(degree.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {"reach": reach, "finals": dict(finals), "n_rows": N_READINGS, "groups": groups,
            "point_sum": point_sum, "out_degree": top}


_REF = []


def verify(result):
    if not _REF:
        _REF.append(_reference())
    ref = _REF[0]
    for key in sorted(ref):
        expect_eq(result[key], ref[key], key)
