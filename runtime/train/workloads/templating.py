"""HTML page rendering: string.Template plus a small interpreted template engine.

The engine supports ``{{ path|filter:arg }}`` with auto-escaping, ``{% for %}``
(with ``loop.index``/``loop.first``/``loop.last`` and an ``{% else %}`` for
empty sequences), ``{% if %}/{% elif %}/{% else %}`` with simple comparisons,
and ``{# comments #}``.  Every rendered page is compared with the same page
built directly in Python.
"""

import html
import random
import re
import string

from ._common import VerificationError, check, check_eq, scaled

NAME = "templating"
DESCRIPTION = "string.Template + hand-written template engine rendering HTML pages"


# --------------------------------------------------------------------------
# Escaping


_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def escape(value):
    text = str(value)
    for raw, entity in _ESCAPES:
        if raw in text:
            text = text.replace(raw, entity)
    return text


class Markup(str):
    """A string that is already safe to emit."""


# --------------------------------------------------------------------------
# Engine


class TemplateSyntaxError(Exception):
    pass


_TOKEN_RE = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.S)
_COND_RE = re.compile(r"^\s*(not\s+)?([\w.]+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$")
_FOR_RE = re.compile(r"^for\s+(\w+)\s+in\s+([\w.]+)$")


def _literal(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if re.match(r"^-?\d+$", text):
        return int(text)
    if text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    raise TemplateSyntaxError("bad literal %r" % text)


class Context(object):
    __slots__ = ("scopes",)

    def __init__(self, data):
        self.scopes = [data]

    def push(self, scope):
        self.scopes.append(scope)

    def pop(self):
        self.scopes.pop()

    def resolve(self, path):
        parts = path.split(".")
        head = parts[0]
        for scope in reversed(self.scopes):
            if head in scope:
                value = scope[head]
                break
        else:
            return None
        for part in parts[1:]:
            if value is None:
                return None
            if isinstance(value, dict):
                value = value.get(part)
            else:
                value = getattr(value, part, None)
        return value


def _f_upper(value, arg):
    return str(value).upper()


def _f_lower(value, arg):
    return str(value).lower()


def _f_title(value, arg):
    return str(value).title()


def _f_length(value, arg):
    return len(value) if value is not None else 0


def _f_money(value, arg):
    dollars, cents = divmod(int(value), 100)
    return "$%s.%02d" % ("{:,}".format(dollars), cents)


def _f_default(value, arg):
    return value if value else arg


def _f_truncate(value, arg):
    text = str(value)
    limit = int(arg)
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def _f_safe(value, arg):
    return Markup(value)


def _f_join(value, arg):
    return arg.join(str(v) for v in value)


FILTERS = {
    "upper": _f_upper,
    "lower": _f_lower,
    "title": _f_title,
    "length": _f_length,
    "money": _f_money,
    "default": _f_default,
    "truncate": _f_truncate,
    "safe": _f_safe,
    "join": _f_join,
}


class Text(object):
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def render(self, ctx, out):
        out.append(self.text)


class Var(object):
    __slots__ = ("path", "filters")

    def __init__(self, source):
        pieces = source.split("|")
        self.path = pieces[0].strip()
        self.filters = []
        for piece in pieces[1:]:
            name, _, arg = piece.strip().partition(":")
            if name not in FILTERS:
                raise TemplateSyntaxError("unknown filter %r" % name)
            self.filters.append((FILTERS[name], _literal(arg) if arg else None))

    def render(self, ctx, out):
        value = ctx.resolve(self.path)
        for func, arg in self.filters:
            value = func(value, arg)
        if isinstance(value, Markup):
            out.append(value)
        else:
            out.append(escape("" if value is None else value))


class Cond(object):
    __slots__ = ("negate", "path", "op", "rhs")

    def __init__(self, source):
        m = _COND_RE.match(source)
        if not m:
            raise TemplateSyntaxError("bad condition %r" % source)
        self.negate = bool(m.group(1))
        self.path = m.group(2)
        self.op = m.group(3)
        self.rhs = _literal(m.group(4)) if self.op else None

    def test(self, ctx):
        value = ctx.resolve(self.path)
        op = self.op
        if op is None:
            result = bool(value)
        elif op == "==":
            result = value == self.rhs
        elif op == "!=":
            result = value != self.rhs
        elif op == "<":
            result = value < self.rhs
        elif op == ">":
            result = value > self.rhs
        elif op == "<=":
            result = value <= self.rhs
        else:
            result = value >= self.rhs
        return not result if self.negate else result


class If(object):
    __slots__ = ("branches", "otherwise")

    def __init__(self):
        self.branches = []
        self.otherwise = None

    def render(self, ctx, out):
        for cond, body in self.branches:
            if cond.test(ctx):
                for node in body:
                    node.render(ctx, out)
                return
        if self.otherwise is not None:
            for node in self.otherwise:
                node.render(ctx, out)


class LoopInfo(object):
    __slots__ = ("index", "index0", "first", "last", "length")


class For(object):
    __slots__ = ("var", "path", "body", "empty")

    def __init__(self, var, path):
        self.var = var
        self.path = path
        self.body = []
        self.empty = None

    def render(self, ctx, out):
        seq = ctx.resolve(self.path) or ()
        if not isinstance(seq, (list, tuple)):
            seq = list(seq)
        if not seq and self.empty is not None:
            for node in self.empty:
                node.render(ctx, out)
            return
        info = LoopInfo()
        info.length = n = len(seq)
        scope = {"loop": info}
        ctx.push(scope)
        try:
            body = self.body
            for i, item in enumerate(seq):
                info.index0 = i
                info.index = i + 1
                info.first = i == 0
                info.last = i == n - 1
                scope[self.var] = item
                for node in body:
                    node.render(ctx, out)
        finally:
            ctx.pop()


class Template(object):
    def __init__(self, source):
        self.nodes = self._parse(source)

    @staticmethod
    def _parse(source):
        root = []
        stack = [("root", None, root)]  # (kind, node, current body list)
        for token in _TOKEN_RE.split(source):
            if not token:
                continue
            if token.startswith("{#"):
                continue
            body = stack[-1][2]
            if token.startswith("{{"):
                body.append(Var(token[2:-2]))
            elif token.startswith("{%"):
                tag = token[2:-2].strip()
                word = tag.split(None, 1)[0]
                if word == "for":
                    m = _FOR_RE.match(tag)
                    if not m:
                        raise TemplateSyntaxError("bad for tag %r" % tag)
                    node = For(m.group(1), m.group(2))
                    body.append(node)
                    stack.append(("for", node, node.body))
                elif word == "if":
                    node = If()
                    branch = []
                    node.branches.append((Cond(tag[2:]), branch))
                    body.append(node)
                    stack.append(("if", node, branch))
                elif word == "elif":
                    kind, node, _ = stack.pop()
                    if kind != "if" or node.otherwise is not None:
                        raise TemplateSyntaxError("elif outside if")
                    branch = []
                    node.branches.append((Cond(tag[4:]), branch))
                    stack.append(("if", node, branch))
                elif word == "else":
                    kind, node, _ = stack.pop()
                    if kind == "if":
                        node.otherwise = []
                        stack.append(("if-else", node, node.otherwise))
                    elif kind == "for":
                        node.empty = []
                        stack.append(("for-else", node, node.empty))
                    else:
                        raise TemplateSyntaxError("misplaced else")
                elif word in ("endif", "endfor"):
                    kind, node, _ = stack.pop()
                    if not kind.startswith(word[3:]):
                        raise TemplateSyntaxError("%s closes %s" % (word, kind))
                else:
                    raise TemplateSyntaxError("unknown tag %r" % word)
            else:
                body.append(Text(token))
        if len(stack) != 1:
            raise TemplateSyntaxError("unclosed block %s" % stack[-1][0])
        return root

    def render(self, data):
        out = []
        ctx = Context(data)
        for node in self.nodes:
            node.render(ctx, out)
        return "".join(out)


# --------------------------------------------------------------------------
# The site


CATEGORY_TEMPLATE = """\
<section class="category" id="cat-{{ category.slug }}">
{# heading #}<h2>{{ category.name|title }}</h2>
{% if products %}<table>
{% for p in products %}<tr class="{% if loop.first %}first{% elif loop.last %}last{% else %}mid{% endif %}">
<td>{{ loop.index }}</td><td>{{ p.name }}</td><td>{{ p.price_cents|money }}</td>
<td>{% for t in p.tags %}{{ t|upper }}{% if not loop.last %}, {% endif %}{% else %}-{% endfor %}</td>
<td>{% if p.stock > 10 %}in stock{% elif p.stock > 0 %}only {{ p.stock }} left{% else %}sold out{% endif %}</td>
<td>{{ p.description|truncate:40 }}</td><td>{% if p.badge %}{{ p.badge|safe }}{% endif %}</td>
</tr>
{% endfor %}</table>
{% else %}<p>No products.</p>
{% endif %}<footer>{{ user.name|default:'guest' }} | {{ products|length }} items</footer>
</section>
"""

PAGE_SHELL = string.Template(
    """<!DOCTYPE html>
<html><head><title>$title</title><meta name="generator" content="${generator}"></head>
<body>
$body</body></html>
"""
)

MAIL_TEMPLATE = string.Template(
    "Dear $name,\nyour order #${order_id} of $count item(s) totals $$${total}.\n"
    "Ship to: $address\n$signature"
)

_WORDS = [
    "alpha", "beta", "gamma", "delta", "café", "naïve", "straße", "crème", "brûlée",
    "über", "garçon", "Ωmega", "δέλτα", "日本", "東京", "smörgåsbord", "piñata",
    "<b>bold</b>", "a&b", 'say "hi"', "it's", "x>y", "plain", "simple", "widget",
    "gadget", "gizmo", "doohickey", "thing", "deluxe", "mini", "max", "pro",
]
_TAGS = ["new", "sale", "eco", "hot", "limited", "bundle", "refurb", "gift"]


class Product(object):
    def __init__(self, name, price_cents, tags, stock, description, badge):
        self.name = name
        self.price_cents = price_cents
        self.tags = tags
        self.stock = stock
        self.description = description
        self.badge = badge


def _make_catalog(rng, n_categories):
    catalog = []
    for c in range(n_categories):
        name = " ".join(rng.choice(_WORDS) for _ in range(2))
        products = []
        for _ in range(rng.randint(0, 40) if c % 7 else 0):
            products.append(
                Product(
                    name=" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4))),
                    price_cents=rng.randint(1, 250000),
                    tags=rng.sample(_TAGS, rng.randint(0, 3)),
                    stock=rng.choice([0, 1, 3, 9, 10, 11, 50]),
                    description=" ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 12))),
                    badge='<span class="badge">%d%%</span>' % rng.randint(5, 50)
                    if rng.random() < 0.3
                    else None,
                )
            )
        catalog.append(
            {"slug": "c%03d" % c, "name": name, "products": products}
        )
    return catalog


def _money(cents):
    return "$" + "{:,}".format(cents // 100) + ".%02d" % (cents % 100)


def _reference_category(category, products, user):
    """Builds the same HTML as CATEGORY_TEMPLATE, by hand."""
    esc = html.escape
    parts = ['<section class="category" id="cat-%s">\n' % esc(category["slug"])]
    parts.append("<h2>%s</h2>\n" % esc(category["name"].title()))
    if products:
        parts.append("<table>\n")
        n = len(products)
        for i, p in enumerate(products):
            cls = "first" if i == 0 else ("last" if i == n - 1 else "mid")
            parts.append('<tr class="%s">\n' % cls)
            parts.append(
                "<td>%d</td><td>%s</td><td>%s</td>\n"
                % (i + 1, esc(p.name), esc(_money(p.price_cents)))
            )
            tags = ", ".join(esc(t.upper()) for t in p.tags) if p.tags else "-"
            parts.append("<td>%s</td>\n" % tags)
            if p.stock > 10:
                stock = "in stock"
            elif p.stock > 0:
                stock = "only %d left" % p.stock
            else:
                stock = "sold out"
            parts.append("<td>%s</td>\n" % stock)
            desc = p.description if len(p.description) <= 40 else p.description[:37] + "..."
            parts.append("<td>%s</td><td>%s</td>\n" % (esc(desc), p.badge or ""))
            parts.append("</tr>\n")
        parts.append("</table>\n")
    else:
        parts.append("<p>No products.</p>\n")
    uname = (user or {}).get("name") or "guest"
    parts.append("<footer>%s | %d items</footer>\n" % (esc(uname), len(products)))
    parts.append("</section>\n")
    return "".join(parts)


def _check_escape(rng):
    alphabet = "ab<>&\"' \u00e9\u65e5"
    for _ in range(300):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        check_eq(escape(s), html.escape(s, quote=True), "escape(%r)" % s)
        check_eq(html.unescape(escape(s)), s, "unescape roundtrip")


def _check_errors():
    bad = ["{% if x %}", "{% for x in y %}{% endif %}", "{% bogus %}", "{{ x|nofilter }}", "{% else %}"]
    for src in bad:
        try:
            Template(src)
        except TemplateSyntaxError:
            continue
        raise VerificationError("template %r should not parse" % src)


def run(scale):
    rng = random.Random(1234)
    _check_escape(rng)
    _check_errors()
    users = [None, {"name": ""}, {"name": "Zoë <admin>"}, {"name": "bob & alice"}]
    rounds = scaled(85, scale)
    pages = 0
    total_bytes = 0
    mails = 0
    for r in range(rounds):
        template = Template(CATEGORY_TEMPLATE)  # re-parse: "dev mode"
        catalog = _make_catalog(rng, 28)
        body_parts = []
        user = users[r % len(users)]
        for category in catalog:
            data = {"category": category, "products": category["products"], "user": user}
            got = template.render(data)
            want = _reference_category(category, category["products"], user)
            if got != want:
                for i, (a, b) in enumerate(zip(got, want)):
                    if a != b:
                        break
                else:
                    i = min(len(got), len(want))
                raise VerificationError(
                    "category %s differs at %d: got %r, expected %r"
                    % (category["slug"], i, got[i - 20 : i + 40], want[i - 20 : i + 40])
                )
            body_parts.append(got)
            pages += 1
        page = PAGE_SHELL.substitute(
            title=escape("Catalog page %d" % r), generator="pyston-build train", body="".join(body_parts)
        )
        check(page.startswith("<!DOCTYPE html>") and page.endswith("</body></html>\n"), "page shell")
        check_eq(page.count("<section "), len(catalog), "sections on page")
        check_eq(
            page.count("<tr "), sum(len(c["products"]) for c in catalog), "rows on page"
        )
        total_bytes += len(page.encode("utf-8"))
        for i, category in enumerate(catalog):
            products = category["products"]
            total = sum(p.price_cents for p in products)
            fields = {
                "name": (user or {}).get("name") or "customer",
                "order_id": "%d-%d" % (r, i),
                "count": len(products),
                "total": _money(total)[1:],
                "address": "1 Main St",
            }
            text = MAIL_TEMPLATE.safe_substitute(fields)
            check(text.endswith("$signature"), "safe_substitute keeps unknown placeholders")
            want = "Dear %s,\nyour order #%d-%d of %d item(s) totals $%s.\nShip to: 1 Main St\n$signature" % (
                fields["name"], r, i, len(products), fields["total"])
            check_eq(text, want, "mail text")
            try:
                MAIL_TEMPLATE.substitute(fields)
            except KeyError as exc:
                check_eq(exc.args[0], "signature", "missing placeholder")
            else:
                raise VerificationError("substitute should fail on a missing key")
            mails += 1
    return "%d sections, %d mails, %d KiB of HTML" % (pages, mails, total_bytes // 1024)
