"""Split a radiology report into its sections (FINDINGS, IMPRESSION, INDICATION, HISTORY, ...).

Headers are recognised at the start of a line or after a sentence end, followed by a colon (or alone
on their line in capitals), and inside a line when capitalised and followed by a colon ("... cough
FINDINGS: ...", "Comparison: none Findings: ..."). Common variants and one-letter misspellings ("IMPRESION", "FINDNGS",
"COMPARISION") map to a canonical name. Headers we do not know ("LUNGS:", "HEART:") are content, not
sections, so organ-system templates stay inside their section. Text before the first header, or a
report with no headers at all, is the section "unsectioned". Offsets index the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION_NAMES = ("findings", "impression", "indication", "history", "comparison", "technique", "unsectioned")
LABEL_SECTIONS = ("findings", "impression", "unsectioned")  # default sections that feed labels
CLINICAL_SECTIONS = ("indication", "history")  # never produce positive findings

_VARIANTS: dict[str, tuple[str, ...]] = {
    "findings": ("findings", "finding", "report", "observations", "description", "findings and impression",
                 "findings impression", "result", "results", "body"),
    "impression": ("impression", "impressions", "conclusion", "conclusions", "summary", "opinion",
                   "assessment", "diagnosis", "interpretation", "final impression"),
    "indication": ("indication", "indications", "reason for exam", "reason for examination",
                   "reason for study", "reason for request", "clinical indication", "clinical indications",
                   "clinical information", "clinical data", "clinical details", "reason", "question"),
    "history": ("history", "clinical history", "medical history", "hx", "patient history",
                "pertinent history", "clinical hx"),
    "comparison": ("comparison", "comparisons", "prior", "priors", "prior studies", "prior study",
                   "comparison studies", "compared"),
    "technique": ("technique", "techniques", "examination", "exam", "procedure", "views", "study",
                  "protocol", "type of study", "exam type"),
}
_CANONICAL: dict[str, str] = {v: name for name, vs in _VARIANTS.items() for v in vs}
_HEADER = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=[.!?]\s\s))[ \t]*([A-Za-z][A-Za-z /&]{1,40}?)[ \t]*(:|\n)", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z][A-Za-z&/]*")
_COLON = re.compile(r"[ \t]*:")
_HEADER_WORDS = re.compile(r"[A-Za-z][A-Za-z /&]*")
MIDLINE_WORDS = 4  # a header inside a line has at most this many words before its colon


@dataclass(frozen=True)
class Section:
    """One section: canonical name and the [start, end) character range of its content in the text."""

    name: str
    start: int
    end: int


def canonical_header(raw: str) -> str | None:
    """The canonical section name of a header string, tolerating one-edit misspellings of long words."""
    key = " ".join(raw.lower().replace("/", " ").replace("&", " and ").split())
    if key in _CANONICAL:
        return _CANONICAL[key]
    if len(key) < 6:
        return None
    for variant, name in _CANONICAL.items():
        if abs(len(variant) - len(key)) <= 1 and len(variant) >= 6 and within_one_edit(key, variant):
            return name
    return None


def within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or transposition."""
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1:] == b[i + 1:]:
            return True
        return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    return a[i:] == b[i + 1:]


def midline_headers(text: str, known: set[int] | frozenset[int] = frozenset()) -> list[tuple[int, int, str]]:
    """(header start, content start, name) of every known header that ends in a colon inside a line ("cough
    FINDINGS: ...", "Comparison: none Findings: ..."): the longest run of at most `MIDLINE_WORDS` words before
    the colon, starting with a capital after a space, that names a section. Colons ending a header already
    found (content starts in `known`) are skipped."""
    out = []
    for colon in _COLON.finditer(text):
        if colon.end() in known:
            continue
        before = text[max(0, colon.start() - 45) : colon.start()]
        offset = colon.start() - len(before)
        words = list(_WORD.finditer(before))
        for k in range(min(MIDLINE_WORDS, len(words)), 0, -1):
            first = words[-k]
            raw = before[first.start() :]
            lead = before[first.start() - 1] if first.start() > 0 else (text[offset - 1] if offset > 0 else " ")
            if not raw[0].isupper() or not lead.isspace() or _HEADER_WORDS.fullmatch(raw) is None:
                continue
            name = canonical_header(raw)
            if name is not None:
                out.append((offset + first.start(), colon.end(), name))
                break
    return out


def split_sections(text: str) -> list[Section]:
    """Sections of `text` in order; contiguous, covering the text from the first header (or 0) to the end."""
    heads: list[tuple[int, int, str]] = []  # (header start, content start, name)
    for m in _HEADER.finditer(text):
        raw, stop = m.group(1), m.group(2)
        if stop == "\n" and not raw.strip().isupper():
            continue  # a bare line counts as a header only when written in capitals
        name = canonical_header(raw)
        if name is not None:
            heads.append((m.start(1), m.end(), name))
    if ":" in text:
        known = {content for _, content, _ in heads}
        heads.extend(midline_headers(text, known))
        heads.sort()
    if not heads:
        return [Section("unsectioned", 0, len(text))] if text.strip() else []
    sections: list[Section] = []
    if text[: heads[0][0]].strip():
        sections.append(Section("unsectioned", 0, heads[0][0]))
    for i, (_, content_start, name) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        sections.append(Section(name, content_start, end))
    return sections


def section_at(sections: list[Section], offset: int) -> str:
    """The name of the section that contains character `offset` ("unsectioned" when none does)."""
    for sec in sections:
        if sec.start <= offset < sec.end:
            return sec.name
    return "unsectioned"
