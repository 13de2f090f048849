"""The Ray adapter: stages become Ray Data operators, shards are written by Ray tasks.

Stateless stages run as tasks (`map_batches` with a function); stateful ones (models) as actor pools
(`map_batches` with a class and `concurrency`). Every operator asks for fractional CPUs, so a 2-core
machine never starves the reads (a deadlock seen with whole-CPU actors). The shard writer runs per
group after a `groupby("shard")`, so each shard is written whole by one task.

Each wrapper reports what it did to the run's progress counters (pipelines/progress.py) when given a
`reporter` (progress.Reporter). Failures: a task that raises `RetryableError` (stage setup, a transient
I/O error while writing a shard) or whose worker died is re-run up to `retries.attempts - 1` times;
a pool actor that died is restarted (Ray Data's default, kept) and its batch re-run, as often.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray
import ray.data

from pipelines.config import BoundStage, PipelineConfig
from pipelines.progress import Reporter
from pipelines.stage import BatchStats, RunContext, Stage, is_transient
from pipelines.waves import stage_labels
from pipelines.writers.shard import write_shard
from schemas.errors import RetryableError
from schemas.tables import SAMPLE_SCHEMA


class StageActor:
    """Hosts one stateful stage in a Ray actor: `setup()` runs once, then batches stream through."""

    def __init__(self, stage_cls: type[Stage], params: Any, ctx: RunContext, label: str = "",
                 reporter: Reporter | None = None) -> None:
        self.stage = stage_cls(params, ctx)
        self.stage.setup()
        self.stage._ready = True
        self.label, self.reporter = label or stage_cls.name, reporter

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = self.stage.process_batch(batch)
        report_batch(self.reporter, self.label, batch, self.stage.last_batch)
        return out


def run_stateless(batch: pa.Table, stage_cls: type[Stage], params: Any, ctx: RunContext, label: str = "",
                  reporter: Reporter | None = None) -> pa.Table:
    stage = stage_cls(params, ctx)
    out = stage.process_batch(batch)
    report_batch(reporter, label or stage_cls.name, batch, stage.last_batch)
    return out


def report_batch(reporter: Reporter | None, label: str, batch: pa.Table, stats: BatchStats) -> None:
    """Fire-and-forget: tell the progress counters about one batch (keyed, so a re-run counts once)."""
    if reporter is None or batch.num_rows == 0:
        return
    keys = batch.column("sample_key")
    key = hashlib.sha256(f"{keys[0]}|{keys[-1]}|{batch.num_rows}".encode()).hexdigest()[:16]
    reporter.batch(label, key, stats)


class ShardWriteRetry(RetryableError, OSError):
    """A transient OS error while writing a shard: Ray re-runs the writer task (the writes are atomic)."""


def write_group(batch: pa.Table, out_dir: str, reporter: Reporter | None = None) -> pa.Table:
    rows = batch.to_pylist()
    try:
        stats = write_shard(Path(out_dir), rows[0]["shard"], rows)
    except OSError as err:
        if is_transient(err) and not isinstance(err, RetryableError):
            raise ShardWriteRetry(err.errno, err.strerror, err.filename) from err
        raise
    if reporter is not None:
        reporter.shard(stats)
    return pa.table(
        {
            "shard": [stats["shard"]],
            "samples": [stats["samples"]],
            "written": [stats["written"]],
            "quarantined": [stats["quarantined"]],
            "node": [ray.get_runtime_context().get_node_id()],
            "pid": [os.getpid()],
        }
    )


def init_ray(cfg: PipelineConfig, address: str | None, log: Callable[[str], None] | None = None) -> str | None:
    """Connect to a cluster (--address, config, RAY_ADDRESS) or start a local Ray for this run.
    Returns the Ray dashboard's URL when there is one (a cluster's, or a local one with `ray.dashboard`)."""
    url = None
    if not ray.is_initialized():
        address = address or cfg.model.ray.address or os.environ.get("RAY_ADDRESS")
        env = {"env_vars": {"PYTHONHASHSEED": "0"}}
        if address:
            info = ray.init(address=address, runtime_env=env, log_to_driver=False)
        else:
            info = ray.init(
                address="local",
                num_cpus=cfg.model.ray.num_cpus,
                object_store_memory=cfg.model.ray.object_store_memory_mb * 1024 * 1024,
                include_dashboard=cfg.model.ray.dashboard and dashboard_installed(log),
                runtime_env=env,
                log_to_driver=False,
            )
        url = getattr(info, "dashboard_url", None) or None
    configure_data_context(cfg.model.debug)
    if url and "://" not in url:
        url = f"http://{url}"
    return url


def dashboard_installed(log: Callable[[str], None] | None) -> bool:
    """The Ray dashboard needs `ray[default]`; with only `ray[data]` ray.init would fail: say so, go on."""
    try:
        import ray.dashboard.optional_deps  # noqa: F401
    except ImportError as err:
        if log is not None:
            log(f"ray.dashboard: the Ray dashboard needs `pip install 'ray[default]'` (missing: {err.name}); "
                "running without it")
        return False
    return True


def configure_data_context(cfg_debug: bool = False) -> None:
    """Ray Data settings medground relies on. The sort-based pull shuffle costs ~0.5 s per wave where
    the default hash shuffle (aggregator actors) costs 7-10 s on a 2-core machine (measured)."""
    from ray.data.context import ShuffleStrategy

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # medground shows its own (pipelines/progress.py)
    if not cfg_debug:
        # medground prints its own progress and turns errors into one-line messages; Ray Data's
        # driver-side logger would print each failed task's stack trace as well (debug: keep it)
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    ctx.verbose_stats_logs = False
    ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    ctx.actor_task_retry_on_errors = [RetryableError]  # bounded by max_task_retries (apply_stage)


def apply_stage(ds: ray.data.Dataset, st: BoundStage, ctx: RunContext, label: str = "",
                reporter: Reporter | None = None) -> ray.data.Dataset:
    r = st.resources
    retries = max(0, ctx.retry_attempts - 1)  # bounded: Ray Data's own defaults retry forever
    common: dict[str, Any] = {
        "batch_format": "pyarrow",
        "batch_size": r.batch_size,
        "num_cpus": r.num_cpus,
    }
    if r.num_gpus:
        common["num_gpus"] = r.num_gpus
    with remote_args_allowed():
        if st.cls.stateful:  # a dead actor is restarted (max_restarts -1, Ray Data's default), its batch re-run
            return ds.map_batches(
                StageActor,
                fn_constructor_args=(st.cls, st.params, ctx, label, reporter),
                concurrency=r.concurrency,
                max_restarts=-1,
                max_task_retries=retries,
                **common,
            )
        kwargs = {"stage_cls": st.cls, "params": st.params, "ctx": ctx, "label": label, "reporter": reporter}
        return ds.map_batches(run_stateless, fn_kwargs=kwargs, max_retries=retries,
                              retry_exceptions=[RetryableError], **common)


@contextlib.contextmanager
def remote_args_allowed() -> Iterator[None]:
    """Ray 2.60 warns that `**ray_remote_args` (max_retries, retry_exceptions, max_task_retries) go in 2.64;
    they have no named replacement yet (DataContext.max_map_retries retries in-process and cannot bound
    worker deaths). medground pins ray 2.60.*: keep them, without the warning on every run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        yield


def run_wave(
    cfg: PipelineConfig, rows: list[dict[str, Any]], out_dir: Path, ctx: RunContext, block_rows: int,
    reporter: Reporter | None = None,
) -> list[dict[str, Any]]:
    """Run every stage over the samples of a few shards and write those shards."""
    table = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    blocks = [table.slice(i, block_rows) for i in range(0, table.num_rows, block_rows)]
    ds = ray.data.from_arrow(blocks)
    for st, label in zip(cfg.stages, stage_labels(cfg), strict=True):
        ds = apply_stage(ds, st, ctx, label, reporter)
    n_shards = len({r["shard"] for r in rows})
    with remote_args_allowed():
        written = ds.groupby("shard", num_partitions=n_shards).map_groups(
            write_group, fn_kwargs={"out_dir": str(out_dir), "reporter": reporter}, batch_format="pyarrow",
            num_cpus=0.25, max_retries=max(0, ctx.retry_attempts - 1), retry_exceptions=[RetryableError],
            scheduling_strategy="SPREAD",  # spread shard writers (and their I/O) over the cluster's nodes
        )
    return sorted(written.take_all(), key=lambda r: r["shard"])
