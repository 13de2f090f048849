"""Certainty phenomena: each rule family with positive and negative cases."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only

CASES = [
    # (sentence, code, certainty)
    ("There is a small pleural effusion.", "pleural_effusion", "present"),
    ("No pleural effusion.", "pleural_effusion", "absent"),
    ("No evidence of pneumothorax.", "pneumothorax", "absent"),
    ("Lungs are clear without consolidation.", "consolidation", "absent"),
    ("The lungs are free of consolidation.", "consolidation", "absent"),
    ("Negative for pneumothorax.", "pneumothorax", "absent"),
    ("Pneumothorax is not seen.", "pneumothorax", "absent"),
    ("The effusion has resolved.", "pleural_effusion", "absent"),
    ("Resolved left effusion.", "pleural_effusion", "absent"),
    ("The consolidation has cleared.", "consolidation", "absent"),
    ("Interval resolution of the pneumothorax.", "pneumothorax", "absent"),
    ("Opacity may represent pneumonia.", "pneumonia", "uncertain"),
    ("Pneumonia cannot be excluded.", "pneumonia", "uncertain"),
    ("Cannot exclude pneumothorax.", "pneumothorax", "uncertain"),
    ("Findings suggestive of pneumonia.", "pneumonia", "uncertain"),
    ("Atelectasis versus pneumonia.", "pneumonia", "uncertain"),
    ("Question of a small pneumothorax.", "pneumothorax", "uncertain"),
    ("Borderline cardiomegaly.", "cardiomegaly", "uncertain"),
    ("Likely atelectasis.", "atelectasis", "uncertain"),
    ("No change in the small left pleural effusion.", "pleural_effusion", "present"),
    ("No interval change in cardiomegaly.", "cardiomegaly", "present"),
    ("No new consolidation.", "consolidation", "absent"),
    ("Pneumothorax is unlikely.", "pneumothorax", "absent"),
    # coordinated lists: size/degree modifiers inside a negated list do not end the negation
    ("No focal consolidation, pneumothorax or large pleural effusion.", "pleural_effusion", "absent"),
    ("Lungs clear without focal airspace opacity, large effusion, or pneumothorax.", "pleural_effusion", "absent"),
    ("Lungs clear without focal airspace opacity, large effusion, or pneumothorax.", "pneumothorax", "absent"),
    ("No consolidation, pleural effusion, and large pneumothorax.", "pneumothorax", "absent"),
    ("No moderate or large pleural effusion.", "pleural_effusion", "absent"),
    # ... but a new assertion after a comma/"and" still ends it
    ("No pneumothorax, mild cardiomegaly.", "cardiomegaly", "present"),
    ("No pneumothorax and mild atelectasis.", "atelectasis", "present"),
    ("No effusion or pneumothorax, mild cardiomegaly.", "cardiomegaly", "present"),
    ("No pneumothorax, stable cardiomegaly or large effusion.", "cardiomegaly", "present"),
    ("Left lower lobe atelectasis or pneumonia.", "pneumonia", "uncertain"),  # a differential, probable
    # CheXpert labeler uncertainty wordings (modal hedges with an adverb, poorly evaluated, differential)
    ("Opacity could also represent a superimposed bacterial pneumonia.", "pneumonia", "uncertain"),
    ("Opacity would represent pneumonia.", "pneumonia", "uncertain"),
    ("A small effusion may be present.", "pleural_effusion", "uncertain"),
    ("Pneumothorax is not well evaluated.", "pneumothorax", "uncertain"),
    ("Pneumothorax is poorly evaluated on this view.", "pneumothorax", "uncertain"),
    ("Pneumothorax is not clearly seen.", "pneumothorax", "uncertain"),
    ("Atypical pneumonia should be included in the differential diagnosis.", "pneumonia", "uncertain"),
    ("Pneumonia should be considered.", "pneumonia", "uncertain"),
    ("Consider early pneumonia.", "pneumonia", "uncertain"),
    ("Suggestion of a small effusion.", "pleural_effusion", "uncertain"),
    ("Atelectasis, less likely pneumonia.", "pneumonia", "uncertain"),
    ("Effusion is not seen.", "pleural_effusion", "absent"),
    # a differential reaches its own clause only ("with" starts another)
    ("Viral vs reactive airways disease with subsegmental atelectasis.", "linear_atelectasis", "present"),
    ("Opacity with atelectasis versus pneumonia.", "atelectasis", "uncertain"),
    # runs of spaces and single line breaks (hard-wrapped text) do not break a trigger or a finding phrase
    ("Lower extremities negative   for pneumothorax.", "pneumothorax", "absent"),
    ("No evidence\nof pneumothorax.", "pneumothorax", "absent"),
    ("Small left pleural\neffusion.", "pleural_effusion", "present"),
    # a backward trigger alone after a comma at the sentence end speaks of the whole phrase before it
    ("Right lower lobe pneumonia, resolved.", "pneumonia", "absent"),
    ("Atelectasis, pneumothorax excluded.", "atelectasis", "present"),
    ("Small effusion, pneumothorax has resolved.", "pleural_effusion", "present"),
    # a technique phrase is not a negation
    ("CT thorax without contrast: right lower lobe pneumonia.", "pneumonia", "present"),
    ("CT chest with and without IV contrast shows a mass.", "mass", "present"),
    ("CT without contrast shows no pneumothorax.", "pneumothorax", "absent"),
    # NegEx conjunctions end a negation's scope (cause, source, a second assertion)
    ("No pleural effusion secondary to pneumonia.", "pneumonia", "present"),
    ("No pleural effusion secondary to pneumonia.", "pleural_effusion", "absent"),
    ("No apparent etiology for the recurrent pneumonia.", "pneumonia", "present"),
    ("No pneumothorax as the cause of the atelectasis.", "atelectasis", "present"),
    ("No effusion, positive for consolidation.", "consolidation", "present"),
    ("No pneumothorax, still a small effusion.", "pleural_effusion", "present"),
    ("No cause of the effusion is seen.", "pleural_effusion", "absent"),
    # NegEx pseudo-negation: a negated change asserts the finding
    ("No suspicious change of the nodule.", "nodule", "present"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), CASES)
def test_certainty(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty


def test_probable_hedges_are_flagged(extractor: ReportFindingExtractor) -> None:
    m = only(extractor.extract("Left basilar opacity, likely atelectasis."), "atelectasis")
    assert m.certainty == "uncertain" and "probable" in m.flags
    assert "probable" not in only(extractor.extract("Possible pneumonia."), "pneumonia").flags


@pytest.mark.parametrize("joiner", ["but there is", "however, there is", "although there is", ";"])
def test_scope_ends_at_conjunctions(extractor: ReportFindingExtractor, joiner: str) -> None:
    ms = extractor.extract(f"No pneumothorax {joiner} a small pleural effusion.")
    assert only(ms, "pneumothorax").certainty == "absent"
    assert only(ms, "pleural_effusion").certainty == "present"


def test_negation_runs_over_a_list_but_not_a_new_assertion(extractor: ReportFindingExtractor) -> None:
    ms = extractor.extract("No focal consolidation, pleural effusion, or pneumothorax.")
    assert {m.certainty for m in ms} == {"absent"}
    ms = extractor.extract("No pleural effusion, mild bibasilar atelectasis.")
    assert only(ms, "atelectasis").certainty == "present"


def test_historical_and_clinical_sections(extractor: ReportFindingExtractor) -> None:
    m = only(extractor.extract("FINDINGS: History of emphysema."), "emphysema")
    assert "historical" in m.flags
    ms = extractor.extract("INDICATION: Pneumonia.\nFINDINGS: Lungs are clear.")
    m = only(ms, "pneumonia")
    assert m.section == "indication" and m.certainty == "uncertain" and "clinical_history" in m.flags


def test_sentences_bound_scope(extractor: ReportFindingExtractor) -> None:
    ms = extractor.extract("No pneumothorax.\nSmall pleural effusion")
    assert only(ms, "pleural_effusion").certainty == "present"


def test_less_likely_is_not_a_probable_hedge(extractor: ReportFindingExtractor) -> None:
    assert "probable" in only(extractor.extract("Pneumonia is likely."), "pneumonia").flags
    assert "probable" not in only(extractor.extract("Pneumonia is less likely."), "pneumonia").flags


def test_blank_line_still_breaks_a_phrase(extractor: ReportFindingExtractor) -> None:
    assert [m.text for m in extractor.extract("Small left pleural\n\neffusion.")] == ["effusion"]
    wrapped = only(extractor.extract("Small left pleural\neffusion."), "pleural_effusion")
    assert wrapped.laterality == "left" and wrapped.text == "pleural\neffusion"
