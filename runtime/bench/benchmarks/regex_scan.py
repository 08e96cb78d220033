"""Regex-heavy text scanning: find e-mail addresses, URLs, ISO dates, money
amounts, hashtags and mentions planted in generated prose; convert inline
markdown (bold, emphasis, code, links) to HTML with re.sub callbacks.

Verified against the generator's own record of what it planted.
"""

import random
import re

from ._verify import expect_eq

NAME = "regex_scan"
DESCRIPTION = "entity extraction (emails/URLs/dates/money/#tags) + inline markdown to HTML via re.sub"

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b")
URL = re.compile(r"\bhttps?://[^\s<>()\"']+[^\s<>()\"'.,;:!?]")
DATE = re.compile(r"\b(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
MONEY = re.compile(r"(?<![\w.])(?:USD|EUR|\$|€)\s?(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{2}))?(?![\d,])")
TAG = re.compile(r"(?<![\w#])#(\w{2,30})")
MENTION = re.compile(r"(?<![\w@])@(\w{2,20})(?![\w@]|\.\w)")
BOLD = re.compile(r"\*\*(.+?)\*\*")
EMPH = re.compile(r"(?<![*\w])\*(?!\s)([^*]+?)(?<!\s)\*(?![*\w])")
CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")

PARAGRAPHS = 2400

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt labore dolore magna aliqua enim minim veniam quis nostrud exercitation "
         "ullamco laboris nisi aliquip commodo consequat straße café niño über").split()


def _document(seed, paragraphs):
    rng = random.Random(seed)
    planted = {"email": 0, "url": 0, "date": 0, "money_cents": 0, "money": 0, "tag": 0, "mention": 0,
               "bold": 0, "emph": 0, "code": 0, "link": 0}
    paras = []
    for _ in range(paragraphs):
        out = []
        for _ in range(rng.randint(30, 70)):
            r = rng.random()
            if r < 0.03:
                out.append("%s.%s@%s.%s" % (rng.choice(WORDS[:20]), rng.randint(1, 99), rng.choice(["mail", "example", "corp-x"]), rng.choice(["com", "org", "de"])))
                planted["email"] += 1
            elif r < 0.05:
                out.append("https://%s.example/%s?id=%d" % (rng.choice(WORDS[:20]), rng.choice(WORDS[:20]), rng.randint(1, 999)) + rng.choice(["", ".", ","]))
                planted["url"] += 1
            elif r < 0.07:
                out.append("%04d-%02d-%02d" % (rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)))
                planted["date"] += 1
            elif r < 0.09:
                units = rng.randint(0, 2000000)
                cents = rng.randint(0, 99)
                planted["money"] += 1
                planted["money_cents"] += units * 100 + cents
                out.append("%s%s.%02d" % (rng.choice(["$", "€", "USD ", "EUR "]), "{:,}".format(units), cents))
            elif r < 0.11:
                out.append("#" + rng.choice(WORDS))
                planted["tag"] += 1
            elif r < 0.12:
                out.append("@" + rng.choice(WORDS[:20]) + str(rng.randint(0, 9)))
                planted["mention"] += 1
            elif r < 0.14:
                out.append("**%s %s**" % (rng.choice(WORDS), rng.choice(WORDS)))
                planted["bold"] += 1
            elif r < 0.16:
                out.append("*%s*" % rng.choice(WORDS))
                planted["emph"] += 1
            elif r < 0.17:
                out.append("`x = %d`" % rng.randint(0, 99))
                planted["code"] += 1
            elif r < 0.18:
                out.append("[%s](https://docs.example/%s)" % (rng.choice(WORDS), rng.choice(WORDS[:20])))
                planted["link"] += 1
                planted["url"] += 1
            else:
                out.append(rng.choice(WORDS))
        paras.append(" ".join(out) + ".")
    return "\n\n".join(paras), planted


def _markdown(text):
    text = CODE.sub(lambda m: "<code>%s</code>" % m.group(1), text)
    text = LINK.sub(lambda m: '<a href="%s">%s</a>' % (m.group(2), m.group(1)), text)
    text = BOLD.sub(r"<strong>\1</strong>", text)
    text = EMPH.sub(r"<em>\1</em>", text)
    return "".join("<p>%s</p>\n" % p for p in text.split("\n\n"))


def setup():
    return _document(2023, PARAGRAPHS)


def run(state):
    text, _ = state
    found = {
        "email": len(EMAIL.findall(text)),
        "url": sum(1 for _ in URL.finditer(text)),
        "date": 0,
        "money": 0,
        "money_cents": 0,
        "tag": len(set(m.start() for m in TAG.finditer(text))),
        "mention": len(MENTION.findall(text)),
    }
    for m in DATE.finditer(text):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= d <= 31 and 1 <= mo <= 12 and y > 0:
            found["date"] += 1
    for m in MONEY.finditer(text):
        found["money"] += 1
        found["money_cents"] += int(m.group(1).replace(",", "")) * 100 + int(m.group(2) or 0)
    html = _markdown(text)
    found["bold"] = html.count("<strong>")
    found["emph"] = html.count("<em>")
    found["code"] = html.count("<code>")
    found["link"] = html.count("<a href=")
    found["paragraphs"] = html.count("<p>")
    found["html_len"] = len(html)
    return found


_PLANTED = []


def verify(found):
    if not _PLANTED:
        _PLANTED.append(setup()[1])
    planted = _PLANTED[0]
    for key in sorted(planted):
        expect_eq(found[key], planted[key], "count of %s" % key)
    expect_eq(found["paragraphs"], PARAGRAPHS, "paragraphs")
