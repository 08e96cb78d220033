"""Dict- and set-heavy text statistics: word frequencies, bigrams, anagram
classes, vocabulary set algebra over a generated Zipf-distributed corpus.

verify() recomputes everything a different way (collections.Counter,
letter-count signatures instead of sorted letters, sort-based counting).
"""

import collections
import itertools
import random

from ._verify import expect_eq

NAME = "wordfreq"
DESCRIPTION = "word/bigram frequencies, anagram classes, set algebra (dicts, sets, tuples, str ops)"

N_WORDS = 150000


def _corpus():
    rng = random.Random(1234)
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    base = set()
    while len(base) < 1500:
        n = rng.randint(2, 9)
        base.add("".join(rng.choice(letters[:12 + n]) for _ in range(n)))
    base = sorted(base)
    vocab = list(base)
    for w in base[:300]:  # plant anagrams
        chars = list(w)
        rng.shuffle(chars)
        vocab.append("".join(chars))
    vocab = sorted(set(vocab))
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    rng.shuffle(vocab)
    words = rng.choices(vocab, weights=weights, k=N_WORDS)
    punct = ["", "", "", "", ",", ".", ";", "!", "?"]
    out = []
    for i, w in enumerate(words):
        if i % 11 == 0:
            w = w.capitalize()
        elif i % 29 == 0:
            w = w.upper()
        out.append(w + rng.choice(punct))
    return " ".join(out)


def setup():
    return _corpus()


_STRIP = str.maketrans("", "", ",.;!?")


def run(text):
    words = text.translate(_STRIP).lower().split()
    freq = {}
    for w in words:
        freq[w] = freq.get(w, 0) + 1
    bigrams = {}
    prev = None
    for w in words:
        if prev is not None:
            key = (prev, w)
            bigrams[key] = bigrams.get(key, 0) + 1
        prev = w
    classes = {}
    for w in freq:
        classes.setdefault("".join(sorted(w)), []).append(w)
    anagrams = sorted(sorted(group) for group in classes.values() if len(group) > 1)
    half = len(words) // 2
    first, second = set(words[:half]), set(words[half:])
    top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    top_bigrams = sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "n_words": len(words),
        "n_distinct": len(freq),
        "top": top,
        "top_bigrams": top_bigrams,
        "n_bigrams": len(bigrams),
        "anagrams": anagrams,
        "both_halves": len(first & second),
        "only_first": len(first - second),
        "either": len(first | second),
        "hapax": sum(1 for c in freq.values() if c == 1),
    }


_REF = []


def _reference():
    text = _corpus()
    words = [w.strip(",.;!?").lower() for w in text.split()]
    counts = collections.Counter(words)
    pairs = collections.Counter(zip(words, words[1:]))
    by_sig = collections.defaultdict(list)
    for w in counts:
        sig = [0] * 26
        for ch in w:
            sig[ord(ch) - 97] += 1
        by_sig[tuple(sig)].append(w)
    anagrams = sorted(sorted(g) for g in by_sig.values() if len(g) > 1)
    half = len(words) // 2
    first = set(words[:half])
    second = set(words[half:])
    ordered = sorted(counts.items(), key=lambda kv: kv[0])
    ordered.sort(key=lambda kv: kv[1], reverse=True)  # stable: ties stay alphabetical
    pair_ordered = sorted(pairs.items())
    pair_ordered.sort(key=lambda kv: kv[1], reverse=True)
    return {
        "n_words": len(words),
        "n_distinct": len(counts),
        "top": ordered[:25],
        "top_bigrams": pair_ordered[:10],
        "n_bigrams": len(pairs),
        "anagrams": anagrams,
        "both_halves": sum(1 for w in first if w in second),
        "only_first": sum(1 for w in first if w not in second),
        "either": len(set(itertools.chain(first, second))),
        "hapax": sum(1 for _, c in counts.items() if c == 1),
    }


def verify(result):
    if not _REF:
        _REF.append(_reference())
    ref = _REF[0]
    for key in sorted(ref):
        expect_eq(result[key], ref[key], key)
    expect_eq(len(ref["anagrams"]) > 100, True, "planted anagrams found")
