"""ground.link / ground.templates run through `process_batch` on SAMPLE tables built from crafted studies."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from extractors.records import short_hash
from pipelines.registry import get_stage
from pipelines.stages.ground_link import GroundLinkParams, GroundLinkStage, GroundTemplatesParams, GroundTemplatesStage
from schemas.tables import SAMPLE_SCHEMA
from tests.extractors.grounding.crafted import disk, finding, image, rect, region

REPORT = "Small left pleural effusion. No pneumothorax. Possible right nodule. Heart size is enlarged."


def sample(key: str, img: dict, regions: list, findings: list, annotations: list | None = None,
           meta: dict | None = None, status: str = "ok") -> dict:
    item = {"source": "sources.test", "key": key, "input_ref": f"{key}.png",
            "annotations": annotations or [], "meta": meta or {}}
    return {"sample_key": key, "shard": "train-000000", "status": status, "item": json.dumps(item),
            "image_png": b"", "image": img, "reports": [], "findings": findings, "regions": regions,
            "groundings": [], "quarantine": []}


def cxr_study() -> dict:
    """A PA film (image right = patient left) with a report, GT boxes, an anatomy mask and auto masks."""
    regions = [
        region("eff", "pleural_effusion", (62.0, 66.0, 20.0, 15.0)),  # patient's left lower zone
        region("ptx", "pneumothorax", (18.0, 12.0, 20.0, 12.0)),
        region("lung_l", "left_lung", mask=rect(55, 10, 92, 85)),
        region("auto_in", None, mask=disk(72, 73, 5), origin="sam_auto"),
        region("auto_out", None, mask=disk(5, 95, 3), origin="sam_auto"),
    ]
    findings = [
        finding("f_eff", "pleural_effusion", laterality="left", location_codes=["lung"],
                sentence="Small left pleural effusion."),
        finding("f_ptx", "pneumothorax", certainty="absent", sentence="No pneumothorax."),
        finding("f_nod", "nodule", certainty="uncertain", laterality="right", sentence="Possible right nodule."),
        finding("f_cm", "cardiomegaly", sentence="Heart size is enlarged."),
    ]
    return sample("cxr", image("PA"), regions, findings)


def mscxr_study() -> dict:
    img = image("AP", "CR", image_id="img_ms")
    ann = {"label": "Pneumonia", "ref": "ms_cxr.csv:7", "box_xywh": [62, 62, 20, 18], "phrase": "Left basilar opacity"}
    rid = short_hash("img_ms", ann["ref"], ann["label"])  # the id ingest gives this annotation
    reg = region(rid, "pneumonia", (62.0, 62.0, 20.0, 18.0), image_id="img_ms")
    reg["qc_flags"] = ["has_dataset_phrase"]
    return sample("ms", img, [reg], [], annotations=[ann])


def ct_study(orientation: str | None) -> dict:
    img = image("axial", "CT", image_id="img_ct")
    reg = region("nod_ct", "nodule", (62.0, 40.0, 10.0, 10.0), image_id="img_ct")  # on the image's right
    return sample("ct", img, [reg], [finding("f_ct", "nodule", laterality="left")],
                  meta={"orientation": orientation} if orientation else {})


def run(stage, rows: list[dict]) -> list[dict]:
    table = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    return stage.process_batch(table).to_pylist()


@pytest.fixture(scope="module")
def linked() -> dict:
    stage = GroundLinkStage(GroundLinkParams())
    out = run(stage, [cxr_study(), mscxr_study(), ct_study("radiological"), ct_study(None)])
    return {f"{s['sample_key']}{i}": s for i, s in enumerate(out)}


def test_stages_are_registered():
    assert get_stage("ground.link") is GroundLinkStage
    assert get_stage("ground.templates") is GroundTemplatesStage


def test_report_findings_ground_by_code_and_negated_do_not(linked):
    s = linked["cxr0"]
    assert s["status"] == "ok"
    code = [g for g in s["groundings"] if g["method"] == "code_match"]
    assert [(g["finding_id"], g["region_id"]) for g in code] == [("f_eff", "eff")]
    assert code[0]["laterality_agrees"] is True and code[0]["flags"] == []


def test_unmatched_positives_and_regions_are_counted_in_flags(linked):
    s = linked["cxr0"]
    flags = {f["finding_id"]: f["flags"] for f in s["findings"]}
    assert flags == {"f_eff": [], "f_ptx": [], "f_nod": [], "f_cm": ["ungrounded"]}  # only positives count
    qc = {r["region_id"]: r["qc_flags"] for r in s["regions"]}
    assert qc["ptx"] == ["ungrounded"] and qc["eff"] == []
    assert qc["lung_l"] == []  # grounded by the sentence naming the left lung
    assert qc["auto_out"] == ["unlabelled"]


def test_auto_mask_inherits_and_sentence_links_to_anatomy(linked):
    s = linked["cxr0"]
    auto = next(r for r in s["regions"] if r["region_id"] == "auto_in")
    assert (auto["code"], auto["parent_region_id"]) == ("pleural_effusion", "eff")
    by_method = {}
    for g in s["groundings"]:
        by_method.setdefault(g["method"], []).append(g)
    assert [(g["region_id"], g["overlap"]) for g in by_method["overlap"]] == [("auto_in", 1.0)]
    assert [(g["region_id"], g["phrase"]) for g in by_method["anatomy"]] == [("lung_l", "Small left pleural effusion.")]


def test_dataset_phrase_passes_through(linked):
    rows = linked["ms1"]["groundings"]
    assert len(rows) == 1
    g = rows[0]
    assert (g["method"], g["phrase"], g["score"]) == ("dataset", "Left basilar opacity", 1.0)
    assert g["laterality_agrees"] is True and g["location_agrees"] is True
    assert linked["ms1"]["regions"][0]["qc_flags"] == ["has_dataset_phrase"]


def test_ct_laterality_uses_the_orientation_hint(linked):
    assert linked["ct2"]["groundings"][0]["laterality_agrees"] is True
    assert linked["ct3"]["groundings"][0]["laterality_agrees"] is None
    assert linked["ct3"]["groundings"][0]["flags"] == ["laterality_undetermined"]


def test_contradicting_laterality_is_flagged_for_review():
    s = ct_study("neurological")
    out = run(GroundLinkStage(), [s])[0]
    g = out["groundings"][0]
    assert g["laterality_agrees"] is False and {"laterality_conflict", "low_confidence"} <= set(g["flags"])
    assert out["regions"][0]["qc_flags"] == ["grounding_review"]


def test_link_is_idempotent_and_leaves_quarantined_samples_alone():
    stage = GroundLinkStage()
    once = run(stage, [cxr_study()])
    assert run(stage, once) == once
    q = cxr_study()
    q["status"] = "quarantined"
    assert run(stage, [q])[0]["groundings"] == []


def test_templates_for_every_labelled_region_deterministic():
    linked_rows = run(GroundLinkStage(), [cxr_study()])
    stage = GroundTemplatesStage(GroundTemplatesParams(variants=3))
    a = run(stage, linked_rows)[0]
    assert run(stage, [a])[0] == a  # re-run replaces, does not duplicate
    assert a == run(GroundTemplatesStage(GroundTemplatesParams(variants=3)), linked_rows)[0]
    templ = [g for g in a["groundings"] if g["method"] == "template"]
    per_region = {}
    for g in templ:
        per_region.setdefault(g["region_id"], []).append(g["phrase"])
    assert sorted(per_region) == ["auto_in", "eff", "lung_l", "ptx"]  # auto_out has no label
    assert per_region["eff"][0] == "pleural effusion in the left lower zone"
    assert all(len(v) >= 2 for v in per_region.values())
    assert len(a["groundings"]) == len(linked_rows[0]["groundings"]) + len(templ)


def test_params_are_validated():
    with pytest.raises(ValueError):
        GroundLinkParams(min_score=2.0)
    with pytest.raises(ValueError):
        GroundTemplatesParams(variants=0)
