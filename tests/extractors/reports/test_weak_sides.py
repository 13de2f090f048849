"""Weak side words (data/weak_sides.tsv): a side only when nothing else in the segment names one; a relational
word carries the previous sentence's side over (project-written unit cases, not evidence of accuracy)."""

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


RELATIONAL = [
    # (text, code, laterality): "adjacent/associated/underlying X" is placed by the sided finding just before it
    ("Left pleural effusion. There is adjacent atelectasis.", "atelectasis", "left"),
    ("Right lower lobe consolidation. Associated small effusion.", "pleural_effusion", "right"),
    ("Right pneumothorax. Underlying consolidation is noted.", "consolidation", "right"),
    ("Left effusion. Mild atelectasis.", "atelectasis", "none"),  # no relational word: no carry-over
    ("No left effusion. Adjacent atelectasis.", "atelectasis", "none"),  # a negated finding places nothing
    ("Left effusion. Cardiomegaly, and adjacent atelectasis.", "cardiomegaly", "none"),
]


@pytest.mark.parametrize(("text", "code", "side"), RELATIONAL)
def test_relational_side(extractor: ReportFindingExtractor, text: str, code: str, side: str) -> None:
    assert only(extractor.extract(text), code).laterality == side


@pytest.mark.parametrize(("word", "side"), sorted(weak_sides().items()))
def test_every_weak_side_row(extractor: ReportFindingExtractor, word: str, side: str) -> None:
    """Each row of weak_sides.tsv gives its side alone and yields to an explicit side word."""
    assert only(extractor.extract(f"{word.capitalize()} consolidation."), "consolidation").laterality == side
    other = "right" if side == "left" else "left"
    assert only(extractor.extract(f"{other.capitalize()} {word} consolidation."), "consolidation").laterality == other
