"""An OS-kernel-like cooperative scheduler (richards-like in spirit, own
design): prioritized processes exchange packets through linked-list
mailboxes; generators with flow-control windows, a round-robin router,
workers, devices that hold after each packet and an idle process that
releases them.

Verified against a direct computation: the devices' checksum must equal the
checksum of every generated payload after the workers' transformation, and
every packet must come home.
"""

from ._verify import expect_eq

NAME = "scheduler"
DESCRIPTION = "priority scheduler with packet-passing processes (OO, linked lists, method dispatch)"

QUOTA = 12000
WINDOW = 6
N_WORKERS = 3


class Packet(object):
    __slots__ = ("link", "origin", "serial", "payload")

    def __init__(self, origin):
        self.link = None
        self.origin = origin
        self.serial = 0
        self.payload = [0, 0, 0, 0]


class Process(object):
    def __init__(self, kernel, name, priority):
        self.kernel = kernel
        self.name = name
        self.priority = priority
        self.head = None
        self.tail = None
        self.held = False
        self.waiting = False
        kernel.add(self)

    def deliver(self, packet):
        packet.link = None
        if self.tail is None:
            self.head = self.tail = packet
        else:
            self.tail.link = packet
            self.tail = packet

    def take(self):
        packet = self.head
        if packet is not None:
            self.head = packet.link
            if self.head is None:
                self.tail = None
            packet.link = None
        return packet

    def ready(self):
        return not self.held and (not self.waiting or self.head is not None)

    def step(self):
        raise NotImplementedError


def lcg(state):
    return (state * 1103515245 + 12345) & 0x7FFFFFFF


def transform(payload):
    return [(v * 31 + 7) % 65521 for v in reversed(payload)]


def weigh(payload):
    return sum((i + 1) * v for i, v in enumerate(payload))


class Generator(Process):
    def __init__(self, kernel, name, priority, seed, quota, window):
        Process.__init__(self, kernel, name, priority)
        self.seed = seed
        self.quota = quota
        self.created = 0
        self.retired = 0
        for _ in range(window):
            self.deliver(Packet(self))

    def step(self):
        packet = self.take()
        if packet is None:
            self.waiting = True
            return
        if self.created < self.quota:
            payload = packet.payload
            for i in range(4):
                self.seed = lcg(self.seed)
                payload[i] = self.seed % 10007
            self.created += 1
            packet.serial = self.created
            self.kernel.send(self.kernel.router, packet)
        else:
            self.retired += 1
        self.waiting = self.head is None


class Router(Process):
    def __init__(self, kernel, name, priority):
        Process.__init__(self, kernel, name, priority)
        self.turn = 0
        self.waiting = True

    def step(self):
        packet = self.take()
        if packet is None:
            self.waiting = True
            return
        workers = self.kernel.workers
        self.kernel.send(workers[self.turn % len(workers)], packet)
        self.turn += 1
        self.waiting = self.head is None


class Worker(Process):
    def __init__(self, kernel, name, priority):
        Process.__init__(self, kernel, name, priority)
        self.done = 0
        self.waiting = True

    def step(self):
        packet = self.take()
        if packet is None:
            self.waiting = True
            return
        packet.payload = transform(packet.payload)
        self.done += 1
        devices = self.kernel.devices
        self.kernel.send(devices[packet.serial % len(devices)], packet)
        self.waiting = self.head is None


class Device(Process):
    def __init__(self, kernel, name, priority):
        Process.__init__(self, kernel, name, priority)
        self.checksum = 0
        self.processed = 0
        self.waiting = True

    def step(self):
        packet = self.take()
        if packet is None:
            self.waiting = True
            return
        self.checksum += weigh(packet.payload)
        self.processed += 1
        self.kernel.send(packet.origin, packet)
        self.held = True  # until the idle process releases us
        self.waiting = self.head is None


class Idle(Process):
    def __init__(self, kernel, name, priority):
        Process.__init__(self, kernel, name, priority)
        self.seed = 42
        self.count = 0

    def ready(self):
        return any(d.held for d in self.kernel.devices)

    def step(self):
        self.count += 1
        self.seed = lcg(self.seed)
        held = [d for d in self.kernel.devices if d.held]
        held[self.seed % len(held)].held = False


class Kernel(object):
    def __init__(self):
        self.procs = []
        self.router = None
        self.workers = []
        self.devices = []
        self.switches = 0
        self.sends = 0

    def add(self, proc):
        self.procs.append(proc)
        self.procs.sort(key=lambda p: -p.priority)

    def send(self, dest, packet):
        self.sends += 1
        dest.deliver(packet)

    def schedule(self):
        procs = self.procs
        while True:
            for proc in procs:
                if proc.ready():
                    break
            else:
                return
            self.switches += 1
            proc.step()


def run(state):
    kernel = Kernel()
    gens = [Generator(kernel, "gen%d" % i, 20 + i, seed=1000 + i, quota=QUOTA, window=WINDOW) for i in range(2)]
    kernel.router = Router(kernel, "router", 30)
    kernel.workers = [Worker(kernel, "worker%d" % i, 40 + i) for i in range(N_WORKERS)]
    kernel.devices = [Device(kernel, "dev%d" % i, 50 + i) for i in range(2)]
    idle = Idle(kernel, "idle", 0)
    kernel.schedule()
    return {
        "created": [g.created for g in gens],
        "retired": [g.retired for g in gens],
        "processed": sum(d.processed for d in kernel.devices),
        "checksum": sum(d.checksum for d in kernel.devices),
        "worker_loads": [w.done for w in kernel.workers],
        "switches": kernel.switches,
        "sends": kernel.sends,
        "idle": idle.count,
    }


def _expected_checksum():
    total = 0
    for i in range(2):
        seed = 1000 + i
        for _ in range(QUOTA):
            payload = []
            for _ in range(4):
                seed = lcg(seed)
                payload.append(seed % 10007)
            total += weigh(transform(payload))
    return total


_EXPECTED = []


def verify(result):
    if not _EXPECTED:
        _EXPECTED.append(_expected_checksum())
    expect_eq(result["created"], [QUOTA, QUOTA], "packets created")
    expect_eq(result["retired"], [WINDOW, WINDOW], "every packet came home")
    expect_eq(result["processed"], 2 * QUOTA, "packets processed by devices")
    expect_eq(result["checksum"], _EXPECTED[0], "device checksum")
    expect_eq(sum(result["worker_loads"]), 2 * QUOTA, "worker loads")
    expect_eq(max(result["worker_loads"]) - min(result["worker_loads"]) <= 1, True, "round robin balance")
    expect_eq(result["idle"], 2 * QUOTA, "one release per device activation")
    expect_eq(result["sends"], 4 * 2 * QUOTA, "sends per packet")
