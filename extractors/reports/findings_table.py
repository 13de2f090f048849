"""Mentions → FINDING rows (schemas.tables.FINDING_SCHEMA), with deterministic ids.

With `label_sections`, a mention from any other section is still written, flagged
`outside_label_sections`: the run's choice of label sections travels with its rows, and label
derivation (extractors.reports.labels) leaves such rows out.
"""

from __future__ import annotations

import hashlib
from typing import Any

from extractors.reports.extractor import Mention
from extractors.reports.labels import OUTSIDE_LABEL_SECTIONS
from schemas.ontology import Ontology
from schemas.tables import FINDING_SCHEMA, empty_row


def finding_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def finding_rows(
    mentions: list[Mention],
    onto: Ontology,
    *,
    report_id: str,
    source: str,
    study_id: str | None = None,
    image_id: str | None = None,
    label_sections: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """One FINDING row per mention (extractor="rules"); spans index the report's text. With
    `label_sections`, mentions from other sections are flagged OUTSIDE_LABEL_SECTIONS."""
    rows = []
    for m in mentions:
        flags = set(m.flags)
        if label_sections is not None and m.section not in label_sections:
            flags.add(OUTSIDE_LABEL_SECTIONS)
        rec = empty_row(FINDING_SCHEMA)
        rec.update(
            finding_id=finding_id(image_id or "", report_id, m.start, m.end, m.code),
            study_id=study_id,
            image_id=image_id,
            report_id=report_id,
            source=source,
            section=m.section,
            sentence=m.sentence,
            span_start=m.start,
            span_end=m.end,
            phrase=m.text,
            label=m.text,
            code=m.code,
            code_path=onto.path(m.code),
            certainty=m.certainty,
            laterality=m.laterality,
            location_codes=list(m.location_codes),
            size_mm=list(m.size_mm),
            severity=m.severity,
            change=m.change,
            extractor="rules",
            confidence=m.confidence,
            flags=sorted(flags),
        )
        rows.append(rec)
    return rows
