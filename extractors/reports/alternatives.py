"""Alternative readings joined by "or": "atelectasis or pneumonia", "nodule or nipple shadow" (the CheXpert
labeler's "XXX or YYY" uncertainty pattern). The extractor (extractors/reports/extractor.py) makes each finding
so joined uncertain."""

from __future__ import annotations

from itertools import pairwise

from spacy.tokens import Doc

from extractors.reports.matcher import Match

ALTERNATIVE_JOINS = (("or",), ("and/or",), ("and", "/", "or"), ("/",))
# Size/degree words allowed between the join and the second alternative ("atelectasis or small effusion").
ALTERNATIVE_MODIFIERS = frozenset({
    "small", "large", "tiny", "trace", "minimal", "mild", "moderate", "severe", "massive", "early", "focal",
    "developing", "underlying", "superimposed", "subtle", "patchy", "an", "a",
})


SIDE_WORDS = frozenset({"left", "right", "bilateral", "bibasilar", "bibasal"})
# Words that, joined to a finding by "or", describe it rather than offer another reading ("new or increased
# effusion", "right or left", "one or more nodules"): never an alternative.
NOT_ALTERNATIVES = frozenset({
    "new", "increased", "increasing", "decreased", "decreasing", "worsening", "worsened", "improved", "improving",
    "enlarging", "stable", "unchanged", "persistent", "residual", "recurrent", "old", "chronic", "acute",
    "left", "right", "bilateral", "both", "one", "two", "three", "more", "less", "other", "another", "without",
    "with", "no", "not", "none", "the", "is", "are", "was", "were", "be", "may", "can", "could", "otherwise",
    "absent", "present", "seen", "identified", "noted", "visualized", "definite", "significant", "obvious",
    "lateral", "pa", "ap", "upright", "supine", "contrast", "change", "changes", "interval",
    *ALTERNATIVE_MODIFIERS,
})


def alternative_findings(doc: Doc, findings: list[Match], places: set[int] | frozenset[int] = frozenset(),
                         ) -> dict[int, list[int | None]]:
    """Start token of each finding joined by "or" to a neighbouring finding ("atelectasis or pneumonia") or to
    another reading the ontology does not name ("nodule or nipple shadow", "pneumothorax or skin fold": the
    CheXpert labeler's "XXX or YYY" uncertainty pattern) → the partners' start tokens (None: a word). Size words,
    sides and anatomy (token indices `places`) may stand between the join and the second finding ("atelectasis or
    right lower lobe pneumonia")."""
    out: dict[int, list[int | None]] = {}
    for a, b in pairwise(findings):
        j = b.start
        while j > a.end and (doc[j - 1].lower_ in ALTERNATIVE_MODIFIERS or doc[j - 1].lower_ in SIDE_WORDS
                             or j - 1 in places):
            j -= 1
        between = [t.lower_ for t in doc[a.end : j]]
        if tuple(between) in ALTERNATIVE_JOINS and a.code != b.code:
            out.setdefault(a.start, []).append(b.start)
            out.setdefault(b.start, []).append(a.start)
    taken = {i for f in findings for i in range(f.start, f.end)}
    for f in findings:
        if joined_word(doc, f.end, 1, taken) or joined_word(doc, f.start - 1, -1, taken):
            out.setdefault(f.start, []).append(None)
    return out


def joined_word(doc: Doc, i: int, step: int, taken: set[int]) -> bool:
    """Whether token `i` is "or"/"and/or" followed (step 1) or preceded (step -1), past size words, by a word
    that is no finding and could be another reading (alphabetic, not a side, change or function word)."""
    if not 0 <= i < len(doc) or doc[i].lower_ not in ("or", "and/or"):
        return False
    j = i + step
    while 0 <= j < len(doc) and doc[j].lower_ in ALTERNATIVE_MODIFIERS and j not in taken:
        j += step
    if not 0 <= j < len(doc) or j in taken or (doc[j].is_sent_start and step > 0):
        return False
    tok = doc[j]
    return tok.is_alpha and len(tok) > 2 and tok.lower_ not in NOT_ALTERNATIVES
