"""Content of the shipped ontology beyond the spine codes: implies rules, organ systems, surface forms
the report extractor needs, the full TotalSegmentator v2 class set, labels that no longer need dropping."""

from __future__ import annotations

import pytest

from schemas.ontology import load_ontology

# TotalSegmentator v2 `total` task: its 117 class names.
TOTALSEG_V2 = [
    "spleen", "kidney_right", "kidney_left", "gallbladder", "liver", "stomach", "pancreas",
    "adrenal_gland_right", "adrenal_gland_left", "lung_upper_lobe_left", "lung_lower_lobe_left",
    "lung_upper_lobe_right", "lung_middle_lobe_right", "lung_lower_lobe_right", "esophagus", "trachea",
    "thyroid_gland", "small_bowel", "duodenum", "colon", "urinary_bladder", "prostate", "kidney_cyst_left",
    "kidney_cyst_right", "sacrum", "heart", "aorta", "pulmonary_vein", "brachiocephalic_trunk",
    "subclavian_artery_right", "subclavian_artery_left", "common_carotid_artery_right",
    "common_carotid_artery_left", "brachiocephalic_vein_left", "brachiocephalic_vein_right",
    "atrial_appendage_left", "superior_vena_cava", "inferior_vena_cava", "portal_vein_and_splenic_vein",
    "iliac_artery_left", "iliac_artery_right", "iliac_vena_left", "iliac_vena_right", "humerus_left",
    "humerus_right", "scapula_left", "scapula_right", "clavicula_left", "clavicula_right", "femur_left",
    "femur_right", "hip_left", "hip_right", "spinal_cord", "gluteus_maximus_left", "gluteus_maximus_right",
    "gluteus_medius_left", "gluteus_medius_right", "gluteus_minimus_left", "gluteus_minimus_right",
    "autochthon_left", "autochthon_right", "iliopsoas_left", "iliopsoas_right", "brain", "skull", "sternum",
    "costal_cartilages", "vertebrae_S1",
    *(f"vertebrae_{p}{n}" for p, k in (("C", 7), ("T", 12), ("L", 5)) for n in range(1, k + 1)),
    *(f"rib_{side}_{n}" for side in ("left", "right") for n in range(1, 13)),
]


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_implies_rules(onto) -> None:
    assert onto.get("pulmonary_vascular_congestion").implies == ("edema",)
    assert onto.entails("pulmonary_vascular_congestion", "edema")
    assert onto.entails("pulmonary_vascular_congestion", "lung_opacity")  # edema's own ancestors come along
    assert not onto.entails("edema", "pulmonary_vascular_congestion")  # one way only
    assert onto.entails("hydropneumothorax", "pneumothorax") and onto.entails("hydropneumothorax", "pleural_effusion")
    assert onto.entails("copd", "emphysema") and not onto.is_a("copd", "emphysema")
    assert onto.implied("hydropneumothorax")[:2] == ["pneumothorax", "pleural_abnormality"]
    assert not onto.entails("pleural_effusion", "pneumothorax")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ground glass opacity", "ground_glass_opacity"),
        ("ground-glass opacities", "ground_glass_opacity"),
        ("GGO", "ground_glass_opacity"),
        ("intra aortic balloon pump", "intra_aortic_balloon_pump"),
        ("IABP", "intra_aortic_balloon_pump"),
        ("retrocardiac", "retrocardiac_region"),
        ("left base", "left_lung_base"),
        ("right base", "right_lung_base"),
        ("hemidiaphragm", "hemidiaphragm"),
        ("COPD", "copd"),
        ("chronic obstructive pulmonary disease", "copd"),
        ("tuberculosis", "tuberculosis"),
        ("TB", "tuberculosis"),
        ("degenerative changes", "degenerative_change"),
        ("spondylosis", "spinal_degenerative_change"),
    ],
)
def test_surface_forms(onto, text: str, code: str) -> None:
    assert onto.lookup(text) == code


def test_sided_nodes(onto) -> None:
    assert onto.path("left_lung_base")[-2:] == ["left_lung", "left_lung_base"]  # under the sided lung
    assert "left_lung_base" not in onto.children("lung_base")  # so "lung base" + left stays lung_base
    assert onto.get("left_lung_base").laterality == "left" and onto.get("right_lung_base").laterality == "right"
    assert onto.children("hemidiaphragm") == ["left_hemidiaphragm", "right_hemidiaphragm"]
    assert onto.is_a("left_hemidiaphragm", "diaphragm")
    assert onto.get("retrocardiac_region").kind == "anatomy" and onto.is_a("retrocardiac_region", "lung")


def test_organ_system_level_keeps_regions_and_compartments(onto) -> None:
    assert onto.path("lung") == ["chest", "respiratory_system", "lung"]
    assert onto.is_a("pleura", "respiratory_system")
    assert onto.path("heart") == ["chest", "mediastinum", "thoracic_cardiovascular_system", "heart"]
    assert onto.is_a("aorta", "mediastinum") and onto.is_a("aortic_arch", "thoracic_cardiovascular_system")
    assert onto.path("brain")[:2] == ["head", "central_nervous_system"]
    assert onto.is_a("liver", "hepatobiliary_system") and onto.is_a("left_kidney", "urinary_system")
    assert onto.is_a("inferior_vena_cava", "abdomen")


def test_every_totalsegmentator_v2_class_is_on_exactly_one_node(onto) -> None:
    assert len(TOTALSEG_V2) == len(set(TOTALSEG_V2)) == 117
    for cls in TOTALSEG_V2:
        code = onto.by_xref("totalsegmentator", cls)
        assert code is not None, cls
        if onto.get(code).kind == "finding":  # the one lesion class: kidney cysts, both sides on one node
            assert code == "kidney_cyst", cls
            continue
        for side in ("left", "right"):
            if cls == "atrial_appendage_left":  # a heart chamber's name, not a body side
                continue
            if cls.endswith(f"_{side}") or f"_{side}_" in cls:
                assert onto.get(code).laterality == side, cls
    assert onto.by_xref("totalsegmentator", "vertebrae_T4") == "vertebra_t4"
    assert onto.path("left_rib_5") == ["chest", "bony_thorax", "rib", "left_ribs", "left_rib_5"]
    assert onto.get("left_rib_5").name == "left 5th rib" and onto.lookup("5th left rib") == "left_rib_5"
    assert onto.by_xref("totalsegmentator", "gluteus_medius_right") == "right_gluteus_medius"
    assert onto.by_xref("totalsegmentator", "no_such_class") is None


def test_labels_that_were_dropped_now_map(onto) -> None:
    assert onto.map_label("Tuberculosis", source="sources.vindr_cxr").code == "tuberculosis"
    assert onto.map_label("COPD", source="sources.vindr_cxr").code == "copd"
    assert onto.drop_reason("Tuberculosis", "sources.vindr_cxr") is None
    iu = "sources.iu_xray"
    assert onto.map_label("Spine/degenerative", source=iu).code == "spinal_degenerative_change"
    assert onto.map_label("Thoracic Vertebrae/degenerative", source=iu).code == "spinal_degenerative_change"
    assert onto.map_label("Pulmonary Disease, Chronic Obstructive", source=iu).code == "copd"
