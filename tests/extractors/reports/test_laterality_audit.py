"""The issue-15 laterality audit table (data/laterality_audit.tsv) through label_export's JSONL rows, as `findings
labels --laterality-out` writes them. Project-written: a unit test of the rules, not evidence of accuracy."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.test_laterality_export import jsonl_sides

TABLE = Path(__file__).resolve().parent / "data" / "laterality_audit.tsv"
SIDES = ("left", "right", "bilateral", "none", "no row")


@cache
def audit_rows() -> tuple[tuple[str, str, str], ...]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, label, side = line.split("\t")
            rows.append((text, label, side))
    return tuple(rows)


def test_audit_table_is_well_formed() -> None:
    rows = audit_rows()
    assert len(rows) > 300 and all(side in SIDES for *_, side in rows)
    assert len({(t, label) for t, label, _ in rows}) == len(rows)


@pytest.mark.parametrize(("text", "label", "side"), audit_rows())
def test_audit_row(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text).get(label, "no row") == side
