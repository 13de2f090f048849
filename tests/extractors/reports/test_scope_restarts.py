"""A side/region word opening a noun phrase right after a negated finding, with no comma or join, ends the negation
(data/scope_restarts.tsv). Project-written unit cases, not evidence of accuracy."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import scope_restarts
from tests.extractors.reports.conftest import only

CASES = [
    # (text, code, certainty): one per scope_restarts.tsv row, then what must stay negated
    ("Negative for pneumothorax left basilar atelectasis.", "atelectasis", "present"),
    ("Negative for pneumothorax left basilar atelectasis.", "pneumothorax", "absent"),
    ("No pneumothorax right pleural effusion.", "pleural_effusion", "present"),
    ("No pneumothorax bilateral pleural effusions.", "pleural_effusion", "present"),
    ("No effusion bibasilar atelectasis.", "atelectasis", "present"),
    ("No effusion bibasal atelectasis.", "atelectasis", "present"),
    ("No pneumothorax basilar atelectasis.", "atelectasis", "present"),
    ("No effusion retrocardiac atelectasis.", "atelectasis", "present"),
    # a join or comma keeps the list negated; a side inside the negated phrase is no restart
    ("No pneumothorax or left pleural effusion.", "pleural_effusion", "absent"),
    ("No pneumothorax, effusion or left lower lobe consolidation.", "consolidation", "absent"),
    ("No left pneumothorax.", "pneumothorax", "absent"),
    ("No focal consolidation, pneumothorax or large pleural effusion.", "pleural_effusion", "absent"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), CASES)
def test_scope_restart(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty


def test_table_is_one_token_a_row() -> None:
    words = scope_restarts()
    assert {"left", "right", "bilateral", "bibasilar", "bibasal", "basilar", "retrocardiac"} == words
    assert all(" " not in w and w == w.lower() for w in words)
