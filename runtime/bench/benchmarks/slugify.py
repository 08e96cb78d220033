"""Unicode-heavy normalization pipeline: slugify titles in many scripts
(NFKD, combining-mark removal, casefold, transliteration table, regex
cleanup), display-width computation with east_asian_width, and a
pure-Python UTF-16 encoder checked against the codec.

Verified by known slugs, idempotence, character-class invariants and the
codec cross-check.
"""

import random
import re
import unicodedata

from ._verify import expect, expect_eq

NAME = "slugify"
DESCRIPTION = "unicode slugify (NFKD/casefold/translate/regex), display widths, pure-Python UTF-16 encoder"

N_TITLES = 7000

_TRANSLIT = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d",
                           "Đ": "D", "þ": "th", "œ": "oe", "ı": "i", "&": " and ", "@": " at "})
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_DASHES = re.compile(r"-{2,}")

KNOWN = {
    "Crème Brûlée à la Façade": "creme-brulee-a-la-facade",
    "Straße & Łódź — Ærø": "strasse-and-lodz-aero",
    "  Hello,   World!!  ": "hello-world",
    "ﬁnancial ①②③ report": "financial-123-report",
    "Ελληνικά Νέα": "ελληνικα-νεα",
    "東京 タワー 2024": "東京-タワー-2024",
    "São Paulo @ Noite": "sao-paulo-at-noite",
}

_PIECES = ["Crème", "brûlée", "Ærøskøbing", "Straße", "Łódź", "Δελτίο", "Ειδήσεις", "Москва", "Привет",
           "東京", "日本語", "카페", "ﬁsh", "①②", "Ｆｕｌｌｗｉｄｔｈ", "ﾊﾝｶｸ", "naïve", "coöperate", "Ñandú",
           "İstanbul", "Þórsmörk", "Œuvre", "&", "@", "—", "!!", "2024", "v1.2.3", "e\u0301te\u0301", "😀"]


def slugify(text):
    text = text.casefold().translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text)
    # NFKD can produce new capitals (e.g. U+210C -> "H"), so fold again.
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _NON_WORD.sub("-", text)
    text = _DASHES.sub("-", text).strip("-_")
    return unicodedata.normalize("NFC", text)


def display_width(text):
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def utf16le(text):
    out = bytearray()
    for ch in text:
        c = ord(ch)
        if c >= 0x10000:
            c -= 0x10000
            hi, lo = 0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF)
            out += bytes((hi & 0xFF, hi >> 8, lo & 0xFF, lo >> 8))
        else:
            out += bytes((c & 0xFF, c >> 8))
    return bytes(out)


def setup():
    rng = random.Random(55)
    titles = list(KNOWN)
    for _ in range(N_TITLES):
        titles.append(" ".join(rng.choice(_PIECES) for _ in range(rng.randint(2, 8))))
    return titles


def run(titles):
    slugs = [slugify(t) for t in titles]
    widths = [display_width(t) for t in titles]
    encoded_ok = sum(1 for t in titles if utf16le(t) == t.encode("utf-16-le"))
    padded = [t + " " * (60 - w) if w < 60 else t for t, w in zip(titles, widths)]
    return {"slugs": slugs, "widths": widths, "encoded_ok": encoded_ok,
            "padded_widths": [display_width(p) for p in padded]}


_TITLES = []


def verify(result):
    if not _TITLES:
        _TITLES.append(setup())
    titles = _TITLES[0]
    slugs = result["slugs"]
    for i, (title, want) in enumerate(KNOWN.items()):
        expect_eq(slugs[i], want, "slug of %r" % title)
    for s in slugs:
        expect(s == slugify(s), "slugify is idempotent: %r" % s)
        expect("--" not in s and not s.startswith("-") and not s.endswith("-"), "clean dashes: %r" % s)
        expect(s == s.casefold(), "slug is casefolded: %r" % s)
        expect(not any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", s)), "no accents: %r" % s)
    expect_eq(result["encoded_ok"], len(titles), "pure-Python UTF-16 matches the codec")
    for w, pw in zip(result["widths"], result["padded_widths"]):
        expect_eq(pw, max(w, 60), "padding to display width 60")
