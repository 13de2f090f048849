"""'concerning for' and 'suspicious for' are one hedge class, as in the CheXpert labeler's
patterns/post_negation_uncertainty.txt (nmod:for of concern|suspicion, suspicious, worrisome): uncertain, not
probable. Project-written unit cases, not evidence of accuracy."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only

HEDGES = ["concern for", "concerning for", "suspicion for", "suspicious for", "worrisome for"]


@pytest.mark.parametrize("hedge", HEDGES)
def test_concern_hedges_are_uncertain(extractor: ReportFindingExtractor, hedge: str) -> None:
    mention = only(extractor.extract(f"Right lower lobe opacity {hedge} pneumonia."), "pneumonia")
    assert mention.certainty == "uncertain"
    assert "probable" not in mention.flags


def test_negation_still_wins(extractor: ReportFindingExtractor) -> None:
    assert only(extractor.extract("No opacity suspicious for pneumonia."), "pneumonia").certainty == "absent"
