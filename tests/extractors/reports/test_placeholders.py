"""De-identification placeholders ("XXXX") do not break a phrase or a trigger (project-written unit cases, not
evidence of accuracy)."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels

CASES = [
    # (text, label, chestxray14 value)
    ("The heart is XXXX enlarged.", "Cardiomegaly", 1),
    ("The heart is not XXXX enlarged.", "Cardiomegaly", 0),
    ("Small left pleural XXXX effusion.", "Effusion", 1),
    ("Negative XXXX for pneumothorax.", "Pneumothorax", 0),
    ("No XXXX, pneumothorax, or effusion.", "Effusion", 0),
    ("Heart size is normal. XXXX opacity in the right lower lobe consistent with pneumonia.", "Pneumonia", 1),
    ("Box XXXX enlarged.", "Cardiomegaly", 0),  # no finding phrase around it
]


@pytest.mark.parametrize(("text", "label", "value"), CASES)
def test_placeholder_is_skipped(extractor: ReportFindingExtractor, text: str, label: str, value: int) -> None:
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")[label] == value


def test_placeholder_keeps_offsets(extractor: ReportFindingExtractor) -> None:
    text = "The heart is XXXX enlarged."
    (m,) = [m for m in extractor.extract(text) if m.code == "cardiomegaly"]
    assert text[m.start : m.end] == m.text == "heart is XXXX enlarged"
