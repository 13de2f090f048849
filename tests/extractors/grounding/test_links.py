from __future__ import annotations

import pytest

from extractors.grounding.links import link_findings
from extractors.grounding.scene import build_scene
from schemas.ontology import load_ontology
from tests.extractors.grounding.crafted import finding, image, region

# A 100x100 PA film: image right = patient left. Lower zone boxes sit at y 66..81.
PATIENT_LEFT_LOWER = (62.0, 66.0, 20.0, 15.0)
PATIENT_RIGHT_LOWER = (18.0, 66.0, 20.0, 15.0)
PATIENT_LEFT_UPPER = (62.0, 12.0, 20.0, 12.0)


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def run(onto, findings, regions, view="PA", modality="DX", orientation=None):
    scene = build_scene(image(view, modality), regions, orientation)
    return link_findings(onto, scene, findings, regions)


def test_exact_code_match_with_agreeing_laterality_and_location(onto):
    rows = run(onto, [finding("f1", "pleural_effusion", laterality="left", location_codes=["lung_base"])],
               [region("r1", "pleural_effusion", PATIENT_LEFT_LOWER)])
    assert len(rows) == 1
    row = rows[0]
    assert (row["finding_id"], row["region_id"], row["method"]) == ("f1", "r1", "code_match")
    assert row["code_match"] == "exact"
    assert row["laterality_agrees"] is True and row["location_agrees"] is True
    assert row["score"] == 1.0 and row["flags"] == []


def test_hierarchical_matches_descendant_and_ancestor(onto):
    regions = [region("r_cons", "consolidation", PATIENT_LEFT_LOWER),
               region("r_op", "lung_opacity", PATIENT_LEFT_LOWER)]
    rows = run(onto, [finding("f_op", "lung_opacity"), finding("f_pna", "pneumonia")], regions)
    got = {(r["finding_id"], r["region_id"]): r["code_match"] for r in rows}
    assert got == {("f_op", "r_cons"): "descendant", ("f_op", "r_op"): "exact", ("f_pna", "r_op"): "ancestor"}
    scores = {(r["finding_id"], r["region_id"]): r["score"] for r in rows}
    assert scores[("f_op", "r_op")] > scores[("f_op", "r_cons")] > scores[("f_pna", "r_op")]


@pytest.mark.parametrize("certainty", ["absent", "uncertain"])
def test_negated_or_uncertain_finding_does_not_ground(onto, certainty):
    rows = run(onto, [finding("f1", "pneumothorax", certainty=certainty, laterality="left")],
               [region("r1", "pneumothorax", PATIENT_LEFT_UPPER)])
    assert rows == []


def test_no_finding_and_anatomy_regions_are_not_code_matched(onto):
    rows = run(onto, [finding("f1", "no_finding"), finding("f2", "pleural_effusion")],
               [region("r1", "pleura", PATIENT_LEFT_LOWER)])
    assert rows == []


def test_contradicting_laterality_is_flagged_and_scored_down(onto):
    rows = run(onto, [finding("f1", "pleural_effusion", laterality="left")],
               [region("r1", "pleural_effusion", PATIENT_RIGHT_LOWER)])
    assert len(rows) == 1
    assert rows[0]["laterality_agrees"] is False
    assert {"laterality_conflict", "low_confidence"} <= set(rows[0]["flags"])
    assert rows[0]["score"] < 0.5


def test_same_box_same_report_on_ap_agrees_but_on_lateral_is_undetermined(onto):
    f = [finding("f1", "nodule", laterality="left")]
    r = [region("r1", "nodule", PATIENT_LEFT_UPPER)]
    assert run(onto, f, r, view="AP")[0]["laterality_agrees"] is True
    lateral = run(onto, f, r, view="LL")[0]
    assert lateral["laterality_agrees"] is None
    assert lateral["flags"] == ["laterality_undetermined"]
    assert 0.5 < lateral["score"] < 1.0


def test_ct_orientation_decides_the_side(onto):
    f = [finding("f1", "nodule", laterality="left")]
    r = [region("r1", "nodule", PATIENT_LEFT_UPPER)]  # on the image's right
    assert run(onto, f, r, "axial", "CT", "radiological")[0]["laterality_agrees"] is True
    assert run(onto, f, r, "axial", "CT", "neurological")[0]["laterality_agrees"] is False
    assert run(onto, f, r, "axial", "CT", None)[0]["laterality_agrees"] is None
    assert run(onto, f, r, "axial", "CT", "radiological")[0]["location_agrees"] is None  # rows are not zones


def test_bilateral_finding_grounds_two_boxes(onto):
    rows = run(onto, [finding("f1", "pleural_effusion", laterality="bilateral")],
               [region("rl", "pleural_effusion", PATIENT_LEFT_LOWER),
                region("rr", "pleural_effusion", PATIENT_RIGHT_LOWER)])
    assert sorted(r["region_id"] for r in rows) == ["rl", "rr"]
    assert all(r["laterality_agrees"] is True and r["flags"] == [] for r in rows)


def test_bilateral_finding_with_one_sided_boxes_is_flagged(onto):
    rows = run(onto, [finding("f1", "pleural_effusion", laterality="bilateral")],
               [region("rl", "pleural_effusion", PATIENT_LEFT_LOWER)])
    assert rows[0]["flags"] == ["bilateral_one_side"]


def test_one_region_grounds_several_findings_and_location_conflict(onto):
    findings = [finding("f1", "nodule", location_codes=["lower_lung_zone"]), finding("f2", "lesion")]
    rows = run(onto, findings, [region("r1", "nodule", PATIENT_LEFT_UPPER)])
    by_finding = {r["finding_id"]: r for r in rows}
    assert set(by_finding) == {"f1", "f2"}
    assert by_finding["f1"]["location_agrees"] is False and "location_conflict" in by_finding["f1"]["flags"]
    assert by_finding["f2"]["code_match"] == "descendant"


def test_finding_confidence_scales_the_score_and_ids_are_deterministic(onto):
    f = [finding("f1", "nodule", confidence=0.4)]
    r = [region("r1", "nodule", PATIENT_LEFT_UPPER)]
    a, b = run(onto, f, r), run(onto, f, r)
    assert a == b
    assert a[0]["score"] == pytest.approx(0.4)
    assert "low_confidence" in a[0]["flags"]
