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
    ("Pleural effusion. Wall thickening of the gallbladder.", "Pleural_Thickening", 0),  # anchor in another sentence
    ("Small right hydropneumothorax.", "Effusion", 1),
    ("Small right hydropneumothorax.", "Pneumothorax", 1),
    ("Small right pleural air collection.", "Pneumothorax", 1),
    ("Nodular prominence in the right hilum.", "Nodule", 1),
    ("Findings consistent with pneumonitis.", "Pneumonia", 1),
    ("The heart size is enlarged.", "Cardiomegaly", 1),
    ("The heart is borderline in size.", "Cardiomegaly", 1),
    ("Borderline cardiomegaly.", "Cardiomegaly", 1),
    ("Small hiatal hernia.", "Hernia", 1),
]


@pytest.mark.parametrize(("text", "label", "value"), CASES)
def test_chestxray14_definition(extractor: ReportFindingExtractor, text: str, label: str, value: int) -> None:
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")[label] == value


def test_broader_sets_keep_the_ontology_mapping(extractor: ReportFindingExtractor) -> None:
    assert label_definition("chexpert") is None
    c = derive_labels(extractor.extract("Pulmonary vascular congestion."), extractor.onto, "chexpert")
    assert c["Edema"] == 1  # CheXpert's mention list counts vascular congestion as Edema


def test_definition_codes_exist_and_cover_every_label(extractor: ReportFindingExtractor) -> None:
    definition = label_definition("chestxray14")
    assert definition is not None
    names = [n for n, _ in extractor.onto.label_set("chestxray14")]
    assert sorted(definition) == sorted(names)
    assert all(c in extractor.onto for inc, exc in definition.values() for c in inc | exc)


BROADER = [
    # (report text, label): 0 under chestxray14's NegBio definition, 1 under the ontology-level chestxray14_broad
    ("Pulmonary vascular congestion.", "Edema"),
    ("COPD.", "Emphysema"),
    ("Calcified granuloma in the right upper lobe.", "Nodule"),
    ("Scarring in the left apex.", "Fibrosis"),
    ("Calcified pleural plaques.", "Pleural_Thickening"),
]


@pytest.mark.parametrize(("text", "label"), BROADER)
def test_broader_mapping_is_its_own_label_set(extractor: ReportFindingExtractor, text: str, label: str) -> None:
    mentions = extractor.extract(text)
    assert derive_labels(mentions, extractor.onto, "chestxray14")[label] == 0
    assert derive_labels(mentions, extractor.onto, "chestxray14_broad")[label] == 1


def test_broad_set_has_chestxray14_columns(extractor: ReportFindingExtractor) -> None:
    assert extractor.onto.label_set("chestxray14_broad") == extractor.onto.label_set("chestxray14")
    assert label_definition("chestxray14_broad") is None  # entailment, not a definition file
