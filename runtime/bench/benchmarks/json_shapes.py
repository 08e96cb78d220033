"""JSON round trips of differently shaped documents: deep nesting, wide
numeric matrices, escape-heavy strings, and a GeoJSON-like feature
collection.

Each decoded document must equal the original.
"""

import json
import math
import random

from ._verify import expect, expect_eq

NAME = "json_shapes"
DESCRIPTION = "json dumps/loads of deep, wide-numeric, escape-heavy and GeoJSON-like documents"


def _deep(depth, width):
    node = {"leaf": True, "v": [1, 2.5, None, "end"]}
    for i in range(depth):
        node = {"level": i, "child": node, "siblings": [[i] * width, {"k%d" % j: j for j in range(width)}]}
    return node


def _strings(rng, n):
    pieces = ['quote "q"', "back\\slash", "tab\t", "newline\n", "bell\x07", "é", "日本語", "\U0001F680",
              "</script>", "plain text that is fairly ordinary", "\u2028sep"]
    return [{"id": i, "text": "".join(rng.choice(pieces) for _ in range(rng.randint(3, 25))),
             "lang": rng.choice(["en", "de", "ja"])} for i in range(n)]


def _features(rng, n):
    feats = []
    for i in range(n):
        cx, cy = rng.uniform(-170, 170), rng.uniform(-80, 80)
        ring = []
        for k in range(rng.randint(4, 24)):
            a = 2 * math.pi * k / 24
            ring.append([round(cx + math.cos(a) * 0.5, 6), round(cy + math.sin(a) * 0.5, 6)])
        ring.append(ring[0])
        feats.append({"type": "Feature", "id": i,
                      "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"name": "area-%d" % i, "pop": rng.randint(0, 10 ** 7),
                                     "density": rng.random() * 1000, "tags": ["t%d" % (i % 7)]}})
    return {"type": "FeatureCollection", "features": feats}


def setup():
    rng = random.Random(314)
    return {
        "deep": _deep(300, 6),
        "matrix": [[rng.random() * 10 ** rng.randint(-3, 6) for _ in range(80)] for _ in range(300)]
                  + [[rng.randint(-10 ** 12, 10 ** 12) for _ in range(80)] for _ in range(120)],
        "strings": _strings(rng, 3600),
        "geo": _features(rng, 750),
    }


def run(docs):
    sizes = {}
    equal = {}
    for name in sorted(docs):
        doc = docs[name]
        text = json.dumps(doc)
        back = json.loads(text)
        compact = json.dumps(back, separators=(",", ":"), ensure_ascii=False)
        again = json.loads(compact)
        sizes[name] = (len(text), len(compact))
        equal[name] = back == doc and again == doc
    pretty = json.dumps(docs["geo"], indent=1, sort_keys=True)
    sizes["geo_pretty"] = (len(pretty), pretty.count("\n"))
    return {"sizes": sizes, "equal": equal,
            "matrix_sum": math.fsum(x for row in json.loads(json.dumps(docs["matrix"])) for x in row)}


_REF = []


def verify(result):
    if not _REF:
        docs = setup()
        _REF.append((math.fsum(x for row in docs["matrix"] for x in row), sorted(docs)))
    matrix_sum, names = _REF[0]
    for name in names:
        expect(result["equal"][name], "%s round trip changed the document" % name)
    expect_eq(result["matrix_sum"], matrix_sum, "matrix sum after round trip")
    expect(result["sizes"]["strings"][1] < result["sizes"]["strings"][0], "ensure_ascii=False is shorter")
