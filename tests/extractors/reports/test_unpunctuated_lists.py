"""Negation scope where the punctuation is missing: a list closes at the item its last join introduced, and a
predicate holding its own verb is its own clause (project-written unit cases, not evidence of accuracy)."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only

CASES = [
    # (text, code, certainty)
    ("No pneumothorax pleural effusion or consolidation the heart is enlarged", "cardiomegaly", "present"),
    ("No pneumothorax pleural effusion or consolidation the heart is enlarged", "consolidation", "absent"),
    ("No pneumothorax pleural effusion or consolidation the heart is enlarged", "pleural_effusion", "absent"),
    ("No focal consolidation or effusion heart size is enlarged", "cardiomegaly", "present"),
    ("No pneumothorax or effusion cardiomegaly", "cardiomegaly", "present"),  # after the closing item
    ("No pneumothorax or effusion cardiomegaly", "pleural_effusion", "absent"),
    ("No pneumothorax and effusion cardiomegaly", "cardiomegaly", "present"),
    # a punctuated or joined list still holds together
    ("No pneumothorax, pleural effusion or consolidation.", "consolidation", "absent"),
    ("No pneumothorax, effusion, or right lower lobe pneumonia.", "pneumonia", "absent"),
    ("No pneumothorax or effusion or cardiomegaly.", "cardiomegaly", "absent"),
    ("No focal consolidation, pneumothorax or large pleural effusion.", "pleural_effusion", "absent"),
    # a predicate reached across function words only
    ("No evidence that the heart is enlarged.", "cardiomegaly", "absent"),
    ("No evidence the heart is enlarged.", "cardiomegaly", "absent"),
    ("No effusion and the heart is enlarged.", "cardiomegaly", "present"),
    ("Cannot exclude that the heart is enlarged.", "cardiomegaly", "uncertain"),
    ("Possible pneumonia the heart is enlarged", "cardiomegaly", "present"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), CASES)
def test_unpunctuated_list_scope(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty
