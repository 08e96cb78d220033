"""Held-out benchmarks for pyston-build.

Each module defines ``NAME``, ``DESCRIPTION``, optionally ``setup() -> state``
and ``teardown(state)``, ``run(state) -> result`` (the timed part, which must
be deterministic) and ``verify(result)`` (raises on a wrong answer).

None of this code is shared with runtime/train/: the training workloads and
these benchmarks are kept apart on purpose.
"""

BENCHMARKS = [
    ("nbody", "nbody"),
    ("scheduler", "scheduler"),
    ("raytrace", "raytrace"),
    ("regex_scan", "regex_scan"),
    ("json_shapes", "json_shapes"),
    ("constraints", "constraints"),
    ("eigen", "eigen"),
    ("wordfreq", "wordfreq"),
    ("event_sim", "event_sim"),
    ("slugify", "slugify"),
    ("deepcopy", "deepcopy_graph"),
    ("sqlite_query", "sqlite_query"),
    ("codegen_template", "codegen_template"),
    ("reversi", "reversi"),
]
