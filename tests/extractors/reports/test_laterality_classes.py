"""Laterality classes found by the issue-15 side-construction audit, checked in the --laterality-out JSONL
(label_export, as `findings labels` writes it). Project-written unit cases: they test the rules, they are not
evidence of laterality accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.rules import (
    comparative_sides,
    device_sides,
    interpretive_links,
    side_bridges,
    unsided_findings,
)
from tests.extractors.reports.test_laterality_export import jsonl_sides

WITHOUT = [
    # (text, label, side): "without" ends a segment like "with": the negated side after it is not the finding's
    ("Left effusion without right effusion.", "Effusion", "left"),
    ("Right pneumothorax without left pneumothorax.", "Pneumothorax", "right"),
    ("Left pneumothorax without mediastinal shift.", "Pneumothorax", "left"),
    ("Right lower lobe atelectasis without left effusion.", "Atelectasis", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), WITHOUT)
def test_without_ends_the_segment(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


UNPAIRED = [
    # (text, label, side): a side is not carried onto a finding whose ontology sites have no side (the heart) ...
    ("Left effusion and cardiomegaly.", "Cardiomegaly", "none"),
    ("Left effusion with cardiomegaly.", "Cardiomegaly", "none"),
    ("Right lower lobe pneumonia, and mild cardiomegaly.", "Cardiomegaly", "none"),
    ("Left effusion and cardiomegaly.", "Effusion", "left"),
    # ... nor from a finding of unpaired sites (bony thorax, spine) onto a lung or pleural finding ...
    ("Right humeral fracture with small effusion.", "Effusion", "none"),
    ("Degenerative changes of the right shoulder with atelectasis.", "Atelectasis", "none"),
    # ... while a paired finding still passes its side on (lung/pleura to lung/pleura)
    ("Left pleural effusion with atelectasis.", "Atelectasis", "left"),
    ("Left basilar opacity, likely atelectasis.", "Atelectasis", "left"),
    ("Left pleural effusion. Associated atelectasis.", "Atelectasis", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), UNPAIRED)
def test_side_passes_between_paired_sites_only(extractor: ReportFindingExtractor, text: str, label: str,
                                               side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize(("code", "paired"), [("cardiomegaly", False), ("pneumomediastinum", False),
                                               ("degenerative_change", False), ("pleural_effusion", True),
                                               ("atelectasis", True), ("rib_fracture", True)])
def test_paired_reads_the_ontology_sites(extractor: ReportFindingExtractor, code: str, paired: bool) -> None:
    assert extractor.paired(code) is paired


COMPARED = [
    # (text, label, side): a comparative right before a side (data/comparative_sides.tsv) names both sides
    ("Effusions, greater on the right.", "Effusion", "bilateral"),
    ("Pleural effusions, larger on the left.", "Effusion", "bilateral"),
    ("Basilar atelectasis, worse on the right.", "Atelectasis", "bilateral"),
    ("Bibasilar atelectasis, more so on the left.", "Atelectasis", "bilateral"),
    ("The left effusion is larger than the right.", "Effusion", "bilateral"),
    ("Small effusions, less on the left.", "Effusion", "bilateral"),
    ("Pneumothoraces, smaller on the right.", "Pneumothorax", "bilateral"),
    # a comparison with the prior study or another word between is no second side
    ("Atelectasis more prominent at the right base.", "Atelectasis", "right"),
    ("Right effusion, larger than on the prior study.", "Effusion", "right"),
    ("Left effusion is larger.", "Effusion", "left"),
    ("Right effusion is more conspicuous.", "Effusion", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), COMPARED)
def test_comparative_side_is_bilateral(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize("word", sorted(comparative_sides()))
def test_each_comparative_row(extractor: ReportFindingExtractor, word: str) -> None:
    assert jsonl_sides(extractor, f"Pleural effusions, {word} on the right.")["Effusion"] == "bilateral"
    assert jsonl_sides(extractor, f"Right pleural effusion is {word}.")["Effusion"] == "right"


PAIRED_STRETCH = [
    # (text, label, side): a stretch after the comma naming paired plural anatomy belongs to the segment
    ("Interstitial fibrosis, worse at the bases.", "Fibrosis", "bilateral"),
    ("Atelectasis, both bases.", "Atelectasis", "bilateral"),
    ("Fibrosis, upper lobes.", "Fibrosis", "bilateral"),
    ("Fibrosis, left base.", "Fibrosis", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), PAIRED_STRETCH)
def test_paired_plural_stretch(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


DOTTED = [
    # (text, label, side): "lt."/"rt." with their stop are side words, and the stop ends neither the phrase nor the
    # sentence, unless a capital follows
    ("Lt. pleural effusion.", "Effusion", "left"),
    ("Small rt. pleural effusion.", "Effusion", "right"),
    ("Small LT. effusion.", "Effusion", "left"),
    ("Small lt. effusion and rt. atelectasis.", "Effusion", "left"),
    ("Small lt. effusion and rt. atelectasis.", "Atelectasis", "right"),
    ("Effusion on the rt.", "Effusion", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), DOTTED)
def test_dotted_side_abbreviations(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


def test_dotted_side_ends_its_sentence_before_a_capital(extractor: ReportFindingExtractor) -> None:
    mentions = extractor.extract("Effusion on the rt. No pneumothorax.")
    assert [(m.code, m.certainty) for m in mentions] == [("pleural_effusion", "present"), ("pneumothorax", "absent")]
    assert mentions[0].sentence == "Effusion on the rt."


JOIN_RUNS = [
    # (text, label, side): ", and" joins a side-only stretch as "and" or "," alone do
    ("Atelectasis at the left base, and right base.", "Atelectasis", "bilateral"),
    ("Atelectasis at the left base, and the right base.", "Atelectasis", "bilateral"),
    ("Left, and right pleural effusions.", "Effusion", "bilateral"),
    ("Atelectasis at the left base, and right pleural effusion.", "Atelectasis", "left"),
]


@pytest.mark.parametrize(("text", "label", "side"), JOIN_RUNS)
def test_join_runs(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


BLUNTING = [
    # (text, label, side): phrases.tsv "[side] costophrenic angle blunting" (uncertain, as the other blunting rows:
    # the CheXpert labeler's post_negation_uncertainty.txt hedges a blunt costophrenic angle); its side carries
    # over to the effusion it is read as
    ("Left costophrenic angle blunting consistent with small effusion.", "Effusion", "left"),
    ("Right costophrenic angle blunting, likely small effusion.", "Effusion", "right"),
]


@pytest.mark.parametrize(("text", "label", "side"), BLUNTING)
def test_costophrenic_blunting_side(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


def test_costophrenic_blunting_alone_is_uncertain(extractor: ReportFindingExtractor) -> None:
    assert jsonl_sides(extractor, "Left costophrenic angle blunting.") == {"normal": "none"}
    assert [(m.code, m.certainty) for m in extractor.extract("Left costophrenic angle blunting.")] == [
        ("pleural_effusion", "uncertain")]


CARRY_BACK = [
    # (text, label, side): a side after a coordinated pair ("and"/"or") reaches its first member ...
    ("Atelectasis and effusion at the left base.", "Atelectasis", "left"),
    ("Atelectasis and small effusion in the right base.", "Atelectasis", "right"),
    ("Effusion and atelectasis on the right.", "Effusion", "right"),
    ("Consolidation and effusion in the left hemithorax.", "Consolidation", "left"),
    ("Pneumonia and effusion on the left.", "Pneumonia", "left"),
    ("Edema and effusions at the bases.", "Edema", "bilateral"),
    # ... never a pre-modifier of the second, a side the second has on its own, onto an unpaired finding, nor
    # across a bare comma
    ("Atelectasis and small left effusion.", "Atelectasis", "none"),
    ("Edema and effusions.", "Edema", "none"),
    ("Mild edema and bilateral effusions.", "Edema", "none"),
    ("Cardiomegaly and effusion on the left.", "Cardiomegaly", "none"),
    ("Emphysema, atelectasis at the left base.", "Emphysema", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), CARRY_BACK)
def test_side_after_a_pair(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


def test_a_negated_pair_gets_no_row(extractor: ReportFindingExtractor) -> None:
    assert jsonl_sides(extractor, "No pneumothorax and effusion on the left.") == {"normal": "none"}


LINKED = [
    # (text, label, side): a finding read into a sided description (data/interpretive_links.tsv) takes its side
    ("Left basilar densities consistent with atelectasis.", "Atelectasis", "left"),
    ("Streaky left basilar markings, likely atelectasis.", "Atelectasis", "left"),
    ("Interstitial changes in both lungs consistent with fibrosis.", "Fibrosis", "bilateral"),
    ("Increased markings at the right base, likely atelectasis.", "Atelectasis", "right"),
    ("Right lower lobe process, likely pneumonia.", "Pneumonia", "right"),
    ("Bibasilar linear densities consistent with atelectasis.", "Atelectasis", "bilateral"),
    ("Left base shadowing suggestive of mild atelectasis.", "Atelectasis", "left"),
    # no link, no description, a device or surgery, or another sentence: no side
    ("Left basilar density. Atelectasis.", "Atelectasis", "none"),
    ("Findings consistent with atelectasis.", "Atelectasis", "none"),
    ("Status post right mastectomy, likely atelectasis.", "Atelectasis", "none"),
    ("Right PICC line, likely atelectasis.", "Atelectasis", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), LINKED)
def test_side_of_the_described_abnormality(extractor: ReportFindingExtractor, text: str, label: str,
                                           side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize("link", sorted(" ".join(p) for p in interpretive_links()))
def test_each_interpretive_link(extractor: ReportFindingExtractor, link: str) -> None:
    found = [m for m in extractor.extract(f"Right basilar density, {link} atelectasis.") if m.code == "atelectasis"]
    assert [m.laterality for m in found] == ["right"]
    found = [m for m in extractor.extract(f"Basilar density, {link} atelectasis.") if m.code == "atelectasis"]
    assert [m.laterality for m in found] == ["none"]


@pytest.mark.parametrize(("text", "side"), [
    ("Effusion on each side.", "bilateral"),
    ("Effusion on either side.", "bilateral"),
    ("Small effusion at each base.", "bilateral"),
    ("Effusions on both sides.", "bilateral"),
    ("Small effusion on the left side.", "left"),
])
def test_each_or_either_side_is_bilateral(extractor: ReportFindingExtractor, text: str, side: str) -> None:
    assert jsonl_sides(extractor, text)["Effusion"] == side


def test_either_alone_is_no_side(extractor: ReportFindingExtractor) -> None:
    found = {m.code: m.laterality for m in extractor.extract("Either atelectasis or pneumonia at the left base.")}
    assert found == {"atelectasis": "left", "pneumonia": "left"}


BRIDGED = [
    # (text, label, side): a sided rib or clavicle (data/side_bridges.tsv) passes its side to a lung/pleural finding
    ("Right rib fractures with small pneumothorax.", "Pneumothorax", "right"),
    ("Fracture of the left 5th rib with adjacent pneumothorax.", "Pneumothorax", "left"),
    ("Right clavicle fracture with pneumothorax.", "Pneumothorax", "right"),
    ("Left rib fractures with small effusion.", "Effusion", "left"),
    # the humerus is no bridge, nor is the heart a target
    ("Right humeral fracture with small effusion.", "Effusion", "none"),
    ("Right rib fractures and cardiomegaly.", "Cardiomegaly", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), BRIDGED)
def test_side_bridges(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize("site", sorted(side_bridges()))
def test_each_side_bridge_row(extractor: ReportFindingExtractor, site: str) -> None:
    assert side_bridges()[site] and site in extractor.onto
    assert jsonl_sides(extractor, f"Left {site} fracture with small pneumothorax.")["Pneumothorax"] == "left"


DEVICE_CAUSED = [
    # (text, label, side): an IJ/subclavian central line's side reaches the pneumothorax its puncture causes
    # (data/device_sides.tsv) in the same sentence
    ("Left IJ line with small apical pneumothorax.", "Pneumothorax", "left"),
    ("Right subclavian line with small pneumothorax.", "Pneumothorax", "right"),
    ("Left central line with pneumothorax.", "Pneumothorax", "left"),
    # controls: own side wins; a PICC is no row; an effusion is no target; another sentence, or a finding between
    ("Right IJ central line with left pneumothorax.", "Pneumothorax", "left"),
    ("Left PICC line with small pneumothorax.", "Pneumothorax", "none"),
    ("Left IJ line with small effusion.", "Effusion", "none"),
    ("Left IJ line. Pneumothorax.", "Pneumothorax", "none"),
    ("Left IJ line, cardiomegaly and pneumothorax.", "Pneumothorax", "none"),
]


@pytest.mark.parametrize(("text", "label", "side"), DEVICE_CAUSED)
def test_device_sides(extractor: ReportFindingExtractor, text: str, label: str, side: str) -> None:
    assert jsonl_sides(extractor, text)[label] == side


@pytest.mark.parametrize("device", sorted(device_sides()))
def test_each_device_side_row(extractor: ReportFindingExtractor, device: str) -> None:
    assert device in extractor.onto and all(code in extractor.onto for code in device_sides()[device])
    found = [m for m in extractor.extract("Left IJ line with small pneumothorax.") if m.code == "pneumothorax"]
    assert found[0].laterality == "left" and extractor.extract("Left IJ line.")[0].code == device


@pytest.mark.parametrize("code", sorted(unsided_findings()))
def test_each_unsided_finding_row(extractor: ReportFindingExtractor, code: str) -> None:
    assert code in extractor.onto and not extractor.paired(code)


@pytest.mark.parametrize(("text", "side"), [
    ("Left effusion and hiatal hernia.", "none"),
    ("Left lower lobe atelectasis with a hiatal hernia.", "none"),
    ("Left diaphragmatic hernia.", "left"),  # its own side word still counts
])
def test_hiatal_hernia_inherits_no_side(extractor: ReportFindingExtractor, text: str, side: str) -> None:
    assert jsonl_sides(extractor, text)["Hernia"] == side
