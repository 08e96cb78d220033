"""Tiny verification helpers for the benchmarks (work under python -O)."""


class BenchmarkError(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise BenchmarkError(message)


def expect_eq(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        raise BenchmarkError("%s: got %s, expected %s" % (what, g[:200], w[:200]))


def expect_close(got, want, tol, what):
    if abs(got - want) > tol * max(1.0, abs(want)):
        raise BenchmarkError("%s: got %r, expected %r (tol %g)" % (what, got, want, tol))
