"""The rule-based report finding extractor: text in, one Mention per finding/device mention out.

Model-free: a blank English spaCy tokenizer, our sentence splitter (sections included), scispaCy's
abbreviation detector (definitions written in the report), one PhraseMatcher over the ontology's
surface forms, ConText-style certainty, and attribute rules. Build it once per worker; stream
reports through `extract_many` (spaCy `nlp.pipe` batching).
"""

from __future__ import annotations

import warnings
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import spacy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc, Span

import extractors.reports.sentences  # noqa: F401  (registers the sentencizer component)
from extractors.reports.alternatives import alternative_findings
from extractors.reports.attributes import (
    DOTTED_SIDES,
    LEFT,
    PAIRED_PLURALS,
    RIGHT,
    SIDE_LETTERS,
    attributes_of,
    segment_of,
)
from extractors.reports.context import CONFIDENCE, ContextRules, assert_mention
from extractors.reports.matcher import MENTION_KINDS, Match, OntologyPhraseMatcher
from extractors.reports.rules import (
    back_joins,
    device_sides,
    side_bridges,
    sideless_findings,
    surgical_sides,
    unsided_findings,
)
from extractors.reports.sections import CLINICAL_SECTIONS, section_at
from extractors.reports.side_links import ANAPHORS, linked_side, relational, side_after
from schemas.ontology import Ontology, load_ontology


@dataclass(frozen=True)
class Mention:
    """One finding or device mention. `start`/`end` are character offsets into the report text."""

    code: str
    kind: str
    text: str
    start: int
    end: int
    sentence: str
    section: str
    certainty: str  # present | absent | uncertain
    laterality: str  # left | right | bilateral | none
    location_codes: tuple[str, ...]
    size_mm: tuple[float, ...]
    severity: str | None
    change: str | None
    flags: tuple[str, ...]
    confidence: float


def build_pipeline(abbreviation_detector: bool = True) -> Language:
    """A blank English pipeline with our sentencizer (+ scispaCy's abbreviation detector)."""
    nlp = spacy.blank("en")
    for side in DOTTED_SIDES:  # "lt." / "Rt." / "LT.": one token, the stop no sentence end (sentences.py)
        for form in (side, side.capitalize(), side.upper()):
            nlp.tokenizer.add_special_case(form, [{ORTH: form}])
    nlp.add_pipe("medground_report_sentencizer")
    if abbreviation_detector:
        import scispacy.abbreviation  # noqa: F401  (registers "abbreviation_detector")

        nlp.add_pipe("abbreviation_detector")
    return nlp


class ReportFindingExtractor:
    """Finds, asserts and describes every ontology finding/device mentioned in radiology reports."""

    def __init__(self, onto: Ontology | None = None, *, abbreviation_detector: bool = True) -> None:
        self.onto = onto if onto is not None else load_ontology()
        self.nlp = build_pipeline(abbreviation_detector)
        drop_word_exceptions(self.nlp, self.onto)
        self.phrases = OntologyPhraseMatcher(self.nlp, self.onto)
        self.context = ContextRules(self.nlp)

    def extract(self, text: str) -> list[Mention]:
        return next(self.extract_many([text]))

    def extract_many(self, texts: Iterable[str], batch_size: int = 64) -> Iterator[list[Mention]]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*\[W036\]")  # scispaCy's empty global matcher
            for doc in self.nlp.pipe((t or "" for t in texts), batch_size=batch_size):
                yield self.mentions_of(doc)

    def mentions_of(self, doc: Doc) -> list[Mention]:
        matches = self.phrases.add_defined_abbreviations(doc, self.phrases(doc))
        anatomy = [m for m in matches if m.kind == "anatomy"]
        triggers = self.context.triggers(doc) if matches else []
        places = {i for a in anatomy for i in range(a.start, a.end)}  # anatomy tokens, and those of sided anatomy
        anatomy_sides = {i: side for a in anatomy if (side := self.onto.get(a.code).laterality)
                         for i in range(a.start, a.end)}
        out: list[Mention] = []
        sents = list(doc.sents) if matches else []
        starts = [s.start for s in sents]
        alternatives = alternative_findings(doc, [m for m in matches if m.kind == "finding"], places)
        own = [(m, sents[bisect_right(starts, m.start) - 1]) for m in matches if m.kind in MENTION_KINDS]
        spans = [(m.start, m.end) for m, _ in own]
        sided = set(anatomy_sides)
        by_start = {m.start: self.mention(doc, m, sent, anatomy, triggers, spans, places, sided) for m, sent in own}
        for m, _ in own:  # "small pericardial and pleural effusions": a severity before the first member is the
            if (m.noun < 0 or m.start == 0 or by_start[m.start].severity is not None  # shared noun's, when nothing
                    or doc[m.start - 1].lower_ not in ("and", "or", "and/or")):  # stands before the member
                continue
            first = next((f for f, _ in own if f.noun == m.noun and f.start < m.start), None)
            if first is not None and by_start[first.start].severity:
                by_start[m.start] = replace(by_start[m.start], severity=by_start[first.start].severity)
        negations = [t.start for t in triggers if t.rule.category == "NEGATED"]
        for m, sent in own:
            mention = by_start[m.start]
            partners = alternatives.get(m.start, ())
            if (mention.certainty == "present" and not any(sent.start <= t < m.start for t in negations)
                    and any(p is None or by_start[p].certainty != "absent" for p in partners)):
                # "left lower lobe atelectasis or pneumonia": a differential, hedged like "versus"; in a sentence a
                # negation opened, "or" joins its list ("no pneumothorax, stable cardiomegaly or large effusion")
                mention = replace(mention, certainty="uncertain", flags=tuple(sorted({*mention.flags, "probable"})),
                                  confidence=CONFIDENCE["probable"])
            prev = out[-1] if out else None
            if (mention.laterality == "none" and mention.kind == "finding" and self.paired(mention.code)
                    and (side := linked_side(doc, m.start, sent.start, spans, anatomy_sides)) != "none"):
                # "left basilar density, likely atelectasis": the side of the description the finding is read as,
                # before an earlier finding's ("right effusion and left basilar density, likely atelectasis": left)
                mention = replace(mention, laterality=side, flags=(*mention.flags, "side_linked"))
            elif (mention.laterality == "none" and prev is not None and prev.laterality != "none"
                    and self.passes_side(prev, mention) and prev.sentence == mention.sentence
                    and prev.certainty != "absent"):
                # "left basilar opacity, likely atelectasis": a finding's side carries over within a sentence
                mention = replace(mention, laterality=prev.laterality, flags=(*mention.flags, "side_inherited"))
            elif mention.laterality == "none" and (doc[sent.start].lower_ in ANAPHORS
                                                   or relational(doc, sent.start, m.start)):
                # "Left lower lobe opacity. This likely represents pneumonia.": only an anaphoric subject carries
                # the previous sentence's side over, or a relational word before the finding ("Left effusion.
                # There is adjacent atelectasis.")
                before = [p for p in out if p.end <= doc[sent.start].idx and p.certainty != "absent"
                          and self.passes_side(p, mention)]
                if before and before[-1].laterality != "none" and before[-1].sentence != mention.sentence:
                    mention = replace(mention, laterality=before[-1].laterality,
                                      flags=(*mention.flags, "side_anaphor"))
            if (mention.laterality == "none" and mention.kind == "finding"
                    and (side := self.surgical_side(doc, mention.code, sent, anatomy_sides)) != "none"):
                # "status post left lobectomy with small effusion": the operated side's pleural space
                mention = replace(mention, laterality=side, flags=(*mention.flags, "side_surgical"))
            out.append(mention)
        return self.carry_back(doc, [m for m, _ in own], out, places)

    def carry_back(self, doc: Doc, matches: list[Match], out: list[Mention], places: set[int]) -> list[Mention]:
        """A side written after a coordinated pair reaches its first member too: "atelectasis and effusion at the
        left base", "effusion and atelectasis on the right", "pneumonia and effusion on the left": a finding with
        no side, joined to the next finding of its sentence by joins and size words only (back_joins.tsv; no side or
        anatomy between, so the side is the next one's post-modifier, never its pre-modifier: "atelectasis and small
        left effusion" keeps atelectasis unsided), takes the next one's side, from the last pair backwards
        (passes_side: never onto an unpaired finding, "cardiomegaly and effusion on the left")."""
        joins = back_joins()
        for i in range(len(out) - 2, -1, -1):
            mention, nxt = out[i], out[i + 1]
            if (mention.laterality != "none" or nxt.laterality == "none" or mention.sentence != nxt.sentence
                    or mention.kind != "finding" or nxt.kind != "finding" or nxt.certainty == "absent"
                    or mention.certainty == "absent" or not self.passes_side(nxt, mention)):
                continue
            between = range(matches[i].end, matches[i + 1].start)
            if (between and side_after(doc, matches[i + 1].end, places)
                    and all(doc[t].lower_ in joins and t not in places for t in between)
                    and any(doc[t].lower_ in ("and", "or", "and/or", "/") for t in between)):
                out[i] = replace(mention, laterality=nxt.laterality, flags=(*mention.flags, "side_inherited"))
        return out

    def mention(self, doc: Doc, m: Match, sent: Span, anatomy: list[Match], triggers: list,
                spans: list[tuple[int, int]], places: set[int], sided: set[int]) -> Mention:
        """One Mention for match `m`; `places`/`sided`: the tokens of the doc's anatomy and of its sided anatomy."""
        others = [sp for sp in spans if sp[0] != m.start and sent.start <= sp[0] < sent.end]
        assertion = assert_mention(doc, m.start, m.end, sent, triggers, m.kind, others)
        lo, hi = segment_of(doc, m.start, m.end, sent, places, sided)
        near = [a.code for a in anatomy if lo <= a.start and a.end <= hi]
        sides = [s for s in (self.onto.get(c).laterality for c in near) if s]
        plural = m.noun < 0 and doc[m.end - 1].lower_ in PAIRED_PLURALS  # a shared noun's plural is the join's
        attrs = attributes_of(doc, m.start, lo, hi, sides, plural, m.noun)
        laterality = "none" if m.code in sideless_findings() else attrs.laterality  # "right heart enlargement"
        start, end = doc[m.start].idx, doc[m.end - 1].idx + len(doc[m.end - 1].text)
        section = section_at(doc._.sections or [], start)
        certainty, flags = assertion.certainty, assertion.flags
        if section in CLINICAL_SECTIONS:  # a clinical question is never a positive finding
            certainty = "uncertain" if certainty == "present" else certainty
            flags = (*flags, "clinical_history")
        return Mention(
            code=m.code,
            kind=m.kind,
            text=doc[m.start : m.end].text,
            start=start,
            end=end,
            sentence=sent.text.strip(),
            section=section,
            certainty=certainty,
            laterality=laterality,
            location_codes=self.locations(near, laterality),
            size_mm=attrs.size_mm,
            severity=attrs.severity,
            change=attrs.change,
            flags=tuple(sorted(set(flags))),
            confidence=assertion.confidence,
        )

    def passes_side(self, source: Mention, target: Mention) -> bool:
        """Whether `source`'s side may carry over to `target`: never to a finding of unpaired sites only ("left
        effusion and cardiomegaly": the heart has no side); a finding's only from a finding of a paired site
        ("right humeral fracture with small effusion", "degenerative changes of the right shoulder with
        atelectasis": the bony thorax and spine have none); a device's only to a finding of a sided site it sits
        in too ("left chest tube with small residual pneumothorax": the pleura) or a finding its placement causes
        (device_sides.tsv: "left IJ line with small apical pneumothorax"), never across organs
        ("left-sided pacemaker with mild cardiomegaly", "right PICC line, small effusion"); a side a procedure gave
        (side_surgical) passes nowhere: it reaches pleural findings only (surgical_sides.tsv)."""
        if not self.paired(target.code) or "side_surgical" in source.flags:
            return False
        if source.kind == "finding":
            return self.paired(source.code) or self.bridged(source, target)
        if source.code not in self.onto or target.code not in self.onto:
            return False
        if target.code in device_sides().get(source.code, ()):
            return True  # "left IJ line with small apical pneumothorax": the puncture's side (device_sides.tsv)
        shared = set(self.onto.get(source.code).sites) & set(self.onto.get(target.code).sites)
        return any(site in self.onto and self.sided(site, "left") != site for site in shared)

    def surgical_side(self, doc: Doc, code: str, sent: Span, anatomy_sides: dict[int, str] | None = None) -> str:
        """The side of the sided chest procedures of the sentence (surgical_sides.tsv) whose target sites hold one of
        the finding's sites: "status post left lobectomy with small effusion" → left, and through sided anatomy
        (token → side, `anatomy_sides`) right before the procedure: "status post RUL lobectomy" → right; "none" when
        there is none, the finding is unpaired, or the procedures name both sides."""
        table = surgical_sides()
        if code not in self.onto or not self.paired(code):
            return "none"
        sites = set(self.onto.get(code).sites)
        sides = set()
        for t in sent:
            targets = table.get(t.lower_)
            if targets is None or not targets & sites:
                continue
            j = t.i
            while j > sent.start and doc[j - 1].lower_ in PROCEDURE_SITE_WORDS:
                j -= 1
            if j > sent.start:
                prev = doc[j - 1]
                word = SIDE_LETTERS.get(prev.text, prev.lower_)
                side = "left" if word in LEFT else "right" if word in RIGHT else (anatomy_sides or {}).get(prev.i)
                if side in ("left", "right"):
                    sides.add(side)
        return sides.pop() if len(sides) == 1 else "none"

    def bridged(self, source: Mention, target: Mention) -> bool:
        """Whether a sided location of `source` lies under an anatomy site of side_bridges.tsv that reaches one of
        `target`'s sites ("right rib fractures with small pneumothorax": right_ribs is a rib, which reaches pleura)."""
        if target.code not in self.onto:
            return False
        sites = set(self.onto.get(target.code).sites)
        bridges = side_bridges()
        return any(bridges.get(a, frozenset()) & sites for loc in source.location_codes if loc in self.onto
                   for a in (loc, *self.onto.ancestors(loc)))

    def paired(self, code: str) -> bool:
        """Whether a finding can have a side: one of its ontology sites has a left child (lung, pleura, rib,
        diaphragm, clavicle, kidney) and it is not in unsided_findings.tsv; true for a code with no sites or none
        known (nothing says it cannot)."""
        if code in unsided_findings():  # "left effusion and hiatal hernia": the hiatus is midline
            return False
        sites = [s for s in self.onto.get(code).sites if s in self.onto] if code in self.onto else []
        return not sites or any(self.sided(site, "left") != site for site in sites)

    def locations(self, codes: list[str], laterality: str) -> tuple[str, ...]:
        """Anatomy codes, narrowed to the sided child where the side is known ("lung" + left → left_lung;
        "diaphragm" + left → left_hemidiaphragm, through its lone child hemidiaphragm)."""
        out = set()
        for code in codes:
            out.add(self.sided(code, laterality) if laterality in ("left", "right") else code)
        return tuple(sorted(out))

    def sided(self, code: str, laterality: str) -> str:
        """The one child on that side; through a lone unsided child (diaphragm → hemidiaphragm → left)."""
        node = code
        while True:
            children = self.onto.children(node)
            sided = [c for c in children if self.onto.get(c).laterality == laterality]
            if len(sided) == 1:
                return sided[0]
            if sided or len(children) != 1:
                return code
            node = children[0]


# Words between a side and a procedure word of surgical_sides.tsv ("left upper lobectomy", "right lower lobe wedge")
PROCEDURE_SITE_WORDS = frozenset({"upper", "middle", "lower", "lobe", "lung", "-", "sided", "partial", "completion"})


def drop_word_exceptions(nlp: Language, onto: Ontology) -> None:
    """Remove the tokenizer's abbreviation exceptions that spell a finding word with its full stop ("Mass."
    is Massachusetts to spaCy's English rules; "Mass." ending a report sentence is a mass)."""
    words = {w for form in onto.surface_forms() for w in form.lower().split()}
    rules = nlp.tokenizer.rules or {}
    kept = {k: v for k, v in rules.items()
            if not (k.endswith(".") and k[:-1].lower() in words) or k.lower() in DOTTED_SIDES}
    if len(kept) != len(rules):
        nlp.tokenizer.rules = kept
