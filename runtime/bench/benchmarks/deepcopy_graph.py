"""copy.deepcopy and pickle of a document object model: documents, sections
(with back-references), paragraphs, runs sharing style objects, bookmarks
pointing into the tree, a class with a custom __deepcopy__.

The copies must be isomorphic to the original, preserve sharing (the number
of distinct style objects), share nothing mutable with the original, and
survive mutation independently.
"""

import copy
import pickle
import random

from ._verify import expect, expect_eq

NAME = "deepcopy"
DESCRIPTION = "copy.deepcopy + pickle round trip of a document object graph with sharing and cycles"

N_SECTIONS = 220


class Style(object):
    def __init__(self, name, size, color, parent=None):
        self.name = name
        self.size = size
        self.color = color
        self.parent = parent
        self._resolved = None  # cache, never copied

    def resolved(self):
        if self._resolved is None:
            chain = []
            s = self
            while s is not None:
                chain.append(s.name)
                s = s.parent
            self._resolved = "/".join(reversed(chain))
        return self._resolved

    def __deepcopy__(self, memo):
        clone = Style.__new__(Style)
        memo[id(self)] = clone
        clone.name = self.name
        clone.size = self.size
        clone.color = copy.deepcopy(self.color, memo)
        clone.parent = copy.deepcopy(self.parent, memo)
        clone._resolved = None
        return clone

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_resolved"] = None
        return state


class Run(object):
    __slots__ = ("text", "style", "marks")

    def __init__(self, text, style, marks):
        self.text = text
        self.style = style
        self.marks = marks


class Paragraph(object):
    def __init__(self, section, style):
        self.section = section
        self.style = style
        self.runs = []


class Section(object):
    def __init__(self, document, heading):
        self.document = document
        self.heading = heading
        self.paragraphs = []
        self.meta = {"id": len(document.sections), "tags": {"draft"}}


class Document(object):
    def __init__(self, title):
        self.title = title
        self.sections = []
        self.styles = {}
        self.bookmarks = {}


def build(seed, n_sections):
    rng = random.Random(seed)
    doc = Document("Report")
    base = Style("base", 11, [0, 0, 0])
    doc.styles["base"] = base
    for name in ("heading", "quote", "code", "note", "emph"):
        doc.styles[name] = Style(name, rng.randint(8, 24), [rng.randint(0, 255) for _ in range(3)], base)
    styles = list(doc.styles.values())
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
    for s in range(n_sections):
        section = Section(doc, "Section %d" % s)
        doc.sections.append(section)
        for p in range(rng.randint(4, 12)):
            para = Paragraph(section, rng.choice(styles))
            section.paragraphs.append(para)
            for _ in range(rng.randint(2, 10)):
                para.runs.append(Run(" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))),
                                     rng.choice(styles), tuple(rng.sample(["b", "i", "u"], rng.randint(0, 2)))))
            if rng.random() < 0.1:
                doc.bookmarks["bm-%d-%d" % (s, p)] = para
    return doc


def _walk(doc):
    """Counts and identity sets for a document graph."""
    styles = set()
    paragraphs = runs = chars = 0
    mutable_ids = set([id(doc), id(doc.sections), id(doc.styles), id(doc.bookmarks)])
    for section in doc.sections:
        if section.document is not doc:
            raise AssertionError("section back-reference broken")
        mutable_ids.update((id(section), id(section.paragraphs), id(section.meta), id(section.meta["tags"])))
        for para in section.paragraphs:
            if para.section is not section:
                raise AssertionError("paragraph back-reference broken")
            paragraphs += 1
            styles.add(id(para.style))
            mutable_ids.update((id(para), id(para.runs)))
            for run_ in para.runs:
                runs += 1
                chars += len(run_.text)
                styles.add(id(run_.style))
                mutable_ids.add(id(run_))
    for st in doc.styles.values():
        mutable_ids.update((id(st), id(st.color)))
    bookmarks_ok = all(p.section.document is doc for p in doc.bookmarks.values())
    return {"styles": len(styles), "paragraphs": paragraphs, "runs": runs, "chars": chars,
            "bookmarks_ok": bookmarks_ok}, mutable_ids


def setup():
    return build(77, N_SECTIONS)


def run(doc):
    orig_summary, orig_ids = _walk(doc)
    clone = copy.deepcopy(doc)
    clone_summary, clone_ids = _walk(clone)
    shared = len(orig_ids & clone_ids)
    # Sharing preserved: a bookmark in the clone points into the clone's own tree.
    first_bm = sorted(clone.bookmarks)[0]
    in_tree = any(clone.bookmarks[first_bm] is p for s in clone.sections for p in s.paragraphs)
    # Mutating the clone leaves the original alone.
    clone.styles["base"].color[0] = 255
    clone.sections[0].meta["tags"].add("copied")
    independent = doc.styles["base"].color[0] == 0 and "copied" not in doc.sections[0].meta["tags"]
    resolved = clone.styles["code"].resolved()
    pickled = pickle.loads(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))
    pickled_summary, _ = _walk(pickled)
    shallow = copy.copy(doc.sections[1])
    return {
        "orig": orig_summary, "clone": clone_summary, "pickled": pickled_summary,
        "shared_mutables": shared, "bookmark_in_tree": in_tree, "independent": independent,
        "resolved": resolved, "shallow_shares_list": shallow.paragraphs is doc.sections[1].paragraphs,
    }


def verify(result):
    expect_eq(result["clone"], result["orig"], "deepcopy summary")
    expect_eq(result["pickled"], result["orig"], "pickle summary")
    expect_eq(result["orig"]["styles"], 6, "distinct styles (sharing preserved)")
    expect_eq(result["shared_mutables"], 0, "mutable objects shared between original and copy")
    expect(result["bookmark_in_tree"], "bookmark points into the copied tree")
    expect(result["independent"], "mutating the copy changed the original")
    expect_eq(result["resolved"], "base/code", "style chain in the copy")
    expect(result["shallow_shares_list"], "copy.copy is shallow")
