"""`ontology.normalize` on SAMPLE tables built here (process_batch directly, no Ray)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from pycocotools import mask as mask_utils

from pipelines import registry
from pipelines.stage import RunContext
from pipelines.stages.ontology_normalize import OntologyNormalizeParams, OntologyNormalizeStage
from schemas.tables import FINDING_SCHEMA, IMAGE_SCHEMA, REGION_SCHEMA, SAMPLE_SCHEMA, empty_row


def finding(fid: str, label: str, **kw: object) -> dict:
    rec = empty_row(FINDING_SCHEMA)
    rec.update(finding_id=fid, source="sources.nih_cxr14", label=label, certainty="present")
    rec.update(kw)
    return rec


def region(rid: str, label: str, mask: np.ndarray | None = None, **kw: object) -> dict:
    rec = empty_row(REGION_SCHEMA)
    rec.update(region_id=rid, image_id="img", source="sources.nih_cxr14", label=label, origin="dataset_gt")
    rec.update(kw)
    if mask is not None:
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        rec.update(rle_counts=rle["counts"].decode(), mask_height=mask.shape[0], mask_width=mask.shape[1])
    return rec


def sample(findings: list[dict], regions: list[dict], source: str = "sources.nih_cxr14", modality: str = "DX") -> dict:
    image = empty_row(IMAGE_SCHEMA)
    image.update(image_id="img", source=source, source_key="k", modality=modality, height=32, width=32)
    row = empty_row(SAMPLE_SCHEMA)
    row.update(sample_key="k", shard="train-000000", status="ok", item=json.dumps({"source": source, "key": "k"}),
               image=image, findings=findings, regions=regions)
    return row


def run(rows: list[dict], **params: object) -> list[dict]:
    stage = OntologyNormalizeStage(OntologyNormalizeParams(**params), RunContext(salt="t"))
    return stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)).to_pylist()


def square(y0: int, x0: int, size: int) -> np.ndarray:
    m = np.zeros((32, 32), dtype=bool)
    m[y0 : y0 + size, x0 : x0 + size] = True
    return m


def test_registered() -> None:
    # the module registers itself on import (full discovery is the registry's own test)
    assert registry._STAGES["ontology.normalize"] is OntologyNormalizeStage


def test_labels_get_codes_and_ancestor_paths() -> None:
    rows = run([sample([finding("f1", "Effusion"), finding("f2", "x", code="pneumothorax")],
                       [region("r1", "Infiltrate", box_x=1.0, box_y=1.0, box_w=4.0, box_h=4.0)])])
    out = rows[0]
    assert out["status"] == "ok" and out["quarantine"] == []
    assert [(f["code"], f["code_path"]) for f in out["findings"]] == [
        ("pleural_effusion", ["pleural_abnormality", "pleural_effusion"]),
        ("pneumothorax", ["pleural_abnormality", "pneumothorax"]),
    ]
    assert out["regions"][0]["code_path"] == ["lung_opacity", "infiltration"]


def test_unknown_label_quarantined_by_default_or_flagged() -> None:
    rows = run([sample([finding("f1", "Effusion"), finding("f2", "blorp")], [region("r1", "zzz")])])
    out = rows[0]
    assert [f["finding_id"] for f in out["findings"]] == ["f1"] and out["regions"] == []
    assert [(q["unit"], q["input_ref"], q["error_kind"], q["stage"]) for q in out["quarantine"]] == [
        ("finding", "f2", "unknown_label", "ontology.normalize"),
        ("annotation", "r1", "unknown_label", "ontology.normalize"),
    ]
    out = run([sample([finding("f2", "blorp")], [region("r1", "zzz")])], unknown="flag")[0]
    assert out["quarantine"] == []
    assert out["findings"][0]["code"] is None and out["findings"][0]["flags"] == ["ontology.unknown_label"]
    assert out["regions"][0]["qc_flags"] == ["ontology.unknown_label"]


def test_dropped_label_always_quarantined_with_reason() -> None:
    row = sample([finding("f1", "Deformity", source="sources.iu_xray")], [], source="sources.iu_xray", modality="CR")
    out = run([row], unknown="flag")[0]
    assert out["findings"] == []
    assert "dropped by the sources.iu_xray label map" in out["quarantine"][0]["message"]


def test_rsna_lung_opacity_box_is_pneumonia() -> None:
    row = sample([], [region("r1", "Lung Opacity", source="sources.rsna_pneumonia")], source="sources.rsna_pneumonia")
    assert run([row])[0]["regions"][0]["code"] == "pneumonia"


def test_rules_flag_exclusion_modality_and_containment() -> None:
    lung = region("lung", "lung", square(0, 0, 16))
    inside = region("in", "Nodule", square(2, 2, 4))
    outside = region("out", "Mass", square(20, 20, 8))
    out = run([sample([finding("f1", "No Finding"), finding("f2", "Mass")], [], modality="DX")])[0]
    assert out["findings"][0]["flags"] == ["ontology.excludes:no_finding:mass"]
    assert out["findings"][1]["flags"] == ["ontology.excludes:mass:no_finding"]
    out = run([sample([finding("f1", "Mass")], [lung, inside, outside], modality="DX")])[0]
    assert out["findings"][0]["flags"] == []
    regions = {r["region_id"]: r for r in out["regions"]}
    assert regions["in"]["qc_flags"] == [] and regions["in"]["parent_region_id"] == "lung"
    assert regions["out"]["qc_flags"] == ["ontology.outside_parent:mass:lung:0.000"]
    assert regions["out"]["parent_region_id"] is None
    polyp = run([sample([finding("f1", "polyp")], [], modality="DX")])[0]
    assert polyp["findings"][0]["flags"] == ["ontology.modality:polyp:DX"]


def test_violations_can_quarantine_and_rerun_is_idempotent() -> None:
    rows = [sample([finding("f1", "polyp")], [], modality="DX")]
    out = run(rows, violations="quarantine")[0]
    assert out["findings"] == [] and out["quarantine"][0]["error_kind"] == "rule_violation"
    once = run(rows)
    twice = run(once)
    assert twice[0]["findings"][0]["flags"] == once[0]["findings"][0]["flags"] == ["ontology.modality:polyp:DX"]


def test_quarantined_samples_pass_through() -> None:
    row = sample([finding("f1", "blorp")], [])
    row["status"] = "quarantined"
    assert run([row])[0]["findings"][0]["code"] is None
