"""'X versus Y' after a negated item is its own clause: both sides uncertain, the earlier negation reaches neither
(the CheXpert labeler's post-negation 'XXX versus YYY' pattern hedges both conj:versus sides). Project-written unit
cases, not evidence of accuracy."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only

CASES = [
    # (text, code, certainty)
    ("No pneumonia, atelectasis versus scarring.", "pneumonia", "absent"),
    ("No pneumonia, atelectasis versus scarring.", "atelectasis", "uncertain"),
    ("No pneumonia, atelectasis versus scarring.", "scarring", "uncertain"),
    ("No effusion, left basilar atelectasis vs pneumonia.", "pneumonia", "uncertain"),
    ("No effusion, left basilar atelectasis vs pneumonia.", "atelectasis", "uncertain"),
    ("No pneumonia, atelectasis versus scarring, no effusion.", "pleural_effusion", "absent"),
    # the versus clause ends at a comma: a negated item after it stays negated, one before it too
    ("Atelectasis versus pneumonia, no effusion.", "pleural_effusion", "absent"),
    # without a comma the negated list holds the item ('no' reaches it, negation wins)
    ("No pneumothorax, effusion or consolidation.", "consolidation", "absent"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), CASES)
def test_versus_clause(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty
