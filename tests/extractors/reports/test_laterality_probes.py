"""Laterality classes from the issue-15 rule-derived probes (side wordings chest X-ray reports use), checked in the
--laterality-out JSONL (label_export, as `findings labels` writes it). Project-written unit cases: they test the
rules, they are not evidence of laterality accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import sideless_findings, weak_side_pairs
from tests.extractors.reports.test_laterality_export import jsonl_sides

SIDELESS = [
    # (text, label, side): a side word in a cardiac finding's phrase names a chamber or border, not a side of the chest
    ("Right heart enlargement.", "Cardiomegaly", "none"),
    ("Right heart enlargement. Cardiomegaly.", "Cardiomegaly", "none"),
    ("Cardiomegaly with left ventricular configuration.", "Cardiomegaly", "none"),
    ("Cardiomegaly, left atrial enlargement.", "Cardiomegaly", "none"),
    ("Cardiomegaly with prominent right heart border.", "Cardiomegaly", "none"),
    # a pericardial effusion's place is no pleural side of the Effusion label
    ("Small pericardial effusion along the right heart border and left pleural effusion.", "Effusion", "left"),
    # controls: the pleural finding beside it keeps its side, and passes none to the heart
    ("Right heart enlargement with small right effusion.", "Effusion", "right"),
    ("Cardiomegaly and right effusion.", "Effusion", "right"),
    ("Cardiomegaly and right effusion.", "Cardiomegaly", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), SIDELESS)
def test_cardiac_findings_have_no_side(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


ROW_CASES = {  # one sentence a row of sideless_findings.tsv, a side word in the finding's own phrase
    "cardiomegaly": "Right heart enlargement.",
    "pericardial_effusion": "Small pericardial effusion along the right heart border.",
    "enlarged_cardiomediastinum": "Enlarged cardiomediastinal silhouette on the right.",
}


@pytest.mark.parametrize("code", sorted(sideless_findings()))
def test_each_sideless_finding_row(extractor: ReportFindingExtractor, code: str) -> None:
    assert code in extractor.onto and extractor.onto.get(code).kind == "finding" and not extractor.paired(code)
    mentions = [m for m in extractor.extract(ROW_CASES[code]) if m.code == code]
    assert mentions and all(m.laterality == "none" for m in mentions)


HYPHENATED = [
    # (text, label, side): "-sided" after a comma is a side-only post-modifier; a suspended hyphen ("Right-") is a side
    ("Effusion, right-sided.", "Effusion", "right"),
    ("Pneumothorax, left-sided.", "Pneumothorax", "left"),
    ("Right- and left-sided effusions.", "Effusion", "bilateral"),
    ("Left- and right-sided effusions.", "Effusion", "bilateral"),
    ("Right- and left-sided pleural effusions.", "Effusion", "bilateral"),
    # controls
    ("Right-sided pleural effusion.", "Effusion", "right"),
    ("Right - sided effusion.", "Effusion", "right"),
    ("Left-sided pneumothorax and right-sided effusion.", "Pneumothorax", "left"),
    ("Left-sided pneumothorax and right-sided effusion.", "Effusion", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), HYPHENATED)
def test_hyphenated_sides(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


AS_WELL_AS = [
    # (text, label, side): "as well as" ends a phrase segment as "and" does, and joins a side-only stretch as "and" does
    ("Right upper lobe consolidation as well as left effusion.", "Consolidation", "right"),
    ("Right upper lobe consolidation as well as left effusion.", "Effusion", "left"),
    ("Bibasilar atelectasis as well as a small left effusion.", "Effusion", "left"),
    ("Bibasilar atelectasis as well as a small left effusion.", "Atelectasis", "bilateral"),
    ("Small left effusion as well as right basilar atelectasis.", "Effusion", "left"),
    ("Small left effusion as well as right basilar atelectasis.", "Atelectasis", "right"),
    # side-only stretches after it still join the segment
    ("There is atelectasis at the left base as well as the right base.", "Atelectasis", "bilateral"),
    ("Atelectasis in the right upper lobe as well as the left lower lobe.", "Atelectasis", "bilateral"),
    ("Opacity in the right upper lobe as well as the left lower lobe, likely atelectasis.", "Atelectasis",
     "bilateral"),
    ("Streaky density at the right base as well as the left base consistent with atelectasis.", "Atelectasis",
     "bilateral"),
    ("Opacities in the right upper lobe as well as in the left lower lobe, consistent with pneumonia.", "Pneumonia",
     "bilateral"),
    # "as well" alone is no join
    ("Small left effusion, and right effusion as well.", "Effusion", "bilateral"),
]


@pytest.mark.parametrize(("text", "label", "side"), AS_WELL_AS)
def test_as_well_as_is_a_join(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


SLASHED = [
    # (text, label, side): "B/L" (tokenized "B", "/", "L") is bilateral, not a left capital "L"
    ("B/L pleural effusions.", "Effusion", "bilateral"),
    ("Small B/L effusion.", "Effusion", "bilateral"),
    ("B/L lower lobe atelectasis.", "Atelectasis", "bilateral"),
    ("Small b/l effusion.", "Effusion", "bilateral"),
    # controls: the capital letters still name their sides
    ("R/L effusions.", "Effusion", "bilateral"),
    ("Small L effusion.", "Effusion", "left"),
    ("Effusion on the R.", "Effusion", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), SLASHED)
def test_slashed_bilateral(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


WEAK_COORDINATED = [
    # (text, label, side): a weak side word (weak_sides.tsv) in a coordinated piece with no side word of its own names
    # that piece's side ("retrocardiac": the left lower lobe's), and may form a side stretch
    ("Right basilar and retrocardiac atelectasis.", "Atelectasis", "bilateral"),
    ("Retrocardiac and right basilar atelectasis.", "Atelectasis", "bilateral"),
    ("Right lower lobe and retrocardiac opacities, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Atelectasis at the right base and in the retrocardiac region.", "Atelectasis", "bilateral"),
    # controls: its own piece's side word wins, the same side twice, a clause with its own finding
    ("Right retrocardiac opacity, likely atelectasis.", "Atelectasis", "right"),
    ("Left basilar and retrocardiac atelectasis.", "Atelectasis", "left"),
    ("Retrocardiac atelectasis and right effusion.", "Atelectasis", "left"),
    ("Retrocardiac atelectasis and right effusion.", "Effusion", "right"),
    ("Retrocardiac opacity, likely atelectasis.", "Atelectasis", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), WEAK_COORDINATED)
def test_weak_side_in_a_coordinated_piece(extractor: ReportFindingExtractor, text: str, label: str,
                                          side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


LOBE_LISTS = [
    # (text, label, side): bare lobe qualifiers listed after a sided one share its side
    ("Right upper, middle and lower lobe pneumonia.", "Pneumonia", "right"),
    ("Right upper, middle, and lower lobe consolidation.", "Consolidation", "right"),
    ("Right upper, left lower and middle lobe pneumonia.", "Pneumonia", "bilateral"),
    # controls
    ("Left upper and lower lobe atelectasis.", "Atelectasis", "left"),
    ("Right upper, middle and lower lobe pneumonia and left effusion.", "Effusion", "left"),
    ("Right upper, middle and lower lobe pneumonia and left effusion.", "Pneumonia", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), LOBE_LISTS)
def test_listed_lobe_qualifiers_share_a_side(extractor: ReportFindingExtractor, text: str, label: str,
                                             side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize(("pair", "side"), sorted(weak_side_pairs().items()))
def test_every_weak_side_pair_row(extractor: ReportFindingExtractor, pair: tuple[str, str], side: str) -> None:
    """Each row of weak_side_pairs.tsv gives its side alone and yields to an explicit side word."""
    name = " ".join(pair)
    assert jsonl_sides(extractor, f"Fluid in the {name}.")["Effusion"] == side
    assert jsonl_sides(extractor, f"Consolidation abutting the {name}.")["Consolidation"] == side
    other = "right" if side == "left" else "left"
    assert jsonl_sides(extractor, f"Fluid in the {name}, {other} side.")["Effusion"] == other  # a rule test only


@pytest.mark.parametrize(("text", "label", "side"), [
    ("Fluid tracking along the minor fissure.", "Effusion", "right"),
    ("Minor atelectasis.", "Atelectasis", "none"),  # the word alone names no side
    ("Horizontal linear atelectasis.", "Atelectasis", "none"),
    ("Fluid in the major fissure.", "Effusion", "none"),  # both lungs have one
])
def test_weak_side_pair_controls(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side
