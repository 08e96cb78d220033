"""logging: a logger hierarchy writing to in-memory streams through several
formatters (%-, {- and $-style), level thresholds, filters, adapters,
exception records, MemoryHandler buffering and QueueHandler.

Timestamps are made deterministic (a filter sets ``record.created``), so every
formatted line can be compared with a line built independently.
"""

import io
import logging
import logging.handlers
import queue
import random
import time

from ._common import VerificationError, check, check_eq, scaled

NAME = "logging"
DESCRIPTION = "logging hierarchy, formatters (%/{/$), filters, adapters, exceptions, Memory/QueueHandler"

BASE_TIME = 1700000000.0
LEVELS = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
LEVEL_NAMES = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARNING",
               logging.ERROR: "ERROR", logging.CRITICAL: "CRITICAL"}


class Clock(logging.Filter):
    """Stamps records with a deterministic creation time."""

    def __init__(self):
        logging.Filter.__init__(self)
        self.tick = 0

    def filter(self, record):
        record.created = BASE_TIME + self.tick * 0.25
        record.msecs = (record.created - int(record.created)) * 1000
        self.tick += 1
        return True


class DropNoise(logging.Filter):
    def filter(self, record):
        return "noise" not in record.getMessage()


class RequestAdapter(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return "[req %s] %s" % (self.extra["request_id"], msg), kwargs


def _fmt_time(created):
    t = time.gmtime(created)
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + ",%03d" % int((created - int(created)) * 1000)


def run(scale):
    rng = random.Random(31)
    rounds = scaled(26, scale)
    n_records = 0
    for r in range(rounds):
        prefix = "train%d" % r
        root = logging.getLogger(prefix)
        root.propagate = False
        root.setLevel(logging.DEBUG)
        clock = Clock()

        all_stream = io.StringIO()
        h_all = logging.StreamHandler(all_stream)
        fmt = logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s")
        fmt.converter = time.gmtime
        h_all.setFormatter(fmt)
        h_all.addFilter(clock)
        h_all.addFilter(DropNoise())

        warn_stream = io.StringIO()
        h_warn = logging.StreamHandler(warn_stream)
        h_warn.setLevel(logging.WARNING)
        h_warn.setFormatter(logging.Formatter("{levelname}|{name}|{message}", style="{"))

        dollar_stream = io.StringIO()
        h_dollar = logging.StreamHandler(dollar_stream)
        h_dollar.setFormatter(logging.Formatter("$levelno:$module:$message", style="$"))
        h_dollar.addFilter(logging.Filter(prefix + ".web"))  # only the web subtree

        mem_target_stream = io.StringIO()
        mem_target = logging.StreamHandler(mem_target_stream)
        mem_target.setFormatter(logging.Formatter("%(message)s"))
        h_mem = logging.handlers.MemoryHandler(capacity=50, flushLevel=logging.ERROR, target=mem_target)

        q = queue.SimpleQueue() if hasattr(queue, "SimpleQueue") else queue.Queue()
        h_queue = logging.handlers.QueueHandler(q)

        for h in (h_all, h_warn, h_dollar, h_mem, h_queue):
            root.addHandler(h)

        names = [prefix, prefix + ".db", prefix + ".web", prefix + ".web.auth", prefix + ".cache"]
        loggers = [logging.getLogger(n) for n in names]
        logging.getLogger(prefix + ".cache").setLevel(logging.INFO)
        check(logging.getLogger(prefix + ".web.auth").parent is loggers[2], "hierarchy")

        expected_all = []
        expected_warn = []
        expected_dollar = []
        expected_mem = []
        n_emitted = 0
        tick = 0
        for i in range(1500):
            idx = rng.randrange(len(loggers))
            logger = loggers[idx]
            level = rng.choice(LEVELS)
            noisy = rng.random() < 0.1
            args = (i, rng.choice(["ok", "slow", "noise" if noisy else "fail", "größe", "\u2713"]), rng.random())
            use_adapter = rng.random() < 0.2
            if use_adapter:
                RequestAdapter(logger, {"request_id": i % 17}).log(level, "event %d %s %.3f", *args)
                message = "[req %d] event %d %s %.3f" % ((i % 17,) + args)
            else:
                logger.log(level, "event %d %s %.3f", *args)
                message = "event %d %s %.3f" % args
            if level < logger.getEffectiveLevel():
                continue
            n_emitted += 1
            # h_all: the Clock filter runs first, so every emitted record ticks.
            created = BASE_TIME + tick * 0.25
            tick += 1
            if "noise" not in message:
                expected_all.append("%s %-8s %s: %s" % (_fmt_time(created), LEVEL_NAMES[level], names[idx], message))
            if level >= logging.WARNING:
                expected_warn.append("%s|%s|%s" % (LEVEL_NAMES[level], names[idx], message))
            if names[idx].startswith(prefix + ".web"):
                expected_dollar.append("%d:%s:%s" % (level, __name__.rsplit(".", 1)[-1], message))
            expected_mem.append(message)

        # Exceptions carry a formatted traceback.
        try:
            {}["missing"] = 1 // 0
        except ZeroDivisionError:
            loggers[1].exception("division failed for %s", "row 7")
        expected_mem.append("division failed for row 7")
        n_emitted += 1
        h_mem.flush()

        all_lines = all_stream.getvalue().splitlines()
        tb_start = [k for k, line in enumerate(all_lines) if line.startswith("Traceback")]
        check_eq(len(tb_start), 1, "one traceback")
        check(all_lines[-1].startswith("ZeroDivisionError"), "exception line last")
        check_eq(all_lines[:tb_start[0] - 1], expected_all, "%-style lines")
        check(all_lines[tb_start[0] - 1].endswith("division failed for row 7"), "exception message")
        warn_lines = [l for l in warn_stream.getvalue().splitlines() if "|" in l]
        check_eq(warn_lines, expected_warn + ["ERROR|%s.db|division failed for row 7" % prefix], "{-style lines")
        check_eq(dollar_stream.getvalue().splitlines(), expected_dollar, "$-style lines")
        mem_lines = [l for l in mem_target_stream.getvalue().splitlines()
                     if not l.startswith(("Traceback", "  ", "ZeroDivisionError", "During"))]
        check_eq(mem_lines, expected_mem, "MemoryHandler flushed in order")
        queued = []
        while True:
            try:
                queued.append(q.get_nowait())
            except Exception:
                break
        check_eq(len(queued), n_emitted, "QueueHandler records")
        check_eq(queued[0].getMessage(), expected_mem[0], "queued record message")

        for h in (h_all, h_warn, h_dollar, h_mem, h_queue):
            root.removeHandler(h)
            h.close()
        mem_target.close()
        n_records += n_emitted

    # Disabled levels cost nothing and emit nothing.
    quiet = logging.getLogger("train-quiet")
    quiet.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    quiet.addHandler(handler)
    quiet.setLevel(logging.ERROR)
    for i in range(scaled(20000, scale)):
        quiet.debug("never %d", i)
        if quiet.isEnabledFor(logging.INFO):
            raise VerificationError("INFO enabled at ERROR level")
    check_eq(stream.getvalue(), "", "disabled levels emit nothing")
    quiet.removeHandler(handler)
    return "%d rounds, %d records" % (rounds, n_records)
