"""ConText-style certainty for radiology mentions (our own implementation of the algorithm of
Harkema et al., with medspaCy's rule vocabulary extended for radiology).

Triggers (context_rules.tsv) are matched once per document on lower-case tokens; where they overlap,
the longest wins, so "no change in" (a pseudo-trigger) hides the "no" inside it and "cannot be
excluded" hides "excluded". A trigger modifies a target in the same sentence when the target lies in
its scope:

- forward: after the trigger, up to a terminator ("but", "however", ";", "which", "there is" ...)
  or up to a comma/"and" that starts a new assertion (", mild atelectasis" after "no effusion").
  A coordinated list keeps the scope whole: in a disjunctive list ("no A, B or large C", "without A,
  large B, or C": an "or"/"nor" before the target or just after it) size/degree/side modifiers do not
  end it, and in a list of three or more ("no A, B and large C") size and side words do not; only change or
  state words ("stable", "increased", "again") and verbs ("is") start a new assertion there. Where the
  punctuation is missing, a list closes at the item its last "or"/"nor"/"and" introduced: a finding written
  right after that item with no comma or join is a new assertion ("no pneumothorax or effusion cardiomegaly"),
  and so is a predicate holding its own verb ("no pneumothorax pleural effusion or consolidation the heart is
  enlarged"), unless only function words ("the", "that", "evidence") stand between the trigger and it ("no
  evidence that the heart is enlarged"); a side/region word (scope_restarts.tsv) right after a negated finding
  opens a new noun phrase ("negative for pneumothorax left basilar atelectasis": atelectasis present);
- a trigger opening a clause (right after a comma/"and") ends an earlier forward scope: the nearer one speaks
  for what follows it ("no effusion, possible pneumothorax": uncertain; "no A, no B, likely C": probable); so
  does a clause trigger ("versus") in a clause begun after a comma: "no pneumonia, atelectasis versus
  scarring" hedges both sides of the differential and the "no" reaches neither;
- backward: before the trigger, up to a terminator, at most `BACKWARD_REACH` tokens, and across a
  comma only when the words after it form a list ("effusion, pneumothorax and edema have resolved");
- clause: both ways within the trigger's clause, delimited by commas, colons and "with" ("atelectasis versus
  pneumonia"; not the "atelectasis" of "viral vs reactive airways disease with subsegmental atelectasis");
- bidirectional: forward or backward;
- sentence: every target after it in its sentence, up to a terminator ("differential includes A and large B");
- inside: only a target phrase that holds the trigger ("blunting of the costophrenic angle": uncertain).

A trigger inside the target itself ("heart is borderline enlarged") applies too. "Removed"/"removal of"
(REMOVED) make only devices absent. Negation wins over
uncertainty; "probable" hedges (likely, suggestive of) are uncertain with the flag `probable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractors.reports.matcher import match_skipping_spaces
from extractors.reports.rules import ContextRule, context_rules, purpose_links, scope_restarts

BACKWARD_REACH = 10
CLAUSE_BREAKS = frozenset({",", "and", ":", "with"})
# A clause trigger ("versus", "either") reaches only its own clause: a comma, colon or "with" starts another
# ("viral vs reactive airways disease with subsegmental atelectasis": the atelectasis is not in the differential).
CLAUSE_ENDS = frozenset({",", ";", ":", "with"})
NEW_CLAUSE_CUES = frozenset({
    "mild", "mildly", "moderate", "moderately", "severe", "severely", "small", "large", "trace", "minimal",
    "tiny", "massive", "marked", "new", "increased", "increasing", "decreased", "decreasing", "worsening",
    "worsened", "improved", "improving", "stable", "unchanged", "persistent", "persisting", "residual",
    "left", "right", "bilateral", "bibasilar", "there", "is", "are", "was", "were", "remains", "again",
    "redemonstrated",
})
# Inside a coordinated list these still start a new assertion ("no effusion, stable cardiomegaly or ...").
STATE_CUES = frozenset({
    "increased", "increasing", "decreased", "decreasing", "worsening", "worsened", "improved", "improving",
    "stable", "unchanged", "persistent", "persisting", "residual", "there", "is", "are", "was", "were", "remains",
    "again", "redemonstrated", "resolving", "developing",
})
# In a list of three or more joined by "and", only these modifiers are part of a negated item ("no A, B and
# large C"); other cues start a new assertion.
SIZE_CUES = frozenset({
    "small", "large", "focal", "significant", "acute", "definite", "gross", "sizable", "sizeable", "appreciable",
    "discrete", "frank", "tiny", "trace", "minimal", "massive", "new", "obvious", "visible", "convincing",
})
# Nor do sides in such a list ("no pneumothorax, effusion, and right lower lobe consolidation").
SIDE_CUES = frozenset({"left", "right", "bilateral", "bibasilar"})
_VERBS = frozenset({"is", "are", "appears", "appear", "remains", "remain", "was", "were"})
# The only words a forward trigger may reach a predicate target across ("no evidence that the heart is enlarged").
PREDICATE_BRIDGE = frozenset({"the", "that", "whether", "of", "a", "an", "evidence", "sign", "signs", "indication",
                              "findings", "to", "suggest"})
_JOINS = frozenset({"or", "nor", "and", "and/or", ",", ";", "&"})
_LIST_WORDS = frozenset({"and", "or", "nor"})
_DISJUNCTIONS = frozenset({"or", "nor", "and/or"})
_LIST_ENDS = frozenset({".", ";", ":", "with", "which", "that", "is", "are", "was", "were", "has", "have",
                        "could", "may", "might", "can", "represent", "represents", "seen", "noted"})
LOOKAHEAD = 8  # tokens after a target searched for the "or" that makes its list disjunctive
CONFIDENCE = {"present": 0.9, "absent": 0.9, "uncertain": 0.5, "probable": 0.75}


@dataclass(frozen=True)
class Trigger:
    start: int  # token index
    end: int
    rule: ContextRule


@dataclass(frozen=True)
class Assertion:
    """The certainty of one mention, the flags that qualify it, and a rule confidence."""

    certainty: str  # present | absent | uncertain
    flags: tuple[str, ...]
    confidence: float
    triggers: tuple[str, ...]  # the literals that applied (for audits)


class ContextRules:
    """The compiled triggers of one pipeline's vocabulary."""

    def __init__(self, nlp: Language, rules: tuple[ContextRule, ...] | None = None) -> None:
        self.rules = {r.literal: r for r in (rules if rules is not None else context_rules())}
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for literal in sorted(self.rules):
            self.matcher.add(literal, [nlp.make_doc(literal)])
        self._names = {nlp.vocab.strings[lit]: lit for lit in self.rules}

    def triggers(self, doc: Doc) -> list[Trigger]:
        spans = [Span(doc, s, e, label=mid) for mid, s, e in match_skipping_spaces(self.matcher, doc)]
        return [
            Trigger(sp.start, sp.end, self.rules[self._names[sp.label]])
            for sp in sorted(filter_spans(spans), key=lambda sp: sp.start)
        ]


def assert_mention(doc: Doc, start: int, end: int, sent: Span, triggers: list[Trigger],
                   kind: str = "finding", others: Sequence[tuple[int, int]] = ()) -> Assertion:
    """The certainty of the target tokens [start, end) given the triggers of its document; REMOVED triggers
    ("removed", "removal of") speak only of a target of kind "device". `others`: the token spans of the other
    mentions of its sentence (they close an unpunctuated list)."""
    local = [t for t in triggers if t.start >= sent.start and t.end <= sent.end
             and (t.rule.category != "REMOVED" or kind == "device")]
    terms = [t for t in local if t.rule.category == "TERMINATE"]
    found: list[Trigger] = []
    for trig in local:
        cat, direction = trig.rule.category, trig.rule.direction
        if cat in ("TERMINATE", "PSEUDO") or direction == "none":
            continue
        if start <= trig.start and trig.end <= end:
            found.append(trig)
        elif trig.start < start < trig.end and direction in ("forward", "bidirectional"):
            found.append(trig)  # "no acute" overlapping "acute fracture": the trigger's head precedes it
        elif trig.end <= start and direction == "sentence":
            if not blocked(trig.end, start, terms):
                found.append(trig)
        elif trig.end <= start and direction in ("forward", "bidirectional"):
            if (reaches_forward(doc, trig.end, start, end, terms) and not closed_list(doc, trig.end, start, others)
                    and not reopened(doc, trig, start, local)):
                found.append(trig)
        elif trig.start >= end and direction in ("backward", "bidirectional"):
            if reaches_backward(doc, end, trig.start, terms, closes_sentence(doc, trig.end, sent.end)):
                found.append(trig)
        elif direction == "clause" and (trig.end <= start or trig.start >= end):
            lo, hi = (trig.end, start) if trig.end <= start else (end, trig.start)
            if not any(doc[i].lower_ in CLAUSE_ENDS for i in range(lo, hi)) and not blocked(lo, hi, terms):
                found.append(trig)
    return combine(found)


def blocked(lo: int, hi: int, terms: list[Trigger]) -> bool:
    return any(lo <= t.start < hi for t in terms)


def reaches_forward(doc: Doc, lo: int, start: int, end: int, terms: list[Trigger]) -> bool:
    """A forward scope from token `lo` reaches the target [start, end) unless a terminator or a new
    assertion after a comma/"and" comes first (see the module docstring for coordinated lists)."""
    if blocked(lo, start, terms):
        return False
    if (any(doc[j].lower_ in _VERBS for j in range(start, end))
            and not all(doc[i].lower_ in PREDICATE_BRIDGE or doc[i].is_space for i in range(lo, start))):
        return False  # a predicate target is its own clause ("no effusion the heart is enlarged")
    breaks = [i for i in range(lo, start) if doc[i].lower_ in CLAUSE_BREAKS]
    if not breaks:
        return True
    hard = any(doc[i].lower_ in (":", "with") for i in breaks)
    disjunctive = not hard and is_disjunctive(doc, lo, start, end, terms)
    long_list = not hard and len(breaks) >= 2 and doc[breaks[-1]].lower_ in (",", "and")
    for i in breaks:
        tail = {doc[j].lower_ for j in range(i + 1, start)}
        if disjunctive:
            if tail & STATE_CUES:
                return False
        elif long_list:
            if tail & (NEW_CLAUSE_CUES - SIZE_CUES - SIDE_CUES):
                return False
        elif tail & NEW_CLAUSE_CUES:
            return False
    return True


def reopened(doc: Doc, trig: Trigger, start: int, local: list[Trigger]) -> bool:
    """Whether another trigger opening a clause (right after a comma/"and") comes before the target: the nearer
    one speaks ("no effusion, possible pneumothorax"; "no A, no B, likely C"), while one inside the clause adds
    to it ("no evidence to suggest pneumonia", "no focal, lobar consolidation to suggest pneumonia")."""
    for t in local:
        if (t is not trig and trig.end <= t.start and t.end <= start
                and t.rule.category not in ("TERMINATE", "PSEUDO", "REMOVED")
                and t.rule.direction in ("forward", "bidirectional", "sentence", "clause")
                and opens_clause(doc, trig.end, t.start)):
            return True
        if t.rule.direction == "clause" and t.start >= trig.end and own_clause(doc, trig.end, start, t):
            return True
    return False


def own_clause(doc: Doc, lo: int, start: int, t: Trigger) -> bool:
    """Whether the clause trigger `t` ("versus") shares the target's clause at `start` and that clause began after
    token `lo` (a comma/colon/"with" between): a differential after a negated item is its own assertion ("no
    pneumonia, atelectasis versus scarring": both uncertain, the "no" does not reach across)."""
    first = min(start, t.start)
    if not any(doc[i].lower_ in CLAUSE_ENDS for i in range(lo, first)):
        return False
    lo_gap, hi_gap = (t.end, start) if t.end <= start else (start, t.start)
    return not any(doc[i].lower_ in CLAUSE_ENDS for i in range(lo_gap, hi_gap))


def opens_clause(doc: Doc, lo: int, i: int) -> bool:
    """Whether token `i` (after `lo`) starts a clause: a comma/"and" right before it ("no A, possible B"; not the
    "to suggest" of "no focal, lobar consolidation to suggest pneumonia")."""
    j = i - 1
    while j > lo and doc[j].is_space:
        j -= 1
    return j >= lo and doc[j].lower_ in CLAUSE_BREAKS


def closed_list(doc: Doc, lo: int, start: int, others: Sequence[tuple[int, int]]) -> bool:
    """Whether, between token `lo` and the target at `start`, a list closed: a mention follows the last
    "or"/"nor"/"and" and the target follows that mention with no comma or join between them."""
    if restarted(doc, lo, start, others):
        return True
    joins = [i for i in range(lo, start) if doc[i].lower_ in _LIST_WORDS or doc[i].lower_ == "and/or"]
    if not joins:
        return False
    last = [(s, e) for s, e in others if joins[-1] < s and e <= start]
    if not last:
        return False
    gap = range(max(e for _, e in last), start)
    if tuple(doc[i].lower_ for i in gap) in purpose_links():
        return False  # "no effusion, or focal opacity to suggest pneumonia": what the list would show
    return not any(doc[i].lower_ in _JOINS for i in gap)


def restarted(doc: Doc, lo: int, start: int, others: Sequence[tuple[int, int]]) -> bool:
    """Whether a side/region word (scope_restarts.tsv) opens a new noun phrase between the last mention after token
    `lo` and the target, with no comma or join: "negative for pneumothorax left basilar atelectasis"."""
    before = [e for s, e in others if lo <= s and e <= start]
    if not before:
        return False
    gap = [doc[i] for i in range(max(before), start) if not doc[i].is_space]
    opener = gap[0] if gap else doc[start]  # a target phrase may hold its side ("left pleural air collection")
    return opener.lower_ in scope_restarts() and not any(t.lower_ in _JOINS for t in gap)


def is_disjunctive(doc: Doc, lo: int, start: int, end: int, terms: list[Trigger]) -> bool:
    """Whether the list holding the target is joined by "or"/"nor": as the last join before it (from the
    trigger on) or within a few tokens after it, before the list ends (full stop, verb, "with", terminator)."""
    joins = [i for i in range(lo, start) if doc[i].lower_ in _DISJUNCTIONS]
    commas = [i for i in range(lo, start) if doc[i].text == ","]
    if joins and (not commas or joins[-1] > commas[-1]):  # "no A or B, mild C": that list closed before C
        return True
    for j in range(end, min(end + LOOKAHEAD, len(doc))):
        word = doc[j].lower_
        if word in _DISJUNCTIONS:
            return True
        if word in _LIST_ENDS or doc[j].is_sent_start or any(t.start == j for t in terms):
            return False
    return False


def closes_sentence(doc: Doc, i: int, sent_end: int) -> bool:
    """Whether nothing but punctuation or space is left of the sentence from token `i` on."""
    return all(doc[j].is_punct or doc[j].is_space for j in range(i, sent_end))


def reaches_backward(doc: Doc, end: int, hi: int, terms: list[Trigger], closing: bool = False) -> bool:
    """A backward scope reaches the target before token `hi` within `BACKWARD_REACH` tokens, across a comma
    only when the words after it form a list ("effusion, pneumothorax and edema have resolved") or when the
    trigger alone follows the comma and closes the sentence ("small bowel obstruction, resolved.")."""
    if hi - end > BACKWARD_REACH or blocked(end, hi, terms):
        return False
    commas = [i for i in range(end, hi) if doc[i].text == ","]
    if commas:
        if closing and commas[-1] == hi - 1:
            return True
        after = {doc[j].lower_ for j in range(commas[-1] + 1, hi)}
        return bool(after & _LIST_WORDS)
    return True


def combine(found: list[Trigger]) -> Assertion:
    cats = {t.rule.category for t in found}
    literals = tuple(sorted({t.rule.literal for t in found}))
    flags: list[str] = []
    if "HISTORICAL" in cats:
        flags.append("historical")
    if "RESOLVED" in cats:
        flags.append("resolved")
    if "REMOVED" in cats:
        flags.append("removed")
    if cats & {"NEGATED", "RESOLVED", "REMOVED"}:
        return Assertion("absent", tuple(flags), CONFIDENCE["absent"], literals)
    if "UNCERTAIN" in cats:
        return Assertion("uncertain", tuple(flags), CONFIDENCE["uncertain"], literals)
    if "PROBABLE" in cats:
        flags.append("probable")
        return Assertion("uncertain", tuple(sorted(flags)), CONFIDENCE["probable"], literals)
    return Assertion("present", tuple(flags), CONFIDENCE["present"], literals)
