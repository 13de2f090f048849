from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.writers.shard import completed_shards, write_shard
from schemas.tables import IMAGE_SCHEMA, REGION_SCHEMA, empty_row


def sample(key: str, status: str = "ok") -> dict[str, Any]:
    image = empty_row(IMAGE_SCHEMA) | {"image_id": f"img{key}", "source": "sources.x", "source_key": key,
                                        "height": 2, "width": 2}
    region = empty_row(REGION_SCHEMA) | {"region_id": f"r{key}", "image_id": f"img{key}", "source": "sources.x",
                                          "origin": "dataset_gt", "box_x": 0.0, "box_y": 0.0, "box_w": 1.0,
                                          "box_h": 1.0}
    item = {"source": "sources.x", "key": key, "input_ref": f"{key}.png",
            "annotations": [{"ref": f"boxes.csv:{key}", "label": "Mass"}], "labels": [], "report": None,
            "errors": [{"unit": "annotation", "ref": "boxes.csv:99", "kind": "malformed_row", "message": "bad"}]}
    return {"sample_key": key, "shard": "train-000000", "status": status, "item": json.dumps(item),
            "image_png": b"PNG" + key.encode() if status == "ok" else None, "image": image,
            "reports": [], "findings": [], "regions": [region] if status == "ok" else [], "groundings": [],
            "quarantine": [] if status == "ok" else [{"source": "sources.x", "unit": "image", "input_ref": key,
                                                      "stage": "ingest.decode", "error_kind": "unreadable",
                                                      "message": "truncated", "image_id": None}]}


def test_shard_files_marker_and_accounting(tmp_path: Path) -> None:
    stats = write_shard(tmp_path, "train-000000", [sample("b"), sample("a"), sample("c", "quarantined")])
    assert stats["written"] == 2 and stats["quarantined"] == 1
    images = pq.read_table(tmp_path / "tables/images/part-train-000000.parquet")
    assert images.schema.equals(IMAGE_SCHEMA, check_metadata=False)
    assert images.column("source_key").to_pylist() == ["a", "b"]  # sorted by key
    q = pq.read_table(tmp_path / "tables/quarantine/part-train-000000.parquet").to_pylist()
    # 3 source-level box-row errors, the image, and its one annotation cascaded
    assert sorted(r["error_kind"] for r in q) == ["malformed_row"] * 3 + ["parent_quarantined", "unreadable"]
    with tarfile.open(tmp_path / "shards/train-000000.tar") as tar:
        names = tar.getnames()
        assert names == ["imga.png", "imga.json", "imgb.png", "imgb.json"]
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())
    assert completed_shards(tmp_path) == {"train-000000"}


def test_same_rows_same_bytes_and_truncated_file_not_complete(tmp_path: Path) -> None:
    write_shard(tmp_path / "1", "train-000000", [sample("a"), sample("b")])
    write_shard(tmp_path / "2", "train-000000", [sample("b"), sample("a")])
    for rel in ("shards/train-000000.tar", "tables/regions/part-train-000000.parquet"):
        assert (tmp_path / "1" / rel).read_bytes() == (tmp_path / "2" / rel).read_bytes()
    tar = tmp_path / "1/shards/train-000000.tar"
    tar.write_bytes(tar.read_bytes()[:100])
    assert completed_shards(tmp_path / "1") == set()
    assert not list((tmp_path / "1").rglob(".*tmp*"))


def test_region_rows_keep_schema(tmp_path: Path) -> None:
    write_shard(tmp_path, "val-000000", [sample("a")])
    regions = pq.read_table(tmp_path / "tables/regions/part-val-000000.parquet")
    assert regions.schema.equals(REGION_SCHEMA, check_metadata=False) and regions.num_rows == 1
