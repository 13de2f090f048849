"""Issue 15 gap classes: pleural-fluid phrasings (data/phrases.tsv), a sided chest procedure's side on a pleural
finding (data/surgical_sides.tsv), a dotted side before a capital (data/dotted_side_modifiers.tsv). Project-written unit
cases, one per table row: they test the rules, they are not evidence of accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import dotted_side_modifiers, surgical_sides
from tests.extractors.reports.conftest import only
from tests.extractors.reports.test_laterality_export import jsonl_sides

PLEURAL_FLUID = [
    # (text, certainty, laterality): one case per form of the new phrases.tsv rows
    ("Small amount of fluid in the right pleural space.", "present", "right"),
    ("Fluid within the left pleural cavity.", "present", "left"),
    ("Fluid collections in both pleural spaces.", "present", "bilateral"),
    ("Fluid layering in the right pleural space.", "present", "right"),
    ("No fluid in the pleural spaces.", "absent", "none"),
    ("Possible fluid in the left pleural space.", "uncertain", "left"),
    ("Right pleural space fluid collection.", "present", "right"),
    ("Subpulmonic fluid on the left.", "present", "left"),
]


@pytest.mark.parametrize(("text", "certainty", "side"), PLEURAL_FLUID)
def test_pleural_fluid_phrasings(extractor: ReportFindingExtractor, text: str, certainty: str, side: str) -> None:
    m = only(extractor.extract(text), "pleural_effusion")
    assert (m.certainty, m.laterality) == (certainty, side)


def test_air_in_the_pleural_space_stays_pneumothorax(extractor: ReportFindingExtractor) -> None:
    assert set(jsonl_sides(extractor, "Air in the right pleural space.")) == {"Pneumothorax"}


def procedure_sentence(word: str, side: str, finding: str) -> str:
    lead = {"wedge": f"{side} lower lobe wedge resection"}.get(word, f"{side} {word}")
    return f"Status post {lead} with small {finding}."


@pytest.mark.parametrize("word", sorted(surgical_sides()))
@pytest.mark.parametrize(("side", "finding", "label"), [("left", "effusion", "Effusion"),
                                                          ("right", "pneumothorax", "Pneumothorax")])
def test_each_surgical_side_row(extractor: ReportFindingExtractor, word: str, side: str, finding: str,
                                label: str) -> None:
    assert jsonl_sides(extractor, procedure_sentence(word, side, finding))[label] == side


PROCEDURE_CONTROLS = [
    # (text, label, side)
    ("Status post right upper lobectomy with small effusion.", "Effusion", "right"),  # lobe words between
    ("Small effusion after left pneumonectomy.", "Effusion", "left"),  # the procedure after the finding
    ("Status post RUL lobectomy with small effusion.", "Effusion", "right"),  # sided anatomy before the procedure
    ("Status post LLL wedge resection with small pneumothorax.", "Pneumothorax", "left"),
    ("Status post right lung transplant with small effusion.", "Effusion", "none"),  # no row for a transplant
    ("Status post left lobectomy with small right effusion.", "Effusion", "right"),  # its own side wins
    ("Status post right mastectomy with small effusion.", "Effusion", "none"),  # not a chest-cavity procedure
    ("Status post right humeral fixation with small effusion.", "Effusion", "none"),
    ("Status post left lobectomy. Small effusion.", "Effusion", "none"),  # another sentence
    ("Status post left lobectomy and right thoracotomy with small effusion.", "Effusion", "none"),  # two sides
    ("Status post left lobectomy with atelectasis.", "Atelectasis", "none"),  # a lung finding: no target
    ("Status post right lobectomy with small pneumothorax and atelectasis.", "Atelectasis", "none"),  # not relayed
    ("Status post lobectomy with small effusion.", "Effusion", "none"),  # no side
]


@pytest.mark.parametrize(("text", "label", "side"), PROCEDURE_CONTROLS)
def test_surgical_side_controls(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


DOTTED_CAPITAL = [
    # (text, label, side): a dotted side opening its sentence or after a size word is a pre-modifier, capital or not
    ("Lt. Pleural effusion.", "Effusion", "left"),
    ("Rt. Pneumothorax.", "Pneumothorax", "right"),
    ("Small Rt. Pleural effusion. No pneumothorax.", "Effusion", "right"),
    ("LT. Lower lobe atelectasis.", "Atelectasis", "left"),
    ("Findings: Lt. Pleural effusion.", "Effusion", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), DOTTED_CAPITAL)
def test_dotted_side_before_a_capital(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


def test_dotted_side_before_a_capital_keeps_one_sentence(extractor: ReportFindingExtractor) -> None:
    m = only(extractor.extract("Lt. Pleural effusion."), "pleural_effusion")
    assert m.sentence == "Lt. Pleural effusion."


@pytest.mark.parametrize("word", sorted(dotted_side_modifiers()))
def test_each_dotted_side_modifier_row(extractor: ReportFindingExtractor, word: str) -> None:
    """After a row's word the dotted side is a pre-modifier: its stop does not end the sentence before a capital."""
    text = f"Cardiomegaly {word} Lt. Pleural effusion."
    effusion = only(extractor.extract(text), "pleural_effusion")
    assert (effusion.sentence, effusion.laterality) == (text, "left")


DOTTED_ENDS = [
    # (text, sentence of the effusion, its side, the other finding's code and side): a dotted side after any other
    # word is the place of what came before, and its stop ends the sentence before a capital
    ("Effusion on the rt. No pneumothorax.", "Effusion on the rt.", "right", "pneumothorax", "none"),
    ("Effusion on rt. No pneumothorax.", "Effusion on rt.", "right", "pneumothorax", "none"),
    ("Small effusion lt. Pneumothorax on the rt.", "Small effusion lt.", "left", "pneumothorax", "right"),
    ("Effusion at the lt. 2 mm nodule in the right lung.", "Effusion at the lt.", "left", "nodule", "right"),
]


@pytest.mark.parametrize(("text", "sentence", "side", "code", "other_side"), DOTTED_ENDS)
def test_dotted_side_ends_its_sentence(extractor: ReportFindingExtractor, text: str, sentence: str, side: str,
                                       code: str, other_side: str) -> None:
    mentions = extractor.extract(text)
    effusion, other = only(mentions, "pleural_effusion"), only(mentions, code)
    assert (effusion.sentence, effusion.laterality, other.laterality) == (sentence, side, other_side)
