"""End to end on a real local Ray: the demo layouts (NIH + RSNA, broken inputs included) → corpus.

Three runs share one module fixture: A (uninterrupted), B (same inputs, other --out), C (stopped
after its first shard, then re-run to resume). A, B and C must hold identical shard and table bytes.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from pycocotools import mask as mask_utils

from pipelines.config import load_config
from pipelines.run import RunResult, run_pipeline
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import PHI_VALUES, write_rsna_sample

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, ray_session: None) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e")
    nih = write_nih_sample(tmp / "nih_cxr14")
    rsna = write_rsna_sample(tmp / "rsna_pneumonia")
    (tmp / "demo.yaml").write_text(files("pipelines.configs").joinpath("demo.yaml").read_text())
    cfg = load_config(tmp / "demo.yaml")
    a = run_pipeline(cfg, tmp / "A", log=lambda _m: None)
    b = run_pipeline(cfg, tmp / "B", log=lambda _m: None)
    c1 = run_pipeline(cfg, tmp / "C", max_shards=1, log=lambda _m: None)
    c2 = run_pipeline(cfg, tmp / "C", log=lambda _m: None)
    return {"A": a, "B": b, "C1": c1, "C2": c2, "nih": nih, "rsna": rsna}


def table(result: RunResult, name: str) -> list[dict[str, Any]]:
    return pq.read_table(result.out_dir / "tables" / name).to_pylist()


def corpus_bytes(result: RunResult) -> dict[str, bytes]:
    root = result.out_dir
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.parts[-2] != "qc"
            and p.name not in ("README.md",) and "_progress" not in p.parts}


def test_row_counts_and_quarantine_reasons(runs: dict[str, Any]) -> None:
    a: RunResult = runs["A"]
    assert a.complete
    images = table(a, "images")
    nih, rsna = runs["nih"], runs["rsna"]
    assert len(images) == len(nih.images) + len(rsna.patient_ids) - len(rsna.truncated)
    quarantine = table(a, "quarantine")
    kinds = {(q["source"], q["unit"], q["error_kind"]) for q in quarantine}
    assert ("sources.nih_cxr14", "image", "missing_file") in kinds
    assert ("sources.nih_cxr14", "annotation", "out_of_bounds") in kinds
    assert ("sources.rsna_pneumonia", "image", "unreadable") in kinds
    assert all(q["stage"] and q["message"] for q in quarantine)


def test_accounting_balances(runs: dict[str, Any]) -> None:
    from qc.accounting import account

    acc = account(runs["A"].out_dir).to_pylist()
    assert acc, "no accounting rows"
    for row in acc:
        assert row["inputs"] == row["written"] + row["quarantined"], row
    images = {r["source"]: r for r in acc if r["unit"] == "image"}
    assert images["sources.nih_cxr14"]["quarantined"] == 1
    # RSNA's classes 'Normal' and 'No Lung Opacity / Not Normal' are written (coded), not quarantined:
    # the only lost RSNA label is the one of the truncated DICOM
    labels = {r["source"]: r for r in acc if r["unit"] == "label"}
    assert labels["sources.rsna_pneumonia"]["quarantined"] == len(runs["rsna"].truncated)


def test_shards_open_with_webdataset(runs: dict[str, Any]) -> None:
    import webdataset as wds

    a: RunResult = runs["A"]
    n = n_groundings = 0
    for tar in sorted((a.out_dir / "shards").glob("*.tar")):
        for sample in wds.WebDataset(str(tar), shardshuffle=False).decode("l8"):
            doc = sample["json"]
            assert sample["png"].shape[:2] == (doc["image"]["height"], doc["image"]["width"])
            region_ids = {r["region_id"] for r in doc["regions"]}
            assert all(g["region_id"] in region_ids for g in doc["groundings"])
            n_groundings += len(doc["groundings"])
            n += 1
    assert n == len(table(a, "images"))
    assert n_groundings == len(table(a, "groundings")) > 0


def test_masks_decode_and_lie_inside_their_boxes(runs: dict[str, Any]) -> None:
    regions = table(runs["A"], "regions")
    by_id = {r["region_id"]: r for r in regions}
    generated = [r for r in regions if r["origin"] == "classical"]
    assert generated and all(r["prompt_region_id"] in by_id for r in generated)
    for r in generated:
        m = mask_utils.decode({"size": [r["mask_height"], r["mask_width"]], "counts": r["rle_counts"]})
        prompt = by_id[r["prompt_region_id"]]
        ys, xs = np.nonzero(m)
        assert len(xs) > 0
        assert xs.min() >= np.floor(prompt["box_x"]) and xs.max() < np.ceil(prompt["box_x"] + prompt["box_w"])
        assert ys.min() >= np.floor(prompt["box_y"]) and ys.max() < np.ceil(prompt["box_y"] + prompt["box_h"])
        assert r["area"] == int(m.sum())
    assert {r["origin"] for r in regions} >= {"dataset_gt", "classical"}


def test_no_patient_in_two_splits(runs: dict[str, Any]) -> None:
    seen: dict[str, set[str]] = {}
    for row in table(runs["A"], "images"):
        seen.setdefault(row["patient_id"], set()).add(row["split"])
    assert seen and all(len(v) == 1 for v in seen.values())


def test_two_runs_identical_bytes(runs: dict[str, Any]) -> None:
    a, b = corpus_bytes(runs["A"]), corpus_bytes(runs["B"])
    assert a.keys() == b.keys() and a == b


def test_interrupted_then_resumed_equals_uninterrupted(runs: dict[str, Any]) -> None:
    c1: RunResult = runs["C1"]
    c2: RunResult = runs["C2"]
    assert not c1.complete and len(c1.shards_written) == 1
    assert c2.complete and c2.shards_skipped == 1
    assert c1.shards_written[0] not in c2.shards_written
    assert corpus_bytes(runs["A"]) == corpus_bytes(c2)


def test_manifest_checksums_every_file(runs: dict[str, Any]) -> None:
    import hashlib

    a: RunResult = runs["A"]
    manifest = json.loads((a.out_dir / "manifest.json").read_text())
    assert manifest["files"]
    for rel, meta in manifest["files"].items():
        assert hashlib.sha256((a.out_dir / rel).read_bytes()).hexdigest() == meta["sha256"]
    assert manifest["versions"]["schema"] and manifest["versions"]["ontology"]
    assert {s["name"] for s in manifest["sources"]} == {"sources.nih_cxr14", "sources.rsna_pneumonia"}


def test_no_phi_in_any_output_byte(runs: dict[str, Any]) -> None:
    a: RunResult = runs["A"]
    planted = [v.encode() for v in PHI_VALUES.values()] + [b"PHIPLANT"]
    for path in a.out_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in planted:
                assert value not in data, f"{value!r} found in {path}"


def test_finish_writes_a_card_that_says_pixels_are_generated(runs: dict[str, Any]) -> None:
    from pipelines.finish import finish_corpus

    lines: list[str] = []
    assert finish_corpus(runs["B"].out_dir, log=lines.append)
    card = (runs["B"].out_dir / "README.md").read_text()
    assert card.startswith("---\n") and "## About this build" in card and "GENERATED chest phantoms" in card
    assert "inputs = written + quarantined" in "\n".join(lines)
    groundings = table(runs["B"], "groundings")
    assert {g["method"] for g in groundings} >= {"code_match", "template"}
