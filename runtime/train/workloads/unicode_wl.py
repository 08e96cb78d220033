"""Unicode text handling: normalization, case mapping, codecs and str methods.

Checks are invariants (NFC/NFD round trips, codec round trips), closed-form
results (Hangul decomposition arithmetic, UTF-8/16/32 lengths from code point
ranges) and a pure-Python UTF-8 encoder/decoder compared with the codecs.
"""

import random
import unicodedata

from ._common import VerificationError, check, check_eq, scaled

NAME = "unicode"
DESCRIPTION = "normalization, casefold, utf-8/16/32/latin-1 codecs, str methods, pure-Python UTF-8 cross-check"

_SAMPLES = [
    "Hello, World! plain ascii text 0123456789",
    "Crème brûlée, façade, naïve café, jalapeño, smörgåsbord",
    "Cre\u0300me bru\u0302le\u0301e (decomposed) A\u030a ohm \u2126 angstrom \u212b",
    "Straße GROSSE Maße ǅungla ﬁne ﬂour ﬃ Ⅻ ½ ² ℌ ㎏",
    "Ελληνικά: Καλημέρα κόσμε, ΣΊΣΥΦΟΣ σίσυφος",
    "Русский текст: Съешь же ещё этих мягких французских булок",
    "中文字符测试，日本語のテキスト、カタカナ ﾊﾝｶｸ",
    "한국어 텍스트: 안녕하세요 세계",
    "Emoji: \U0001F600\U0001F680\U0001F44D\U0001F3FD family \U0001F468\u200D\U0001F469\u200D\U0001F467",
    "Math: \U0001D400\U0001D401 \u2200x\u2203y x\u2264y \u221e \u2211",
    "Arabic: \u0645\u0631\u062d\u0628\u0627 Hebrew: \u05e9\u05dc\u05d5\u05dd",
    "Vietnamese: Tiếng Việt có dấu: ậ ố ữ ặ",
]


def utf8_len(s):
    n = 0
    for ch in s:
        c = ord(ch)
        if c < 0x80:
            n += 1
        elif c < 0x800:
            n += 2
        elif c < 0x10000:
            n += 3
        else:
            n += 4
    return n


def my_utf8_encode(s):
    out = bytearray()
    for ch in s:
        c = ord(ch)
        if c < 0x80:
            out.append(c)
        elif c < 0x800:
            out.append(0xC0 | (c >> 6))
            out.append(0x80 | (c & 0x3F))
        elif c < 0x10000:
            if 0xD800 <= c < 0xE000:
                raise UnicodeEncodeError("utf-8", s, 0, 1, "surrogate")
            out.append(0xE0 | (c >> 12))
            out.append(0x80 | ((c >> 6) & 0x3F))
            out.append(0x80 | (c & 0x3F))
        else:
            out.append(0xF0 | (c >> 18))
            out.append(0x80 | ((c >> 12) & 0x3F))
            out.append(0x80 | ((c >> 6) & 0x3F))
            out.append(0x80 | (c & 0x3F))
    return bytes(out)


def my_utf8_decode(b):
    chars = []
    i = 0
    n = len(b)
    while i < n:
        x = b[i]
        if x < 0x80:
            chars.append(x)
            i += 1
        elif x < 0xE0:
            chars.append(((x & 0x1F) << 6) | (b[i + 1] & 0x3F))
            i += 2
        elif x < 0xF0:
            chars.append(((x & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F))
            i += 3
        else:
            chars.append(((x & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F))
            i += 4
    return "".join(map(chr, chars))


def ascii_title(word):
    out = []
    prev_cased = False
    for ch in word:
        if "a" <= ch <= "z" or "A" <= ch <= "Z":
            code = ord(ch) | 0x20
            out.append(chr(code) if prev_cased else chr(code - 32))
            prev_cased = True
        else:
            out.append(ch)
            prev_cased = False
    return "".join(out)


def hangul_nfd(ch):
    s = ord(ch) - 0xAC00
    lead = chr(0x1100 + s // 588)
    vowel = chr(0x1161 + (s % 588) // 28)
    tail = s % 28
    return lead + vowel + (chr(0x11A7 + tail) if tail else "")


def _random_text(rng, length):
    pools = [
        (0x20, 0x7E), (0xC0, 0x17F), (0x370, 0x3CE), (0x410, 0x44F), (0x300, 0x36F),
        (0x4E00, 0x4E80), (0xAC00, 0xAD00), (0x1F600, 0x1F64F), (0x3040, 0x309F), (0xFF61, 0xFF9F),
    ]
    out = []
    for _ in range(length):
        lo, hi = pools[rng.randrange(len(pools))]
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def _check_codecs(s):
    b8 = s.encode("utf-8")
    check_eq(len(b8), utf8_len(s), "utf-8 length")
    check_eq(my_utf8_encode(s), b8, "pure-Python utf-8 encoder")
    check_eq(my_utf8_decode(b8), s, "pure-Python utf-8 decoder")
    check_eq(b8.decode("utf-8"), s, "utf-8 round trip")
    astral = sum(1 for ch in s if ord(ch) > 0xFFFF)
    b16 = s.encode("utf-16-le")
    check_eq(len(b16), 2 * (len(s) + astral), "utf-16 length")
    check_eq(b16.decode("utf-16-le"), s, "utf-16-le round trip")
    check_eq(s.encode("utf-16").decode("utf-16"), s, "utf-16 (BOM) round trip")
    check_eq(len(s.encode("utf-32-be")), 4 * len(s), "utf-32 length")
    check_eq(s.encode("utf-32").decode("utf-32"), s, "utf-32 round trip")
    high = sum(1 for ch in s if ord(ch) > 0xFF)
    lat = s.encode("latin-1", errors="replace")
    check_eq(len(lat), len(s), "latin-1 replace length")
    check_eq(lat.count(b"?") - s.count("?"), high, "latin-1 replacement count")
    xml = s.encode("ascii", errors="xmlcharrefreplace").decode("ascii")
    check_eq(xml.count("&#") - s.count("&#"), sum(1 for ch in s if ord(ch) > 0x7F), "xmlcharrefreplace")
    if "\\" not in s:
        bsr = s.encode("ascii", errors="backslashreplace").decode("unicode_escape")
        check_eq(bsr, s, "backslashreplace/unicode_escape round trip")
    mixed = b8 + b"\xff\xfe" + b8
    dec = mixed.decode("utf-8", errors="surrogateescape")
    check_eq(dec.encode("utf-8", errors="surrogateescape"), mixed, "surrogateescape round trip")
    check_eq(mixed.decode("utf-8", errors="ignore"), s + s, "decode errors=ignore")


def _check_normalization(s):
    nfc = unicodedata.normalize("NFC", s)
    nfd = unicodedata.normalize("NFD", s)
    nfkc = unicodedata.normalize("NFKC", s)
    nfkd = unicodedata.normalize("NFKD", s)
    check_eq(unicodedata.normalize("NFC", nfd), nfc, "NFC(NFD(s))")
    check_eq(unicodedata.normalize("NFD", nfc), nfd, "NFD(NFC(s))")
    check_eq(unicodedata.normalize("NFKC", nfkd), nfkc, "NFKC(NFKD(s))")
    check_eq(unicodedata.normalize("NFKC", nfkc), nfkc, "NFKC idempotent")
    check(len(nfd) >= len(nfc), "NFD not shorter than NFC")
    if hasattr(unicodedata, "is_normalized"):
        check(unicodedata.is_normalized("NFC", nfc), "is_normalized NFC")
        check(unicodedata.is_normalized("NFD", nfd), "is_normalized NFD")
    # Stripping combining marks from NFD leaves no category-M characters.
    stripped = "".join(ch for ch in nfd if not unicodedata.combining(ch))
    check(all(unicodedata.category(ch)[0] != "M" or not unicodedata.combining(ch) for ch in stripped), "marks stripped")
    return nfc, nfd


def _check_case(s):
    folded = s.casefold()
    check_eq(folded.casefold(), folded, "casefold idempotent")
    if all(ord(ch) < 128 for ch in s):
        check_eq(s.swapcase().swapcase(), s, "ascii swapcase twice")
        check_eq(folded, s.lower(), "ascii casefold == lower")
    low = s.lower()
    check_eq(low.lower(), low, "lower idempotent")
    up = s.upper()
    check_eq(up.upper(), up, "upper idempotent")
    check(len(up) >= len(s), "upper never shrinks")
    for word in s.split():
        t = word.title()
        if all(ord(ch) < 128 for ch in word):
            check_eq(t, ascii_title(word), "ascii title")


def _check_str_methods(rng, s):
    words = s.split()
    check_eq(" ".join(words).split(), words, "split/join")
    check_eq(len("".join(words)), sum(1 for ch in s if not ch.isspace()), "split drops only whitespace")
    for w in words[:5]:
        i = s.find(w)
        check(i >= 0 and s[i:i + len(w)] == w, "find")
        check_eq(s.rfind(w) >= i, True, "rfind >= find")
        head, sep, tail = s.partition(w)
        check_eq(head + sep + tail, s, "partition")
        check_eq(s.count(w) >= 1, True, "count")
        check(s.startswith(head) and s.endswith(tail), "startswith/endswith")
    rep = s.replace(" ", "\u2002")
    check_eq(rep.count("\u2002"), s.count(" "), "replace count")
    check_eq(rep.replace("\u2002", " "), s, "replace back")
    width = len(s) + 11
    for padded in (s.center(width, "*"), s.ljust(width, "\u00b7"), s.rjust(width)):
        check_eq(len(padded), width, "padding width")
    table = str.maketrans({"a": "4", "e": "3", "o": "0", "\u00e9": "E", " ": None})
    tr = s.translate(table)
    check_eq(len(tr), len(s) - s.count(" "), "translate deletes spaces")
    check_eq(tr.count("4"), s.count("a") + s.count("4"), "translate maps a->4")
    digits = sum(1 for ch in s if unicodedata.category(ch) == "Nd")
    check_eq(sum(1 for ch in s if ch.isdecimal()), digits, "isdecimal vs category Nd")
    letters = sum(1 for ch in s if unicodedata.category(ch).startswith("L"))
    check_eq(sum(1 for ch in s if ch.isalpha()), letters, "isalpha vs category L*")
    check_eq(s[::-1][::-1], s, "reverse twice")
    check_eq("".join(sorted(s)), "".join(sorted(s[::-1])), "sorting is order independent")
    return len(words)


def run(scale):
    rng = random.Random(99)
    rounds = scaled(56, scale)
    n_chars = 0
    n_words = 0
    for r in range(rounds):
        texts = list(_SAMPLES)
        texts.extend(_random_text(rng, rng.randint(50, 400)) for _ in range(20))
        for s in texts:
            _check_codecs(s)
            nfc, nfd = _check_normalization(s)
            _check_case(s)
            n_words += _check_str_methods(rng, s)
            n_chars += len(s)
        # Hangul: algorithmic decomposition must match the database.
        for _ in range(300):
            ch = chr(rng.randint(0xAC00, 0xD7A3))
            check_eq(unicodedata.normalize("NFD", ch), hangul_nfd(ch), "Hangul NFD of U+%04X" % ord(ch))
            check_eq(unicodedata.normalize("NFC", hangul_nfd(ch)), ch, "Hangul NFC")
        # Names round-trip through lookup.
        for _ in range(200):
            ch = chr(rng.choice([rng.randint(0x41, 0x7A), rng.randint(0x391, 0x3C9), rng.randint(0x4E00, 0x9FA5), rng.randint(0x1F600, 0x1F64F)]))
            name = unicodedata.name(ch, None)
            if name is not None:
                check_eq(unicodedata.lookup(name), ch, "lookup(name(ch))")
        # Case-insensitive sort keys.
        words = " ".join(texts).split()
        ordered = sorted(words, key=str.casefold)
        check(all(ordered[i].casefold() <= ordered[i + 1].casefold() for i in range(len(ordered) - 1)), "casefold sort")
    check_eq("Straße".casefold(), "strasse", "casefold sharp s")
    check_eq("ǅ".lower() + "ǆ".upper() + "ǆ".title(), "ǆǄǅ", "digraph case mapping")
    check_eq("ﬁ".upper(), "FI", "ligature upper expands")
    check_eq(unicodedata.normalize("NFKC", "①②③ ｶﾀｶﾅ"), "123 カタカナ", "NFKC compatibility")
    check_eq(unicodedata.numeric("½"), 0.5, "numeric value")
    check_eq(unicodedata.decimal("\u0663"), 3, "Arabic-Indic digit")
    try:
        "\ud800".encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        raise VerificationError("lone surrogate encoded")
    try:
        b"\xc3\x28".decode("utf-8")
    except UnicodeDecodeError as exc:
        check_eq(exc.start, 0, "decode error start")
    else:
        raise VerificationError("invalid utf-8 decoded")
    return "%d rounds, %d chars, %d words" % (rounds, n_chars, n_words)
