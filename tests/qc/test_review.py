from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qc.audits import run_audits
from qc.audits.masks import decode
from qc.card import write_card
from qc.corpus import read_table
from qc.review import export_review, import_review
from qc.review.labelstudio import mask_polygons, polygons_mask
from qc.review.select import select_regions
from schemas.errors import ConfigError

LOW = "r.origin = 'classical' AND r.predicted_iou < 0.7"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def regions_by_id(corpus: Path) -> dict[str, dict]:
    return {r["region_id"]: r for r in read_table(corpus, "regions").to_pylist()}


def test_select_with_sql_filter(corpus: Path) -> None:
    picked = select_regions(corpus, LOW)
    assert [r["region_id"] for r in picked] == ["r00cl", "r01cl", "r02cl"]
    assert picked[0]["height"] == 64 and picked[0]["split"] == "train"
    flagged = select_regions(corpus, "list_contains(r.qc_flags, 'low_iou')")
    assert [r["region_id"] for r in flagged] == ["r00cl"]
    with pytest.raises(ConfigError, match="--select"):
        select_regions(corpus, "no_such_column > 1")


def test_select_can_use_audit_stats(corpus: Path) -> None:
    run_audits(corpus)
    assert [r["region_id"] for r in select_regions(corpus, "m.components = 1 AND r.origin = 'classical'")][:1] == [
        "r00cl"]


def test_coco_round_trip_supersedes_and_card_counts(corpus: Path, tmp_path: Path) -> None:
    export = export_review(corpus, LOW, "coco", tmp_path / "coco")
    path, n = export.path, export.exported
    doc = json.loads(path.read_text())
    assert n == 3 and len(doc["annotations"]) == 3 and len(doc["images"]) == 3
    assert all((tmp_path / "coco" / im["file_name"]).is_file() for im in doc["images"])
    # The annotator erases the left half of the first mask (as CVAT would re-export it).
    from pycocotools import mask as mask_utils
    first = doc["annotations"][0]
    mask = decode(first["segmentation"]["counts"], *first["segmentation"]["size"])
    mask[:, :30] = 0
    rle = mask_utils.encode(np.asfortranarray(mask))
    first["segmentation"] = {"size": list(rle["size"]), "counts": rle["counts"].decode()}
    path.write_text(json.dumps(doc))
    part, rows = import_review(corpus, "coco", path, annotator="rad1")
    assert rows == 3 and part.parent == corpus / "tables/regions"
    regions = regions_by_id(corpus)
    new = [r for r in regions.values() if r["origin"] == "annotator"]
    assert sorted(r["supersedes"] for r in new) == ["r00cl", "r01cl", "r02cl"]
    assert "r00cl" in regions  # superseded, not deleted
    corrected = next(r for r in new if r["supersedes"] == "r00cl")
    assert np.array_equal(decode(corrected["rle_counts"], 64, 64), mask)
    assert corrected["annotator"] == "rad1" and corrected["code"] == "pleural_effusion"
    for r in new:
        if r["supersedes"] != "r00cl":
            original = regions[r["supersedes"]]
            assert r["rle_counts"] == original["rle_counts"]  # unchanged masks survive exactly
    assert select_regions(corpus, LOW) == []  # superseded regions are not offered again
    result = run_audits(corpus)
    assert result.metrics["checksum_mismatches"] == 0  # the new part is in the manifest
    assert result.metrics["annotator_regions"] == 3 and result.metrics["superseded_regions"] == 3
    assert "- annotator regions: 3" in write_card(corpus, result).read_text()


def test_labelstudio_polygon_round_trip(corpus: Path, tmp_path: Path) -> None:
    path = export_review(corpus, LOW, "labelstudio", tmp_path / "ls", ls_shape="polygon").path
    tasks = json.loads(path.read_text())
    assert len(tasks) == 3 and (tmp_path / "ls/labeling_config.xml").read_text().count("<Label ") == 1
    # An annotator accepts the first task unchanged, relabels the second and adds a region to the third.
    tasks[0]["annotations"] = [{"result": tasks[0]["predictions"][0]["result"]}]
    second = json.loads(json.dumps(tasks[1]["predictions"][0]["result"]))
    second[0]["value"]["polygonlabels"] = ["pneumothorax"]
    tasks[1]["annotations"] = [{"result": second}]
    added = {"id": "Xy12ab", "type": "polygonlabels", "original_width": 64, "original_height": 64,
             "value": {"points": [[10, 10], [30, 10], [30, 30], [10, 30]], "polygonlabels": ["nodule"]}}
    tasks[2]["annotations"] = [{"result": [*tasks[2]["predictions"][0]["result"], added]}]
    path.write_text(json.dumps(tasks))
    import_review(corpus, "labelstudio", path, annotator="rad2")
    regions = regions_by_id(corpus)
    new = {r["supersedes"]: r for r in regions.values() if r["origin"] == "annotator"}
    assert set(new) == {"r00cl", "r01cl", "r02cl", None}
    for rid in ("r00cl", "r01cl", "r02cl"):
        before = decode(regions[rid]["rle_counts"], 64, 64)
        assert iou(decode(new[rid]["rle_counts"], 64, 64), before) > 0.9
    assert new["r01cl"]["code"] == "pneumothorax" and new["r01cl"]["code_path"][-1] == "pneumothorax"
    assert new[None]["code"] == "nodule" and new[None]["source"] == "annotator"


def test_polygon_conversion_is_close(corpus: Path) -> None:
    r = regions_by_id(corpus)["r02cl"]
    mask = decode(r["rle_counts"], 64, 64)
    assert iou(polygons_mask(mask_polygons(mask), 64, 64), mask) > 0.9


def test_unknown_format_and_label(corpus: Path, tmp_path: Path, make_corpus: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match="allowed: coco, dicom-seg, labelstudio"):
        export_review(corpus, "TRUE", "nifti", tmp_path)
    path = export_review(corpus, LOW, "coco", tmp_path / "c").path
    doc = json.loads(path.read_text())
    doc["categories"][0]["name"] = "not_a_code"
    path.write_text(json.dumps(doc))
    from schemas.errors import BadInput
    with pytest.raises(BadInput):
        import_review(corpus, "coco", path, annotator="x")
