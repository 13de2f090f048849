"""The side tables that were code constants: data/back_joins.tsv, data/link_skip.tsv, data/each_side.tsv; one case
per row, each against a control word the table does not hold (project-written unit cases, not evidence of accuracy)."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import back_joins, each_side, link_skip
from tests.extractors.reports.conftest import only
from tests.extractors.reports.test_laterality_export import jsonl_sides

JOINS = ("and", "or", "and/or", "/")


def back_join_sentence(word: str) -> str:
    """A coordinated pair whose second member has a side after it, `word` between the two."""
    if word in JOINS:
        return f"Atelectasis {word} pneumothorax on the left."
    if word == ",":
        return "Atelectasis , and pneumothorax on the left."
    return f"Atelectasis and {word} pneumothorax on the left."


@pytest.mark.parametrize("word", sorted(back_joins()))
def test_each_back_join_row(extractor: ReportFindingExtractor, word: str) -> None:
    assert only(extractor.extract(back_join_sentence(word)), "atelectasis").laterality == "left"


@pytest.mark.parametrize("word", ["chronic", "residual", "right"])
def test_other_words_stop_the_back_carry(extractor: ReportFindingExtractor, word: str) -> None:
    text = f"Atelectasis and {word} pneumothorax on the left."
    assert only(extractor.extract(text), "atelectasis").laterality == "none"


@pytest.mark.parametrize("word", sorted(link_skip()))
def test_each_link_skip_row(extractor: ReportFindingExtractor, word: str) -> None:
    text = f"Left basilar density, likely {word} atelectasis."
    assert jsonl_sides(extractor, text)["Atelectasis"] == "left"


@pytest.mark.parametrize("word", ["chronic", "residual"])
def test_other_words_stop_the_link(extractor: ReportFindingExtractor, word: str) -> None:
    text = f"Left basilar density, likely {word} atelectasis."
    assert jsonl_sides(extractor, text)["Atelectasis"] == "none"


@pytest.mark.parametrize(("first", "second"), sorted(each_side()))
def test_each_each_side_row(extractor: ReportFindingExtractor, first: str, second: str) -> None:
    text = f"Consolidation at {first} {second}."
    assert only(extractor.extract(text), "consolidation").laterality == "bilateral"


@pytest.mark.parametrize("text", ["Either atelectasis or consolidation.", "Consolidation at each level."])
def test_either_alone_is_no_side(extractor: ReportFindingExtractor, text: str) -> None:
    assert only(extractor.extract(text), "consolidation").laterality == "none"


def test_tables_are_well_formed() -> None:
    assert set(JOINS) <= back_joins() and "left" not in back_joins()
    assert {"the", "subsegmental"} <= link_skip()
    assert ("each", "side") in each_side() and all(a in ("each", "either") for a, _ in each_side())
