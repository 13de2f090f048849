"""Reports (id + text columns) → FINDING rows: what `medground findings extract` runs, as a library.

With several text columns each becomes a section of the report text ("FINDINGS: ...\\n\\nIMPRESSION:
..."), so spans index that text; with one column the text is the cell as is. The development
evaluation (extractors.reports.evaluation.harness) composes and extracts through here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.findings_table import finding_rows


def compose_text(row: Mapping[str, str | None], cols: Sequence[str]) -> str:
    if len(cols) == 1:
        return row.get(cols[0]) or ""
    parts = [f"{c.upper()}: {(row.get(c) or '').strip()}" for c in cols if (row.get(c) or "").strip()]
    return "\n\n".join(parts)


def rule_rows(
    extractor: ReportFindingExtractor,
    ids: Sequence[str],
    texts: Sequence[str],
    *,
    source: str = "user",
    batch_size: int = 64,
) -> list[dict[str, Any]]:
    """FINDING rows (extractor="rules") of every report, in report order."""
    out: list[dict[str, Any]] = []
    for rid, mentions in zip(ids, extractor.extract_many(texts, batch_size), strict=True):
        out.extend(finding_rows(mentions, extractor.onto, report_id=rid, source=source))
    return out
