"""How a finding takes a side from words outside its own phrase: the description an interpretive link reads it
as (`linked_side`: "left basilar density, likely atelectasis"), a side after a pair of mentions (`side_after`), and
the relational words that carry a side from the finding before (`relational`: "adjacent atelectasis"). Plain
functions over a spaCy Doc's tokens; the extractor (extractors/reports/extractor.py) decides when each applies."""

from __future__ import annotations

from spacy.tokens import Doc

from extractors.reports.attributes import (
    BOTH,
    LEFT,
    PAIRED_PLURALS,
    RIGHT,
    SIDE_LETTERS,
    breaks,
    laterality_of,
    link_before,
    side_join,
    side_stretch,
    side_words_of,
)
from extractors.reports.rules import link_skip

ANAPHORS = frozenset({"this", "these", "it", "they", "which"})  # sentence subjects pointing at the sentence before
# Words before a finding that place it by the finding named just before ("adjacent atelectasis", "associated effusion")
RELATIONAL = frozenset({"adjacent", "associated", "underlying", "accompanying", "overlying", "surrounding",
                        "concomitant", "coexisting", "coexistent"})


def linked_side(doc: Doc, start: int, lo: int, spans: list[tuple[int, int]], anatomy_sides: dict[int, str]) -> str:
    """The side of the description a finding at token `start` is read as (interpretive_links.tsv: "left basilar
    density, likely atelectasis" → left): an interpretive link right before the finding (past link_skip.tsv words),
    then, before it (past one comma), the description back to the sentence start `lo`, a segment break or another
    mention (token spans `spans`), and on across "and"/","/"as well as" while the stretch after the join is side-only
    (side words, sided anatomy: "density in the right lower lobe and left lower lobe, likely atelectasis" → bilateral;
    "none" where that reaches a mention's own phrase, whose side the finding inherits), and across a join to a
    description with the same head noun and no mention ("right basilar density and left basilar density, likely
    atelectasis" → bilateral; a mention's phrase before the join ends it there); its side words and sided
    anatomy (token → side) as laterality_of reads them."""
    j = start
    skip = link_skip()
    while j > lo:
        if doc[j - 1].lower_ in skip:
            j -= 1
        elif j - 3 >= lo and doc[j - 2].text == "-" and f"{doc[j - 3].lower_}-{doc[j - 1].lower_}" in skip:
            j -= 3  # a hyphenated row ("plate-like"): the tokenizer splits it into three tokens
        else:
            break
    k = link_before(doc, j, lo)
    if k is None:
        return "none"
    if k > lo and doc[k - 1].text == ",":
        k -= 1
    taken = {i for a, b in spans for i in range(a, b)}
    i = description_start(doc, k, lo, taken)
    if i == k or (i > lo and i - 1 in taken):  # nothing described, or the description is a mention's own phrase
        return "none"
    piece, sided = k, set(anatomy_sides)  # a side-only stretch after a join belongs to the description before it
    while i > lo and side_join(doc, i - 1) and side_stretch(doc, i, piece, sided, sided):
        j = join_start(doc, i - 1, lo)  # "density in the right lower lobe and left lower lobe, likely atelectasis"
        h = description_start(doc, j, lo, taken)
        if h == j or (h > lo and h - 1 in taken):  # a mention's phrase: its segment holds the stretch, and its side
            return "none"  # reaches the finding as side_inherited ("opacity in the right and left lower lobes ...")
        piece, i = j, h
    head = doc[k - 1]  # "right basilar density and left basilar density, likely atelectasis": the same head noun,
    while i > lo and side_join(doc, i - 1) and head.is_alpha and k - 1 not in anatomy_sides:  # no mention: both
        j = join_start(doc, i - 1, lo)
        if j == lo or j - 1 in taken or doc[j - 1].lower_ != head.lower_:
            break
        h = description_start(doc, j, lo, taken)
        if h > lo and h - 1 in taken:  # "right effusion with left basilar density and ... density": not a description
            break
        i = h
    if any(t.lower_ in ("post", "s/p", "after") for t in doc[i:k]):  # "status post right mastectomy, likely ..."
        return "none"
    words = side_words_of(doc, i, k)
    return laterality_of(words, [anatomy_sides[t] for t in range(i, k) if t in anatomy_sides], False)


def side_after(doc: Doc, end: int, places: set[int]) -> bool:
    """Whether the phrase segment after token `end` (to a segment break or the sentence end) names a side: a side
    word or letter, a paired plural ("at the bases") or anatomy (token indices `places`): "effusion on the left",
    not "effusions" on its own."""
    k = end
    while k < len(doc) and not doc[k].is_sent_start and not breaks(doc, k):
        w = doc[k].lower_
        if w in LEFT or w in RIGHT or w in BOTH or doc[k].text in SIDE_LETTERS or w in PAIRED_PLURALS or k in places:
            return True
        k += 1
    return False


def relational(doc: Doc, lo: int, start: int) -> bool:
    """Whether a relational word stands between the sentence start `lo` and the finding at token `start`, with no
    comma between (the finding's own phrase: "there is adjacent mild atelectasis")."""
    for i in range(start - 1, lo - 1, -1):
        word = doc[i].lower_
        if word in RELATIONAL:
            return True
        if word in (",", ";", "and", "but"):
            return False
    return False


def description_start(doc: Doc, k: int, lo: int, taken: set[int]) -> int:
    """Where the description ending before token `k` starts: back to `lo`, a segment break or a mention's token."""
    i = k
    while i > lo and not breaks(doc, i - 1) and i - 1 not in taken:
        i -= 1
    return i


def join_start(doc: Doc, j: int, lo: int) -> int:
    """The first token of the run of join words ("and", ",", "as well as") ending at token `j` (not before `lo`)."""
    while j > lo and side_join(doc, j - 1):
        j -= 1
    return j
