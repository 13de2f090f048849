"""Guarded heads (data/guarded_heads.tsv) and inverted post-negations: one case per rule, both ways
(project-written unit cases, not evidence of accuracy)."""

from __future__ import annotations

import re

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels
from extractors.reports.rules import guard_reroutes, guarded_heads
from schemas.ontology import load_ontology

GUARDED = [
    # (text, label, chestxray14 value): the nearest cue beside the head decides
    ("Compression fracture of T12 with collapse.", "Atelectasis", 0),  # level token (re:) before
    ("Compression deformity of L1 with partial collapse.", "Atelectasis", 0),
    ("Vertebral fracture with collapse.", "Atelectasis", 0),
    ("T7 vertebral body collapse.", "Atelectasis", 0),  # the anatomy phrase hid the unmention
    ("Tracheal narrowing with collapse on expiration.", "Atelectasis", 0),
    ("Collapse of the T12 vertebral body.", "Atelectasis", 0),  # cue after the head
    ("Left lower lobe collapse.", "Atelectasis", 1),  # a release before it
    ("Collapse of the left lower lobe.", "Atelectasis", 1),  # a release after it
    ("Partial collapse.", "Atelectasis", 1),  # no cue: the lung reading
    ("Compression fracture. Left lower lobe collapse.", "Atelectasis", 1),  # a cue in another sentence
    ("T12 compression fracture and right lower lobe collapse.", "Atelectasis", 1),  # the nearest cue is the lobe
    # a soft-tissue cue reroutes the head to a subcutaneous emphysema (guard_reroutes.tsv), which chestxray14 counts
    # as Emphysema (NegBio's ChestX-ray14 CUI list, C0038536); a mediastinal one is a pneumomediastinum (not listed)
    ("Subcutaneous air and emphysema in the neck.", "Emphysema", 1),
    ("Emphysema in the soft tissues of the chest wall.", "Emphysema", 1),
    ("Extensive subcutaneous emphysematous changes.", "Emphysema", 1),  # a phrase starting with the head
    ("Mediastinal emphysema.", "Emphysema", 0),
    ("Emphysema.", "Emphysema", 1),
    ("Emphysematous changes in both upper lobes.", "Emphysema", 1),
    ("Hyperinflated lungs with emphysema.", "Emphysema", 1),
    ("Emphysema. Subcutaneous emphysema in the left chest wall.", "Emphysema", 1),
    ("Severe emphysema with subcutaneous emphysema in the neck.", "Emphysema", 1),  # "with" ends the look ahead
    ("Edema of the soft tissues of the chest wall.", "Edema", 0),  # an edema of soft tissue is not Edema
    ("Subcutaneous tissue edema.", "Edema", 0),
    ("Soft tissue swelling and edema in the neck.", "Edema", 0),
    ("Anasarca with edema of the chest wall.", "Edema", 0),
    ("Bowel wall edema.", "Edema", 0),
    ("Mild edema in the lung bases.", "Edema", 1),
    ("Edema.", "Edema", 1),
    ("Mild pulmonary edema.", "Edema", 1),
    ("Cardiomegaly with mild edema.", "Edema", 1),
    ("Right chest wall drain in place, mild edema.", "Edema", 1),  # a comma ends the look back
    ("Findings consistent with cystic fibrosis.", "Fibrosis", 0),  # a disease, not NegBio's fibrosis concept
    ("Mediastinal fibrosis.", "Fibrosis", 0),
    ("Pulmonary fibrosis.", "Fibrosis", 1),
    ("Fibrosis in the upper lobes.", "Fibrosis", 1),
    ("Cystic fibrosis with upper lobe fibrosis.", "Fibrosis", 1),
    ("Thyroid nodule.", "Nodule", 0),  # another organ's nodule or mass
    ("Nodule in the thyroid.", "Nodule", 0),
    ("Liver nodules.", "Nodule", 0),
    ("Left breast mass.", "Mass", 0),
    ("MR brain with and without IV contrast shows a mass.", "Mass", 0),
    ("Thyroid nodule and a right upper lobe nodule.", "Nodule", 1),
    ("Right hilar mass.", "Mass", 1),
    ("Mediastinal mass.", "Mass", 1),
    ("Nodule.", "Nodule", 1),
    ("Fatty infiltration of the liver.", "Infiltration", 0),
    ("Infiltration in the right lower lobe.", "Infiltration", 1),
    ("Small glenohumeral joint effusion.", "Effusion", 0),  # another organ's effusion
    ("Knee joint effusion.", "Effusion", 0),
    ("Pericardial effusion versus cardiomegaly.", "Effusion", 1),  # C0031039 is a ChestX-ray14 Effusion concept
    ("Small sinus effusion.", "Effusion", 0),
    ("Small left effusion.", "Effusion", 1),
    ("Effusion at the left base.", "Effusion", 1),
    ("Shoulder arthroplasty. Small left effusion.", "Effusion", 1),
]

MIMICS = [
    # (text, label, value): what mimics a finding is not that finding; air in the pleural space is a pneumothorax
    ("Skin fold at the right apex mimicking pneumothorax.", "Pneumothorax", 0),
    ("Overlapping shadows simulating a nodule.", "Nodule", 0),
    ("Small amount of air in the right pleural space.", "Pneumothorax", 1),
    ("No air in the pleural space.", "Pneumothorax", 0),
]


@pytest.mark.parametrize(("text", "label", "value"), GUARDED + MIMICS)
def test_guarded_head(extractor: ReportFindingExtractor, text: str, label: str, value: int) -> None:
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")[label] == value


def test_guarded_heads_are_well_formed() -> None:
    onto = load_ontology()
    rules = guarded_heads()
    assert set(rules) >= {"collapse", "emphysema", "emphysematous", "edema", "fibrosis", "nodule", "mass"}
    for rule in rules.values():
        assert onto.lookup(rule.expansion) is not None
        assert not rule.blockers & rule.releases
        assert all(isinstance(p, re.Pattern) for p in rule.blocker_patterns)
    assert rules["collapse"].cue("t12") == "block" and rules["collapse"].cue("lobe") == "release"
    assert rules["collapse"].cue("the") is None


INVERTED = [
    # (text, code, certainty): a post-negation written before its copula, the finding after it
    ("No longer seen is the right effusion.", "pleural_effusion", "absent"),
    ("No longer visualized is the left pneumothorax.", "pneumothorax", "absent"),
    ("Not identified are the previously noted nodules.", "nodule", "absent"),
    ("No longer present is the left effusion.", "pleural_effusion", "absent"),
    ("The right effusion is no longer seen.", "pleural_effusion", "absent"),  # the backward reading stays
    ("Again seen is the right effusion.", "pleural_effusion", "present"),
    ("No longer seen is the right effusion, but there is a new left pneumothorax.", "pneumothorax", "present"),
]


@pytest.mark.parametrize(("text", "code", "certainty"), INVERTED)
def test_inverted_post_negation(extractor: ReportFindingExtractor, text: str, code: str, certainty: str) -> None:
    found = [m for m in extractor.extract(text) if m.code == code]
    assert found and {m.certainty for m in found} == {certainty}


@pytest.mark.parametrize("head", sorted(guarded_heads()))
def test_every_guarded_head_row(extractor: ReportFindingExtractor, head: str) -> None:
    """Each row of guarded_heads.tsv, both ways: its first blocker before the head drops it, its first release
    keeps it."""
    rule = guarded_heads()[head]
    code = extractor.onto.lookup(rule.expansion)
    blocker, release = sorted(rule.blockers)[0], sorted(rule.releases)[0]
    onto = extractor.onto
    assert code is not None
    assert not [m for m in extractor.extract(f"{blocker.capitalize()} {head}.") if onto.is_a(m.code, code)]
    assert [m for m in extractor.extract(f"{release.capitalize()} {head}.") if onto.is_a(m.code, code)]


REROUTED = [
    # (text, code the guarded head names): a blocker of guard_reroutes.tsv names its row's finding instead of nothing
    ("Subcutaneous air and emphysema in the neck.", "subcutaneous_emphysema"),
    ("Emphysema in the soft tissues of the chest wall.", "subcutaneous_emphysema"),
    ("Extensive subcutaneous emphysematous changes.", "subcutaneous_emphysema"),
    ("Air and emphysema in the mediastinum.", "pneumomediastinum"),
    ("Effusion in the pericardium.", "pericardial_effusion"),
]


@pytest.mark.parametrize(("text", "code"), REROUTED)
def test_guard_reroute(extractor: ReportFindingExtractor, text: str, code: str) -> None:
    heads = set(guarded_heads())
    rerouted = [m for m in extractor.extract(text) if m.text.lower().split()[0] in heads]
    assert [m.code for m in rerouted] == [code], [(m.code, m.text) for m in extractor.extract(text)]


def test_guard_reroutes_are_well_formed() -> None:
    onto = load_ontology()
    rules = guarded_heads()
    for (head, blocker), expansion in guard_reroutes().items():
        assert blocker in rules[head].blockers
        assert onto.lookup(expansion) is not None
    assert ("effusion", "joint") not in guard_reroutes()  # another organ's effusion still names nothing
