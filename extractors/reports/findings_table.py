"""Mentions → FINDING rows (schemas.tables.FINDING_SCHEMA), with deterministic ids."""

from __future__ import annotations

import hashlib
from typing import Any

from extractors.reports.extractor import Mention
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
) -> list[dict[str, Any]]:
    """One FINDING row per mention (extractor="rules"); spans index the report's text."""
    rows = []
    for m in mentions:
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
            flags=list(m.flags),
        )
        rows.append(rec)
    return rows
