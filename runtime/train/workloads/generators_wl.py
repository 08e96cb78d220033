"""Generators, coroutines, comprehensions and itertools pipelines.

Results are checked against closed forms (sums of powers, binomials,
factorials), against a second algorithm (a generator-based incremental prime
sieve vs a bytearray sieve), and against explicit loops.
"""

import itertools
import math
import random

from ._common import VerificationError, check, check_eq, scaled

NAME = "generators"
DESCRIPTION = "generator pipelines, yield from, send() coroutines, comprehensions, itertools"


def primes():
    """Unbounded incremental sieve: maps each upcoming composite to its step."""
    yield 2
    composites = {}
    n = 3
    while True:
        step = composites.pop(n, None)
        if step is None:
            composites[n * n] = 2 * n
            yield n
        else:
            nxt = n + step
            while nxt in composites:
                nxt += step
            composites[nxt] = step
        n += 2


def count_primes_below(limit):
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, limit, i)))
    return sum(sieve)


def read_records(rng, n):
    for i in range(n):
        yield "%d,%s,%d,%d" % (i, rng.choice("abcdefgh"), rng.randint(-1000, 1000), rng.randint(1, 9))


def parse(lines):
    for line in lines:
        idx, key, value, weight = line.split(",")
        yield int(idx), key, int(value), int(weight)


def only_positive(rows):
    return (row for row in rows if row[2] > 0)


def weighted(rows):
    for idx, key, value, weight in rows:
        yield key, value * weight


def batched(iterable, size):
    it = iter(iterable)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def flatten(nested):
    for item in nested:
        if isinstance(item, list):
            yield from flatten(item)
        else:
            yield item


def running_stats():
    """Coroutine: send numbers, receive (count, total, minimum, maximum)."""
    count = total = 0
    lo = hi = None
    value = yield None
    while True:
        count += 1
        total += value
        lo = value if lo is None or value < lo else lo
        hi = value if hi is None or value > hi else hi
        value = yield (count, total, lo, hi)


def delegating_totals(result_box):
    """Uses the return value of a subgenerator via yield from."""
    def sub():
        total = 0
        while True:
            x = yield
            if x is None:
                return total
            total += x
    while True:
        total = yield from sub()
        result_box.append(total)


def collatz_len(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def collatz_seq(n):
    while n != 1:
        yield n
        n = n // 2 if n % 2 == 0 else 3 * n + 1
    yield 1


def fib_gen():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


def fib_fast(n):
    """Fast doubling, independent of the generator."""
    def pair(k):
        if k == 0:
            return 0, 1
        a, b = pair(k >> 1)
        c = a * (2 * b - a)
        d = a * a + b * b
        return (d, c + d) if k & 1 else (c, d)
    return pair(n)[0]


def run(scale):
    rng = random.Random(5)
    rounds = scaled(9, scale)
    for r in range(rounds):
        n = 25000
        # Pipeline vs. an explicit loop over the same records.
        state = rng.getstate()
        totals = {}
        for batch in batched(weighted(only_positive(parse(read_records(rng, n)))), 256):
            for key, amount in batch:
                totals[key] = totals.get(key, 0) + amount
        rng.setstate(state)
        want = {}
        for line in list(read_records(rng, n)):
            parts = line.split(",")
            if int(parts[2]) > 0:
                want[parts[1]] = want.get(parts[1], 0) + int(parts[2]) * int(parts[3])
        check_eq(totals, want, "pipeline totals")

        # Primes: generator sieve vs bytearray sieve.
        limit = 60000
        n_primes = sum(1 for _ in itertools.takewhile(lambda p: p < limit, primes()))
        check_eq(n_primes, count_primes_below(limit), "prime count below %d" % limit)

        # Closed forms.
        m = 40000
        check_eq(sum(i * i for i in range(m)), (m - 1) * m * (2 * m - 1) // 6, "sum of squares")
        check_eq(sum(x ** 3 for x in range(1, 2001)), (2000 * 2001 // 2) ** 2, "sum of cubes")
        check_eq(sum(1 for _ in itertools.permutations(range(7))), math.factorial(7), "permutations")
        check_eq(sum(1 for _ in itertools.combinations(range(18), 6)), math.comb(18, 6) if hasattr(math, "comb") else 18564, "combinations")
        check_eq(len(list(itertools.product("abc", repeat=6))), 3 ** 6, "product")
        check_eq(list(itertools.accumulate(range(1, 1001)))[-1], 1000 * 1001 // 2, "accumulate")
        fibs = list(itertools.islice(fib_gen(), 400))
        check_eq(fibs[-1], fib_fast(399), "fibonacci")
        check(all(fibs[i] + fibs[i + 1] == fibs[i + 2] for i in range(398)), "fibonacci recurrence")

        # Collatz: generator length vs loop.
        for start in range(1, 3000):
            if sum(1 for _ in collatz_seq(start)) != collatz_len(start) + 1:
                raise VerificationError("collatz length of %d" % start)

        # Coroutines with send().
        stats = running_stats()
        next(stats)
        values = [rng.randint(-10 ** 6, 10 ** 6) for _ in range(5000)]
        for v in values:
            result = stats.send(v)
        check_eq(result, (len(values), sum(values), min(values), max(values)), "running stats")
        stats.close()
        box = []
        d = delegating_totals(box)
        next(d)
        groups = [[rng.randint(0, 100) for _ in range(rng.randint(1, 50))] for _ in range(200)]
        for g in groups:
            for x in g:
                d.send(x)
            d.send(None)
        check_eq(box, [sum(g) for g in groups], "yield from return values")

        # yield from recursion.
        nested = [1, [2, [3, [4, [5, list(range(6, 200))]]]], [[[[200]]]]]
        check_eq(list(flatten(nested)), list(range(1, 201)), "recursive flatten")

        # Comprehensions.
        size = 60
        matrix = [[(i * size + j) % 97 for j in range(size)] for i in range(size)]
        transposed = [list(col) for col in zip(*matrix)]
        check(all(matrix[i][j] == transposed[j][i] for i in range(size) for j in range(size)), "transpose")
        product = [[sum(a * b for a, b in zip(row, col)) for col in transposed] for row in matrix[:20]]
        check_eq(product[3][5], sum(matrix[3][k] * matrix[k][5] for k in range(size)), "matrix product entry")
        words = ["w%d" % (i % 700) for i in range(7000)]
        index = {}
        for pos, w in enumerate(words):
            index.setdefault(w, []).append(pos)
        inverted = {w: [p for p, x in enumerate(words) if x == w] for w in set(words[:40])}
        check(all(inverted[w] == index[w] for w in inverted), "inverted index")
        check_eq({w for w in words}, set(index), "set comprehension")
        grouped = {k: sum(1 for _ in g) for k, g in itertools.groupby(sorted(words, key=len), key=len)}
        check_eq(sum(grouped.values()), len(words), "groupby counts")
        pairs = list(zip(*[iter(range(1000))] * 2))
        check_eq(len(pairs), 500, "zip grouping")
        longest = list(itertools.zip_longest(range(5), range(8), fillvalue=-1))
        check_eq(longest[-1], (-1, 7), "zip_longest")
        a, b = itertools.tee(iter(values), 2)
        check_eq(sum(a), sum(b), "tee")
        check_eq(list(itertools.compress(range(10), [1, 0] * 5)), [0, 2, 4, 6, 8], "compress")
        check_eq(sum(itertools.starmap(pow, [(2, i) for i in range(20)])), 2 ** 20 - 1, "starmap")
        check_eq(list(itertools.chain.from_iterable([[1], [2, 3], []])), [1, 2, 3], "chain")
    return "%d rounds" % rounds
