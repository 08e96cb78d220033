"""A template engine that compiles templates to Python source (then
exec()s it), unlike an interpreted node tree: ``<%= expr %>`` (escaped),
``<%- expr %>`` (raw), ``<% for ...: %>``/``<% if ...: %>``/``<% elif ...: %>``/
``<% else: %>``/``<% end %>``.

Renders account statements; each output is compared with the same text built
directly in Python.
"""

import random
import re

from ._verify import BenchmarkError, expect_eq

NAME = "codegen_template"
DESCRIPTION = "template compiled to Python source + exec, rendering statements (codegen, str building)"

N_ACCOUNTS = 7000
COMPILES = 40

_TAG = re.compile(r"<%([=-]?)(.*?)%>", re.S)


def _esc(value):
    s = str(value)
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if '"' in s:
        s = s.replace('"', "&#34;")
    return s


def compile_template(source, params):
    lines = ["def _render(_ctx, _esc=_esc, _str=str):", "    _out = []", "    _w = _out.append"]
    for p in params:
        lines.append("    %s = _ctx[%r]" % (p, p))
    depth = 1
    pos = 0
    for m in _TAG.finditer(source):
        text = source[pos:m.start()]
        if text:
            lines.append("    " * depth + "_w(%r)" % text)
        kind, code = m.group(1), m.group(2).strip()
        if kind == "=":
            lines.append("    " * depth + "_w(_esc(%s))" % code)
        elif kind == "-":
            lines.append("    " * depth + "_w(_str(%s))" % code)
        elif code == "end":
            depth -= 1
            if depth < 1:
                raise BenchmarkError("unbalanced end")
        elif code.startswith(("elif ", "else")):
            lines.append("    " * (depth - 1) + code)
        elif code.endswith(":"):
            lines.append("    " * depth + code)
            depth += 1
        else:
            lines.append("    " * depth + code)
        pos = m.end()
    if source[pos:]:
        lines.append("    " * depth + "_w(%r)" % source[pos:])
    if depth != 1:
        raise BenchmarkError("unclosed block")
    lines.append("    return ''.join(_out)")
    namespace = {"_esc": _esc}
    exec(compile("\n".join(lines) + "\n", "<template>", "exec"), namespace)
    return namespace["_render"]


STATEMENT = """<div class="statement" data-id="<%= account["id"] %>">
<h1>Statement for <%= account["owner"] %></h1>
<% balance = account["opening"] %><table>
<% for i, tx in enumerate(account["txs"]): %><% balance += tx["amount"] %><tr class="<% if tx["amount"] < 0: %>debit<% elif tx["amount"] == 0: %>zero<% else: %>credit<% end %>">
<td><%- i + 1 %></td><td><%= tx["memo"] %></td><td><%- "%.2f" % (tx["amount"] / 100.0) %></td><td><%- "%.2f" % (balance / 100.0) %></td></tr>
<% end %></table>
<% if balance < 0: %><p class="warn">Overdrawn by <%- "%.2f" % (-balance / 100.0) %></p>
<% end %><p>Closing balance: <%- "%.2f" % (balance / 100.0) %></p>
</div>
"""

_MEMOS = ["Coffee & cake", "Rent <May>", 'Transfer "savings"', "Salary", "Groceries", "Refund", "ATM", "Fee"]


def setup():
    rng = random.Random(8080)
    accounts = []
    for i in range(N_ACCOUNTS):
        txs = [{"amount": rng.choice([0, rng.randint(-90000, -100), rng.randint(100, 120000)]),
                "memo": rng.choice(_MEMOS)} for _ in range(rng.randint(3, 30))]
        accounts.append({"id": "acc-%05d" % i, "owner": rng.choice(["Ann", "Bo <b>", "Cé & Dé", "Dan"]),
                         "opening": rng.randint(-5000, 500000), "txs": txs})
    return accounts


def run(accounts):
    for _ in range(COMPILES - 1):  # many templates get compiled in a real site
        compile_template(STATEMENT, ["account"])
    render = compile_template(STATEMENT, ["account"])
    pages = [render({"account": acc}) for acc in accounts]
    return pages


def _reference(acc):
    out = ['<div class="statement" data-id="%s">\n' % _esc(acc["id"]),
           "<h1>Statement for %s</h1>\n" % _esc(acc["owner"]), "<table>\n"]
    balance = acc["opening"]
    for i, tx in enumerate(acc["txs"]):
        balance += tx["amount"]
        cls = "debit" if tx["amount"] < 0 else ("zero" if tx["amount"] == 0 else "credit")
        out.append('<tr class="%s">\n<td>%d</td><td>%s</td><td>%.2f</td><td>%.2f</td></tr>\n'
                   % (cls, i + 1, _esc(tx["memo"]), tx["amount"] / 100.0, balance / 100.0))
    out.append("</table>\n")
    if balance < 0:
        out.append('<p class="warn">Overdrawn by %.2f</p>\n' % (-balance / 100.0))
    out.append("<p>Closing balance: %.2f</p>\n</div>\n" % (balance / 100.0))
    return "".join(out)


_REF = []


def verify(pages):
    if not _REF:
        _REF.append([_reference(acc) for acc in setup()])
    expect_eq(len(pages), N_ACCOUNTS, "pages rendered")
    for i, (got, want) in enumerate(zip(pages, _REF[0])):
        if got != want:
            expect_eq(got, want, "statement %d" % i)
