"""Anchored heads read through a place word after them in their own phrase (data/anchored_heads.tsv, after-anchors):
"infection in the left lung base" is a pneumonia. One case per after-anchor, with controls. Project-written unit
cases, not evidence of accuracy."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import anchored_heads
from tests.extractors.reports.test_laterality_export import jsonl_sides

AFTER = sorted((head, word) for head, rule in anchored_heads().items() for word in rule.after)


@pytest.mark.parametrize(("head", "word"), AFTER)
def test_each_after_anchor(extractor: ReportFindingExtractor, head: str, word: str) -> None:
    code = extractor.onto.lookup(anchored_heads()[head].expansion)
    found = [m for m in extractor.extract(f"{head.capitalize()} in the left {word}.") if m.kind == "finding"]
    assert [(m.code, m.certainty) for m in found] == [(code, "present")]


CONTROLS = [
    # (text, positives): the place word must follow in the head's own phrase segment
    ("Infection in the left lung base.", {"Pneumonia": "left"}),
    ("Infection of the right lower lobe.", {"Pneumonia": "right"}),
    ("Urinary tract infection, lungs are clear.", {}),  # a comma ends the phrase
    ("Infection and the lungs are clear.", {}),  # "and" ends it
    ("Viral infection.", {}),
    ("Infection of the urinary tract with clear lungs.", {}),  # "with" ends it
    ("Thickening in the lungs.", {}),  # thickening has no after-anchor
]


@pytest.mark.parametrize(("text", "sides"), CONTROLS)
def test_after_anchor_controls(extractor: ReportFindingExtractor, text: str, sides: dict[str, str]) -> None:
    assert jsonl_sides(extractor, text) == (sides or {"normal": "none"})


def test_no_after_anchor_negated(extractor: ReportFindingExtractor) -> None:
    assert jsonl_sides(extractor, "No infection in the lungs.") == {"normal": "none"}
