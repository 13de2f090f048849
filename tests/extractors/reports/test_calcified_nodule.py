"""A calcified nodule is no ChestX-ray14 Nodule: NegBio bak/patterns/cxr14_phrases.yml (Nodule exclude 'calcified
nodul') and the CheXpert labeler's phrases/unmention/lung_lesion.txt ('calcified nodul'). Project-written unit
cases, not evidence of accuracy."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels

CASES = [
    # (text, Nodule under chestxray14)
    ("Calcified nodule in the right upper lobe.", 0),
    ("Small calcified nodules.", 0),
    ("Partially calcified nodule.", 0),
    ("Calcified granuloma.", 0),
    # the substring 'calcified nodul' covers the nodular-density phrases of NegBio's Nodule list
    ("Calcified nodular density in the left lung.", 0),
    ("Calcified nodular opacities.", 0),
    # an explicitly non-calcified nodule is a Nodule (deliberately not the substring's reading)
    ("Noncalcified nodule.", 1),
    ("Non-calcified nodule in the left upper lobe.", 1),
    # no 'calcified nodul' substring: a Nodule as the lists read
    ("Calcified pulmonary nodule.", 1),
    ("Nodular density in the left lung.", 1),
    ("Right upper lobe nodule.", 1),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_calcified_nodule(extractor: ReportFindingExtractor, text: str, value: int) -> None:
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")["Nodule"] == value
