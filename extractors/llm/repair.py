"""Validated model answers → FINDING rows, repaired against the report and the ontology or rejected.

Nothing the model says is kept on trust:
- spans: the phrase is looked up in the original text (at the offset given; else inside the quoted
  sentence; else nearest to the given offset, case- and whitespace-insensitively). A relocated span is
  flagged `llm_span_relocated`; a phrase that is not in the report at all is rejected (`span_not_found`).
- codes: a finding/device code of the ontology is kept; anything else goes through `onto.map_label`
  (the code, then the phrase) and is flagged `llm_code_mapped`; what still maps to nothing is rejected
  (`unknown_code`). Location codes that map to no anatomy node are dropped and flagged.
Rejects are returned, never dropped: the stage quarantines (or flags) them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from extractors.llm.answer import FindingAnswer
from schemas.ontology import Ontology
from schemas.tables import FINDING_SCHEMA, empty_row

FINDING_KINDS = ("finding", "device")
_SENTENCE_END = re.compile(r"[.!?\n]")
_HEADER = re.compile(r"^[A-Z][A-Z /]+:\s*")


@dataclass(frozen=True)
class Rejected:
    """An answer item that could not become a FINDING row; `reason` is unknown_code | span_not_found."""

    reason: str
    label: str
    message: str


@dataclass(frozen=True)
class Provenance:
    """What produced a row: recorded in FINDING's `model`, `prompt_version` and `input_hash`."""

    model: str
    prompt_tag: str
    input_hash: str

    @property
    def ref(self) -> str:
        return f"{self.prompt_tag}:{self.input_hash}"


def locate_span(text: str, phrase: str, start: int | None, sentence: str | None) -> tuple[int, int, bool] | None:
    """(start, end, relocated) of `phrase` in `text`, or None when the text does not contain it."""
    if start is not None and start >= 0 and text[start : start + len(phrase)] == phrase:
        return start, start + len(phrase), False
    words = phrase.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    hits = [(m.start(), m.end()) for m in pattern.finditer(text)]
    if not hits:
        return None
    if sentence:
        at = text.find(sentence.strip())
        inside = [h for h in hits if at >= 0 and at <= h[0] and h[1] <= at + len(sentence.strip())]
        hits = inside or hits
    anchor = start if start is not None else 0
    best = min(hits, key=lambda h: (abs(h[0] - anchor), h[0]))
    return best[0], best[1], True


def sentence_around(text: str, start: int, end: int, floor: int = 0) -> str:
    """The sentence holding [start, end), not reaching before `floor`, a leading 'HEADER:' left out."""
    lo = max((m.end() for m in _SENTENCE_END.finditer(text, floor, start)), default=floor)
    nxt = _SENTENCE_END.search(text, end)
    return _HEADER.sub("", text[lo : nxt.end() if nxt else len(text)].strip(), count=1)


def section_at(sections: list[dict[str, Any]] | None, pos: int) -> dict[str, Any] | None:
    for sec in sections or []:
        if sec.get("start") is not None and sec["start"] <= pos < sec["end"]:
            return sec
    return None


def map_code(onto: Ontology, code: str, phrase: str) -> tuple[str | None, bool]:
    """(ontology code, mapped?) for an answer's code; (None, False) when nothing maps."""
    if code in onto and onto.get(code).kind in FINDING_KINDS:
        return code, False
    for label in (code, code.replace("_", " "), phrase):
        match = onto.map_label(label)
        if match is not None and onto.get(match.code).kind in FINDING_KINDS:
            return match.code, True
    return None, False


def map_locations(onto: Ontology, codes: list[str]) -> tuple[list[str], bool]:
    """Anatomy codes (mapped by synonyms where needed), sorted; True if any had to be dropped."""
    out, dropped = set(), False
    for code in codes:
        hit = code if code in onto else (m.code if (m := onto.map_label(code.replace("_", " "))) else None)
        if hit is not None and onto.get(hit).kind == "anatomy":
            out.add(hit)
        else:
            dropped = True
    return sorted(out), dropped


def llm_finding_id(image_id: str | None, report_id: str, start: int, end: int, code: str) -> str:
    return hashlib.sha256(f"{image_id or ''}|{report_id}|{start}|{end}|{code}|llm".encode()).hexdigest()[:20]


def answer_rows(
    answers: list[FindingAnswer],
    report: dict[str, Any],
    onto: Ontology,
    prov: Provenance,
    image_id: str | None = None,
) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """FINDING rows (extractor="llm", sorted by span) and the rejected items of one report's answer."""
    text = report.get("text") or ""
    rows: dict[tuple[int, int, str], dict[str, Any]] = {}
    rejects: list[Rejected] = []
    for ans in answers:
        span = locate_span(text, ans.phrase, ans.start, ans.sentence)
        if span is None:
            rejects.append(Rejected("span_not_found", ans.code, "LLM phrase not found in the report text"))
            continue
        code, mapped = map_code(onto, ans.code, ans.phrase)
        if code is None:
            rejects.append(Rejected("unknown_code", ans.code, f"LLM code {ans.code!r} maps to no ontology node"))
            continue
        start, end, relocated = span
        locations, dropped = map_locations(onto, ans.location_codes)
        flags = {"llm_span_relocated"} if relocated else set()
        flags |= {"llm_code_mapped"} if mapped else set()
        flags |= {"llm_location_dropped"} if dropped else set()
        sentence = ans.sentence.strip() if ans.sentence and ans.sentence.strip() in text else None
        section = section_at(report.get("sections"), start)
        if sentence is None or text[start:end] not in sentence:
            sentence = sentence_around(text, start, end, section["start"] if section else 0)
        rec = empty_row(FINDING_SCHEMA)
        rec.update(
            finding_id=llm_finding_id(image_id, report["report_id"], start, end, code),
            study_id=report.get("study_id"),
            image_id=image_id,
            report_id=report["report_id"],
            source=report["source"],
            section=section["name"] if section else None,
            sentence=sentence,
            span_start=start,
            span_end=end,
            phrase=text[start:end],
            label=ans.code,
            code=code,
            code_path=onto.path(code),
            certainty=ans.certainty,
            laterality=ans.laterality,
            location_codes=locations,
            size_mm=sorted(round(float(s), 1) for s in ans.size_mm if s > 0),
            severity=(ans.severity or "").strip().lower() or None,
            change=(ans.change or "").strip().lower() or None,
            extractor="llm",
            model=prov.model,
            prompt_version=prov.prompt_tag,
            input_hash=prov.input_hash,
            flags=sorted(flags),
        )
        rows.setdefault((start, end, code), rec)
    return [rows[k] for k in sorted(rows)], rejects
