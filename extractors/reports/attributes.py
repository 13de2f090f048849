"""Attributes of one mention, read from its phrase segment: laterality, size, severity and change.

The segment of a mention is the stretch of its sentence around it bounded by commas, semicolons,
"and", "as well as", "with", "without", "but" (and the sentence): "small LEFT pleural effusion and right basilar
atelectasis" gives the effusion "left" and the atelectasis "right". Anatomy locations come from the anatomy
mentions the matcher found in the same segment (see extractor.py). A weak side word ("retrocardiac" → left,
"diffuse" → bilateral; data/weak_sides.tsv) counts only when no side word or sided anatomy is in the segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from spacy.tokens import Doc, Span

from extractors.reports.rules import comparative_sides, each_side, interpretive_links, weak_side_pairs, weak_sides

# "without" too: "left effusion without right effusion" is two segments, the negated right one not the left's
SEGMENT_BREAKS = frozenset({",", ";", "and", "with", "without", "but", "however", "although", "while", "whereas",
                            ".", "--", "\u2014", "\u2013"})  # and a punctuation dash (two hyphens, em/en dash)
# "left-"/"right-": a suspended hyphen, one token ("right- and left-sided effusions")
LEFT = frozenset({"left", "lt", "lt.", "l-sided", "left-sided", "sinistral", "left-"})
RIGHT = frozenset({"right", "rt", "rt.", "r-sided", "right-sided", "dextral", "right-"})
# side abbreviations written with their full stop, kept one token (extractor.build_pipeline) so that the stop neither
# ends the sentence nor the phrase segment ("small lt. effusion and rt. atelectasis")
DOTTED_SIDES = ("lt.", "rt.")
BOTH = frozenset({"bilateral", "bilaterally", "both", "bibasilar", "bibasal", "biapical", "bilat", "b/l",
                  "bihilar", "bi-basilar", "bi-apical"})
# capital single letters only ("L effusion", "effusions R > L."), never "l"/"r"
SIDE_LETTERS = {"L": "left", "R": "right", "L.": "left", "R.": "right"}
# Words a side-only stretch may hold besides sides and anatomy ("small left and moderate right effusions")
SIDE_STRETCH_WORDS = frozenset({"the", "of", "in", "at", "on", "both", "side", "sides", "greater", "than", "more",
                                "less", "worse", ">", "<", "=", "lower", "upper", "middle", "lobe", "lobes", "base",
                                "bases", "lung", "lungs", "apex", "apices", "hemithorax", "zone", "zones",
                                # "and to a lesser degree the left lower lobe", "and also the right base"
                                "to", "a", "lesser", "extent", "degree", "also", "slightly",
                                # "effusion, right-sided", "right- and left-sided effusions" (a hyphen is a token)
                                "-", "sided",
                                *LEFT, *RIGHT, *BOTH})
SIDE_STRETCH_MAX = 8  # tokens
# a side stretch's lobe names written bare in a list ("right upper, middle and lower lobe pneumonia")
LOBE_QUALIFIERS = frozenset({"upper", "middle", "lower", "mid", "the"})
SIDE_JOINS = frozenset({"and", ",", "&"})
AS_WELL_AS = ("as", "well", "as")  # a join and a segment break as "and" is, each of its three tokens


def as_well_as(doc: Doc, i: int) -> bool:
    """Whether token `i` is one of an "as well as" ("right upper lobe consolidation as well as left effusion")."""
    w = doc[i].lower_
    if w == "well":
        return 0 < i < len(doc) - 1 and doc[i - 1].lower_ == "as" and doc[i + 1].lower_ == "as"
    return w == "as" and ((i + 2 < len(doc) and doc[i + 1].lower_ == "well" and doc[i + 2].lower_ == "as")
                          or (i >= 2 and doc[i - 1].lower_ == "well" and doc[i - 2].lower_ == "as"))


def breaks(doc: Doc, i: int) -> bool:
    """Whether token `i` ends a phrase segment (SEGMENT_BREAKS, or a token of "as well as")."""
    w = doc[i].lower_
    return w in SEGMENT_BREAKS or ((w == "as" or w == "well") and as_well_as(doc, i))


def side_join(doc: Doc, i: int) -> bool:
    """Whether token `i` may join a side-only stretch (SIDE_JOINS, or a token of "as well as")."""
    w = doc[i].lower_
    return w in SIDE_JOINS or ((w == "as" or w == "well") and as_well_as(doc, i))
PAIRED_PLURALS = frozenset({"lungs", "bases", "apices", "hemithoraces", "hemithoraxes", "hila", "effusions",
                            "pneumothoraces", "pneumothoraxes", "lobes", "angles", "sulci"})
SEVERITY = {
    "trace": "trace", "tiny": "small", "small": "small", "minimal": "mild", "minimally": "mild",
    "mild": "mild", "mildly": "mild", "slight": "mild", "slightly": "mild", "moderate": "moderate",
    "moderately": "moderate", "severe": "severe", "severely": "severe", "marked": "severe",
    "markedly": "severe", "large": "large", "massive": "large", "extensive": "large", "huge": "large",
}
CHANGE = {
    "new": "new", "newly": "new", "developing": "new",
    "increased": "increased", "increasing": "increased", "increase": "increased", "worse": "increased",
    "worsened": "increased", "worsening": "increased", "enlarging": "increased", "progressed": "increased",
    "progressive": "increased", "progression": "increased", "larger": "increased",
    "decreased": "decreased", "decreasing": "decreased", "decrease": "decreased", "improved": "decreased",
    "improving": "decreased", "improvement": "decreased", "smaller": "decreased", "resolving": "decreased",
    "diminished": "decreased", "diminishing": "decreased",
    "stable": "stable", "unchanged": "stable", "persistent": "stable", "persists": "stable",
    "persisting": "stable", "redemonstrated": "stable", "similar": "stable", "again": "stable",
    "constant": "stable",
}
_NUM = r"(\d+(?:\.\d+)?)"
SIZE = re.compile(
    rf"{_NUM}(?:\s*(?:x|×|by)\s*{_NUM})?(?:\s*(?:x|×|by)\s*{_NUM})?\s*-?\s*(mm|cm|millimeters?|centimeters?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Attributes:
    laterality: str  # left | right | bilateral | none
    size_mm: tuple[float, ...]
    severity: str | None
    change: str | None


def segment_of(doc: Doc, start: int, end: int, sent: Span,
               places: set[int] | frozenset[int] = frozenset(),
               sided: set[int] | frozenset[int] = frozenset()) -> tuple[int, int]:
    """Token range [lo, hi) of the phrase segment around the mention [start, end). A neighbouring stretch
    across "and"/","/", and" that holds only sides, anatomy (token indices `places`) and size words, and names a side
    (a side word, a paired plural or sided anatomy, token indices `sided`: "lingula" is the left lung's), belongs to
    the segment ("left and right effusions", "small left and moderate right effusions",
    "atelectasis in the right and left lower lobes", "atelectasis in the right middle lobe and lingula")."""
    lo = start
    while lo > sent.start and not breaks(doc, lo - 1) and not link_ends(doc, lo, sent.start):
        lo -= 1
    hi = end
    while hi < sent.end and not breaks(doc, hi):
        hi += 1
    cur = lo  # a run of bare lobe qualifiers joins only with the sided stretch before it ("right upper, middle and")
    while cur - 1 > sent.start and side_join(doc, cur - 1):
        k = cur - 1  # the join: one token or a run of them (", and")
        while k - 1 > sent.start and side_join(doc, k - 1):
            k -= 1
        j = k
        while j > sent.start and not breaks(doc, j - 1):
            j -= 1
        if side_stretch(doc, j, k, places, sided):
            lo = cur = j
        elif 0 < k - j <= 2 and all(t.lower_ in LOBE_QUALIFIERS for t in doc[j:k]):
            cur = j
        else:
            break
    while hi < sent.end and side_join(doc, hi):
        k = hi + 1  # past the join: one token or a run of them ("atelectasis at the left base, and right base")
        while k < sent.end and side_join(doc, k):
            k += 1
        j = k
        while j < sent.end and not breaks(doc, j) and not link_starts(doc, j, sent.end):
            j += 1
        if not side_stretch(doc, k, j, places, sided):
            break
        hi = j
    return lo, hi


def link_before(doc: Doc, i: int, lo: int) -> int | None:
    """The first token of the longest interpretive link (interpretive_links.tsv) that ends right before token `i`
    and starts at `lo` or later, or None."""
    links = interpretive_links()
    return next((i - n for n in (3, 2, 1) if i - n >= lo and tuple(t.lower_ for t in doc[i - n : i]) in links), None)


def link_ends(doc: Doc, i: int, lo: int) -> bool:
    """Whether an interpretive link ends right before token `i`: the finding it is read as starts its own segment
    ("opacities at the right base and left base suggestive of atelectasis": the atelectasis takes the description's
    sides, not only the last one)."""
    return link_before(doc, i, lo) is not None


def link_starts(doc: Doc, i: int, end: int) -> bool:
    """Whether an interpretive link (interpretive_links.tsv: "consistent with", "likely") starts at token `i`: it
    ends a side stretch ("opacities in the right upper and left lower lobes consistent with pneumonia")."""
    links = interpretive_links()
    return any(i + n <= end and tuple(t.lower_ for t in doc[i : i + n]) in links for n in (1, 2, 3))


def side_stretch(doc: Doc, lo: int, hi: int, places: set[int] | frozenset[int],
                 sided: set[int] | frozenset[int] = frozenset()) -> bool:
    """Whether tokens [lo, hi) are a side-only stretch: a side word, a paired plural ("bases", "lungs") or sided
    anatomy (token indices `sided`: "lingula", "RML"), otherwise anatomy and size words only."""
    if hi <= lo or hi - lo > SIDE_STRETCH_MAX:
        return False
    toks = doc[lo:hi]
    weak = weak_sides()  # "retrocardiac and right basilar atelectasis"
    if not any(t.lower_ in LEFT or t.lower_ in RIGHT or t.lower_ in BOTH or t.text in SIDE_LETTERS
               or t.lower_ in PAIRED_PLURALS or t.i in sided or t.lower_ in weak
               for t in toks):  # "worse at the bases": both bases
        return False
    comparatives = comparative_sides()  # "left effusion, larger than the right"
    return all(t.lower_ in SIDE_STRETCH_WORDS or t.lower_ in SEVERITY or t.lower_ in comparatives
               or t.text in SIDE_LETTERS or t.i in places or t.lower_ in weak for t in toks)


def laterality_of(words: list[str], anatomy_sides: list[str], code_plural: bool) -> str:
    """left/right/bilateral from side words, sided anatomy, a side compared with the other (compares_sides),
    weak side words (weak_sides.tsv: only when nothing else names a side) and plural paired structures."""
    sides = set(anatomy_sides)
    for w in words:
        if w in LEFT:
            sides.add("left")
        elif w in RIGHT:
            sides.add("right")
        elif w in BOTH:
            sides.add("bilateral")
    if any(pair in each_side() for pair in pairwise(words)):  # "effusion on each side" (each_side.tsv)
        sides.add("bilateral")
    if "bilateral" in sides or {"left", "right"} <= sides or (sides and compares_sides(words)):
        return "bilateral"
    if sides and (pieces := piece_weak_sides(words)):  # a coordinated piece with no side word of its own
        sides |= pieces  # ("right basilar and retrocardiac atelectasis": bilateral)
        return "bilateral" if "bilateral" in sides or {"left", "right"} <= sides else sides.pop()
    if sides:
        return sides.pop()
    weak = {side for w in words if (side := weak_sides().get(w))}  # "retrocardiac opacity": left
    weak |= {side for pair in pairwise(words) if (side := weak_side_pairs().get(pair))}  # "minor fissure": right
    if weak:
        return "bilateral" if "bilateral" in weak or {"left", "right"} <= weak else weak.pop()
    if code_plural or any(w in PAIRED_PLURALS for w in words):
        return "bilateral"
    return "none"


def piece_weak_sides(words: list[str]) -> set[str]:
    """The weak sides (weak_sides.tsv) of the coordinated pieces of a segment (split at SIDE_JOINS) that hold no side
    word of their own: "right basilar and retrocardiac atelectasis" → {left}; "right retrocardiac opacity" (one
    piece, its own side word) → none."""
    out: set[str] = set()
    piece: list[str] = []
    table = weak_sides()
    for w in [*words, ","]:
        if w in SIDE_JOINS:
            if not any(x in LEFT or x in RIGHT or x in BOTH for x in piece):
                out |= {side for x in piece if (side := table.get(x))}
            piece = []
        else:
            piece.append(w)
    return out


COMPARISON_GAP = frozenset({"on", "at", "in", "than", "the", "so"})


def compares_sides(words: list[str]) -> bool:
    """Whether a comparative word (comparative_sides.tsv) stands right before a side, past at most three of "on",
    "at", "in", "than", "the", "so": "effusions, greater on the right", "more so on the left", "larger than the
    right" compare one side with the other, so both have the finding; "more prominent at the right base" does not."""
    table = comparative_sides()
    for i, w in enumerate(words):
        if w not in table:
            continue
        j = i + 1
        while j < len(words) and j - i <= 3 and words[j] in COMPARISON_GAP:
            j += 1
        if j < len(words) and j > i + 1 and (words[j] in LEFT or words[j] in RIGHT):
            return True
    return False


def nearest(words: list[str], table: dict[str, str], anchor: int) -> str | None:
    """The value of the cue nearest before index `anchor` (else the first after it)."""
    before = [table[w] for w in words[:anchor] if w in table]
    if before:
        return before[-1]
    after = [table[w] for w in words[anchor:] if w in table]
    return after[0] if after else None


def change_of(words: list[str], anchor: int) -> str | None:
    for i, w in enumerate(words):
        if w in ("change", "changed", "interval") and any(x in ("no", "not") for x in words[max(0, i - 3) : i]):
            return "stable"
    return nearest(words, CHANGE, anchor)


def sizes_mm(text: str) -> tuple[float, ...]:
    """Every dimension written in `text` (the first measurement), in millimetres."""
    m = SIZE.search(text)
    if m is None:
        return ()
    scale = 10.0 if m.group(4).lower().startswith(("cm", "cent")) else 1.0
    return tuple(round(float(g) * scale, 3) for g in m.groups()[:3] if g is not None)


def side_words_of(doc: Doc, lo: int, hi: int, skip: int = -1) -> list[str]:
    """The lower-case words of tokens [lo, hi) as the side readers take them: a capital side letter is its side
    ("L effusion"), "B/L" (split into "b", "/", "l") is "bilateral", not a left "L"; token `skip` is blank."""
    out = [SIDE_LETTERS.get(t.text, t.lower_) if t.i != skip else "" for t in doc[lo:hi]]
    for i in range(len(out) - 2):
        if doc[lo + i].lower_ == "b" and out[i + 1] == "/" and doc[lo + i + 2].lower_ == "l":
            out[i : i + 3] = ["bilateral", "", ""]
    return out


def attributes_of(doc: Doc, start: int, lo: int, hi: int, anatomy_sides: list[str], plural: bool,
                  shared_noun: int = -1) -> Attributes:
    """Attributes of the mention starting at token `start` whose segment is [lo, hi); the token `shared_noun` (a
    shared-noun coordination's noun, "pericardial and pleural effusions") names no side by its plural."""
    words = [t.lower_ for t in doc[lo:hi]]
    anchor = start - lo
    side_words = side_words_of(doc, lo, hi, shared_noun)
    return Attributes(
        laterality=laterality_of(side_words, anatomy_sides, plural),
        size_mm=sizes_mm(doc[lo:hi].text),
        severity=nearest(words, SEVERITY, anchor),
        change=change_of(words, anchor),
    )
