"""Regular expressions: access-log parsing (str and bytes, with unicode) and a
tokenizer + recursive-descent evaluator for generated arithmetic expressions.

Every parsed field is compared with what the generator wrote; every parsed
expression must evaluate to the value computed from the generator's tree.
"""

import random
import re

from ._common import VerificationError, check, check_eq, scaled

NAME = "regex"
DESCRIPTION = "log-line parsing (str + bytes, unicode), tokenizer/evaluator, sub/split/findall"

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_USERS = ["-", "alice", "bob", "jürgen", "Ζωή", "山田太郎", "josé.garcía", "o'neil", "Ñandú"]
_PATHS = ["/", "/index.html", "/api/v1/items", "/static/app.js", "/search", "/café/menü",
          "/用户/资料", "/blog/2023/ünïcödé-post", "/img/logo.png", "/login"]
_AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.4.0", "python-requests/2.31",
           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Ëxtra", "Googlebot/2.1"]
_METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD"]

LOG_RE = re.compile(
    r'(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) - (?P<user>\S+) '
    r'\[(?P<day>\d{2})/(?P<mon>[A-Z][a-z]{2})/(?P<year>\d{4}):(?P<time>\d{2}:\d{2}:\d{2}) (?P<tz>[+-]\d{4})\] '
    r'"(?P<method>[A-Z]+) (?P<path>[^ ?"]*)(?:\?(?P<query>[^ "]*))? HTTP/(?P<ver>1\.[01])" '
    r'(?P<status>\d{3}) (?P<size>\d+|-) "(?P<ref>[^"]*)" "(?P<agent>[^"]*)"$'
)
LOG_RE_B = re.compile(LOG_RE.pattern.encode("ascii"))
IP_RE = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b")
WORD_RE = re.compile(r"\w+")
QUERY_RE = re.compile(r"([^&=]+)=([^&]*)")


def _make_line(rng):
    rec = {
        "ip": "%d.%d.%d.%d" % tuple(rng.randint(0, 255) for _ in range(4)),
        "user": rng.choice(_USERS),
        "day": rng.randint(1, 28),
        "mon": rng.choice(_MONTHS),
        "year": rng.randint(2019, 2025),
        "time": "%02d:%02d:%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
        "method": rng.choice(_METHODS),
        "path": rng.choice(_PATHS),
        "query": None,
        "status": rng.choice([200, 200, 200, 201, 204, 301, 304, 400, 403, 404, 500, 503]),
        "size": rng.choice([None, rng.randint(0, 10 ** 6)]),
        "ref": rng.choice(["-", "https://example.com/", "https://ëxample.org/päge"]),
        "agent": rng.choice(_AGENTS),
    }
    if rng.random() < 0.4:
        rec["query"] = "&".join("k%d=v%d" % (i, rng.randint(0, 99)) for i in range(rng.randint(1, 4)))
    line = '%s - %s [%02d/%s/%d:%s +0000] "%s %s%s HTTP/1.1" %d %s "%s" "%s"' % (
        rec["ip"], rec["user"], rec["day"], rec["mon"], rec["year"], rec["time"], rec["method"],
        rec["path"], ("?" + rec["query"]) if rec["query"] else "", rec["status"],
        "-" if rec["size"] is None else rec["size"], rec["ref"], rec["agent"])
    return rec, line


def _check_record(m, rec, what):
    if m is None:
        raise VerificationError("%s: line did not match" % what)
    check_eq(m.group("ip"), rec["ip"], what + " ip")
    check_eq(m.group("user"), rec["user"], what + " user")
    check_eq(int(m.group("day")), rec["day"], what + " day")
    check_eq(m.group("mon"), rec["mon"], what + " month")
    check_eq(int(m.group("year")), rec["year"], what + " year")
    check_eq(m.group("time"), rec["time"], what + " time")
    check_eq(m.group("method"), rec["method"], what + " method")
    check_eq(m.group("path"), rec["path"], what + " path")
    check_eq(m.group("query"), rec["query"], what + " query")
    check_eq(int(m.group("status")), rec["status"], what + " status")
    size = m.group("size")
    check_eq(None if size == "-" else int(size), rec["size"], what + " size")
    check_eq(m.group("agent"), rec["agent"], what + " agent")


# --------------------------------------------------------------------------
# Expression tokenizer and evaluator

TOKEN_RE = re.compile(
    r"(?P<ws>\s+)|(?P<num>\d+)|(?P<name>[^\W\d]\w*)|(?P<op>\*\*|//|[-+*%()])|(?P<bad>.)",
    re.UNICODE,
)


def tokenize(text):
    tokens = []
    for m in TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "ws":
            continue
        if kind == "bad":
            raise SyntaxError("bad character %r at %d" % (m.group(), m.start()))
        tokens.append((kind, m.group()))
    tokens.append(("end", ""))
    return tokens


class Parser(object):
    def __init__(self, tokens, env):
        self.tokens = tokens
        self.pos = 0
        self.env = env

    def peek(self):
        return self.tokens[self.pos][1]

    def take(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expr(self):
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self):
        value = self.unary()
        while self.peek() in ("*", "//", "%"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "*":
                value *= rhs
            elif op == "//":
                value //= rhs
            else:
                value %= rhs
        return value

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == "**":
            self.take()
            return base ** self.unary()
        return base

    def atom(self):
        kind, text = self.take()
        if kind == "num":
            return int(text)
        if kind == "name":
            return self.env[text]
        if text == "(":
            value = self.expr()
            if self.take()[1] != ")":
                raise SyntaxError("expected )")
            return value
        raise SyntaxError("unexpected %r" % text)


_VARS = ["x", "y", "größe", "π", "变量", "z_1"]


def _gen_expr(rng, depth):
    """Returns (source text, value) with the value computed from the tree."""
    if depth <= 0 or rng.random() < 0.25:
        if rng.random() < 0.5:
            n = rng.randint(0, 999)
            return str(n), n
        name = rng.choice(_VARS)
        return name, None  # resolved by caller's env
    op = rng.choice(["+", "-", "*", "//", "%", "neg", "**"])
    if op == "neg":
        text, _ = _gen_expr(rng, depth - 1)
        return "-(" + text + ")", None
    if op == "**":
        text, _ = _gen_expr(rng, depth - 1)
        return "(" + text + ") ** " + str(rng.randint(0, 3)), None
    a, _ = _gen_expr(rng, depth - 1)
    b, _ = _gen_expr(rng, depth - 1)
    spaces = " " * rng.randint(0, 2)
    return "(" + a + spaces + op + spaces + b + ")", None


def _reference_eval(text, env):
    # Python itself evaluates the same grammar (precedence matches): an
    # independent implementation of the arithmetic.
    return eval(text, {"__builtins__": {}}, dict(env))


def run(scale):
    rng = random.Random(7)
    n_lines = scaled(36000, scale)
    records = []
    lines = []
    for _ in range(n_lines):
        rec, line = _make_line(rng)
        records.append(rec)
        lines.append(line)

    status_counts = {}
    bytes_by_method = {}
    for rec, line in zip(records, lines):
        m = LOG_RE.match(line)
        _check_record(m, rec, "str")
        status_counts[m.group("status")] = status_counts.get(m.group("status"), 0) + 1
        if m.group("size") != "-":
            bytes_by_method[m.group("method")] = bytes_by_method.get(m.group("method"), 0) + int(m.group("size"))
        if m.group("query"):
            pairs = QUERY_RE.findall(m.group("query"))
            check_eq("&".join("%s=%s" % p for p in pairs), rec["query"], "query pairs")

    # Independent aggregate from the generator's records.
    want_status = {}
    for rec in records:
        want_status[str(rec["status"])] = want_status.get(str(rec["status"]), 0) + 1
    check_eq(status_counts, want_status, "status histogram")
    want_bytes = {}
    for rec in records:
        if rec["size"] is not None:
            want_bytes[rec["method"]] = want_bytes.get(rec["method"], 0) + rec["size"]
    check_eq(bytes_by_method, want_bytes, "bytes by method")

    # Bytes: same pattern over UTF-8 encoded lines; unicode fields decode back.
    blob = "\n".join(lines).encode("utf-8")
    for i, raw in enumerate(blob.split(b"\n")):
        m = LOG_RE_B.match(raw)
        if m is None:
            raise VerificationError("bytes line %d did not match" % i)
        check_eq(m.group("user").decode("utf-8"), records[i]["user"], "bytes user")
        check_eq(m.group("path").decode("utf-8"), records[i]["path"], "bytes path")

    # Whole-text scans.
    text = "\n".join(lines)
    multiline = re.compile(r'^(\S+) - (\S+) .*? (\d{3}) ', re.M)
    found = multiline.findall(text)
    check_eq(len(found), n_lines, "multiline findall count")
    check_eq([f[0] for f in found], [r["ip"] for r in records], "ips via findall")
    redacted, n_sub = IP_RE.subn(lambda mm: "%s.%s.x.x" % (mm.group(1), mm.group(2)), text)
    check_eq(n_sub, n_lines, "ip substitutions")
    check_eq(redacted.count(".x.x"), n_lines, "redaction markers")
    backref = re.sub(r"\[(\d{2})/(\w{3})/(\d{4})", r"[\3-\2-\1", text)
    check_eq(len(backref), len(text), "backreference substitution keeps length")
    words = WORD_RE.findall(text)
    check("Ζωή" in words and "山田太郎" in words or n_lines < 200, "unicode \\w words")
    parts = re.split(r"\s*\|\s*", " | ".join(rec["agent"] for rec in records[:500]))
    check_eq(parts, [rec["agent"] for rec in records[:500]], "split with pattern")
    ci = re.compile(r"mozilla/(\d)\.(\d)", re.I)
    check_eq(len(ci.findall(text)), sum(r["agent"].startswith("Mozilla") for r in records), "IGNORECASE")
    check(re.fullmatch(re.escape("a.b*c?(d)"), "a.b*c?(d)") is not None, "re.escape")
    check(re.fullmatch(r"(?i)ÜBER", "über") is not None, "unicode case-insensitive")

    # Tokenizer + evaluator.
    n_expr = scaled(7200, scale)
    checked = 0
    for _ in range(n_expr):
        src, _ = _gen_expr(rng, rng.randint(1, 6))
        env = dict((name, rng.randint(-50, 50)) for name in _VARS)
        try:
            want = _reference_eval(src, env)
        except (ZeroDivisionError, OverflowError):
            continue
        except ValueError:
            continue
        if isinstance(want, int) and abs(want) > 10 ** 60:
            continue
        try:
            got = Parser(tokenize(src), env).expr()
        except ZeroDivisionError:
            raise VerificationError("tokenizer evaluation divided by zero where eval did not: %r" % src)
        check_eq(got, want, "expression %r" % src)
        checked += 1
    check(checked > n_expr // 2, "enough expressions evaluated (%d)" % checked)
    try:
        tokenize("1 + $")
    except SyntaxError:
        pass
    else:
        raise VerificationError("bad character accepted")
    return "%d log lines, %d expressions" % (n_lines, checked)
