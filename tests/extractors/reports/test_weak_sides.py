"""Weak side words (data/weak_sides.tsv): a side only when nothing else in the segment names one
(project-written unit cases, not evidence of accuracy)."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import WEAK_SIDE_VALUES, weak_sides
from tests.extractors.reports.conftest import only

CASES = [
    # (text, code, laterality)
    ("Retrocardiac atelectasis.", "atelectasis", "left"),
    ("Retrocardiac consolidation.", "consolidation", "left"),
    ("Retrocardiac opacity consistent with atelectasis.", "atelectasis", "left"),  # carried over in the sentence
    ("Right retrocardiac atelectasis.", "atelectasis", "right"),  # an explicit side wins
    ("Atelectasis in the azygos lobe.", "atelectasis", "right"),
    ("Diffuse interstitial fibrosis.", "fibrosis", "bilateral"),
    ("Diffuse pulmonary nodules.", "nodule", "bilateral"),
    ("Diffuse left lung consolidation.", "consolidation", "left"),  # an explicit side wins
    ("Diffuse emphysema.", "emphysema", "bilateral"),
    ("Retrocardiac atelectasis and right lower lobe pneumonia.", "pneumonia", "right"),  # its own segment
    ("Emphysema.", "emphysema", "none"),
]


@pytest.mark.parametrize(("text", "code", "side"), CASES)
def test_weak_side(extractor: ReportFindingExtractor, text: str, code: str, side: str) -> None:
    assert only(extractor.extract(text), code).laterality == side


def test_weak_sides_are_well_formed() -> None:
    table = weak_sides()
    assert table["retrocardiac"] == "left" and table["diffuse"] == "bilateral"
    assert all(side in WEAK_SIDE_VALUES for side in table.values())
