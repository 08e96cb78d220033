"""PGO/BOLT training workloads for pyston-build.

Each module in ``WORKLOADS`` defines ``NAME``, ``DESCRIPTION`` and
``run(scale) -> str``.  ``run`` does the work, verifies what it computed
(raising ``VerificationError`` on a wrong answer, ``Skip`` when an optional
module is unavailable) and returns a one-line summary.
"""

# (workload name, module name), in the order run.py runs them.
WORKLOADS = [
    ("templating", "templating"),
    ("json", "json_wl"),
    ("regex", "regex_wl"),
    ("unicode", "unicode_wl"),
    ("objects", "objects_wl"),
    ("generators", "generators_wl"),
    ("asyncio", "asyncio_wl"),
    ("sqlite", "sqlite_wl"),
    ("pickle", "pickle_wl"),
    ("logging", "logging_wl"),
    ("decimal", "decimal_wl"),
    ("csv_io", "csv_io_wl"),
    ("textproc", "textproc_wl"),
    ("collections", "collections_wl"),
    ("datetime", "datetime_wl"),
    ("binary", "binary_wl"),
    ("pyparse", "pyparse_wl"),
    ("http", "http_wl"),
]
