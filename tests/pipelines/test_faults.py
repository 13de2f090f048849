"""Faults, each a test that can fail: a stage raising on one record, the driver killed mid-run, a
read-only output and an output path that cannot be written mid-run.

The Ray tests share the session's local Ray (`ray_session`); `medground run` subprocesses connect to
it with `--address`, so killing one kills a driver, not the cluster (as on a real cluster).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipelines.config import parse_config
from pipelines.registry import register_stage
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import write_rsna_sample
from pipelines.sources.nih_cxr14 import NihCxr14Source
from pipelines.stage import RunContext, Sample, Stage, StageParams
from pipelines.stages.ingest_decode import IngestDecodeStage
from pipelines.writers.shard import PROGRESS_DIR, write_shard
from tests.pipelines.stage_rows import rows_of, run_stages

REPO = Path(__file__).resolve().parents[2]
MEDGROUND = REPO / ".venv" / "bin" / "medground"
TARGET = "00000002_000.png"  # the NIH sample image the test stage fails on


class RaiseOnOneParams(StageParams):
    target: str = TARGET


@register_stage
class RaiseOnOneTestStage(Stage):
    """Test-only stage: raises an unforeseen error (not BadInput) on one sample, passes the rest."""

    name = "labels.test_raise_on_one"
    consumes = ("item", "image")
    produces = ()
    Params = RaiseOnOneParams
    params: RaiseOnOneParams

    def process_sample(self, sample: Sample) -> Sample:
        if sample["sample_key"].endswith(self.params.target):
            raise RuntimeError("boom on purpose")
        return sample


def check_one_raised(quarantine: list[dict[str, Any]], images: list[dict[str, Any]], n_ok: int,
                     rows: list[dict[str, Any]]) -> None:
    hits = [q for q in quarantine if q["stage"] == RaiseOnOneTestStage.name]
    assert len(hits) == 1 and hits[0]["input_ref"].endswith(TARGET), hits
    assert hits[0]["error_kind"] == "stage_error" and "RuntimeError: boom on purpose" in hits[0]["message"]
    assert hits[0]["unit"] == "image"
    assert not any(TARGET in (i["source_path"] or "") for i in images)
    assert len(images) == n_ok
    target = next(json.loads(r["item"]) for r in rows if r["sample_key"].endswith(TARGET))
    cascaded = {q["input_ref"] for q in quarantine if q["error_kind"] == "parent_quarantined"}
    assert target["labels"] and {lab["ref"] for lab in target["labels"]} <= cascaded  # its labels accounted for


@pytest.fixture(scope="module")
def nih(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return write_nih_sample(tmp_path_factory.mktemp("nih") / "nih_cxr14", size=64)


def test_stage_raising_on_one_record_without_ray(nih: Any, tmp_path: Path) -> None:
    rows = rows_of(NihCxr14Source(NihCxr14Source.Params(root=nih.root)))
    out = run_stages(rows, [IngestDecodeStage, RaiseOnOneTestStage])
    by_key = {r["sample_key"].split(":", 1)[1]: r for r in out}
    assert by_key[TARGET]["status"] == "quarantined" and by_key[TARGET]["image_png"] is None
    ok = [k for k, r in by_key.items() if r["status"] == "ok"]
    assert sorted(ok) == sorted(set(nih.images) - {TARGET})  # the missing PNG was quarantined by ingest
    write_shard(tmp_path, "train-000000", out)
    check_one_raised(pq.read_table(tmp_path / "tables" / "quarantine").to_pylist(),
                     pq.read_table(tmp_path / "tables" / "images").to_pylist(), len(ok), rows)


def test_debug_mode_reraises(nih: Any) -> None:
    rows = rows_of(NihCxr14Source(NihCxr14Source.Params(root=nih.root)))
    table = run_stages(rows, [IngestDecodeStage])
    import pyarrow as pa

    from schemas.tables import SAMPLE_SCHEMA

    stage = RaiseOnOneTestStage(RaiseOnOneParams(), RunContext(salt="test", debug=True))
    with pytest.raises(RuntimeError, match="boom"):
        stage.process_batch(pa.Table.from_pylist(table, schema=SAMPLE_SCHEMA))


@pytest.mark.ray
def test_stage_raising_on_one_record_through_ray(nih: Any, tmp_path: Path, ray_session: None) -> None:
    import ray

    from pipelines.plan import build_plan
    from pipelines.ray_exec import run_wave

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/
    raw = {"corpus": "faults", "salt": "s", "shard_size": 4,
           "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih.root)}}],
           "stages": [{"name": "ingest.decode"}, {"name": RaiseOnOneTestStage.name}]}
    cfg = parse_config(raw)
    plan = build_plan(cfg, "s")
    rows = [r for name in sorted(plan.shards) for r in plan.shards[name]]
    stats = run_wave(cfg, rows, tmp_path, RunContext(salt="s"), block_rows=4)
    assert sorted(s["shard"] for s in stats) == sorted(plan.shards)
    assert sum(s["samples"] for s in stats) == len(rows)
    n_ok = sum(s["written"] for s in stats)
    assert n_ok == len(nih.images) - 1
    check_one_raised(pq.read_table(tmp_path / "tables" / "quarantine").to_pylist(),
                     pq.read_table(tmp_path / "tables" / "images").to_pylist(), n_ok, rows)


# ---- the driver killed mid-run, and outputs that cannot be written ---------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo sample and config in a folder others may read (the permission test runs as nobody)."""
    tmp = Path(tempfile.mkdtemp(prefix="medground-faults-"))
    os.chmod(tmp, 0o755)
    write_nih_sample(tmp / "nih_cxr14")
    write_rsna_sample(tmp / "rsna_pneumonia")
    text = files("pipelines.configs").joinpath("demo.yaml").read_text()
    assert "shards_per_wave: 8" in text
    (tmp / "demo.yaml").write_text(text)
    # the run to kill does one shard a wave, so the kill lands mid-run (Ray settings are not in the fingerprint)
    (tmp / "demo-slow.yaml").write_text(text.replace("shards_per_wave: 8", "shards_per_wave: 1"))
    for p in tmp.rglob("*"):
        p.chmod(p.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() else 0))
    yield tmp
    subprocess.run(["rm", "-rf", str(tmp)], check=False)


def visible_corpus(root: Path) -> dict[str, bytes]:
    """Shards, tables and manifest (what a reader sees); temp files (`.name.tmp-PID`) excluded."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
            and (p.name == "manifest.json" or p.relative_to(root).parts[0] in ("tables", "shards"))}


def medground_run(config: Path, out: Path, address: str, drop_root: bool = False) -> subprocess.Popen[str]:
    cmd = [str(MEDGROUND), "run", str(config), "--out", str(out), "--address", address, "--no-qc"]
    if drop_root and os.geteuid() == 0:  # root ignores 0o555: run without the capabilities that allow it
        cmd = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", shlex.join(cmd)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)


def gcs_address() -> str:
    import ray

    return ray.get_runtime_context().gcs_address


@pytest.mark.ray
def test_driver_killed_mid_run_then_resumed_equals_uninterrupted(demo: Path, ray_session: None) -> None:
    from pipelines.config import load_config
    from pipelines.run import run_pipeline

    reference = run_pipeline(load_config(demo / "demo.yaml"), demo / "ref", log=lambda _m: None)
    assert reference.complete
    out = demo / "killed"
    progress = out / "cxr-demo" / "0.1.0" / PROGRESS_DIR
    proc = medground_run(demo / "demo-slow.yaml", out, gcs_address())
    deadline = time.monotonic() + 150
    try:
        while not [p for p in progress.glob("*.json") if not p.name.startswith("_")]:
            assert proc.poll() is None, f"the run ended before its first shard: {proc.stdout.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no shard completed in time"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    done_at_kill = {p.stem for p in progress.glob("*.json") if not p.name.startswith("_")}
    assert 0 < len(done_at_kill) < reference.shards_total, "the kill must land mid-run"
    assert not (out / "cxr-demo" / "0.1.0" / "manifest.json").exists()
    resumed = medground_run(demo / "demo.yaml", out, gcs_address())
    log, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, log
    assert f"resuming: {len(done_at_kill)} shard(s) already complete" in log
    assert visible_corpus(out / "cxr-demo" / "0.1.0") == visible_corpus(reference.out_dir)
    runs = [json.loads(p.read_text()) for p in (out / "cxr-demo" / "_runs").glob("*.json")]
    assert sorted(r["status"] for r in runs) == ["complete", "running"]  # the killed run's record stays "running"
    from pipelines.runs import list_runs

    assert sorted(r["status"] for r in list_runs(out / "cxr-demo")) == ["complete", "stale"]  # ... and reads stale


@pytest.mark.ray
def test_read_only_output_dir_fails_cleanly(demo: Path, ray_session: None) -> None:
    out = demo / "readonly"
    out.mkdir()
    out.chmod(0o555)
    proc = medground_run(demo / "demo.yaml", out, gcs_address(), drop_root=True)
    log, _ = proc.communicate(timeout=120)
    print(log)  # what the user sees (pytest -s)
    assert proc.returncode != 0
    assert "Permission denied" in log and str(out) in log
    assert "cannot write the output" in log and "Traceback" not in log
    assert not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.ray
def test_unwritable_shard_path_mid_run_leaves_no_visible_shard(demo: Path, ray_session: None) -> None:
    """`shards` is a file, so every shard-writer task fails after the plan: the run must fail, no tar."""
    out = demo / "blocked"
    corpus = out / "cxr-demo" / "0.1.0"
    corpus.mkdir(parents=True)
    (corpus / "shards").write_text("not a folder")
    proc = medground_run(demo / "demo.yaml", out, gcs_address())
    log, _ = proc.communicate(timeout=300)
    print(log)
    assert proc.returncode != 0
    assert "shards" in log and "cannot write the output" in log and "Traceback" not in log
    assert not list(corpus.rglob("*.tar"))
    # a done-marker only for a shard that needs no tar (every image quarantined), complete and kept for a resume
    markers = [json.loads(p.read_text()) for p in (corpus / PROGRESS_DIR).glob("*.json") if not p.name.startswith("_")]
    assert all(m["written"] == 0 and m["quarantined"] == m["samples"] > 0 for m in markers)
