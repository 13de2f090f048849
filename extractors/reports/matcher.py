"""Phrase matching of every ontology surface form (plus abbreviations and extra patterns) in a report.

One spaCy PhraseMatcher on lower-case tokens, keyed by ontology code. Every surface form also gets
its plural variants ("opacity" → "opacities", "pneumothorax" → "pneumothoraces") since a blank
pipeline has no lemmatiser. Where matches overlap, the longest wins (spacy.util.filter_spans), so
"pleural effusion" beats "pleura" and "left lower lobe" beats "lower lobe". Findings and devices
become mentions; anatomy matches become the locations of the mentions near them. `no_finding` and
its descendants are not matched: "normal" is derived from the absence of positive labels. A phrases.tsv
row with expansion "-" is an unmention: matched (so longest-match hides the words inside it, "soft tissue
edema" is not an edema mention) and then dropped. An anchored head (anchored_heads.tsv) is a bare word no
phrase covers that becomes a mention when an anchor word precedes it in its sentence ("pleural fluid and
thickening": the "thickening" is a pleural thickening) or an after-anchor follows it in its own phrase ("infection in
the left lung base"). A guarded head (guarded_heads.tsv) is a finding word
dropped when the nearest cue word beside it is another organ's ("compression fracture of T12 with collapse",
"subcutaneous air and emphysema in the neck").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractors.reports.rules import (
    GuardedHead,
    abbreviations,
    anchored_heads,
    extra_phrases,
    guard_reroutes,
    guarded_heads,
)
from schemas.ontology import Ontology

MENTION_KINDS = ("finding", "device")
EXCLUDED_ROOTS = ("no_finding",)
UNMENTION = "-"  # phrases.tsv expansion of a phrase that hides the finding words inside it
_LAST_COMPACT: list[tuple[Doc, tuple[Doc | None, list[int]]] | None] = [None]  # (doc, its space-free copy)
HEAD_KEY = "__anchored_head__"  # matcher key of the anchored heads (anchored_heads.tsv)
PLACEHOLDER = re.compile(r"X{3,}")  # a de-identification placeholder token
PLACEHOLDER_HINT = "XXX"
AFTER_REACH = 6  # tokens an anchored head's after-anchor is looked for after it (anchored_heads.tsv)
AFTER_STOPS = frozenset({",", ";", ".", ":", "and", "with", "but", "without", "or"})
GUARD_BACK, GUARD_AHEAD = 8, 6  # tokens a guarded head's cue is looked for before / after it
GUARD_STOPS_AHEAD = frozenset({",", ";", ".", "and", "with", "but"})
SHARED_JOINS = frozenset({"and", "or", "&", "and/or"})  # "pericardial and pleural effusions"
# one word a shared-noun coordination's second member may have before its phrase ("pericardial and small effusions")
SHARED_PREMODIFIERS = frozenset({"left", "right", "bilateral", "small", "tiny", "trace", "moderate", "large", "minimal",
                                 "mild", "new", "persistent", "stable", "increased", "decreased", "residual"})
GUARD_STOPS_BACK = frozenset({",", ";", ".", "but"})  # "right chest wall tube, mild edema": the edema's own item


def match_skipping_spaces(matcher: PhraseMatcher, doc: Doc) -> list[tuple[int, int, int]]:
    """`matcher(doc)` as (match id, start, end), where a run of spaces or one line break between words does
    not break a phrase ("negative   for", "pleural\neffusion" in hard-wrapped text); a blank line still does.
    Nor does a de-identification placeholder ("XXXX", as de-identified report corpora write a removed word):
    "the heart is XXXX enlarged" is read as "the heart is enlarged".
    Token indices are the original doc's; the space-free copy of the last doc seen is kept for the next
    matcher (the phrases, then the triggers), never stored on the doc."""
    last = _LAST_COMPACT[0]
    if last is not None and last[0] is doc:
        compact = last[1]
    else:
        spaces = [int(i) for i in np.flatnonzero(doc.to_array("IS_SPACE"))] if len(doc) else []
        drop = {i for i in spaces if doc[i].text.count("\n") < 2}
        if PLACEHOLDER_HINT in doc.text:  # de-identification placeholders ("The heart is XXXX enlarged")
            drop.update(t.i for t in doc if PLACEHOLDER.fullmatch(t.text))
        if drop:
            keep = [i for i in range(len(doc)) if i not in drop]
            compact = (Doc(doc.vocab, words=[doc[i].text for i in keep]), keep)
        else:
            compact = (None, [])
        _LAST_COMPACT[0] = (doc, compact)
    small, keep = compact
    if small is None:
        return [(mid, s, e) for mid, s, e in matcher(doc)]
    return [(mid, keep[s], keep[e - 1] + 1) for mid, s, e in matcher(small)]


@dataclass(frozen=True)
class Match:
    start: int  # token index
    end: int
    code: str
    kind: str  # finding | device | anatomy
    noun: int = -1  # in a shared-noun coordination, the shared noun's token ("pericardial and pleural effusions")


def plural_variants(form: str) -> list[str]:
    """The form and the plural spellings of its last word."""
    head, _, last = form.rpartition(" ")
    prefix = f"{head} " if head else ""
    outs = {last + "s"}
    if last.endswith(("s", "x", "ch", "sh")):
        outs.add(last + "es")
    if last.endswith("y") and len(last) > 2:
        outs.add(last[:-1] + "ies")
    if last.endswith("ax"):
        outs.add(last[:-1] + "ces")
    if last.endswith("us"):
        outs.add(last[:-2] + "i")
    if last.endswith("um"):
        outs.add(last[:-2] + "a")
    return [form, *sorted(prefix + o for o in outs)]


class OntologyPhraseMatcher:
    """Ontology surface forms → token spans with codes, longest match first."""

    def __init__(self, nlp: Language, onto: Ontology) -> None:
        self.onto = onto
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        forms = self.forms(onto)
        self.form_codes = forms  # phrase → code, for the shared-noun coordinations (shared_nouns)
        by_code: dict[str, list[str]] = {}
        for form, code in forms.items():
            by_code.setdefault(code, []).append(form)
        self.kinds: dict[int, tuple[str, str]] = {}
        for code in sorted(by_code):
            key = nlp.vocab.strings.add(code)
            self.kinds[key] = (code, "unmention" if code == UNMENTION else onto.get(code).kind)
            self.matcher.add(code, list(nlp.tokenizer.pipe(sorted(by_code[code]))))
        self.heads: dict[str, tuple[frozenset[str], str, str]] = {}  # head → (anchors, code, kind)
        self.heads_after: dict[str, frozenset[str]] = {}  # head → anchors that follow it in its phrase
        for head, rule in anchored_heads().items():
            code = onto.lookup(rule.expansion)
            if code is None:
                self._unresolved.append(rule.expansion)
                continue
            self.heads[head] = (rule.anchors, code, onto.get(code).kind)
            self.heads_after[head] = rule.after
        if self.heads:  # matched with the phrases, so a longer phrase holding the head wins (filter_spans)
            key = nlp.vocab.strings.add(HEAD_KEY)
            self.kinds[key] = (HEAD_KEY, "head")
            self.matcher.add(HEAD_KEY, list(nlp.tokenizer.pipe(sorted(self.heads))))
        self.guards: dict[str, tuple[GuardedHead, str]] = {}  # head → (rule, the code it names)
        for head, guard in guarded_heads().items():
            code = onto.lookup(guard.expansion)
            if code is None:
                self._unresolved.append(guard.expansion)
                continue
            self.guards[head] = (guard, code)
        self.reroutes: dict[tuple[str, str], tuple[str, str]] = {}  # (head, blocker) → (code, kind) it names
        for key, expansion in guard_reroutes().items():
            code = onto.lookup(expansion)
            if code is None:
                self._unresolved.append(expansion)
                continue
            self.reroutes[key] = (code, onto.get(code).kind)
        self.unresolved: list[str] = self._unresolved  # extra expansions the ontology does not know

    def forms(self, onto: Ontology) -> dict[str, str]:
        """Every phrase to match → code (ontology forms win over our extra phrases)."""
        excluded = {d for root in EXCLUDED_ROOTS if root in onto for d in [root, *onto.descendants(root)]}
        base = {f: c for f, c in onto.surface_forms().items() if c not in excluded}
        out: dict[str, str] = {}
        for form, code in sorted(base.items()):
            for variant in plural_variants(form):
                out.setdefault(variant, code)
        unresolved = []
        extras = [*extra_phrases(), *((s.lower(), long) for s, long in abbreviations().items())]
        for phrase, expansion in extras:
            if expansion == UNMENTION:
                out[phrase.lower()] = UNMENTION
                continue
            code = onto.lookup(expansion)
            if code is None or code in excluded:
                unresolved.append(expansion)
                continue
            out.setdefault(phrase.lower(), code)
        self._unresolved = sorted(set(unresolved))
        return out

    def __call__(self, doc: Doc) -> list[Match]:
        spans = [Span(doc, s, e, label=mid) for mid, s, e in match_skipping_spaces(self.matcher, doc)]
        out = []
        for sp in sorted(filter_spans(spans), key=lambda sp: sp.start):
            code, kind = self.kinds[sp.label]
            if kind == "head":
                anchored = self.anchored(doc, sp.start)
                if anchored is not None:
                    out.append(anchored)
            elif kind != "unmention":
                blocker = self.guarded(doc, sp.start, sp.end, code)
                if blocker is None:
                    out.append(Match(sp.start, sp.end, code, kind))
                elif (rerouted := self.reroutes.get((doc[sp.start].lower_, blocker))) is not None:
                    out.append(Match(sp.start, sp.end, *rerouted))
        return self.shared_nouns(doc, out)

    def shared_nouns(self, doc: Doc, matches: list[Match]) -> list[Match]:
        """A modifier coordinated before a finding phrase names its own finding with the phrase's noun when that
        makes a phrase of another finding ("pericardial and pleural effusions": a pericardial effusion and a pleural
        effusion; "interstitial and alveolar edema", "subcutaneous and mediastinal emphysema"; past one side or size
        word, "pericardial and small left pleural effusions"): the modifier becomes a one-token mention (over an
        anatomy match of it), both carrying the shared noun's token (`noun`), whose plural the coordination gives
        and so names no two sides. Not where the modifier is another finding or device, the same finding ("hilar and
        mediastinal lymphadenopathy") or in another sentence."""
        taken = {i: m for m in matches for i in range(m.start, m.end)}
        out = list(matches)
        for m in matches:
            j = m.start - 1  # the join, past at most one side or size word
            if j >= 1 and doc[j].lower_ in SHARED_PREMODIFIERS:
                j -= 1
            k = j - 1
            if (m.kind != "finding" or m.end - m.start < 2 or k < 0 or doc[j].lower_ not in SHARED_JOINS
                    or any(doc[t].is_sent_start for t in range(j, m.start + 1))):
                continue
            other = taken.get(k)
            if other is not None and (other.kind != "anatomy" or other.end - other.start != 1):
                continue
            form = " ".join([doc[k].lower_, *(t.lower_ for t in doc[m.start + 1 : m.end])])
            code = self.form_codes.get(form)
            if code is None or code == UNMENTION or code == m.code or self.onto.get(code).kind != "finding":
                continue
            out = [x for x in out if x is not other and x is not m]
            out += [Match(k, k + 1, code, "finding", noun=m.end - 1), replace(m, noun=m.end - 1)]
        return sorted(out, key=lambda x: x.start)

    def guarded(self, doc: Doc, start: int, end: int, code: str) -> str | None:
        """The blocker word, when the phrase [start, end) starts with a guarded head of its code whose nearest cue
        is a blocker: before it in its item (back to a comma, up to GUARD_BACK tokens), else after it within its
        segment; None when the phrase stands."""
        rule = self.guards.get(doc[start].lower_)
        if rule is None or rule[1] != code:
            return None
        guard = rule[0]
        j = start - 1
        while (j >= 0 and start - j <= GUARD_BACK and not doc[j + 1].is_sent_start
               and doc[j].lower_ not in GUARD_STOPS_BACK):
            cue = guard.cue(doc[j].lower_)
            if cue is not None:
                return doc[j].lower_ if cue == "block" else None
            j -= 1
        for j in range(end, min(end + GUARD_AHEAD, len(doc))):
            word = doc[j].lower_
            if doc[j].is_sent_start or word in GUARD_STOPS_AHEAD:
                break
            cue = guard.cue(word)
            if cue is not None:
                return word if cue == "block" else None
        return None

    def anchored(self, doc: Doc, i: int) -> Match | None:
        """The mention a bare head at token `i` names when one of its anchors precedes it in the sentence."""
        anchors, code, kind = self.heads[doc[i].lower_]
        j = i
        while j > 0 and not doc[j].is_sent_start:
            j -= 1
            if doc[j].lower_ in anchors:
                return Match(i, i + 1, code, kind)
        after = self.heads_after.get(doc[i].lower_, frozenset())
        for j in range(i + 1, min(i + 1 + AFTER_REACH, len(doc))):
            if doc[j].is_sent_start or doc[j].lower_ in AFTER_STOPS:
                break
            if doc[j].lower_ in after:
                return Match(i, i + 1, code, kind)
        return None

    def add_defined_abbreviations(self, doc: Doc, matches: list[Match]) -> list[Match]:
        """Short forms defined in the report ("pulmonary embolism (PE)") that scispaCy's detector found
        become mentions of their long form's code."""
        extra = []
        taken = {i for m in matches for i in range(m.start, m.end)}
        for short in getattr(doc._, "abbreviations", None) or []:
            long_form = short._.long_form
            code = self.onto.lookup(long_form.text) if long_form is not None else None
            if code is None or any(i in taken for i in range(short.start, short.end)):
                continue
            kind = self.onto.get(code).kind
            extra.append(Match(short.start, short.end, code, kind))
            taken.update(range(short.start, short.end))
        return sorted([*matches, *extra], key=lambda m: m.start)
