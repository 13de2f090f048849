"""Incremental runs: a new version with only new work, the previous version byte-for-byte intact,
LATEST moved only after the gates pass, nothing-new runs write nothing, interrupted runs resume."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from pipelines.config import PipelineConfig, parse_config
from pipelines.finish import finish_and_publish
from pipelines.run import run_pipeline
from pipelines.runs import latest, list_runs
from pipelines.samples.generic_folder import write_generic_sample
from pipelines.samples.phantom import chest_phantom, to_uint8
from schemas.errors import ConfigError

PARAMS = {"images": "images/*/*.png", "masks": "masks/{parent}/{stem}_mask.png", "split_from_path": True,
          "label_map": {1: "liver", 2: "liver tumour"}}


def config(root: Path, version: str = "1.0", shard_size: int = 2) -> PipelineConfig:
    return parse_config({
        "corpus": "inc", "version": version, "salt": "s", "shard_size": shard_size,
        "splits": {"train": 0.5, "val": 0.25, "test": 0.25},
        "sources": [{"name": "sources.generic_folder", "params": {"root": str(root), **PARAMS}}],
        "stages": [{"name": "ingest.decode"}],
    })


def add_case(root: Path, split: str, name: str, seed: int) -> None:
    for sub in ("images", "masks"):
        (root / sub / split).mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(root / "images" / split / f"{name}.png"), to_uint8(chest_phantom(64, seed=seed)))
    mask = np.zeros((64, 64), np.uint8)
    cv2.circle(mask, (30, 30), 9, 1, -1)
    assert cv2.imwrite(str(root / "masks" / split / f"{name}_mask.png"), mask)


def snapshot(version_dir: Path) -> dict[str, str]:
    return {p.relative_to(version_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(version_dir.rglob("*")) if p.is_file()}


def images(version_dir: Path) -> dict[str, str]:
    table = pq.read_table(version_dir / "tables" / "images")
    return dict(zip(table.column("image_id").to_pylist(), table.column("split").to_pylist(), strict=True))


def quiet(_: str) -> None:
    pass


@pytest.fixture
def built(tmp_path: Path, ray_session: Any) -> tuple[Path, Path]:
    data = tmp_path / "data"
    write_generic_sample(data, size=64)
    out = tmp_path / "out"
    result = run_pipeline(config(data), out, log=quiet)
    assert result.complete and finish_and_publish(result.out_dir, log=quiet)
    assert latest(out / "inc") == "1.0"
    return data, out


def test_incremental_run_does_only_new_work_and_leaves_the_base_intact(built: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    data, out = built
    base = out / "inc" / "1.0"
    before = snapshot(base)
    add_case(data, "train", "case_010", seed=910)
    add_case(data, "test", "case_011", seed=911)
    changed = data / "masks" / "train" / "case_001_mask.png"  # same path, new pixels: a changed input
    cv2.imwrite(str(changed), 1 - cv2.imread(str(changed), cv2.IMREAD_UNCHANGED).clip(0, 1))

    result = run_pipeline(config(data), out, incremental=True, log=quiet)
    assert result.complete and result.version == "1.0.inc1"
    inc = result.increment or {}
    assert inc["base"] == "1.0" and inc["new_inputs"] == 2 and inc["removed_inputs"] == 0
    assert inc["redone_inputs"] >= 1 and inc["carried_shards"] >= 1
    assert result.shards_written and all("-i0001-" in s for s in result.shards_written)  # only new shards ran
    written = sum(pq.read_metadata(result.out_dir / f"tables/images/part-{s}.parquet").num_rows
                  for s in result.shards_written)
    assert written == inc["new_inputs"] + inc["redone_inputs"] < 6
    # the carried shards are the base's own files (hard links), and the base is untouched
    carried = [p for p in (result.out_dir / "shards").glob("*.tar") if "-i0001-" not in p.name]
    assert carried and all(os.path.samefile(p, base / "shards" / p.name) for p in carried)
    assert snapshot(base) == before and latest(out / "inc") == "1.0"
    assert finish_and_publish(result.out_dir, log=quiet) and latest(out / "inc") == "1.0.inc1"
    # same corpus as a full build of today's data: every image, same ids, same splits
    full = run_pipeline(config(data, version="full"), tmp_path / "full", log=quiet)
    assert images(result.out_dir) == images(full.out_dir) and len(images(full.out_dir)) == 6
    runs = list_runs(out / "inc")
    assert [r["status"] for r in runs] == ["complete", "complete"] and runs[-1]["base"] == "1.0"

    again = run_pipeline(config(data), out, incremental=True, log=quiet)  # nothing new
    assert again.unchanged and not again.shards_written and latest(out / "inc") == "1.0.inc1"
    assert not (out / "inc" / "1.0.inc2").exists() and list_runs(out / "inc")[-1]["status"] == "unchanged"


def test_interrupted_increment_resumes_the_same_version(built: tuple[Path, Path]) -> None:
    data, out = built
    add_case(data, "train", "case_020", seed=920)
    first = run_pipeline(config(data), out, incremental=True, max_shards=0, log=quiet)
    assert not first.complete and first.version == "1.0.inc1" and latest(out / "inc") == "1.0"
    second = run_pipeline(config(data), out, incremental=True, log=quiet)
    assert second.complete and second.version == "1.0.inc1" and second.shards_written
    assert finish_and_publish(second.out_dir, log=quiet) and latest(out / "inc") == "1.0.inc1"
    named = run_pipeline(config(data), out, incremental=True, new_version="nightly-2", log=quiet)
    assert named.unchanged  # nothing new since 1.0.inc1: the name is not used


def test_incremental_refuses_without_a_published_version_or_with_another_config(built: tuple[Path, Path],
                                                                                tmp_path: Path) -> None:
    data, out = built
    with pytest.raises(ConfigError, match=r"--incremental.*no published version"):
        run_pipeline(config(data), tmp_path / "empty", incremental=True, log=quiet)
    with pytest.raises(ConfigError, match=r"--incremental.*config differs"):
        run_pipeline(config(data, shard_size=3), out, incremental=True, log=quiet)
    with pytest.raises(ConfigError, match="--new-version"):
        run_pipeline(config(data), out, new_version="x", log=quiet)


def test_cli_incremental_publishes_and_reports_nothing_new(tmp_path: Path, ray_session: Any) -> None:
    import yaml
    from typer.testing import CliRunner

    from pipelines.cli import app

    data = tmp_path / "data"
    write_generic_sample(data, size=64)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({
        "corpus": "inc", "version": "2.0", "salt": "s", "shard_size": 2,
        "sources": [{"name": "sources.generic_folder", "params": {"root": str(data), **PARAMS}}],
        "stages": [{"name": "ingest.decode"}],
    }))
    out = tmp_path / "out"
    runner = CliRunner()
    base_run = ["run", str(cfg), "--out", str(out), "--no-progress"]
    assert runner.invoke(app, base_run).exit_code == 0 and latest(out / "inc") == "2.0"
    add_case(data, "val", "case_030", seed=930)
    res = runner.invoke(app, [*base_run, "--incremental", "--new-version", "2.0-nightly1"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "1 new input(s)" in res.output and "published" in res.output and latest(out / "inc") == "2.0-nightly1"
    res = runner.invoke(app, [*base_run, "--incremental"], terminal_width=200)
    assert res.exit_code == 0 and "nothing new: LATEST stays 2.0-nightly1" in res.output
    res = runner.invoke(app, [*base_run, "--new-version", "x"])
    assert res.exit_code == 2 and "--new-version" in res.output
