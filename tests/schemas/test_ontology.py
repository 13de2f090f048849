"""The shipped ontology: API, hierarchy integrity, label maps complete against the real dataset files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from schemas.ontology import ONTOLOGY_VERSION, LabelMatch, Node, load_ontology, normalise

SPINE_CODES = [
    "no_finding",
    "atelectasis",
    "cardiomegaly",
    "pleural_effusion",
    "infiltration",
    "mass",
    "nodule",
    "pneumonia",
    "pneumothorax",
    "consolidation",
    "edema",
    "emphysema",
    "fibrosis",
    "pleural_thickening",
    "hernia",
    "lung_opacity",
    "chest",
    "lung",
    "left_lung",
    "right_lung",
    "heart",
    "mediastinum",
    "pleura",
]
SOURCES = [
    "nih_cxr14",
    "tcia",
    "rsna_pneumonia",
    "vindr_cxr",
    "siim_acr",
    "ms_cxr",
    "chexlocalize",
    "mimic_cxr_jpg",
    "iu_xray",
    "msd",
    "brats",
    "ct_rate",
    "kvasir_seg",
    "isic",
    "generic_folder",
]


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_version_and_spine_codes(onto) -> None:
    assert onto.version == ONTOLOGY_VERSION == "1.2.0"
    for code in SPINE_CODES:
        assert code in onto, code
    assert isinstance(onto.get("lung"), Node)
    with pytest.raises(KeyError):
        onto.get("no_such_code")


def test_hierarchy_is_a_forest_with_kinds_inherited(onto) -> None:
    for code, node in onto.nodes.items():
        path = onto.path(code)
        assert path[-1] == code and len(path) == len(set(path))
        assert onto.get(path[0]).parent is None
        assert node.kind in ("anatomy", "finding", "device")
        if node.parent is not None:
            assert code in onto.children(node.parent)
        for site in node.sites:
            assert onto.get(site).kind == "anatomy"
    assert onto.path("left_upper_lobe") == ["chest", "respiratory_system", "lung", "left_lung", "left_upper_lobe"]
    assert onto.ancestors("consolidation") == ["lung_opacity"]
    assert onto.is_a("enhancing_tumour", "whole_tumour") and not onto.is_a("lung", "left_lung")
    assert set(onto.descendants("pleural_abnormality")) >= {"pleural_effusion", "pneumothorax", "pleural_thickening"}
    assert onto.get("left_lung").laterality == "left"
    assert onto.get("consolidation").modalities == onto.get("lung_opacity").modalities  # inherited


@pytest.mark.parametrize(
    ("text", "code", "rule"),
    [
        ("effusion", "pleural_effusion", "synonym"),
        ("Pleural Effusions", "pleural_effusion", "synonym"),
        ("PTX", "pneumothorax", "synonym"),
        ("atelectatic", "atelectasis", "synonym"),
        ("cardiac enlargement", "cardiomegaly", "synonym"),
        ("Enlarged cardiac silhouette", "cardiomegaly", "synonym"),
        ("pneumothroax", "pneumothorax", "synonym"),
        ("Pleural_Thickening", "pleural_thickening", "name"),
        ("left lower lobe", "left_lower_lobe", "name"),
        ("small left pleural effusion", "pleural_effusion", "modifier"),
        ("consolidations", "consolidation", "synonym"),
        ("polyps", "polyp", "synonym"),
    ],
)
def test_map_label_by_synonyms(onto, text: str, code: str, rule: str) -> None:
    assert onto.map_label(text) == LabelMatch(code, rule)
    assert onto.lookup(text) == (code if rule != "modifier" else None)


def test_map_label_source_map_first(onto) -> None:
    assert onto.map_label("Effusion", source="sources.nih_cxr14") == LabelMatch(
        "pleural_effusion", "label_map:sources.nih_cxr14"
    )
    assert onto.map_label("Lung Opacity", source="sources.rsna_pneumonia").code == "pneumonia"
    assert onto.map_label("Lung Opacity").code == "lung_opacity"
    assert onto.map_label("Deformity", source="sources.iu_xray") is None
    assert onto.drop_reason("Deformity", "sources.iu_xray")
    assert onto.map_label("Nodule/Mass", source="sources.vindr_cxr").code == "lung_lesion"
    assert onto.map_label("brats:4", source="sources.brats").code == "enhancing_tumour"
    assert onto.map_label("brats2023:3", source="sources.brats").code == "enhancing_tumour"
    assert onto.map_label("qwertyuiop") is None


def test_every_source_has_a_complete_label_map(onto) -> None:
    assert onto.label_maps() == sorted(f"sources.{s}" for s in SOURCES)
    for source in onto.label_maps():
        for label, code in onto.label_map(source).items():
            if code is None:
                assert onto.drop_reason(label, source), (source, label)
            else:
                assert code in onto and onto.map_label(label, source=source).code == code


def test_label_sets(onto) -> None:
    cx14 = onto.label_set("chestxray14")
    assert [label for label, _ in cx14] == [
        "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
        "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
    ]  # fmt: skip
    assert ("Effusion", "pleural_effusion") in cx14
    chexpert = dict(onto.label_set("chexpert"))
    assert len(chexpert) == 14 and chexpert["Support Devices"] == "support_device"
    assert chexpert["Enlarged Cardiomediastinum"] in onto.ancestors("cardiomegaly")


def test_surface_forms_unique_and_normalised(onto) -> None:
    forms = onto.surface_forms()
    assert forms["ptx"] == "pneumothorax" and forms["pleural thickening"] == "pleural_thickening"
    assert all(form == normalise(form) for form in forms)
    assert len(forms) > 900


def test_totalsegmentator_xrefs_sided(onto) -> None:
    assert onto.get("left_kidney").xrefs["totalsegmentator"] == "kidney_left"
    ribs = onto.children("right_ribs")
    assert len([c for c in ribs if onto.get(c).xrefs.get("totalsegmentator", "").startswith("rib_right_")]) == 12


def test_nih_labels_in_real_files_all_map(onto, shared_datasets: Path) -> None:
    layouts = shared_datasets / "layouts"
    labels: set[str] = set()
    with open(layouts / "nih_cxr14_Data_Entry_2017_v2020.head400.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            labels.update(row["Finding Labels"].split("|"))
    with open(layouts / "nih_cxr14_BBox_List_2017.csv", newline="") as fh:
        labels.update(row["Finding Label"] for row in csv.DictReader(fh))
    for label in labels:
        match = onto.map_label(label, source="sources.nih_cxr14")
        assert match is not None and match.rule == "label_map:sources.nih_cxr14", label
    assert onto.map_label("Infiltrate", source="sources.nih_cxr14").code == "infiltration"


def test_vindr_labels_in_real_file_all_map(onto, shared_datasets: Path) -> None:
    layouts = shared_datasets / "layouts"
    with open(layouts / "vindr_cxr_kaggle_train.head300.csv", newline="") as fh:
        labels = {row["class_name"] for row in csv.DictReader(fh)}
    assert len(labels) == 15
    for label in labels:
        assert onto.map_label(label, source="sources.vindr_cxr").rule == "label_map:sources.vindr_cxr"


def test_rsna_classes_are_information_not_losses(onto) -> None:
    """All three RSNA detailed classes map: a normal study is `no_finding`, an abnormal image without
    opacity is its own node (a hard negative for pneumonia), neither dropped nor a named finding."""
    src = "sources.rsna_pneumonia"
    assert onto.map_label("Normal", source=src) == LabelMatch("no_finding", f"label_map:{src}")
    other = onto.map_label("No Lung Opacity / Not Normal", source=src)
    assert other == LabelMatch("abnormal_without_opacity", f"label_map:{src}")
    assert onto.drop_reason("No Lung Opacity / Not Normal", src) is None
    assert onto.path("abnormal_without_opacity") == ["abnormal_without_opacity"]  # not under lung_opacity
    assert onto.get("abnormal_without_opacity").kind == "finding"
    assert "abnormal_without_opacity" not in onto.exclusive  # unlike no_finding it asserts an abnormality
