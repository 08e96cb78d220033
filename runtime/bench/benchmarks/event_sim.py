"""Discrete-event simulation driven by generator-based processes: a bank with
several tellers, an arrival process, customers that wait in a FIFO queue,
and a monitor; the event loop is a heap of (time, seq, process) entries.

verify() recomputes every customer's finish time directly from the FIFO
multi-server recurrence (earliest free teller), without any simulation.
"""

import heapq

from ._verify import expect_eq

NAME = "event_sim"
DESCRIPTION = "generator-driven discrete-event simulation (heapq event loop, send(), FIFO resources)"

CUSTOMERS = 45000
TELLERS = 4
INTERARRIVAL = 3


def service_time(i):
    return 7 + (i * 7919) % 9  # deterministic, 7..15


class Simulator(object):
    def __init__(self):
        self.now = 0
        self.queue = []
        self.seq = 0
        self.steps = 0

    def schedule(self, delay, proc, value=None):
        self.seq += 1
        heapq.heappush(self.queue, (self.now + delay, self.seq, proc, value))

    def spawn(self, gen):
        self.schedule(0, gen)

    def run(self):
        queue = self.queue
        while queue:
            t, _, proc, value = heapq.heappop(queue)
            self.now = t
            self.steps += 1
            try:
                cmd = proc.send(value)
            except StopIteration:
                continue
            kind = cmd[0]
            if kind == "wait":
                self.schedule(cmd[1], proc)
            elif kind == "acquire":
                cmd[1].acquire(proc)
            elif kind == "release":
                cmd[1].release()
                self.schedule(0, proc)
            else:
                raise ValueError(kind)


class Resource(object):
    def __init__(self, sim, capacity):
        self.sim = sim
        self.free = capacity
        self.waiting = []
        self.head = 0
        self.max_queue = 0

    def acquire(self, proc):
        if self.free > 0 and self.head == len(self.waiting):
            self.free -= 1
            self.sim.schedule(0, proc, self.sim.now)
        else:
            self.waiting.append(proc)
            self.max_queue = max(self.max_queue, len(self.waiting) - self.head)

    def release(self):
        if self.head < len(self.waiting):
            proc = self.waiting[self.head]
            self.head += 1
            self.sim.schedule(0, proc, self.sim.now)
        else:
            self.free += 1


def customer(sim, bank, i, log):
    arrived = sim.now
    started = yield ("acquire", bank)
    yield ("wait", service_time(i))
    yield ("release", bank)
    log.append((i, arrived, started, sim.now))


def arrivals(sim, bank, n, log):
    for i in range(n):
        sim.spawn(customer(sim, bank, i, log))
        yield ("wait", INTERARRIVAL)


def monitor(sim, bank, samples):
    while True:
        samples.append(len(bank.waiting) - bank.head)
        yield ("wait", 50)
        if len(samples) > (CUSTOMERS * INTERARRIVAL) // 50 + 10:
            return


def run(state):
    sim = Simulator()
    bank = Resource(sim, TELLERS)
    log = []
    samples = []
    sim.spawn(arrivals(sim, bank, CUSTOMERS, log))
    sim.spawn(monitor(sim, bank, samples))
    sim.run()
    log.sort()
    return {"finish": [entry[3] for entry in log], "start": [entry[2] for entry in log],
            "max_queue": bank.max_queue, "steps": sim.steps, "samples": len(samples)}


def _reference():
    free_at = [0] * TELLERS
    starts, finishes = [], []
    for i in range(CUSTOMERS):
        arrive = i * INTERARRIVAL
        t = heapq.heappop(free_at) if len(free_at) == TELLERS else 0
        start = max(arrive, t)
        end = start + service_time(i)
        heapq.heappush(free_at, end)
        starts.append(start)
        finishes.append(end)
    return starts, finishes


_REF = []


def verify(result):
    if not _REF:
        _REF.append(_reference())
    starts, finishes = _REF[0]
    expect_eq(len(result["finish"]), CUSTOMERS, "customers served")
    expect_eq(result["start"], starts, "service start times")
    expect_eq(result["finish"], finishes, "finish times")
    expect_eq(result["max_queue"] > 0, True, "queueing happened")
