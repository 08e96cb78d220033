"""Text processing: textwrap (wrap/fill/dedent/indent/shorten) and difflib
(SequenceMatcher, unified_diff, ndiff/restore, get_close_matches).

A hand-written patch applier must rebuild the new text from each unified diff;
wrapped text must keep every word, in order, within the width.
"""

import difflib
import random
import re
import textwrap

from ._common import VerificationError, check, check_eq, scaled

NAME = "textproc"
DESCRIPTION = "textwrap and difflib (unified diff + own patch applier, ndiff/restore, close matches)"

_VOCAB = ("the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit "
          "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua Übergrößenträger "
          "naïve café supercalifragilisticexpialidocious a an of to in").split()

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply_unified(old_lines, diff_lines):
    """Applies a unified diff (as produced by difflib.unified_diff, n>=0)."""
    out = []
    pos = 0  # index into old_lines
    it = iter(diff_lines)
    for line in it:
        if line.startswith("---") or line.startswith("+++"):
            continue
        m = _HUNK_RE.match(line)
        if not m:
            raise VerificationError("unexpected diff line %r" % line)
        old_start = int(m.group(1))
        old_len = int(m.group(2)) if m.group(2) is not None else 1
        start = old_start - 1 if old_len > 0 else old_start
        out.extend(old_lines[pos:start])
        pos = start
        remaining_old = old_len
        remaining_new = int(m.group(4)) if m.group(4) is not None else 1
        while remaining_old > 0 or remaining_new > 0:
            body = next(it)
            tag, text = body[0], body[1:]
            if tag == " ":
                check_eq(old_lines[pos], text, "context line")
                out.append(text)
                pos += 1
                remaining_old -= 1
                remaining_new -= 1
            elif tag == "-":
                check_eq(old_lines[pos], text, "removed line")
                pos += 1
                remaining_old -= 1
            elif tag == "+":
                out.append(text)
                remaining_new -= 1
            else:
                raise VerificationError("bad hunk line %r" % body)
    out.extend(old_lines[pos:])
    return out


def _mutate(rng, lines):
    new = list(lines)
    for _ in range(rng.randint(1, 12)):
        op = rng.randrange(3)
        i = rng.randrange(len(new) + 1)
        if op == 0 and new:
            del new[min(i, len(new) - 1)]
        elif op == 1:
            new.insert(i, " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(1, 8))) + "\n")
        elif new:
            j = min(i, len(new) - 1)
            new[j] = new[j].rstrip("\n") + " edited\n"
    return new


def run(scale):
    rng = random.Random(4242)
    rounds = scaled(120, scale)
    diffs = 0
    for r in range(rounds):
        paragraph = " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(200, 400)))
        for width in (20, 33, 50, 72, 100):
            lines = textwrap.wrap(paragraph, width=width)
            check(all(len(l) <= width for l in lines), "wrap width %d" % width)
            check_eq("".join(lines).replace(" ", ""), paragraph.replace(" ", ""), "wrap keeps characters")
            whole = textwrap.wrap(paragraph, width=width, break_long_words=False)
            check_eq(" ".join(whole).split(), paragraph.split(), "wrap keeps words")
            filled = textwrap.fill(paragraph, width=width, initial_indent="* ", subsequent_indent="  ",
                                   break_long_words=False)
            check(filled.startswith("* "), "fill initial indent")
            check_eq(filled.replace("\n", " ").split()[1:], paragraph.split(), "fill keeps words")
        short = textwrap.shorten(paragraph, width=60, placeholder=" [...]")
        check(len(short) <= 60 and short.endswith("[...]"), "shorten")
        block = textwrap.indent(textwrap.fill(paragraph, 40), "    ")
        check_eq(textwrap.dedent(block), textwrap.fill(paragraph, 40), "dedent(indent(x))")
        check_eq(textwrap.indent("a\n\nb\n", "> "), "> a\n\n> b\n", "indent skips blank lines")

        # Diffs of a document against edited versions.
        doc = [" ".join(rng.choice(_VOCAB) for _ in range(rng.randint(0, 10))) + "\n" for _ in range(120)]
        for k in range(4):
            new = _mutate(rng, doc)
            for context in (0, 3):
                udiff = list(difflib.unified_diff(doc, new, "a.txt", "b.txt", n=context))
                if doc == new:
                    check_eq(udiff, [], "empty diff")
                    continue
                rebuilt = apply_unified(doc, [l if l.endswith("\n") else l + "\n" for l in udiff])
                check_eq(rebuilt, new, "patch(doc, unified_diff(doc, new)) with n=%d" % context)
                diffs += 1
            nd = list(difflib.ndiff(doc, new))
            check_eq(list(difflib.restore(nd, 1)), doc, "ndiff restore 1")
            check_eq(list(difflib.restore(nd, 2)), new, "ndiff restore 2")
            sm = difflib.SequenceMatcher(None, doc, new, autojunk=False)
            matched = sum(b.size for b in sm.get_matching_blocks())
            check_eq(sm.ratio(), 2.0 * matched / (len(doc) + len(new)), "ratio definition")
            rebuilt = []
            for tag, i1, i2, j1, j2 in sm.get_opcodes():
                rebuilt.extend(doc[i1:i2] if tag == "equal" else new[j1:j2])
            check_eq(rebuilt, new, "opcodes rebuild")
        # Character-level matching of words.
        word = rng.choice(_VOCAB)
        typo = word[:-1] + "x" if len(word) > 3 else word
        close = difflib.get_close_matches(typo, _VOCAB, n=3, cutoff=0.6)
        check(word in close or len(word) <= 4, "close match for %r -> %r: %r" % (typo, word, close))
    return "%d rounds, %d diffs applied" % (rounds, diffs)
