"""asyncio over loopback: an HTTP-like keep-alive server and concurrent clients,
a Protocol-based line echo server, and queue/semaphore/event coordination.

Servers bind 127.0.0.1 on an ephemeral port.  Every response body is checked
against a value the client computes independently.
"""

import asyncio
import hashlib
import random
from urllib.parse import parse_qs, quote, urlsplit

from ._common import VerificationError, check, check_eq, scaled

NAME = "asyncio"
DESCRIPTION = "asyncio HTTP-like keep-alive server + clients, Protocol echo server, queues (127.0.0.1)"

_MESSAGES = ["hello", "grüße", "こんにちは", "a b&c=d", "\U0001F600 emoji", "x" * 300, "línea/ruta?"]


def _route(method, target, body):
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    if method == "GET" and parts.path == "/echo":
        return 200, query.get("msg", [""])[0].encode("utf-8")
    if method == "GET" and parts.path == "/sum":
        return 200, str(sum(int(v) for v in query.get("n", []))).encode("ascii")
    if method == "POST" and parts.path == "/upper":
        return 200, body.decode("utf-8").upper().encode("utf-8")
    if method == "POST" and parts.path == "/digest":
        return 200, hashlib.sha256(body).hexdigest().encode("ascii")
    return 404, b"not found"


async def _handle_http(reader, writer):
    served = 0
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                if line:
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            status, payload = _route(method, target, body)
            reason = b"OK" if status == 200 else b"Not Found"
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
                b"X-Served: %d\r\n\r\n" % (status, reason, len(payload), served)
            )
            writer.write(payload)
            served += 1
            if headers.get("connection", "").lower() == "close":
                break
            await writer.drain()
    finally:
        writer.close()


async def _request(reader, writer, method, target, body=b"", close=False):
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: train/1\r\n" % (method, target)
    if body:
        head += "Content-Length: %d\r\n" % len(body)
    if close:
        head += "Connection: close\r\n"
    writer.write(head.encode("ascii") + b"\r\n" + body)
    await writer.drain()
    resp = await reader.readuntil(b"\r\n\r\n")
    lines = resp.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = dict((k.lower(), v.strip()) for k, _, v in (l.partition(":") for l in lines[1:] if l))
    payload = await reader.readexactly(int(headers["content-length"]))
    return status, headers, payload


async def _client(port, rng_seed, n_requests):
    rng = random.Random(rng_seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = 0
    for i in range(n_requests):
        kind = rng.randrange(5)
        close = i == n_requests - 1
        if kind == 0:
            msg = rng.choice(_MESSAGES) + str(i)
            status, headers, body = await _request(reader, writer, "GET", "/echo?msg=" + quote(msg), close=close)
            want = msg.encode("utf-8")
        elif kind == 1:
            nums = [rng.randint(-1000, 1000) for _ in range(rng.randint(1, 10))]
            status, headers, body = await _request(
                reader, writer, "GET", "/sum?" + "&".join("n=%d" % x for x in nums), close=close)
            want = str(sum(nums)).encode("ascii")
        elif kind == 2:
            text = " ".join(rng.choice(_MESSAGES) for _ in range(rng.randint(1, 8)))
            status, headers, body = await _request(reader, writer, "POST", "/upper", text.encode("utf-8"), close=close)
            want = text.upper().encode("utf-8")
        elif kind == 3:
            blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2000)))
            status, headers, body = await _request(reader, writer, "POST", "/digest", blob, close=close)
            want = hashlib.sha256(blob).hexdigest().encode("ascii")
        else:
            status, headers, body = await _request(reader, writer, "GET", "/missing", close=close)
            want = b"not found"
        check_eq(body, want, "response body (kind %d)" % kind)
        check_eq(status, 404 if kind == 4 else 200, "status")
        check_eq(int(headers["x-served"]), i, "per-connection request counter")
        ok += 1
    writer.close()
    if hasattr(writer, "wait_closed"):
        await writer.wait_closed()
    return ok


class LineEcho(asyncio.Protocol):
    """Echoes each line reversed; counts bytes."""

    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            self.transport.write(line.decode("utf-8")[::-1].encode("utf-8") + b"\n")


async def _echo_client(port, lines):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for chunk_start in range(0, len(lines), 16):
        chunk = lines[chunk_start:chunk_start + 16]
        writer.write("".join(l + "\n" for l in chunk).encode("utf-8"))
        await writer.drain()
        for l in chunk:
            got = (await reader.readline()).decode("utf-8")
            check_eq(got, l[::-1] + "\n", "echoed line")
    writer.close()
    return len(lines)


async def _queue_pipeline(n_items, n_workers):
    inbox = asyncio.Queue(maxsize=32)
    results = []
    sem = asyncio.Semaphore(2)
    in_critical = [0]
    max_critical = [0]
    done = asyncio.Event()

    async def worker():
        while True:
            item = await inbox.get()
            try:
                if item is None:
                    return
                async with sem:
                    in_critical[0] += 1
                    max_critical[0] = max(max_critical[0], in_critical[0])
                    await asyncio.sleep(0)
                    in_critical[0] -= 1
                results.append(item * item)
            finally:
                inbox.task_done()

    async def producer():
        for i in range(n_items):
            await inbox.put(i)
        for _ in range(n_workers):
            await inbox.put(None)
        done.set()

    workers = [asyncio.ensure_future(worker()) for _ in range(n_workers)]
    await producer()
    await done.wait()
    await inbox.join()
    await asyncio.gather(*workers)
    check_eq(sorted(results), [i * i for i in range(n_items)], "queue results")
    check(max_critical[0] <= 2, "semaphore bound")

    async def slow():
        await asyncio.sleep(10)
    try:
        await asyncio.wait_for(slow(), timeout=0.01)
    except asyncio.TimeoutError:
        pass
    else:
        raise VerificationError("wait_for did not time out")
    return len(results)


async def _main(n_clients, n_requests, n_lines):
    server = await asyncio.start_server(_handle_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    echo = await loop.create_server(LineEcho, "127.0.0.1", 0)
    echo_port = echo.sockets[0].getsockname()[1]
    try:
        counts = await asyncio.gather(*[_client(port, 1000 + c, n_requests) for c in range(n_clients)])
        check_eq(sum(counts), n_clients * n_requests, "requests answered")
        rng = random.Random(3)
        lines = ["%d %s" % (i, rng.choice(_MESSAGES)) for i in range(n_lines)]
        echoed = await asyncio.gather(*[_echo_client(echo_port, lines) for _ in range(4)])
        check_eq(sum(echoed), 4 * n_lines, "echoed lines")
        queued = await _queue_pipeline(2000, 6)
    finally:
        server.close()
        echo.close()
        await server.wait_closed()
        await echo.wait_closed()
    return sum(counts), sum(echoed), queued


def run(scale):
    n_requests = scaled(1250, scale)
    n_lines = scaled(4000, scale)

    async def bounded():
        return await asyncio.wait_for(_main(8, n_requests, n_lines), timeout=300)

    requests, echoed, queued = asyncio.run(bounded())
    return "%d HTTP requests, %d echoed lines, %d queue items" % (requests, echoed, queued)
