"""Cardiac silhouette wordings as the public lists define Cardiomegaly (project-written unit cases, not accuracy).

'cardiac silhouette', 'heart size', 'cardiac shadow', 'cardiac contour' are Cardiomegaly phrases in
stanfordmlgroup/chexpert-labeler phrases/mention/cardiomegaly.txt and ncbi-nlp/NegBio
bak/patterns/cxr14_phrases.yml; neither list holds a phrase of 'left ventricular enlargement'."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels

CASES = [
    # (text, Cardiomegaly under chestxray14) -- one per phrases.tsv row and the list's absent phrase
    ("Prominent cardiac silhouette.", 1),
    ("Mildly prominent cardiac silhouette.", 1),
    ("The cardiac silhouette is prominent.", 1),
    ("Heart size is mildly prominent.", 1),
    ("Prominence of the cardiac silhouette.", 1),
    ("Cardiac silhouette enlargement.", 1),
    ("Enlarged cardiac silhouette.", 1),
    ("The cardiac silhouette is enlarged.", 1),
    ("Left ventricular enlargement.", 0),
    ("The cardiac silhouette is not prominent.", 0),
    ("No prominent cardiac silhouette.", 0),
    ("Prominent left heart border.", 0),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_cardiac_silhouette(extractor: ReportFindingExtractor, text: str, value: int) -> None:
    labels = derive_labels(extractor.extract(text), extractor.onto, "chestxray14")
    assert labels["Cardiomegaly"] == value
