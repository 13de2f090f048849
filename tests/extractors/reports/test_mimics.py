"""A finding explained as a normal structure or an artifact is not asserted (context_rules.tsv: the mimic with
the word that links it hedges what comes before it). Project-written unit cases, not evidence of accuracy."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels

CASES = [
    # (text, label, chestxray14 value)
    ("Nodular density in the left lower lung, likely nipple shadow.", "Nodule", 0),
    ("Nodular opacity likely representing a nipple shadow.", "Nodule", 0),
    ("Right lower nodular opacity probably due to overlapping vessels.", "Nodule", 0),
    ("Nodule versus nipple shadow.", "Nodule", 0),
    ("Nodular density which may represent a nipple shadow.", "Nodule", 0),
    ("Possible small nodule versus vessel on end.", "Nodule", 0),
    ("Nodular density at the right base consistent with a right nipple shadow.", "Nodule", 0),
    # a mimic named without a linking word, or in another sentence, leaves the finding alone
    ("Left lower lobe pneumonia and bilateral nipple shadows.", "Pneumonia", 1),
    ("Small right upper lobe nodule. Nipple shadow at the left base.", "Nodule", 1),
    ("Right upper lobe nodule, not a nipple shadow.", "Nodule", 1),
]


@pytest.mark.parametrize(("text", "label", "value"), CASES)
def test_mimic_hedges_the_finding(extractor: ReportFindingExtractor, text: str, label: str, value: int) -> None:
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")[label] == value
