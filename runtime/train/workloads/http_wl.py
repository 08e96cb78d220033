"""HTTP/1.1 request parsing: an incremental byte-level parser (request line,
case-insensitive repeated headers, Content-Length and chunked bodies,
pipelining) fed in random-sized pieces, plus URL/query/cookie handling with
urllib.parse and http.cookies, and response serialization.

Every parsed request must equal the request the generator serialized.
"""

import email.utils
import http.cookies
import random
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ._common import VerificationError, check, check_eq, scaled

NAME = "http"
DESCRIPTION = "incremental HTTP/1.1 request parser (chunked, pipelined), urllib.parse, http.cookies"


class ParseError(Exception):
    pass


class Request(object):
    __slots__ = ("method", "target", "version", "headers", "body")

    def __init__(self):
        self.method = self.target = self.version = None
        self.headers = []
        self.body = b""

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


_TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class RequestParser(object):
    """Incremental parser: feed() bytes, collect completed requests."""

    MAX_LINE = 8192

    def __init__(self):
        self.buf = bytearray()
        self.state = "line"
        self.current = None
        self.remaining = 0
        self.done = []

    def feed(self, data):
        self.buf += data
        while self._step():
            pass

    def _readline(self):
        idx = self.buf.find(b"\r\n")
        if idx < 0:
            if len(self.buf) > self.MAX_LINE:
                raise ParseError("line too long")
            return None
        line = bytes(self.buf[:idx])
        del self.buf[:idx + 2]
        return line

    def _step(self):
        state = self.state
        if state == "line":
            line = self._readline()
            if line is None:
                return False
            if not line:
                return True  # tolerate blank lines between requests
            parts = line.split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
                raise ParseError("bad request line %r" % line)
            if not parts[0] or any(c not in _TOKEN_CHARS for c in parts[0]):
                raise ParseError("bad method")
            req = Request()
            req.method = parts[0].decode("ascii")
            req.target = parts[1].decode("latin-1")
            req.version = parts[2][5:].decode("ascii")
            self.current = req
            self.state = "headers"
            return True
        if state == "headers":
            line = self._readline()
            if line is None:
                return False
            if line:
                name, sep, value = line.partition(b":")
                if not sep or not name or any(c not in _TOKEN_CHARS for c in name):
                    raise ParseError("bad header %r" % line)
                self.current.headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))
                return True
            te = self.current.header("transfer-encoding")
            if te is not None and te.lower() == "chunked":
                self.state = "chunk-size"
            else:
                length = self.current.header("content-length")
                self.remaining = int(length) if length else 0
                if self.remaining < 0:
                    raise ParseError("negative length")
                self.state = "body" if self.remaining else "finish"
            return True
        if state == "body":
            if len(self.buf) < self.remaining:
                return False
            self.current.body = bytes(self.buf[:self.remaining])
            del self.buf[:self.remaining]
            self.state = "finish"
            return True
        if state == "chunk-size":
            line = self._readline()
            if line is None:
                return False
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                self.state = "trailers"
            else:
                self.remaining = size
                self.state = "chunk-data"
            return True
        if state == "chunk-data":
            if len(self.buf) < self.remaining + 2:
                return False
            if self.buf[self.remaining:self.remaining + 2] != b"\r\n":
                raise ParseError("chunk not terminated")
            self.current.body += bytes(self.buf[:self.remaining])
            del self.buf[:self.remaining + 2]
            self.state = "chunk-size"
            return True
        if state == "trailers":
            line = self._readline()
            if line is None:
                return False
            if line:
                name, _, value = line.partition(b":")
                self.current.headers.append((name.decode("ascii"), value.strip().decode("latin-1")))
                return True
            self.state = "finish"
            return True
        if state == "finish":
            self.done.append(self.current)
            self.current = None
            self.state = "line"
            return True
        raise ParseError("bad state %s" % state)


_PATHS = ["/", "/api/items", "/search", "/users/ünïcode", "/a b/c", "/files/report 2024.pdf", "/ok"]
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _gen_request(rng, i):
    path = rng.choice(_PATHS)
    query = [("q", rng.choice(["caf\u00e9", "a&b", "x=y", "100%", "space here", "\u6771\u4eac"])), ("page", str(i % 9))]
    if rng.random() < 0.5:
        query.append(("tag", "t%d" % rng.randint(0, 9)))
        query.append(("tag", "t%d" % rng.randint(0, 9)))
    target = urlunsplit(("", "", quote(path), urlencode(query), ""))
    method = rng.choice(_METHODS)
    headers = [("Host", "example.test"), ("User-Agent", "train/%d" % i),
               ("Accept", "text/html, application/json;q=0.9"),
               ("Cookie", "session=%x; theme=dark; lang=de-DE" % rng.getrandbits(64)),
               ("X-Trace", "a"), ("x-trace", "b")]
    body = b""
    chunked = False
    if method in ("POST", "PUT", "PATCH"):
        body = urlencode([("field%d" % k, "v\u00e4l%d" % rng.randint(0, 999)) for k in range(rng.randint(1, 30))]).encode("ascii")
        if rng.random() < 0.5:
            chunked = True
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    raw = bytearray(("%s %s HTTP/1.1\r\n" % (method, target)).encode("latin-1"))
    for k, v in headers:
        raw += ("%s: %s\r\n" % (k, v)).encode("latin-1")
    raw += b"\r\n"
    if chunked:
        pos = 0
        while pos < len(body):
            n = rng.randint(1, 64)
            piece = body[pos:pos + n]
            raw += b"%x" % len(piece) + (b";ext=1" if rng.random() < 0.2 else b"") + b"\r\n" + piece + b"\r\n"
            pos += n
        raw += b"0\r\nX-Checksum: %d\r\n\r\n" % sum(body)
    else:
        raw += body
    return (method, path, query, headers, body, chunked), bytes(raw)


def _response(status, body, date_ts):
    head = [
        "HTTP/1.1 %d %s" % (status, "OK" if status == 200 else "Bad Request"),
        "Date: %s" % email.utils.formatdate(date_ts, usegmt=True),
        "Content-Type: text/plain; charset=utf-8",
        "Content-Length: %d" % len(body),
        "Set-Cookie: seen=1; Path=/; HttpOnly",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def run(scale):
    rng = random.Random(80)
    rounds = scaled(32, scale)
    n_requests = 0
    resp_bytes = 0
    for r in range(rounds):
        specs = []
        stream = bytearray()
        for i in range(250):
            spec, raw = _gen_request(rng, i)
            specs.append(spec)
            stream += raw
        parser = RequestParser()
        pos = 0
        while pos < len(stream):  # feed in random-sized pieces
            n = rng.choice([1, 7, 64, 500, 4096])
            parser.feed(bytes(stream[pos:pos + n]))
            pos += n
        check_eq(len(parser.done), len(specs), "requests parsed")
        check_eq(len(parser.buf), 0, "no leftover bytes")
        for req, (method, path, query, headers, body, chunked) in zip(parser.done, specs):
            check_eq(req.method, method, "method")
            check_eq(req.version, "1.1", "version")
            parts = urlsplit(req.target)
            check_eq(unquote(parts.path), path, "path")
            check_eq(parse_qsl(parts.query, keep_blank_values=True), query, "query")
            check_eq(req.header("HOST"), "example.test", "case-insensitive header")
            check_eq(req.header_all("x-trace"), ["a", "b"], "repeated headers")
            check_eq(req.body, body, "body (chunked=%s)" % chunked)
            if chunked:
                check_eq(req.header("x-checksum"), str(sum(body)), "chunked trailer")
            if body:
                form = parse_qsl(req.body.decode("ascii"))
                check(all(k.startswith("field") and v.startswith("v\u00e4l") for k, v in form), "form fields")
            jar = http.cookies.SimpleCookie()
            jar.load(req.header("cookie"))
            check_eq(jar["theme"].value, "dark", "cookie theme")
            check_eq(sorted(jar), ["lang", "session", "theme"], "cookie names")
            payload = ("%s %s %d" % (method, path, len(body))).encode("utf-8")
            resp = _response(200, payload, 1700000000 + n_requests)
            check(resp.endswith(payload) and b"GMT\r\n" in resp, "response serialization")
            resp_bytes += len(resp)
            n_requests += 1
        # Malformed input is rejected.
        for bad in (b"GET /\r\n\r\n", b"G@T / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            try:
                RequestParser().feed(bad)
            except (ParseError, ValueError):
                continue
            raise VerificationError("malformed request accepted: %r" % bad)
    check_eq(email.utils.parsedate_to_datetime(email.utils.formatdate(0, usegmt=True)).timestamp(), 0.0, "HTTP date")
    return "%d requests parsed, %d KiB of responses" % (n_requests, resp_bytes // 1024)
