"""Helpers shared by the training workloads.

Verification uses explicit exceptions rather than ``assert`` so that the
checks still run under ``python -O``.
"""

import importlib


class VerificationError(Exception):
    """A workload computed something other than what was expected."""


class Skip(Exception):
    """A workload cannot run on this interpreter (e.g. an optional module is missing)."""


def check(cond, message):
    if not cond:
        raise VerificationError(message)


def _short(value, limit=160):
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def check_eq(got, want, what):
    if got != want:
        raise VerificationError(
            "%s: got %s, expected %s" % (what, _short(got), _short(want))
        )


def check_close(got, want, rel, what):
    scale = max(abs(got), abs(want), 1e-300)
    if abs(got - want) / scale > rel:
        raise VerificationError(
            "%s: got %r, expected %r (rel tol %g)" % (what, got, want, rel)
        )


def need(module_name):
    """Import an optional module, turning ImportError into Skip."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise Skip("module %s unavailable: %s" % (module_name, exc))


def scaled(base, scale, minimum=1):
    """Iteration count for a workload at the given --scale."""
    return max(minimum, int(round(base * scale)))
