"""Issue 15's remaining known gaps: "removed" speaks only of devices, a header inside a line starts a new
section and sentence, and a recommendation never asserts a finding (project-written unit cases)."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels
from extractors.reports.sections import split_sections
from tests.extractors.reports.conftest import only


def positives(extractor: ReportFindingExtractor, text: str) -> set[str]:
    labels = derive_labels(extractor.extract(text), extractor.onto, "chestxray14")
    return {k for k, v in labels.items() if v == 1 and k != "normal"}


REMOVED = [
    # (text, code, certainty)
    ("Chest tube has been removed.", "chest_tube", "absent"),
    ("Interval removal of the endotracheal tube.", "endotracheal_tube", "absent"),
    ("Small pneumothorax after the chest tube was removed.", "pneumothorax", "present"),
    ("Small residual pneumothorax, the chest tube has been removed.", "pneumothorax", "present"),
    ("Pleural effusion, chest tube removed.", "pleural_effusion", "present"),
    ("Removal of the chest tube with a small pneumothorax.", "pneumothorax", "present"),
    ("Pneumothorax has resolved and the chest tube was removed.", "pneumothorax", "absent"),  # resolved, not removed
]


@pytest.mark.parametrize(("text", "code", "certainty"), REMOVED)
def test_removed_negates_devices_only(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty


HEADERS = [
    # (text, section of the finding, its certainty): the header inside a line ends the sentence before it
    ("No pneumothorax IMPRESSION: Small left effusion.", "impression", "present"),
    ("Comparison: none Findings: Left pleural effusion.", "findings", "present"),
    ("Indication: cough FINDINGS: Small left effusion.", "findings", "present"),
    ("Cough, rule out pneumonia FINDINGS: Small left effusion.", "findings", "present"),
    ("CLINICAL HISTORY: fever REASON FOR EXAM: cough IMPRESSION: Left pleural effusion.", "impression", "present"),
    ("History: effusion Impression: No acute findings.", "history", "uncertain"),
]


@pytest.mark.parametrize(("text", "section", "certainty"), HEADERS)
def test_midline_header_starts_section_and_sentence(extractor: ReportFindingExtractor, text: str, section: str,
                                                    certainty: str) -> None:
    m = only(extractor.extract(text), "pleural_effusion")
    assert (m.section, m.certainty) == (section, certainty)
    assert ":" not in m.sentence  # the header is not part of the sentence after it


def test_midline_header_needs_a_capital_and_a_known_name() -> None:
    assert [s.name for s in split_sections("Heart: normal. Time 10:30 impression: none")] == ["unsectioned"]
    assert [s.name for s in split_sections("cough REASON FOR EXAM: fever")] == ["unsectioned", "indication"]


RECOMMENDATIONS = [
    "Recommend follow-up chest radiograph to exclude an underlying mass.",
    "Follow-up imaging is recommended to exclude an underlying nodule.",
    "Follow-up recommended to exclude nodule.",
    "Correlate clinically for pneumonia.",
    "Clinical correlation for pneumonia is recommended.",
    "Correlation with symptoms of pneumonia is recommended.",
    "Correlate with clinical findings to exclude pneumonia.",
    "Recommend CT to rule out a mass.",
    "Suggest chest CT to exclude a pulmonary nodule.",
    "Repeat PA and lateral views are recommended to evaluate for an underlying nodule.",
    "Further evaluation with CT is recommended to exclude a mass.",
    "Clinical correlation is advised to exclude pneumonia.",
    "Follow-up in 6 weeks to exclude an underlying mass lesion.",
    "Recommend follow-up to document resolution of pneumonia.",
    "Evaluate for pneumonia.",
]


@pytest.mark.parametrize("text", RECOMMENDATIONS)
def test_recommendation_asserts_nothing(extractor: ReportFindingExtractor, text: str) -> None:
    assert positives(extractor, text) == set()
    assert all(m.certainty != "present" for m in extractor.extract(text) if m.kind == "finding")


def test_recommendation_after_a_finding_keeps_it(extractor: ReportFindingExtractor) -> None:
    text = "Right lower lobe pneumonia. Follow-up recommended to document resolution."
    assert positives(extractor, text) == {"Pneumonia"}


PARTIAL_RESOLUTION = [
    # (text, code, certainty): a partial resolution leaves the finding present; a complete one does not
    ("Partially resolved pneumonia.", "pneumonia", "present"),
    ("Pulmonary edema has nearly resolved.", "edema", "present"),
    ("The left effusion has not resolved.", "pleural_effusion", "present"),
    ("Left pleural effusion has not completely cleared.", "pleural_effusion", "present"),
    ("Incomplete resolution of the right lower lobe pneumonia.", "pneumonia", "present"),
    ("Partial resolution of left lower lobe atelectasis.", "atelectasis", "present"),
    ("Left effusion has largely cleared.", "pleural_effusion", "present"),
    ("Pneumonia has resolved.", "pneumonia", "absent"),
    ("Interval resolution of the effusion.", "pleural_effusion", "absent"),
    ("Near complete resolution of the pneumonia.", "pneumonia", "absent"),
    ("Pneumonia, resolved.", "pneumonia", "absent"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), PARTIAL_RESOLUTION)
def test_partial_resolution_is_present(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty


DEVICE_SIDES = [
    # (text, finding code, laterality): a device's side reaches only a finding of a sided site it sits in too
    ("Left-sided pacemaker with mild cardiomegaly.", "cardiomegaly", "none"),
    ("Right PICC line in place, small effusion.", "pleural_effusion", "none"),
    ("Right internal jugular catheter, mild atelectasis.", "atelectasis", "none"),
    ("Left chest tube in place, with small residual pneumothorax.", "pneumothorax", "left"),
    ("Right pigtail catheter with a small residual effusion.", "pleural_effusion", "right"),
    ("Left basilar opacity, likely atelectasis.", "atelectasis", "left"),  # a finding's side still carries over
]


@pytest.mark.parametrize(("text", "code", "side"), DEVICE_SIDES)
def test_device_side_reaches_its_own_site_only(extractor: ReportFindingExtractor, text: str, code: str,
                                               side: str) -> None:
    assert only(extractor.extract(text), code).laterality == side


HEDGES_AFTER = [
    # (text, code, certainty): the labeler's suspect/possible/consider hedges as predicates after their target
    ("Mild atelectasis is suspected.", "atelectasis", "uncertain"),
    ("Pneumonia is a possibility.", "pneumonia", "uncertain"),
    ("Early pneumonia is a consideration.", "pneumonia", "uncertain"),
    ("Small pleural effusions are also possible.", "pleural_effusion", "uncertain"),
    ("Atelectasis is also considered.", "atelectasis", "uncertain"),
    ("Pneumothorax is considered unlikely.", "pneumothorax", "absent"),  # negation wins
    ("Opacity in the right base, atelectasis favored over pneumonia.", "pneumonia", "uncertain"),
    ("There is a right lower lobe pneumonia.", "pneumonia", "present"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), HEDGES_AFTER)
def test_hedge_after_its_target(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    assert only(extractor.extract(text), code).certainty == certainty
