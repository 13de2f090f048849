"""Near-duplicate groups in the plan: exact copies quarantined, near copies grouped into one split,
official splits respected, the scan cache reused; the driver and Ray scans agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import pyarrow.parquet as pq
import pytest

from pipelines.config import parse_config
from pipelines.plan import Plan, build_plan, full_row
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.phantom import chest_phantom, to_uint8

TEST_IMAGE = "00000006_000.png"  # patient 6 is on NIH's official test list
COPIED = "00000001_000.png"


def write_mirror(nih_root: Path, root: Path) -> None:
    """A second dataset that re-ships NIH images: a byte copy, a JPEG re-encode of an official test
    image, a resized copy, and an unrelated image."""
    (root / "images").mkdir(parents=True)
    shutil.copy(nih_root / "images" / COPIED, root / "images" / "copy.png")
    test_img = cv2.imread(str(nih_root / "images" / TEST_IMAGE), cv2.IMREAD_GRAYSCALE)
    _, jpeg = cv2.imencode(".jpg", test_img, [cv2.IMWRITE_JPEG_QUALITY, 85])  # lossy round trip, kept as PNG
    cv2.imwrite(str(root / "images" / "reencoded.png"), cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE))
    other = cv2.imread(str(nih_root / "images" / "00000003_000.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(root / "images" / "resized.png"), cv2.resize(other, (48, 48), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(root / "images" / "unrelated.png"), to_uint8(chest_phantom(64, seed=4242)))


def config(nih: Path, mirror: Path, **scan: Any) -> Any:
    return parse_config({
        "corpus": "t", "salt": "s", "shard_size": 4, "scan": scan,
        "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih)}},
                    {"name": "sources.generic_folder",
                     "params": {"root": str(mirror), "images": "images/*.png", "masks": None}}],
        "stages": [{"name": "ingest.decode"}],
    })


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("dedup")
    nih = write_nih_sample(base / "nih", size=64).root
    write_mirror(nih, base / "mirror")
    return nih, base / "mirror"


def rows_by_key(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r["sample_key"]: {**r, "split": name.split("-")[0], "item": json.loads(r["item"])}
            for name, rows in plan.shards.items() for r in rows}


def test_copies_are_grouped_and_kept_in_one_split(roots: tuple[Path, Path]) -> None:
    nih, mirror = roots
    plan = build_plan(config(nih, mirror), "s")
    rows = rows_by_key(plan)
    nih_key, gen = "sources.nih_cxr14:", "sources.generic_folder:images/"
    copy, original = rows[gen + "copy.png"], rows[nih_key + COPIED]
    # the byte copy: same pixels file → one image; the first by sample key is kept
    kept, dropped = sorted([copy, original], key=lambda r: r["sample_key"])
    assert kept["status"] == "ok" and dropped["status"] == "quarantined"
    assert dropped["quarantine"][0]["error_kind"] == "duplicate" and dropped["quarantine"][0]["stage"] == "scan"
    assert kept["item"]["dup_group"] == dropped["item"]["dup_group"] is not None
    # the JPEG re-encode of an official test image follows it into test (a different "patient")
    reenc, test_row = rows[gen + "reencoded.png"], rows[nih_key + TEST_IMAGE]
    assert reenc["item"]["dup_group"] == test_row["item"]["dup_group"] is not None
    assert test_row["split"] == "test" and reenc["split"] == "test" and reenc["status"] == "ok"
    # a downscaled copy is a near duplicate too; an unrelated image is in no group
    assert rows[gen + "resized.png"]["item"]["dup_group"] == rows[nih_key + "00000003_000.png"]["item"]["dup_group"]
    assert rows[gen + "unrelated.png"]["item"]["dup_group"] is None
    # every group sits in one split (the generic images have no official split to conflict with)
    by_group: dict[str, set[str]] = {}
    for r in rows.values():
        if r["item"]["dup_group"]:
            by_group.setdefault(r["item"]["dup_group"], set()).add(r["split"])
    assert len(by_group) == 3 and all(len(s) == 1 for s in by_group.values())
    assert plan.dedup == {"duplicate_groups": 3, "images_in_groups": 6, "exact_copies_quarantined": 1,
                          "groups_across_official_splits": 0}
    assert len(set(plan.input_hashes.values())) == len(rows)


def test_scope_within_sources_and_exact_only(roots: tuple[Path, Path]) -> None:
    nih, mirror = roots
    within = rows_by_key(build_plan(config(nih, mirror, scope="within"), "s"))
    assert within["sources.generic_folder:images/reencoded.png"]["item"]["dup_group"] is None
    exact = build_plan(config(nih, mirror, near_duplicates=False), "s")
    assert exact.dedup["duplicate_groups"] == 1 and exact.dedup["exact_copies_quarantined"] == 1
    off = build_plan(config(nih, mirror, enabled=False), "s")
    assert off.dedup["duplicate_groups"] == 0 and all(r["status"] == "ok" for r in rows_by_key(off).values())


def test_scan_cache_is_reused_and_changes_are_seen(roots: tuple[Path, Path], tmp_path: Path) -> None:
    nih, mirror = roots
    lines: list[str] = []
    first = build_plan(config(nih, mirror), "s", cache_root=tmp_path, log=lines.append)
    second = build_plan(config(nih, mirror), "s", cache_root=tmp_path, log=lines.append)
    assert "0 hashed and 0 pHashed now" in lines[-1] and first.input_hashes == second.input_hashes
    cached = [str(v) for p in (tmp_path / "_scan").iterdir() for col in pq.read_table(p).columns for v in col]
    assert cached and not any("copy.png" in v or "00000001" in v for v in cached)  # paths may hold identifiers
    assert rows_by_key(first).keys() == rows_by_key(second).keys()
    work = tmp_path / "mirror"
    shutil.copytree(mirror, work)
    img = cv2.imread(str(work / "images" / "unrelated.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(work / "images" / "unrelated.png"), 255 - img)  # new pixels, same path
    third = build_plan(config(nih, work), "s", cache_root=tmp_path, log=lines.append)
    changed = {k for k in third.input_hashes if third.input_hashes[k] != first.input_hashes.get(k)}
    assert changed == {"sources.generic_folder:images/unrelated.png"}


def test_ray_scan_equals_driver_scan(roots: tuple[Path, Path], ray_session: Any) -> None:
    nih, mirror = roots
    driver = build_plan(config(nih, mirror), "s")
    on_ray = build_plan(config(nih, mirror, ray_above=0), "s")
    assert driver.input_hashes == on_ray.input_hashes and driver.dedup == on_ray.dedup
    assert driver.splits == on_ray.splits


def test_ingested_images_carry_their_group(roots: tuple[Path, Path]) -> None:
    from pipelines.stages.ingest_decode import IngestDecodeStage
    from tests.pipelines.stage_rows import run_stages

    nih, mirror = roots
    plan = build_plan(config(nih, mirror), "s")
    out = run_stages([full_row(r) for rows in plan.shards.values() for r in rows], [IngestDecodeStage], salt="s")
    groups = {json.loads(r["item"])["key"]: r["image"]["dup_group"] for r in out if r["status"] == "ok"}
    assert groups["images/reencoded.png"] == groups[TEST_IMAGE] is not None
    assert groups["images/unrelated.png"] is None
    in_group = [r for r in out if r["image"] and r["image"]["dup_group"] == groups[TEST_IMAGE]]
    assert len(in_group) == 2 and {r["image"]["split"] for r in in_group} == {"test"}


def test_ray_pair_search_equals_driver_search(ray_session: Any) -> None:
    """The Ray Data bucket join finds exactly the driver's pairs, in its order: random hashes, near
    copies at 0..6 bits, exact repeats and a crowded bucket (many hashes sharing band 0)."""
    from extractors.dedup import duplicate_groups, near_pairs
    from pipelines.dedup import near_duplicate_groups, near_pairs_on_ray
    from tests.extractors.test_dedup_bucket import hashes_with_copies

    hashes = hashes_with_copies(3000, 4, seed=11, cluster=700)
    driver = near_pairs(hashes, 4)
    assert len(driver) > 1000 and near_pairs_on_ray(hashes, 4) == driver
    scope = {k: "a" if k < "m" else "b" for k, _ in hashes}
    lines: list[str] = []
    assert near_duplicate_groups(hashes, 4, scope, ray_above=0, log=lines.append) == duplicate_groups(hashes, 4, scope)
    assert "Ray Data bucket join" in lines[0]


def test_ray_pair_search_in_the_plan(roots: tuple[Path, Path], ray_session: Any) -> None:
    nih, mirror = roots
    driver = build_plan(config(nih, mirror), "s")
    on_ray = build_plan(config(nih, mirror, pairs_ray_above=0), "s")
    assert driver.dedup == on_ray.dedup and driver.dedup["duplicate_groups"] == 3
    assert driver.splits == on_ray.splits and driver.input_hashes == on_ray.input_hashes


@pytest.mark.parametrize("bad", [-1, "many"])
def test_pairs_ray_above_is_checked_before_work(roots: tuple[Path, Path], bad: Any) -> None:
    from schemas.errors import ConfigError

    nih, mirror = roots
    with pytest.raises(ConfigError, match=r"scan\.pairs_ray_above"):
        config(nih, mirror, pairs_ray_above=bad)
