"""The NegEx test kit (Chapman et al.): human-annotated clinical sentences, a gold for negation scope.

File format (as distributed): tab-separated with a header `Report No.	Concept	Sentence	Negation`;
sentences holding tabs/quotes are CSV-quoted; the annotated concept is written in CAPITALS inside its
sentence; Negation is `Affirmed` or `Negated`. Concepts may carry runs of spaces ("staph   bacteremia")
exactly as the sentence does.

Locating the concept: a case-insensitive match of the concept's words with any whitespace between
them, preferring an occurrence written in capitals (the kit's mark), else the first. An item whose
concept cannot be found in its sentence keeps `span=None` and is counted as unlocated, never dropped.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

NEGATED, AFFIRMED = "Negated", "Affirmed"
CLASSES = (AFFIRMED, NEGATED)
HEADER = ("Report No.", "Concept", "Sentence", "Negation")


@dataclass(frozen=True)
class NegexItem:
    index: int  # 0-based row number (data rows only)
    report: str
    concept: str
    sentence: str
    gold: str  # Affirmed | Negated
    span: tuple[int, int] | None  # the concept's [start, end) in `sentence`


def parse_negex(source: str | Path) -> list[NegexItem]:
    """Parse the kit (a path, or the TSV text itself when it holds a tab)."""
    text = source if isinstance(source, str) and "\t" in source else Path(source).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text), delimiter="\t", quotechar='"')
    header = tuple(h.strip() for h in next(reader, []))
    if header[: len(HEADER)] != HEADER:
        raise ValueError(f"NegEx kit: header {header!r}, expected {HEADER!r}")
    out = []
    for n, row in enumerate(reader):
        if not any(c.strip() for c in row):
            continue
        if len(row) < 4:
            raise ValueError(f"NegEx kit: data row {n + 1} has {len(row)} fields, expected 4")
        report, concept, sentence, gold = row[0].strip(), row[1].strip(), row[2], row[3].strip()
        if gold not in CLASSES:
            raise ValueError(f"NegEx kit: data row {n + 1}: Negation {gold!r} is not one of {CLASSES}")
        out.append(NegexItem(len(out), report, concept, sentence, gold, locate_concept(sentence, concept)))
    return out


def locate_concept(sentence: str, concept: str) -> tuple[int, int] | None:
    """[start, end) of `concept` in `sentence` (whitespace-tolerant, capitals preferred), else None."""
    words = concept.split()
    if not words:
        return None
    pattern = re.compile(r"(?<![A-Za-z0-9])" + r"\s+".join(re.escape(w) for w in words) + r"(?![A-Za-z0-9])",
                         re.IGNORECASE)
    hits = list(pattern.finditer(sentence))
    if not hits:
        return None
    marked = [m for m in hits if m.group(0).isupper() or not any(c.isalpha() for c in m.group(0))]
    best = (marked or hits)[0]
    return best.start(), best.end()
