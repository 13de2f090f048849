from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipelines.writers.shard import completed_shards, sample_json, tar_bytes, write_shard
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


def tarfile_bytes(ok: list[dict[str, Any]]) -> bytes:
    """The tar as the `tarfile` module writes it (what the writer did before streaming its pieces)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for s in ok:
            for ext, data in (("png", s["image_png"]), ("json", sample_json(s))):
                info = tarfile.TarInfo(f"{s['image']['image_id']}.{ext}")
                info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
                    len(data), 0, 0o644, 0, 0, "", "")
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("png_sizes", [[3], [512, 1024], [511, 513, 10240 - 1024], [20_000, 7, 10_240]])
def test_streamed_tar_is_what_tarfile_writes_and_its_hash_is_recorded(tmp_path: Path, png_sizes: list[int]) -> None:
    ok = []
    for i, n in enumerate(png_sizes):  # member sizes on, under and over the 512-byte block and 10240 record
        s = sample(f"k{i}")
        s["image_png"] = bytes(range(256)) * (n // 256) + bytes(n % 256)
        ok.append(s)
    expected = tarfile_bytes(sorted(ok, key=lambda r: r["sample_key"]))
    assert tar_bytes(sorted(ok, key=lambda r: r["sample_key"])) == expected
    stats = write_shard(tmp_path, "train-000000", ok)
    tar = tmp_path / "shards/train-000000.tar"
    assert tar.read_bytes() == expected
    meta = stats["files"]["shards/train-000000.tar"]
    assert meta == {"sha256": hashlib.sha256(expected).hexdigest(), "bytes": len(expected), "rows": len(ok)}
