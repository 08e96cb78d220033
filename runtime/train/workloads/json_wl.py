"""JSON dumps/loads of nested, API-like payloads.

Checks: round-trips under several option sets, an independent hand-written
encoder that must produce byte-identical compact output, custom
``default``/``object_hook`` hooks, and error positions for malformed input.
"""

import json
import random

from ._common import VerificationError, check, check_eq, scaled

NAME = "json"
DESCRIPTION = "json dumps/loads of nested API payloads, custom hooks, hand-written encoder cross-check"

_FIRST = ["Ana", "Björn", "Chloé", "Dmitrí", "Eve", "Fátima", "Gǎo", "Hiro", "Ingrid", "José",
          "Kwame", "Łukasz", "Mía", "Nikolaj", "Olúmidé", "Priya", "Quinn", "Ræv", "Søren", "Zoë"]
_LAST = ["Smith", "Müller", "O'Brien", "Nguyễn", "Ivanov", "García", "Kim", "Dubois", "Новиков",
         "山田", "Kowalski", "Andersson"]
_TAGS = ["admin", "beta", "vip", "trial", "\u2603 snow", "tab\there", 'quote"d', "back\\slash",
         "new\nline", "emoji \U0001F600", "ctrl\x01char", "nul\x00byte"]


class Money(object):
    __slots__ = ("cents", "currency")

    def __init__(self, cents, currency):
        self.cents = cents
        self.currency = currency

    def __eq__(self, other):
        return isinstance(other, Money) and (self.cents, self.currency) == (other.cents, other.currency)


def _encode_default(obj):
    if isinstance(obj, Money):
        return {"__money__": True, "cents": obj.cents, "currency": obj.currency}
    if isinstance(obj, (set, frozenset)):
        return {"__set__": sorted(obj)}
    raise TypeError("not JSON serializable: %r" % type(obj))


def _decode_hook(d):
    if d.get("__money__"):
        return Money(d["cents"], d["currency"])
    if "__set__" in d and len(d) == 1:
        return set(d["__set__"])
    return d


def _make_user(rng, uid):
    orders = []
    for oid in range(rng.randint(0, 6)):
        items = [
            {
                "sku": "SKU-%05d" % rng.randint(0, 99999),
                "qty": rng.randint(1, 9),
                "unit_price": round(rng.uniform(0.5, 500.0), 2),
                "discount": rng.choice([None, 0.05, 0.1, 0.25]),
            }
            for _ in range(rng.randint(1, 5))
        ]
        orders.append({
            "id": uid * 100 + oid,
            "status": rng.choice(["new", "paid", "shipped", "cancelled"]),
            "items": items,
            "notes": rng.choice(["", "leave at door", "fragile \u26a0", "call before \u260e"]),
        })
    return {
        "id": uid,
        "name": "%s %s" % (rng.choice(_FIRST), rng.choice(_LAST)),
        "email": "user%d@example.com" % uid,
        "active": rng.random() < 0.8,
        "score": rng.random() * 10 ** rng.randint(-5, 8),
        "balance": rng.randint(-10 ** 12, 10 ** 12),
        "tags": rng.sample(_TAGS, rng.randint(0, 4)),
        "address": {
            "street": "%d %s St." % (rng.randint(1, 9999), rng.choice(_LAST)),
            "zip": "%05d" % rng.randint(0, 99999),
            "geo": [rng.uniform(-90, 90), rng.uniform(-180, 180)],
        },
        "orders": orders,
        "meta": {"created": 1600000000 + rng.randint(0, 10 ** 8), "flags": [True, False, None]},
    }


def _make_payload(rng, n_users, page):
    return {
        "page": page,
        "per_page": n_users,
        "total": 10 ** 6,
        "users": [_make_user(rng, page * n_users + i) for i in range(n_users)],
        "links": {"self": "/api/users?page=%d" % page, "next": "/api/users?page=%d" % (page + 1)},
    }


# --------------------------------------------------------------------------
# Independent encoder: compact separators, sort_keys=True, ensure_ascii given.

_SIMPLE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                   "\b": "\\b", "\f": "\\f"}


def _enc_str(s, ensure_ascii):
    out = ['"']
    for ch in s:
        esc = _SIMPLE_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        code = ord(ch)
        if code < 0x20:
            out.append("\\u%04x" % code)
        elif code < 0x7F or not ensure_ascii:
            out.append(ch)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            code -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF)))
    out.append('"')
    return "".join(out)


def my_encode(obj, ensure_ascii):
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, str):
        return _enc_str(obj, ensure_ascii)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(my_encode(v, ensure_ascii) for v in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(
            _enc_str(k, ensure_ascii) + ":" + my_encode(obj[k], ensure_ascii) for k in sorted(obj)
        ) + "}"
    raise TypeError(type(obj))


def _order_total_cents(payload):
    total = 0
    for user in payload["users"]:
        for order in user["orders"]:
            for item in order["items"]:
                total += int(round(item["unit_price"] * 100)) * item["qty"]
    return total


def run(scale):
    rng = random.Random(42)
    rounds = scaled(60, scale)
    n_bytes = 0
    for page in range(rounds):
        payload = _make_payload(rng, 25, page)
        expected_total = _order_total_cents(payload)

        compact = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        check_eq(compact, my_encode(payload, True), "compact ascii encoding vs hand-written encoder")
        check(all(ord(c) < 128 for c in compact), "ensure_ascii output is ASCII")
        utf = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        check_eq(utf, my_encode(payload, False), "compact unicode encoding vs hand-written encoder")
        pretty = json.dumps(payload, indent=2, sort_keys=True)
        default = json.dumps(payload)
        for text in (compact, utf, pretty, default):
            back = json.loads(text)
            if back != payload:
                raise VerificationError("round trip changed the payload on page %d" % page)
            check_eq(_order_total_cents(back), expected_total, "order total after round trip")
        check_eq(json.loads(pretty.encode("utf-8")), payload, "loads(bytes)")
        check_eq(json.dumps(json.loads(pretty), indent=2, sort_keys=True), pretty, "pretty is a fixed point")
        n_bytes += len(compact) + len(utf) + len(pretty) + len(default)

        # Custom hooks: Money objects and sets survive a round trip.
        rich = {
            "wallets": [Money(rng.randint(0, 10 ** 7), rng.choice(["EUR", "USD", "JPY"])) for _ in range(50)],
            "perms": set(rng.sample(range(1000), 20)),
            "nested": [{"m": Money(i, "EUR"), "s": frozenset([i, i + 1])} for i in range(20)],
        }
        text = json.dumps(rich, default=_encode_default, sort_keys=True)
        back = json.loads(text, object_hook=_decode_hook)
        check_eq(back["wallets"], rich["wallets"], "Money round trip")
        check_eq(back["perms"], rich["perms"], "set round trip")
        check_eq([n["s"] for n in back["nested"]], [set(n["s"]) for n in rich["nested"]], "nested sets")
        try:
            json.dumps({"x": object()}, default=_encode_default)
        except TypeError:
            pass
        else:
            raise VerificationError("unserializable object accepted")

    # Malformed documents: the reported position must be right.
    doc = json.dumps({"a": [1, 2, {"b": "c"}]})
    for cut in range(1, len(doc)):
        try:
            json.loads(doc[:cut])
        except json.JSONDecodeError as exc:
            check(0 <= exc.pos <= cut, "error position %d within %d" % (exc.pos, cut))
        else:
            raise VerificationError("truncated document %r parsed" % doc[:cut])
    try:
        json.loads('{"a": 1,, "b": 2}')
    except json.JSONDecodeError as exc:
        check_eq((exc.lineno, exc.colno), (1, 9), "error line/column")
    check_eq(json.loads("[1e400, -1e400]", parse_float=str), ["1e400", "-1e400"], "parse_float hook")
    check_eq(json.loads('"\\ud83d\\ude00"'), "\U0001F600", "surrogate pair decoding")
    return "%d pages, %.1f MiB of JSON text" % (rounds, n_bytes / 1048576.0)
