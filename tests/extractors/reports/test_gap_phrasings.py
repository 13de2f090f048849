"""Issue 15 gap classes, one case per form of the rows added to data/phrases.tsv and data/label_sets/chestxray14.tsv:
fluid in a costophrenic angle and a meniscus of fluid (the CheXpert labeler's Pleural Effusion phrase "pleural
fluid"), "nodular" before a lesion head (NegBio's Nodule phrases "nodular density/opacity/opacification"), a heart
size at the top or upper limits of normal (the labeler's negation patterns "XXX at the upper limits of normal",
"normal XXX"), NegBio's ChestX-ray14 CUI list concepts (pericardial effusion, subcutaneous emphysema, pleural fibrosis),
and the context_rules.tsv / purpose_links.tsv rows and segment bounds added for CheXpert labeler pattern classes.
Project-written unit cases: they test the rules, they are not evidence of accuracy on real reports."""

from __future__ import annotations

import pytest

from extractors.reports.extractor import ReportFindingExtractor
from extractors.reports.labels import derive_labels
from tests.extractors.reports.test_laterality_export import jsonl_sides

COSTOPHRENIC_FLUID = [
    # (text, {label: laterality} of the chestxray14 JSONL)
    ("Fluid in the left costophrenic angle.", {"Effusion": "left"}),
    ("Fluid in the costophrenic angles.", {"Effusion": "bilateral"}),
    ("Small amount of fluid in both costophrenic angles.", {"Effusion": "bilateral"}),
    ("Fluid at the right costophrenic sulcus.", {"Effusion": "right"}),
    ("Fluid collection within the left costophrenic recess.", {"Effusion": "left"}),
    ("Fluid layering in the right CP angle.", {"Effusion": "right"}),
    ("Fluid filling the right costodiaphragmatic recess.", {"Effusion": "right"}),
    ("Left costophrenic angle fluid.", {"Effusion": "left"}),
    ("No fluid in the costophrenic angles.", {}),
    ("Possible fluid in the left costophrenic angle.", {}),  # uncertain: not counted by --uncertain probable
    ("Small meniscus of fluid at the left base.", {"Effusion": "left"}),
    ("Fluid meniscus in the right costophrenic angle.", {"Effusion": "right"}),
    ("Meniscus of pleural fluid on the right.", {"Effusion": "right"}),
    ("No pleural effusion, no meniscus of fluid.", {}),
]


@pytest.mark.parametrize(("text", "want"), COSTOPHRENIC_FLUID)
def test_costophrenic_fluid_and_meniscus(extractor: ReportFindingExtractor, text: str, want: dict[str, str]) -> None:
    got = jsonl_sides(extractor, text)
    got.pop("normal", None)
    assert got == want


NODULAR_HEADS = [
    ("Nodular focus in the right upper lobe.", {"Nodule": "right"}),
    ("Nodular foci in both lungs.", {"Nodule": "bilateral"}),
    ("Nodular lesion in the left lung.", {"Nodule": "left"}),
    ("Nodular lesions in the right lower lobe.", {"Nodule": "right"}),
    ("Nodular shadow at the left base.", {"Nodule": "left"}),
    ("Nodular shadows in the right lung.", {"Nodule": "right"}),
    ("No nodular focus.", {}),
    ("Calcified nodular focus in the right upper lobe.", {}),  # NegBio's Nodule exclude "calcified nodul"
    ("Nodular shadow at the left base, likely nipple shadow.", {}),  # a named mimic hedges it
]


@pytest.mark.parametrize(("text", "want"), NODULAR_HEADS)
def test_nodular_lesion_heads(extractor: ReportFindingExtractor, text: str, want: dict[str, str]) -> None:
    got = jsonl_sides(extractor, text)
    got.pop("normal", None)
    assert got == want


CARDIAC_NORMAL_LIMITS = [
    # a heart at the top/upper limits of normal is normal (CheXpert negation "XXX at the upper limits of normal",
    # "normal XXX"), one case per wording; "borderline" and a range reaching enlarged stay the hedged positive
    ("The heart is top normal in size.", {}),
    ("Cardiac silhouette is top-normal in size.", {}),
    ("Heart size is top normal.", {}),
    ("Top normal heart size.", {}),
    ("The heart is upper normal in size.", {}),
    ("The heart is high normal in size.", {}),
    ("Heart size is at the upper limits of normal.", {}),
    ("Heart size is at the upper limit of normal, unchanged.", {}),
    ("Heart size upper limits of normal.", {}),
    ("The heart is borderline in size.", {"Cardiomegaly": "none"}),
    ("Borderline heart size.", {"Cardiomegaly": "none"}),
    ("Heart size is top normal to mildly enlarged.", {"Cardiomegaly": "none"}),
    ("Heart size is at the upper limits of normal to mildly enlarged.", {"Cardiomegaly": "none"}),
    # degree ranges and floors of the enlarged predicate; 'enlarged' before a size subject
    ("The heart is moderately to markedly enlarged.", {"Cardiomegaly": "none"}),
    ("The heart is at least mildly enlarged.", {"Cardiomegaly": "none"}),
    ("Heart size is mildly to moderately increased.", {"Cardiomegaly": "none"}),
    ("Enlarged cardiac size.", {"Cardiomegaly": "none"}),
    ("The heart is not moderately to markedly enlarged.", {}),
]


@pytest.mark.parametrize(("text", "want"), CARDIAC_NORMAL_LIMITS)
def test_heart_at_the_upper_limits_of_normal(extractor: ReportFindingExtractor, text: str,
                                             want: dict[str, str]) -> None:
    got = jsonl_sides(extractor, text)
    got.pop("normal", None)
    assert got == want


CUI_LIST_CONCEPTS = [
    # (text, label): 1 under chestxray14 (NegBio's ChestX-ray14 CUI list: C0031039 Pericardial effusion among its
    # Effusion concepts, C0038536 Subcutaneous Emphysema among its Emphysema concepts), 0 under the ontology-level
    # chestxray14_broad (neither is a pleural effusion or a pulmonary emphysema there)
    ("Small pericardial effusion.", "Effusion"),
    ("Subcutaneous emphysema in the left chest wall.", "Emphysema"),
    ("Subcutaneous air in the neck.", "Emphysema"),
]


@pytest.mark.parametrize(("text", "label"), CUI_LIST_CONCEPTS)
def test_negbio_cui_list_concepts(extractor: ReportFindingExtractor, text: str, label: str) -> None:
    mentions = extractor.extract(text)
    assert derive_labels(mentions, extractor.onto, "chestxray14")[label] == 1
    assert derive_labels(mentions, extractor.onto, "chestxray14_broad")[label] == 0


@pytest.mark.parametrize(("text", "label"), [("Mediastinal emphysema.", "Emphysema"),
                                           ("Pneumomediastinum.", "Emphysema"),
                                           ("No pericardial effusion.", "Effusion")])
def test_outside_the_cui_list(extractor: ReportFindingExtractor, text: str, label: str) -> None:
    """A mediastinal emphysema (C0025062) is not in the list; a negated pericardial effusion is no Effusion."""
    assert derive_labels(extractor.extract(text), extractor.onto, "chestxray14")[label] == 0


PLEURAL_FIBROSIS = [
    # (text, {label: laterality}): C0264545 (pleural fibrosis) is the list's Pleural_Thickening concept, not Fibrosis
    ("Pleural fibrosis.", {"Pleural_Thickening": "none"}),
    ("Left apical pleural fibrosis.", {"Pleural_Thickening": "left"}),
    ("Fibrosis of the pleura at the left base.", {"Pleural_Thickening": "left"}),
    ("No pleural fibrosis.", {}),
    ("Pulmonary fibrosis.", {"Fibrosis": "none"}),
]


@pytest.mark.parametrize(("text", "want"), PLEURAL_FIBROSIS)
def test_pleural_fibrosis_is_pleural_thickening(extractor: ReportFindingExtractor, text: str,
                                                want: dict[str, str]) -> None:
    got = jsonl_sides(extractor, text)
    got.pop("normal", None)
    assert got == want


CONTEXT_CLASSES = [
    # (text, chestxray14 positives under --uncertain probable): one case per context_rules.tsv row added for a
    # CheXpert labeler pattern class, and controls
    ("Pneumonia suspected.", set()),  # post_negation_uncertainty 'XXX suspected' (no copula)
    ("Left lower lobe pneumonia suspected clinically.", set()),
    ("Pneumonia suspected, small effusion.", {"Effusion"}),  # the hedge reaches back within its clause only
    ("Small left effusion and suspected pneumonia.", {"Effusion"}),  # before its target it reaches forward
    ("Effusion with interval resolution.", set()),  # negation 'XXX with interval resolution'
    ("Left effusion with complete resolution, no pneumothorax.", set()),
    ("Pneumonia with interval resolution of the effusion.", {"Pneumonia"}),  # 'resolution of' stays forward
    ("No further enlargement of the effusion.", {"Effusion"}),  # a change that did not go further
    ("No further increase in the left effusion.", {"Effusion"}),
    ("No interval growth of the right upper lobe nodule.", {"Nodule"}),
    ("No further enlargement of the heart.", {"Cardiomegaly"}),
    ("No enlargement of the heart.", set()),  # no change word: the negation stands
    ("No further effusion.", set()),
    # NegEx's post-negation 'unlikely' read forward through its verb, and 'not favored'; 'A more likely than B'
    ("Unlikely to represent pneumonia.", set()),
    ("Opacity at the left base, unlikely to be pneumonia.", set()),
    ("Pneumonia is not favored.", set()),
    ("Pneumonia is favored.", {"Pneumonia"}),
    ("Atelectasis is more likely than pneumonia.", {"Atelectasis"}),
    ("Findings are more likely due to atelectasis.", {"Atelectasis"}),
    # purpose_links.tsv: the finding a negated list "would suggest" is in its negation (CheXpert 'no NN to suggest XXX')
    ("No pleural effusion, pneumothorax, or focal airspace opacity to suggest pneumonia.", set()),
    ("No effusion or focal consolidation to explain the symptoms. Pneumonia.", {"Pneumonia"}),
    ("No effusion or focal opacity to diagnose pneumonia.", set()),
    ("Left lower lobe opacity to suggest pneumonia.", {"Pneumonia"}),  # no negation: the probable hedge
    # the labeler's 'possib' and 'question' stems as nouns/predicates
    ("This raises the possibility of pneumonia.", set()),
    ("Possibility of a small left effusion.", set()),
    ("Effusion is questioned.", set()),
    # a vessel is a mimic of a nodule, as a vessel on end already was; a hedge word links the mimic too
    ("Nodule versus vessel.", set()),
    ("Small nodule, possibly a vessel.", set()),
    ("Nodular density, perhaps nipple shadow.", set()),
    ("Small nodule, possibly a granuloma.", {"Nodule"}),  # a granuloma is no mimic
    ("Right hilar vessels are prominent. Left upper lobe nodule.", {"Nodule"}),
    ("Nipple shadow versus nodule.", set()),  # the mimic named first
    ("Skin fold or pneumothorax at the right apex.", set()),
    ("Left nipple shadow versus nodule, small right effusion.", {"Effusion"}),
    ("Calcified granuloma versus nodule.", {"Nodule"}),  # a granuloma is no mimic: the probable differential
    # a punctuation dash ends a scope and a phrase segment; a single hyphen does not
    ("No pneumothorax -- small left effusion.", {"Effusion"}),
    ("No pneumothorax \u2014 small left effusion.", {"Effusion"}),
    ("No pneumothorax \u2013 small left effusion.", {"Effusion"}),
    ("No right - sided effusion.", set()),
    # a visibility post-negation, one class for every visibility word
    ("Pneumothorax is no longer visible.", set()),
    ("The effusion is no longer apparent.", set()),
    ("Pneumothorax is not visible.", set()),
    ("Not visible is the pneumothorax.", set()),
    ("The nodule is no longer visible, small left effusion.", {"Effusion"}),
]


@pytest.mark.parametrize(("text", "want"), CONTEXT_CLASSES)
def test_context_pattern_classes(extractor: ReportFindingExtractor, text: str, want: set[str]) -> None:
    got = set(jsonl_sides(extractor, text)) - {"normal"}
    assert got == want


LINKED_SIDE_STRETCHES = [
    # (text, {label: laterality}): an interpretive link (interpretive_links.tsv) ends a side stretch joined by "and",
    # so both sides of the description reach the finding it is read as
    ("Opacities in the right upper and left lower lobes consistent with pneumonia.", {"Pneumonia": "bilateral"}),
    ("Opacities in the right and left lower lobes consistent with pneumonia.", {"Pneumonia": "bilateral"}),
    ("Opacities at the right base and left base suggestive of atelectasis.", {"Atelectasis": "bilateral"}),
    ("Atelectasis in the right and left lower lobes.", {"Atelectasis": "bilateral"}),  # no link: unchanged
    ("Right effusion and left basilar opacity consistent with atelectasis.", {"Effusion": "right",
                                                                             "Atelectasis": "left"}),
]


@pytest.mark.parametrize(("text", "want"), LINKED_SIDE_STRETCHES)
def test_link_ends_a_side_stretch(extractor: ReportFindingExtractor, text: str, want: dict[str, str]) -> None:
    got = jsonl_sides(extractor, text)
    got.pop("normal", None)
    assert got == want


SUBSTRING_FORMS = [
    # (text, {label: laterality}): words the public lists' substring stems cover (one case per new phrases.tsv row)
    ("Collapsed right lung.", {"Atelectasis": "right"}),  # the labeler's Atelectasis 'collapse'
    ("The left lung is completely collapsed.", {"Atelectasis": "left"}),
    ("Small right hemopneumothorax.", {"Pneumothorax": "right"}),  # 'pneumothorax' inside it
    ("No hemopneumothorax.", {}),
    ("Masslike consolidation in the right upper lobe.", {"Mass": "right", "Consolidation": "right"}),  # 'mass'
    ("Massive left effusion.", {"Effusion": "left"}),  # NegBio's Mass exclude 'massive'
    ("Bibasilar microatelectasis.", {"Atelectasis": "bilateral"}),  # 'atelecta'
    ("Consolidating pneumonia in the left lower lobe.", {"Consolidation": "left", "Pneumonia": "left"}),  # 'consolidat'
    ("No consolidating process.", {}),
    ("Right pleuropneumonia.", {"Pneumonia": "right"}),  # 'pneumonia'
    ("Micronodular opacities in the left lung.", {"Nodule": "left"}),  # NegBio's 'nodular opacities'
]


@pytest.mark.parametrize(("text", "want"), SUBSTRING_FORMS)
def test_substring_stem_forms(extractor: ReportFindingExtractor, text: str, want: dict[str, str]) -> None:
    got = jsonl_sides(extractor, text)
    got.pop("normal", None)
    assert got == want


@pytest.mark.parametrize("dash", ["--", "\u2014", "\u2013"])
def test_dash_ends_a_side_segment(extractor: ReportFindingExtractor, dash: str) -> None:
    """As a semicolon: the side after the dash is the next finding's, not the one before it."""
    got = jsonl_sides(extractor, f"Small effusion {dash} left lower lobe atelectasis.")
    assert got == jsonl_sides(extractor, "Small effusion; left lower lobe atelectasis.")
    assert got == {"Effusion": "none", "Atelectasis": "left"}


BLUNTED_BOTH = [
    # (text, certainty, laterality of the pleural effusion mention): 'both'/'bilateral' as the side of the
    # blunted angles (data/phrases.tsv, the CheXpert labeler's "blunt costophrenic angle" uncertainty class)
    ("Blunting of both costophrenic angles.", "uncertain", "bilateral"),
    ("Mild blunting of both CP angles.", "uncertain", "bilateral"),
    ("Blunted bilateral costophrenic angles.", "uncertain", "bilateral"),
    ("No blunting of both costophrenic angles.", "absent", "bilateral"),
    ("Blunting of the left costophrenic angle.", "uncertain", "left"),
]


@pytest.mark.parametrize(("text", "certainty", "side"), BLUNTED_BOTH)
def test_blunting_of_both_angles(extractor: ReportFindingExtractor, text: str, certainty: str, side: str) -> None:
    got = [(m.certainty, m.laterality) for m in extractor.extract(text) if m.code == "pleural_effusion"]
    assert got == [(certainty, side)]


HEMIDIAPHRAGM_WITH = [
    # (text, {label: side}): the noun after the part ('left hemidiaphragm elevation', data/phrases.tsv) is the same
    # elevated hemidiaphragm as 'elevated left hemidiaphragm', so the atelectasis it is 'with' takes its side
    ("Left hemidiaphragm elevation with atelectasis.", {"Atelectasis": "left"}),
    ("Mild right hemidiaphragmatic elevation with adjacent atelectasis.", {"Atelectasis": "right"}),
    ("Elevated right hemidiaphragm with adjacent atelectasis.", {"Atelectasis": "right"}),
    # controls: a finding's own side wins; an absent finding after 'with' is no positive label
    ("Left hemidiaphragm elevation with right atelectasis.", {"Atelectasis": "right"}),
    ("Right effusion with no pneumothorax.", {"Effusion": "right"}),
    ("Left effusion with right atelectasis.", {"Effusion": "left", "Atelectasis": "right"}),
]


@pytest.mark.parametrize(("text", "want"), HEMIDIAPHRAGM_WITH)
def test_hemidiaphragm_elevation_with(extractor: ReportFindingExtractor, text: str, want: dict) -> None:
    assert jsonl_sides(extractor, text) == want


@pytest.mark.parametrize(("text", "side"), [("Left hemidiaphragm elevation.", "left"),
                                            ("Right diaphragmatic elevation.", "right"),
                                            ("No left hemidiaphragm elevation.", "left")])
def test_hemidiaphragm_elevation_phrase(extractor: ReportFindingExtractor, text: str, side: str) -> None:
    got = [m.laterality for m in extractor.extract(text) if m.code == "elevated_hemidiaphragm"]
    assert got == [side]
