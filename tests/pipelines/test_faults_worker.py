"""Worker faults and transient errors, each a test that can fail.

- A Ray worker SIGKILLed mid-stage (a task stage, and an actor stage): the run completes and its corpus
  equals an uninterrupted run's, byte for byte (same config: the kill is armed by deleting a marker).
- Bounded retries: a record failing twice with RetryableError then succeeding is written, its retries
  counted; one that always fails is quarantined as `transient` after exactly `retries.attempts` tries.

The Ray tests run `run_pipeline` on the session's local Ray (`ray_session`).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.config import parse_config
from pipelines.registry import register_stage
from pipelines.runlog import read_log
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.stage import RunContext, Sample, Stage, StageParams, is_transient
from schemas.errors import ConfigError, RetryableError
from schemas.tables import ERROR_KINDS, SAMPLE_SCHEMA

TARGET = "00000002_000.png"  # the record the kill stages die on
FLAKY = "00000003_000.png"  # fails twice, then succeeds
BROKEN = "00000005_000.png"  # fails on every attempt
ATTEMPTS = 3


class KillParams(StageParams):
    marker: str  # created (O_EXCL) just before the kill, so the kill happens once
    driver_pid: int  # never kill the test process itself
    target: str = TARGET


class KillOnce:
    params: KillParams

    def process_sample(self, sample: Sample) -> Sample:
        if not sample["sample_key"].endswith(self.params.target):
            return sample
        if os.getpid() == self.params.driver_pid:
            raise RuntimeError("the kill stage ran in the driver: it must run in a Ray worker")
        try:
            fd = os.open(self.params.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return sample
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)
        return sample  # pragma: no cover - the process is gone


@register_stage
class KillTaskWorkerTestStage(KillOnce, Stage):
    """Test-only task stage: SIGKILLs its Ray worker the first time it sees TARGET."""

    name = "labels.test_kill_task_worker"
    consumes = ("item",)
    Params = KillParams


@register_stage
class KillActorWorkerTestStage(KillOnce, Stage):
    """Test-only actor stage: SIGKILLs its Ray actor's process the first time it sees TARGET."""

    name = "labels.test_kill_actor_worker"
    consumes = ("item",)
    stateful = True
    Params = KillParams


class FlakyParams(StageParams):
    counters: str  # folder of per-record attempt counters (shared by every worker process)


@register_stage
class FlakyTestStage(Stage):
    """Test-only stage: RetryableError twice on FLAKY (then passes), on every attempt for BROKEN."""

    name = "labels.test_flaky"
    consumes = ("item",)
    Params = FlakyParams
    params: FlakyParams

    def process_sample(self, sample: Sample) -> Sample:
        for target, failures in ((FLAKY, 2), (BROKEN, 10**6)):
            if sample["sample_key"].endswith(target):
                path = Path(self.params.counters) / f"{target}.count"
                n = int(path.read_text()) + 1 if path.exists() else 1
                path.write_text(str(n))
                if n <= failures:
                    raise RetryableError(f"flaky on purpose (attempt {n})")
        return sample


@pytest.fixture(scope="module")
def nih(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return write_nih_sample(tmp_path_factory.mktemp("nih") / "nih_cxr14", size=64)


def raw_config(nih: Any, stages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"corpus": "workers", "salt": "s", "shard_size": 4,
            "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih.root)}}],
            "stages": [{"name": "ingest.decode"}, *stages],
            "retries": {"attempts": ATTEMPTS, "backoff_s": 0.01}}


def corpus_files(root: Path) -> dict[str, bytes]:
    """What a reader sees: tables, shards and the manifest."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and (p.name == "manifest.json" or p.relative_to(root).parts[0] in ("tables", "shards"))}


def run_log(result: Any) -> list[dict[str, Any]]:
    return read_log(result.out_dir.parent / "_runs" / f"{result.run_id}.jsonl")


# ---- without Ray ------------------------------------------------------------------------------------
def test_transient_errors_are_named() -> None:
    for err in (RetryableError("x"), TimeoutError(), ConnectionResetError(), OSError(errno.EIO, "io"),
                OSError(errno.EAGAIN, "again"), OSError(errno.EINTR, "intr"), OSError(errno.ETIMEDOUT, "t"),
                OSError(errno.EBUSY, "busy")):
        assert is_transient(err), err
    for err in (FileNotFoundError(errno.ENOENT, "gone"), PermissionError(errno.EACCES, "no"),
                OSError(errno.ENOSPC, "full"), ValueError("bad"), RuntimeError("bug")):
        assert not is_transient(err), err
    assert "transient" in ERROR_KINDS


class OsErrorParams(StageParams):
    code: int


class OsErrorStage(Stage):
    """Not registered: raises OSError(code) on every sample, counting its attempts."""

    name = "labels.test_oserror"
    Params = OsErrorParams
    params: OsErrorParams

    def setup(self) -> None:
        self.calls = 0

    def process_sample(self, sample: Sample) -> Sample:
        self.calls += 1
        sample["findings"] = [*(sample["findings"] or []), {"phrase": "partial work of a failed attempt"}]
        raise OSError(self.params.code, os.strerror(self.params.code))


def one_row(nih: Any) -> pa.Table:
    from pipelines.sources.nih_cxr14 import NihCxr14Source
    from tests.pipelines.stage_rows import rows_of

    return pa.Table.from_pylist(rows_of(NihCxr14Source(NihCxr14Source.Params(root=nih.root)))[:1],
                                schema=SAMPLE_SCHEMA)


def test_transient_os_error_is_retried_then_quarantined_as_transient(nih: Any) -> None:
    stage = OsErrorStage(OsErrorParams(code=errno.EIO), RunContext(salt="s", retry_attempts=4, retry_backoff_s=0))
    out = stage.process_batch(one_row(nih)).to_pylist()[0]
    assert stage.calls == 4
    assert out["status"] == "quarantined" and not out["findings"]  # each attempt starts from the input
    [q] = out["quarantine"]
    assert q["error_kind"] == "transient" and "OSError after 4 attempts" in q["message"], q
    assert (stage.last_batch.retries, stage.last_batch.gave_up, stage.last_batch.quarantined) == (3, 1, 1)
    assert stage.last_batch.errors == {"OSError": 3} and stage.last_batch.shards == ["train-000000"]


def test_permanent_os_error_is_not_retried(nih: Any) -> None:
    stage = OsErrorStage(OsErrorParams(code=errno.ENOENT), RunContext(salt="s", retry_attempts=4, retry_backoff_s=0))
    out = stage.process_batch(one_row(nih)).to_pylist()[0]
    assert stage.calls == 1 and out["quarantine"][0]["error_kind"] == "stage_error"
    assert stage.last_batch.retries == 0


def test_debug_reraises_after_the_last_attempt(nih: Any) -> None:
    stage = OsErrorStage(OsErrorParams(code=errno.EAGAIN),
                         RunContext(salt="s", debug=True, retry_attempts=2, retry_backoff_s=0))
    with pytest.raises(OSError):
        stage.process_batch(one_row(nih))
    assert stage.calls == 2


def test_retries_config_is_validated(nih: Any) -> None:
    cfg = parse_config(raw_config(nih, []))
    assert (cfg.model.retries.attempts, cfg.model.retries.backoff_s) == (ATTEMPTS, 0.01)
    assert parse_config({**raw_config(nih, []), "retries": {"attempts": 5}}).fingerprint() == cfg.fingerprint()
    for bad, key in (({"attempts": 0}, "retries.attempts"), ({"backoff_s": -1}, "retries.backoff_s"),
                     ({"tries": 2}, "retries.tries")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            parse_config({**raw_config(nih, []), "retries": bad})


# ---- through Ray ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kills(nih: Any, tmp_path_factory: pytest.TempPathFactory, ray_session: None) -> dict[str, Any]:
    """One config with both kill stages; the reference run has both markers (no kill), each other run
    has one marker removed, so its kill fires once."""
    import ray

    from pipelines.run import run_pipeline

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/
    tmp = tmp_path_factory.mktemp("kills")
    markers = {"task": tmp / "task.killed", "actor": tmp / "actor.killed"}
    stages = [{"name": cls.name, "params": {"marker": str(markers[kind]), "driver_pid": os.getpid()}}
              for kind, cls in (("task", KillTaskWorkerTestStage), ("actor", KillActorWorkerTestStage))]
    cfg = parse_config(raw_config(nih, stages))
    results: dict[str, Any] = {}
    for run in ("reference", "task", "actor"):
        for kind, marker in markers.items():
            marker.unlink(missing_ok=True)
            if kind != run:
                marker.write_text("armed off")
        results[run] = run_pipeline(cfg, tmp / run, log=lambda _m: None)
        results[f"{run}_marker"] = markers[run].read_text() if run in markers else None
    return results


@pytest.mark.ray
@pytest.mark.parametrize("variant", ["task", "actor"])
def test_worker_killed_mid_stage_run_completes_with_the_same_output(kills: dict[str, Any], variant: str) -> None:
    import psutil

    ref, run = kills["reference"], kills[variant]
    pid = int(kills[f"{variant}_marker"])  # the stage wrote its pid, then killed itself
    assert pid != os.getpid() and not psutil.pid_exists(pid)
    assert run.complete and ref.complete
    a, b = corpus_files(run.out_dir), corpus_files(ref.out_dir)
    assert a and any(k.startswith("shards/") for k in a) and any(k.startswith("tables/") for k in a)
    assert a == b
    assert run.manifest["files"] == ref.manifest["files"]
    planned = next(e for e in run_log(run) if e["event"] == "plan")["rows_pending"]
    rows = {s["stage"]: s["rows"] for s in run.summary["stages"]}
    assert rows == dict.fromkeys(rows, planned) and len(rows) == 3  # each row counted once per stage


@pytest.fixture(scope="module")
def flaky_run(nih: Any, tmp_path_factory: pytest.TempPathFactory, ray_session: None) -> tuple[Any, Path]:
    import ray

    from pipelines.run import run_pipeline

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    tmp = tmp_path_factory.mktemp("flaky")
    counters = tmp / "counters"
    counters.mkdir()
    cfg = parse_config(raw_config(nih, [{"name": FlakyTestStage.name, "params": {"counters": str(counters)}}]))
    return run_pipeline(cfg, tmp / "out", log=lambda _m: None), counters


@pytest.mark.ray
def test_retryable_error_twice_then_success_is_written_and_counted(flaky_run: tuple[Any, Path]) -> None:
    result, counters = flaky_run
    assert int((counters / f"{FLAKY}.count").read_text()) == 3  # two failures, then the success
    images = pq.read_table(result.out_dir / "tables" / "images").to_pylist()
    assert any(i["source_path"].endswith(FLAKY) for i in images)
    flaky = next(s for s in result.summary["stages"] if s["stage"] == FlakyTestStage.name)
    assert flaky["retries"] == 2 + (ATTEMPTS - 1) and flaky["gave_up"] == 1  # FLAKY's two + BROKEN's
    assert result.summary["retries"] == flaky["retries"]
    events = [e for e in run_log(result) if e["event"] == "retries"]
    assert sum(e["retries"] for e in events) == flaky["retries"] and all(e["stage"] == FlakyTestStage.name
                                                                          for e in events)
    assert {k for e in events for k in e["errors"]} == {"RetryableError"}
    record = json.loads((result.out_dir.parent / "_runs" / f"{result.run_id}.json").read_text())
    assert record["summary"]["retries"] == flaky["retries"]


@pytest.mark.ray
def test_always_failing_record_is_quarantined_as_transient_after_exactly_attempts(
    flaky_run: tuple[Any, Path],
) -> None:
    result, counters = flaky_run
    assert int((counters / f"{BROKEN}.count").read_text()) == ATTEMPTS
    quarantine = pq.read_table(result.out_dir / "tables" / "quarantine").to_pylist()
    hits = [q for q in quarantine if q["stage"] == FlakyTestStage.name]
    assert len(hits) == 1 and hits[0]["input_ref"].endswith(BROKEN) and hits[0]["unit"] == "image"
    assert hits[0]["error_kind"] == "transient"
    assert f"RetryableError after {ATTEMPTS} attempts" in hits[0]["message"]
    images = pq.read_table(result.out_dir / "tables" / "images").to_pylist()
    assert not any(i["source_path"].endswith(BROKEN) for i in images)
