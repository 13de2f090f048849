"""Laterality across a coordination of sites (issue 15): a finding's side is the union of the sides of all the sites
coordinated in its own phrase, also when the finding is the interpretation that follows the description, while a
clause with its own finding keeps its own side. Checked in the --laterality-out JSONL (label_export, as `findings
labels` writes it) or on the mention where the export drops an uncertain finding. Project-written unit cases: they
test the rules, they are not evidence of laterality accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from tests.extractors.reports.conftest import only
from tests.extractors.reports.test_laterality_export import jsonl_sides

LINKED = [
    # (text, label, side): a description with no finding mention, its sites joined by "and" / "," / "as well as",
    # then an interpretive link: the finding read from it takes every coordinated site's side
    ("Density in the right lower lobe and left lower lobe, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Density in the right lower lobe and left lower lobe likely atelectasis.", "Atelectasis", "bilateral"),
    ("Density in the right lower lobe, left lower lobe, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Streaky density at the right base and left base consistent with atelectasis.", "Atelectasis", "bilateral"),
    ("Streaky density at the right base as well as the left base consistent with atelectasis.", "Atelectasis",
     "bilateral"),
    ("Increased density in the RLL and LLL, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Airspace disease in the right lower lobe and lingula consistent with pneumonia.", "Pneumonia", "bilateral"),
    # through a finding mention (its segment holds the coordinated sites; the interpretation inherits its side)
    ("Opacity in the right upper lobe and left lower lobe likely atelectasis.", "Atelectasis", "bilateral"),
    ("Opacity in the right upper lobe, left lower lobe consistent with pneumonia.", "Pneumonia", "bilateral"),
    ("Opacity at the right base and at the left base likely atelectasis.", "Atelectasis", "bilateral"),
    ("Opacities in the right upper and left lower lobes consistent with pneumonia.", "Pneumonia", "bilateral"),
    # controls: one side only, and a clause with its own finding keeps its own side
    ("Density in the left lower lobe and lingula, likely atelectasis.", "Atelectasis", "left"),
    ("Right effusion and left basilar density, likely atelectasis.", "Atelectasis", "left"),
    ("Right effusion and left basilar density, likely atelectasis.", "Effusion", "right"),
    ("Right effusion, left basilar density likely atelectasis.", "Atelectasis", "left"),
    ("Right pneumothorax and left basilar density, likely atelectasis.", "Atelectasis", "left"),
    ("Right pneumothorax and left basilar density, likely atelectasis.", "Pneumothorax", "right"),
    ("Right effusion and left lower lobe opacity likely atelectasis.", "Atelectasis", "left"),
    ("Right effusion and left lower lobe opacity likely atelectasis.", "Effusion", "right"),
    ("Right pleural effusion and left atelectasis.", "Effusion", "right"),
    ("Right pleural effusion and left atelectasis.", "Atelectasis", "left"),
    ("Left basilar density, likely atelectasis.", "Atelectasis", "left"),
    ("Left basilar opacity, likely atelectasis.", "Atelectasis", "left"),
    # repeated head noun: descriptions with no mention coordinated before the link, each its own side
    ("Right basilar density and left basilar density, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Right basilar density, and left basilar density, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Right basilar density as well as left basilar density, likely atelectasis.", "Atelectasis", "bilateral"),
    ("Right basilar density, left basilar density and retrocardiac density, likely atelectasis.", "Atelectasis",
     "bilateral"),
    # controls: another head noun, or a finding's phrase before the join, is no repeated description
    ("Right basilar opacity and left basilar density, likely atelectasis.", "Atelectasis", "left"),
    ("Right lower lobe pneumonia and left basilar density, likely atelectasis.", "Atelectasis", "left"),
    ("Right lower lobe pneumonia and left basilar density, likely atelectasis.", "Pneumonia", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), LINKED)
def test_coordinated_sites_reach_the_interpreted_finding(extractor: ReportFindingExtractor, text: str, label: str,
                                                         side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize("text", [
    "Density in the right lower lobe and left lower lobe which may represent atelectasis.",
    "Density in the right lower lobe and left lower lobe, which may represent atelectasis.",
    "Opacities at the right base and left base which may represent atelectasis.",
])
def test_coordinated_sites_reach_a_hedged_interpretation(extractor: ReportFindingExtractor, text: str) -> None:
    atelectasis = only(extractor.extract(text), "atelectasis")  # uncertain: the export's negative, so the mention
    assert (atelectasis.certainty, atelectasis.laterality) == ("uncertain", "bilateral")


SIDED_ANATOMY = [
    # (text, label, side): a stretch naming a side only through sided anatomy (the lingula is the left lung's, the
    # right middle lobe the right's) joins the segment as a side word does
    ("Atelectasis in the right middle lobe and lingula.", "Atelectasis", "bilateral"),
    ("Atelectasis in the RML and lingula.", "Atelectasis", "bilateral"),
    ("Lingular and right middle lobe atelectasis.", "Atelectasis", "bilateral"),
    ("Right middle lobe and lingular opacities consistent with pneumonia.", "Pneumonia", "bilateral"),
    ("Opacities in the right middle lobe and lingula consistent with pneumonia.", "Pneumonia", "bilateral"),
    ("Pneumonia in the lingula and right lower lobe.", "Pneumonia", "bilateral"),
    ("Nodule in the right upper lobe and lingula.", "Nodule", "bilateral"),
    # controls: the same side twice, and a coordinated clause with its own finding
    ("Atelectasis in the lingula and left lower lobe.", "Atelectasis", "left"),
    ("Lingular and left lower lobe atelectasis.", "Atelectasis", "left"),
    ("Left lower lobe atelectasis and right middle lobe pneumonia.", "Atelectasis", "left"),
    ("Left lower lobe atelectasis and right middle lobe pneumonia.", "Pneumonia", "right"),
    ("Left lower lobe atelectasis, right middle lobe pneumonia.", "Atelectasis", "left"),
    ("Small right effusion and lingular atelectasis.", "Effusion", "right"),
    ("Small right effusion and lingular atelectasis.", "Atelectasis", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), SIDED_ANATOMY)
def test_sided_anatomy_joins_a_side_stretch(extractor: ReportFindingExtractor, text: str, label: str,
                                            side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side
