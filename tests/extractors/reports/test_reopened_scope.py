"""A trigger after a clause break opens its own scope: the nearer trigger speaks for what follows it; exclusion
hedges and exception terminators (project-written unit cases, not evidence of accuracy)."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only

CASES = [
    # (text, code, certainty)
    ("No effusion, possible pneumothorax.", "pneumothorax", "uncertain"),
    ("No effusion, possible pneumothorax.", "pleural_effusion", "absent"),
    ("No focal consolidation, no pneumothorax, small left effusion.", "pleural_effusion", "present"),
    ("No focal consolidation, no pneumothorax, small left effusion.", "pneumothorax", "absent"),
    ("No effusion, no pneumothorax, likely atelectasis.", "atelectasis", "uncertain"),
    ("No pneumothorax or effusion, possibly atelectasis.", "atelectasis", "uncertain"),
    # the same trigger repeated, or one inside the clause, keeps the negation
    ("No pneumothorax, no effusion, no consolidation.", "consolidation", "absent"),
    ("No pneumothorax, effusion, no consolidation.", "pleural_effusion", "absent"),
    ("No effusion, no pneumothorax or consolidation.", "consolidation", "absent"),
    ("No evidence to suggest pneumonia.", "pneumonia", "absent"),
    ("No findings to suggest pneumonia.", "pneumonia", "absent"),
    ("There is no focal, lobar consolidation to suggest bacterial pneumonia.", "pneumonia", "absent"),
    # an adverb inside an exclusion hedge keeps it a hedge, not a negation
    ("Pneumonia cannot be completely excluded.", "pneumonia", "uncertain"),
    ("A small pneumothorax cannot be definitely excluded.", "pneumothorax", "uncertain"),
    ("Cannot entirely exclude early pneumonia.", "pneumonia", "uncertain"),
    ("Pneumonia is not completely excluded.", "pneumonia", "uncertain"),
    ("Pneumonia is excluded.", "pneumonia", "absent"),
    # exception terminators end the negation (NegEx [CONJ]-style "except", "other than")
    ("No consolidation with the exception of atelectasis at the base.", "atelectasis", "present"),
    ("No new findings besides the known effusion.", "pleural_effusion", "present"),
    ("No consolidation with the exception of atelectasis at the base.", "consolidation", "absent"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), CASES)
def test_reopened_scope(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty
