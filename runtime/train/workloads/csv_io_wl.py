"""csv and io: writing/reading tricky CSV (quotes, separators and newlines
inside fields, unicode) through StringIO and through TextIOWrapper over
BytesIO, several dialects, DictReader/DictWriter, and a report aggregation.

Rows read back must equal rows written; aggregates are compared with sums
computed from the generated data.
"""

import csv
import io
import random

from ._common import VerificationError, check, check_eq, scaled

NAME = "csv_io"
DESCRIPTION = "csv reader/writer/DictReader over StringIO and TextIOWrapper(BytesIO), dialects, aggregation"

_CITIES = ["Berlin", "São Paulo", "Zürich", "New York, NY", 'The "Big" Apple', "Kraków", "東京", "Line\nBreak"]
_FIELDS = ["id", "city", "product", "qty", "price", "note"]


def _rows(rng, n):
    rows = []
    for i in range(n):
        rows.append({
            "id": str(i),
            "city": rng.choice(_CITIES),
            "product": rng.choice(["apple", "pear", "kiwi", "mango;ripe", "fig\ttab"]),
            "qty": str(rng.randint(0, 500)),
            "price": "%d.%02d" % (rng.randint(0, 999), rng.randint(0, 99)),
            "note": rng.choice(["", " leading space", "trailing space ", "comma, inside", "quote \" inside",
                                "multi\nline\r\nnote", "ünïcödé"]),
        })
    return rows


def _lines_via_readline(text_stream):
    n = 0
    while True:
        line = text_stream.readline()
        if not line:
            return n
        n += 1


def run(scale):
    rng = random.Random(8)
    rounds = scaled(42, scale)
    total_rows = 0
    for r in range(rounds):
        rows = _rows(rng, 1500)
        plain = [[row[f] for f in _FIELDS] for row in rows]

        # 1. csv.writer / csv.reader over StringIO (QUOTE_MINIMAL, excel dialect).
        sio = io.StringIO(newline="")
        writer = csv.writer(sio)
        writer.writerow(_FIELDS)
        writer.writerows(plain)
        text = sio.getvalue()
        back = list(csv.reader(io.StringIO(text, newline="")))
        check_eq(back[0], _FIELDS, "header")
        check_eq(back[1:], plain, "excel round trip")

        # 2. DictWriter/DictReader through TextIOWrapper over BytesIO (utf-8, ';' dialect, QUOTE_ALL).
        raw = io.BytesIO()
        wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        dw = csv.DictWriter(wrapper, fieldnames=_FIELDS, delimiter=";", quoting=csv.QUOTE_ALL)
        dw.writeheader()
        dw.writerows(rows)
        wrapper.flush()
        data = raw.getvalue()
        check(data.startswith(b'"id";"city"'), "QUOTE_ALL header")
        wrapper.detach()
        reader = csv.DictReader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""), delimiter=";")
        got = list(reader)
        check_eq(len(got), len(rows), "DictReader row count")
        check(all(dict(a) == b for a, b in zip(got, rows)), "DictReader round trip")

        # 3. Tab dialect with escapechar and no quoting.
        tsv = io.StringIO(newline="")
        tw = csv.writer(tsv, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
        simple = [[row["id"], row["qty"], row["price"], row["product"]] for row in rows]
        tw.writerows(simple)
        tr = list(csv.reader(io.StringIO(tsv.getvalue(), newline=""), delimiter="\t",
                             quoting=csv.QUOTE_NONE, escapechar="\\"))
        check_eq(tr, simple, "escaped TSV round trip")
        tsv.seek(0)
        check_eq(_lines_via_readline(tsv), len(simple), "readline count")

        # 4. QUOTE_NONNUMERIC: numbers come back as floats.
        nn = io.StringIO(newline="")
        nw = csv.writer(nn, quoting=csv.QUOTE_NONNUMERIC)
        numeric = [[int(row["qty"]), float(row["price"]), row["city"]] for row in rows[:500]]
        nw.writerows(numeric)
        nr = list(csv.reader(io.StringIO(nn.getvalue(), newline=""), quoting=csv.QUOTE_NONNUMERIC))
        check_eq([[float(a), b, c] for a, b, c in numeric], nr, "QUOTE_NONNUMERIC")

        # 5. Report: revenue per city in integer cents, from the parsed data.
        revenue = {}
        for rec in back[1:]:
            cents = int(rec[4].replace(".", ""))
            revenue[rec[1]] = revenue.get(rec[1], 0) + int(rec[3]) * cents
        want = {}
        for row in rows:
            p, c = row["price"].split(".")
            want[row["city"]] = want.get(row["city"], 0) + int(row["qty"]) * (int(p) * 100 + int(c))
        check_eq(revenue, want, "revenue per city")
        out = io.StringIO(newline="")
        rw = csv.writer(out, lineterminator="\n")
        for city in sorted(revenue):
            rw.writerow([city, "%d.%02d" % divmod(revenue[city], 100)])
        check_eq(len(list(csv.reader(io.StringIO(out.getvalue())))), len(revenue), "report rows")

        # 6. io odds and ends: seek/tell, BytesIO views, line iteration.
        bio = io.BytesIO()
        for i in range(2000):
            bio.write(b"%05d|" % i)
        check_eq(bio.tell(), 12000, "BytesIO tell")
        view = bio.getbuffer()
        check_eq(bytes(view[6:11]), b"00001", "getbuffer slice")
        del view
        bio.seek(6 * 1000)
        check_eq(bio.read(5), b"01000", "seek + read")
        sio2 = io.StringIO("".join("line %d ü\n" % i for i in range(3000)))
        check_eq(sum(1 for _ in sio2), 3000, "StringIO iteration")
        total_rows += len(rows)

    try:
        list(csv.reader(['a,"b'], strict=True))
    except csv.Error:
        pass
    else:
        raise VerificationError("unterminated quote accepted in strict mode")
    sniffed = csv.Sniffer().sniff("a;b;c\n1;2;3\n4;5;6\n")
    check_eq(sniffed.delimiter, ";", "Sniffer delimiter")
    return "%d rounds, %d rows" % (rounds, total_rows)
