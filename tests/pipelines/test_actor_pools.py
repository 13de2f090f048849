"""A stateful stage's actors live for the run, not for a wave (pipelines/ray_exec.py `ActorPools`).

A test-only stateful stage records every `setup()` call (one file per call, named by its process); a run
in one-shard waves must set it up once per actor of its pool, and write exactly what the same run in one
wave writes. Both chain shapes run: the actor in the middle (a stateless segment and the writer after it)
and the actor last (the writer as a task of its own). A `RetryableError` raised inside an actor call is
retried there, bounded by `retries.attempts`. The Ray tests use the session's local Ray (`ray_session`).
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipelines.config import parse_config
from pipelines.registry import register_stage
from pipelines.runlog import read_log
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.stage import Resources, Sample, Stage, StageParams
from schemas.errors import ConfigError, RetryableError
from tests.pipelines.test_faults_worker import corpus_files

FLAKY = "00000003_000.png"


class CountingParams(StageParams):
    folder: str  # one file per setup() call; also per-record attempt counters


@register_stage
class CountSetupTestStage(Stage):
    """Test-only actor stage: records each setup(); fails FLAKY twice with RetryableError, then passes."""

    name = "labels.test_count_setup"
    consumes = ("item",)
    stateful = True
    default_resources = Resources(num_cpus=0.25, concurrency=2, batch_size=4)
    Params = CountingParams
    params: CountingParams

    def setup(self) -> None:
        (Path(self.params.folder) / f"setup-{os.getpid()}-{uuid.uuid4().hex}").write_text("")

    def process_sample(self, sample: Sample) -> Sample:
        if sample["sample_key"].endswith(FLAKY):
            path = Path(self.params.folder) / "flaky.count"
            n = int(path.read_text()) + 1 if path.exists() else 1
            path.write_text(str(n))
            if n <= 2:
                raise RetryableError(f"flaky on purpose (attempt {n})")
        return sample


@pytest.fixture(scope="module")
def nih(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return write_nih_sample(tmp_path_factory.mktemp("nih") / "nih_cxr14", size=64)


def run(nih: Any, tmp: Path, name: str, middle: bool, per_wave: int) -> tuple[Any, Path]:
    import ray

    from pipelines.run import run_pipeline

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import tests/
    folder = tmp / f"{name}-setups"
    folder.mkdir()
    counted = {"name": CountSetupTestStage.name, "params": {"folder": str(folder)}}
    stages = [{"name": "ingest.decode"}, counted, *([{"name": "labels.dataset"}] if middle else [])]
    cfg = parse_config({"corpus": "pools", "salt": "s", "shard_size": 2, "scan": {"enabled": False},
                        "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih.root)}}],
                        "stages": stages, "ray": {"shards_per_wave": per_wave},
                        "retries": {"attempts": 3, "backoff_s": 0.01}})
    return run_pipeline(cfg, tmp / name, log=lambda _m: None), folder


@pytest.mark.parametrize("middle", [True, False], ids=["actor-then-tasks", "actor-last"])
def test_actors_are_set_up_once_per_run_across_waves(nih: Any, tmp_path: Path, ray_session: None,
                                                    middle: bool) -> None:
    many, folder = run(nih, tmp_path, "many", middle, per_wave=1)
    assert many.complete
    waves = [e for e in read_log(many.out_dir.parent / "_runs" / f"{many.run_id}.jsonl") if e["event"] == "wave_start"]
    assert len(waves) == many.shards_total >= 4  # one shard a wave
    setups = list(folder.glob("setup-*"))
    assert len(setups) == CountSetupTestStage.default_resources.concurrency  # once per actor, not per wave
    assert (folder / "flaky.count").read_text() == "3"  # retried inside the actor, then passed
    one, _ = run(nih, tmp_path, "one", middle, per_wave=64)
    files = corpus_files(many.out_dir)
    del files["manifest.json"]  # it records the config, whose shards_per_wave differs; tables and shards do not
    assert files == {k: v for k, v in corpus_files(one.out_dir).items() if k != "manifest.json"}
    assert many.summary["quarantined"] == one.summary["quarantined"]


def capacity_config(folder: Path, resources: dict[str, Any], last: bool = True) -> Any:
    counted = {"name": CountSetupTestStage.name, "params": {"folder": str(folder)}, "resources": resources}
    stages = [{"name": "ingest.decode"}, counted, *([] if last else [{"name": "labels.dataset"}])]
    return parse_config({"corpus": "pools", "salt": "s", "stages": stages,
                         "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(folder)}}]})


@pytest.mark.parametrize(("resources", "cpus", "gpus", "problem"), [
    ({"num_cpus": 0.25, "concurrency": 2}, 2, 0, None),  # 0.5 held + ingest's 1.0
    ({"num_cpus": 1.0, "concurrency": 1}, 2, 0, None),  # 1 held + 1: exactly full
    ({"num_cpus": 1.0, "concurrency": 2}, 2, 0, "hold 2 CPU(s) for the run and the stateless stages need 1 more"),
    ({"num_cpus": 0.5, "concurrency": 1, "num_gpus": 1.0}, 4, 0, "ask for 1 GPU(s) and the cluster has 0"),
    ({"num_cpus": 0.5, "concurrency": 2, "num_gpus": 1.0}, 4, 2, None),
])
def test_capacity_check_names_the_pool_that_leaves_no_room(tmp_path: Path, resources: dict[str, Any], cpus: float,
                                                           gpus: float, problem: str | None) -> None:
    from pipelines.ray_exec import check_capacity

    found = check_capacity(capacity_config(tmp_path, resources), cpus, gpus)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0] and "stages[1].resources" in found[0]


def test_capacity_check_ignores_stateless_chains_and_counts_the_final_writer(tmp_path: Path) -> None:
    from pipelines.ray_exec import check_capacity

    stateless = parse_config({"corpus": "c", "salt": "s",
                              "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(tmp_path)}}],
                              "stages": [{"name": "ingest.decode", "resources": {"num_cpus": 4.0}}]})
    assert check_capacity(stateless, 1, 0) == []
    # the actor last: ingest's 1.0 CPU (not the writer's 0.25) is the largest task request beside 1 held CPU
    assert check_capacity(capacity_config(tmp_path, {"num_cpus": 1.0, "concurrency": 1}), 1.9, 0)


def test_a_pool_that_leaves_no_room_fails_before_any_shard(nih: Any, tmp_path: Path, ray_session: None) -> None:
    from pipelines.run import run_pipeline

    counted = {"name": CountSetupTestStage.name, "params": {"folder": str(tmp_path)},
               "resources": {"num_cpus": 1.0, "concurrency": 2}}
    cfg = parse_config({"corpus": "pools", "salt": "s", "shard_size": 2,
                        "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih.root)}}],
                        "stages": [{"name": "ingest.decode"}, counted]})
    with pytest.raises(ConfigError, match=r"stages\[1\]\.resources \(2 x 1 CPU\)"):
        run_pipeline(cfg, tmp_path / "out", log=lambda _m: None)
    assert not list(tmp_path.glob("setup-*"))  # no actor was started
    assert not list((tmp_path / "out").rglob("*.tar"))


def test_actor_calls_go_to_the_least_loaded_actor() -> None:
    from pipelines.ray_exec import least_loaded

    loads = [0, 0]
    picks = [least_loaded(loads, rows) for rows in (32, 20, 20, 12)]  # a wave's shards, largest first
    assert picks == [0, 1, 1, 0] and loads == [44, 40]  # round-robin would have given 52 / 32
    assert least_loaded([5, 5, 5], 1) == 0  # ties: the first
