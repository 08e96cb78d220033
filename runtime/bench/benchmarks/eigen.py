"""Dominant eigenvalue by power iteration (spectral-norm-like numeric loops).

The symmetric matrix A = Q D Q^T is never stored: Q is the orthogonal
discrete-sine-transform matrix, evaluated from a sine table inside the
matrix-vector products, and D is a known diagonal.  So the answer is known in
closed form: the largest eigenvalue is max(D) and its eigenvector is the
first column of Q.
"""

import math

from ._verify import expect, expect_close

NAME = "eigen"
DESCRIPTION = "power iteration on an implicit dense matrix Q D Q^T (nested float loops, closed-form answer)"

N = 200
ITERATIONS = 30


def _setup(n):
    m = n + 1
    norm = math.sqrt(2.0 / m)
    table = [norm * math.sin(math.pi * k / m) for k in range(2 * m)]
    diag = [3.0] + [1.0 / (k + 1) for k in range(1, n)]
    return table, diag


def q_times(table, m2, x, n):
    # (Q x)_i = sum_k sqrt(2/(n+1)) sin(pi (i+1)(k+1)/(n+1)) x_k; the table is periodic in 2(n+1).
    out = []
    for i in range(1, n + 1):
        s = 0.0
        idx = 0
        for xk in x:
            idx += i
            if idx >= m2:
                idx -= m2
            s += table[idx] * xk
        out.append(s)
    return out


def power_iteration(n, iterations):
    table, diag = _setup(n)
    m2 = 2 * (n + 1)
    x = [1.0 / math.sqrt(n)] * n
    estimate = 0.0
    for _ in range(iterations):
        y = q_times(table, m2, x, n)            # Q^T x (Q is symmetric)
        y = [d * v for d, v in zip(diag, y)]     # D
        y = q_times(table, m2, y, n)             # Q
        estimate = sum(a * b for a, b in zip(x, y))  # Rayleigh quotient (x has unit norm)
        norm = math.sqrt(sum(v * v for v in y))
        x = [v / norm for v in y]
    return estimate, x


def run(state):
    value, vector = power_iteration(N, ITERATIONS)
    return value, tuple(vector)


def verify(result):
    value, vector = result
    expect_close(value, 3.0, 1e-9, "dominant eigenvalue")
    table, _ = _setup(N)
    m2 = 2 * (N + 1)
    column = [table[((i + 1) * 1) % m2] for i in range(N)]
    sign = 1.0 if sum(a * b for a, b in zip(column, vector)) > 0 else -1.0
    err = max(abs(a - sign * b) for a, b in zip(column, vector))
    expect(err < 1e-6, "eigenvector error %g" % err)
    # Q must be orthogonal: check a few inner products of its columns.
    for j, k in ((0, 0), (0, 1), (5, 5), (7, 40), (N - 1, N - 1)):
        dot = sum(table[((i + 1) * (j + 1)) % m2] * table[((i + 1) * (k + 1)) % m2] for i in range(N))
        expect_close(dot, 1.0 if j == k else 0.0, 1e-9, "Q^T Q [%d,%d]" % (j, k))
