"""The chestxray14 label set's data definition (NegBio/CheXpert conventions): one case per rule row."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels, label_definition

CASES = [
    # (report text, label, expected value under chestxray14)
    ("Calcified granuloma in the right upper lobe.", "Nodule", 0),
    ("Small nodule in the right upper lobe.", "Nodule", 1),
    ("Scarring in the left apex.", "Fibrosis", 0),
    ("Pulmonary fibrosis.", "Fibrosis", 1),
    ("Hyperexpanded lungs.", "Emphysema", 0),
    ("Emphysema.", "Emphysema", 1),
    ("COPD.", "Emphysema", 0),
    ("Pulmonary vascular congestion.", "Edema", 0),
    ("Soft tissue edema of the chest wall.", "Edema", 0),
    ("Interstitial edema.", "Edema", 1),
    ("Calcified pleural plaques.", "Pleural_Thickening", 0),
    ("Bilateral apical thickening.", "Pleural_Thickening", 1),
    ("Small left pleural effusion with associated thickening.", "Pleural_Thickening", 1),  # anchored head
    ("No pleural effusion or thickening.", "Pleural_Thickening", 0),
    ("Mild thickening of the right pleura.", "Pleural_Thickening", 1),  # the pleura after the head
    ("Thickening along the left pleural surface.", "Pleural_Thickening", 1),
    ("No thickening of the pleura.", "Pleural_Thickening", 0),
    ("Pleural effusion. Wall thickening of the gallbladder.", "Pleural_Thickening", 0),  # anchor in another sentence
    ("Small right hydropneumothorax.", "Effusion", 1),
    ("Small right hydropneumothorax.", "Pneumothorax", 1),
    ("Small right pleural air collection.", "Pneumothorax", 1),
    ("Nodular prominence in the right hilum.", "Nodule", 1),
    ("Findings consistent with pneumonitis.", "Pneumonia", 1),
    ("The heart size is enlarged.", "Cardiomegaly", 1),
    ("The heart is borderline in size.", "Cardiomegaly", 1),
    ("Borderline cardiomegaly.", "Cardiomegaly", 1),
    ("The heart is large.", "Cardiomegaly", 1),
    ("The heart size remains mildly large.", "Cardiomegaly", 1),
    ("The heart is not large.", "Cardiomegaly", 0),
    ("Lungs: No infiltrate. Heart: Enlarged.", "Cardiomegaly", 1),
    ("Heart: Mildly enlarged.", "Cardiomegaly", 1),
    ("Heart: not enlarged.", "Cardiomegaly", 0),
    ("Heart: normal size. Lungs: clear.", "Cardiomegaly", 0),
    ("No increase in heart size.", "Cardiomegaly", 0),
    ("Heart size is unchanged, mildly enlarged.", "Cardiomegaly", 1),  # the predicate after a change word
    ("The heart remains stable and enlarged.", "Cardiomegaly", 1),
    ("Heart size is unchanged.", "Cardiomegaly", 0),
    ("Heart size is at the upper limits of normal to mildly enlarged.", "Cardiomegaly", 1),  # borderline: probable
    ("Heart size is at the upper limits of normal.", "Cardiomegaly", 0),
    ("Small hiatal hernia.", "Hernia", 1),
    ("Micronodules in both lungs.", "Nodule", 1),  # NegBio's "nodule" substring
    ("No pulmonary micronodules.", "Nodule", 0),
    ("Fluid in the minor fissure.", "Effusion", 1),  # an interlobar effusion
    ("Small amount of fluid tracking into the right major fissure.", "Effusion", 1),
    ("Fissural fluid on the right.", "Effusion", 1),
    ("No fluid in the fissures.", "Effusion", 0),
    # exclude_phrase rows: NegBio's No Finding / not-in-cxr14 words filed under one of the 14 nodes by the ontology
    ("Volume loss in the left lower lobe.", "Atelectasis", 0),
    ("Left lower lobe atelectasis with volume loss.", "Atelectasis", 1),
    ("Aspiration.", "Pneumonia", 0),
    ("Aspiration pneumonia.", "Pneumonia", 1),
    ("Apical bullae.", "Emphysema", 0),
    ("Bullous emphysema.", "Emphysema", 1),
    ("Pleural scarring at the left base.", "Pleural_Thickening", 0),
    ("Blunting of the left costophrenic angle.", "Effusion", 0),  # an uncertain effusion (context rule "inside")
    ("Small left effusion with blunting of the costophrenic angle.", "Effusion", 1),
    # Edema: NegBio's ChestX-ray14 CUI list (edema, pulmonary edema) has no heart-failure, hypervolemia or Kerley-line
    # concept; an edema word still counts beside them
    ("Mild congestive heart failure.", "Edema", 0),
    ("Findings consistent with CHF.", "Edema", 0),
    ("Fluid overload.", "Edema", 0),
    ("Kerley B lines.", "Edema", 0),
    ("Septal lines at the bases.", "Edema", 0),
    ("CHF with mild interstitial edema.", "Edema", 1),
    ("Congestive heart failure with pulmonary edema.", "Edema", 1),
    ("No CHF. Mild pulmonary edema.", "Edema", 1),
    # "collapse" is the lung's (NegBio's Atelectasis phrase), not a vertebra's or an airway's
    ("Left lower lobe collapse.", "Atelectasis", 1),
    ("Vertebral body collapse.", "Atelectasis", 0),
    ("Mild wedge collapse of T8.", "Atelectasis", 0),
    ("Collapse of the vertebral body at L1.", "Atelectasis", 0),
    ("Left lower lobe collapse. Mild wedge collapse of T8.", "Atelectasis", 1),
    ("Right lower lobe opacity, likely infection.", "Pneumonia", 1),  # anchored head
    ("Urothelial thickening associated with infection.", "Pneumonia", 0),
    ("Mass effect on the trachea.", "Mass", 0),  # unmention
    ("Right hilar mass with mass effect.", "Mass", 1),
]


@pytest.mark.parametrize(("text", "label", "value"), CASES)
def test_chestxray14_definition(extractor: ReportFindingExtractor, text: str, label: str, value: int) -> None:
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")[label] == value


def test_exclude_phrase_rows_only_hide_their_phrase(extractor: ReportFindingExtractor) -> None:
    definition = label_definition("chestxray14")
    assert definition is not None and "volume loss" in definition["Atelectasis"].exclude_phrases
    mentions = extractor.extract("Volume loss.")
    assert derive_labels(mentions, extractor.onto, "chestxray14")["Atelectasis"] == 0
    assert derive_labels(mentions, extractor.onto, "chestxray14_broad")["Atelectasis"] == 1


def test_broader_sets_keep_the_ontology_mapping(extractor: ReportFindingExtractor) -> None:
    assert label_definition("chexpert") is None
    c = derive_labels(extractor.extract("Pulmonary vascular congestion."), extractor.onto, "chexpert")
    assert c["Edema"] == 1  # CheXpert's mention list counts vascular congestion as Edema


def test_definition_codes_exist_and_cover_every_label(extractor: ReportFindingExtractor) -> None:
    definition = label_definition("chestxray14")
    assert definition is not None
    names = [n for n, _ in extractor.onto.label_set("chestxray14")]
    assert sorted(definition) == sorted(names)
    assert all(c in extractor.onto for d in definition.values() for c in d.include | d.exclude)


BROADER = [
    # (report text, label): 0 under chestxray14's NegBio definition, 1 under the ontology-level chestxray14_broad
    ("Pulmonary vascular congestion.", "Edema"),
    ("COPD.", "Emphysema"),
    ("Calcified granuloma in the right upper lobe.", "Nodule"),
    ("Scarring in the left apex.", "Fibrosis"),
    ("Calcified pleural plaques.", "Pleural_Thickening"),
    ("Mild congestive heart failure.", "Edema"),
    ("Findings consistent with CHF.", "Edema"),
    ("Kerley B lines.", "Edema"),
    ("Fluid overload.", "Edema"),
]


@pytest.mark.parametrize(("text", "label"), BROADER)
def test_broader_mapping_is_its_own_label_set(extractor: ReportFindingExtractor, text: str, label: str) -> None:
    mentions = extractor.extract(text)
    assert derive_labels(mentions, extractor.onto, "chestxray14")[label] == 0
    assert derive_labels(mentions, extractor.onto, "chestxray14_broad")[label] == 1


def test_broad_set_has_chestxray14_columns(extractor: ReportFindingExtractor) -> None:
    assert extractor.onto.label_set("chestxray14_broad") == extractor.onto.label_set("chestxray14")
    assert label_definition("chestxray14_broad") is None  # entailment, not a definition file
