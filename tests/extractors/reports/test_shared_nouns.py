"""Shared-noun coordination (issue 15): in "pericardial and pleural effusions" each modifier names its own finding
with the shared noun (matcher.shared_nouns), and the plural the coordination gives the noun names no two sides.
The chestxray14 label set counts a pericardial effusion as Effusion (NegBio's ChestX-ray14 CUI list). Project-written
unit cases: they test the rules, they are not evidence of accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.test_laterality_export import jsonl_sides

FINDINGS = [
    # (text, the codes found with certainty and side)
    ("Pericardial and pleural effusions.",
     {("pericardial_effusion", "present", "none"), ("pleural_effusion", "present", "none")}),
    ("Pleural and pericardial effusions.",
     {("pleural_effusion", "present", "none"), ("pericardial_effusion", "present", "none")}),
    ("No pericardial or pleural effusions.",
     {("pericardial_effusion", "absent", "none"), ("pleural_effusion", "absent", "none")}),
    ("Interstitial and alveolar edema.",
     {("interstitial_edema", "present", "none"), ("alveolar_edema", "present", "none")}),
    ("Subcutaneous and mediastinal emphysema.",
     {("subcutaneous_emphysema", "present", "none"), ("pneumomediastinum", "present", "none")}),
    # past one side or size word before the second member's phrase
    ("Small pericardial and bilateral pleural effusions.",
     {("pericardial_effusion", "present", "none"), ("pleural_effusion", "present", "bilateral")}),
    ("Pericardial and left pleural effusions.",
     {("pericardial_effusion", "present", "none"), ("pleural_effusion", "present", "left")}),
    # a side written for the pleural noun still counts ("at both bases", "right greater than left")
    ("Pericardial and pleural effusions at both bases.",
     {("pericardial_effusion", "present", "none"), ("pleural_effusion", "present", "bilateral")}),
    # controls: the same finding twice is one mention; a finding before the join is no modifier; sides are sides
    ("Hilar and mediastinal lymphadenopathy.", {("lymphadenopathy", "present", "none")}),
    ("Atelectasis and pleural effusions.",
     {("atelectasis", "present", "none"), ("pleural_effusion", "present", "bilateral")}),
    ("Right and left pleural effusions.", {("pleural_effusion", "present", "bilateral")}),
    ("Small left and moderate right pleural effusions.", {("pleural_effusion", "present", "bilateral")}),
    ("Pleural effusions.", {("pleural_effusion", "present", "bilateral")}),
]


@pytest.mark.parametrize(("text", "found"), FINDINGS)
def test_each_modifier_names_its_own_finding(extractor: ReportFindingExtractor, text: str,
                                             found: set[tuple[str, str, str]]) -> None:
    mentions = [m for m in extractor.extract(text) if m.kind == "finding"]
    assert {(m.code, m.certainty, m.laterality) for m in mentions} == found
    assert len(mentions) == len(found)


LABELS = [
    # (text, label, side in the --laterality-out JSONL)
    ("Pericardial and pleural effusions.", "Effusion", "none"),
    ("Pericardial and left pleural effusions.", "Effusion", "left"),
    ("Right and left pleural effusions.", "Effusion", "bilateral"),
    ("Subcutaneous and mediastinal emphysema.", "Emphysema", "none"),
    ("Interstitial and alveolar edema.", "Edema", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), LABELS)
def test_shared_noun_labels(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


def test_a_shared_noun_negated_names_no_label(extractor: ReportFindingExtractor) -> None:
    assert "Effusion" not in jsonl_sides(extractor, "No pericardial or pleural effusions.")


SEVERITY = [
    # (text, {code: severity}): a size word before the first member is the shared noun's, so the second member
    # right after the join has it too; a word of its own before the second member's phrase keeps it apart
    ("Small pericardial and pleural effusions.", {"pericardial_effusion": "small", "pleural_effusion": "small"}),
    ("Moderate pleural and pericardial effusions.",
     {"pleural_effusion": "moderate", "pericardial_effusion": "moderate"}),
    ("Small pericardial and large pleural effusions.", {"pericardial_effusion": "small", "pleural_effusion": "large"}),
    ("Small pericardial and left pleural effusion.", {"pericardial_effusion": "small", "pleural_effusion": None}),
    ("Pericardial and pleural effusions.", {"pericardial_effusion": None, "pleural_effusion": None}),
]


@pytest.mark.parametrize(("text", "want"), SEVERITY)
def test_a_leading_size_word_is_the_shared_nouns(extractor: ReportFindingExtractor, text: str, want: dict) -> None:
    assert {m.code: m.severity for m in extractor.extract(text)} == want
