"""The Ray adapter: the stage chain runs shard by shard, and each shard is written where it ran.

The wave's input is one block per plan shard, and it stays one block to the end. Consecutive stateless
stages fuse into one segment (pipelines/chain.py over plain rows); a chain of stateless stages only is
one plain Ray task per shard. A stateful stage (a model) is a Ray Data actor pool of its own
(`concurrency`), between Ray Data operators for the stateless segments. The shard writer runs in the
last stateless segment (or as a task after a final actor pool), so pixels never go through a shuffle.
Actor pools ask for fractional CPUs, so a 2-core machine never starves (a deadlock seen with whole-CPU
actors).

Each wrapper reports what it did to the run's progress counters (pipelines/progress.py) when given a
`reporter` (progress.Reporter). Failures: a task that raises `RetryableError` (stage setup, a transient
I/O error while writing a shard) or whose worker died is re-run up to `retries.attempts - 1` times;
a pool actor that died is restarted (Ray Data's default, kept) and its block re-run, as often.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray
import ray.data
import ray.exceptions

from pipelines.chain import ChainActor, Step, chain_task, to_ipc, write_task
from pipelines.config import BoundStage, PipelineConfig
from pipelines.progress import Reporter
from pipelines.stage import RunContext
from pipelines.waves import stage_labels
from schemas.errors import RetryableError
from schemas.tables import SAMPLE_SCHEMA

_STARTED_URL: dict[str, str | None] = {}  # GCS address -> dashboard URL of the Ray this process started


def init_ray(cfg: PipelineConfig, address: str | None, log: Callable[[str], None] | None = None) -> str | None:
    """Connect to a cluster (--address, config, RAY_ADDRESS) or start a local Ray for this run.
    Returns the Ray dashboard's URL when there is one (a cluster's, or a local one with `ray.dashboard`);
    the same URL again when this process started that Ray earlier (e.g. for planning's work)."""
    url = _STARTED_URL.get(ray.get_runtime_context().gcs_address) if ray.is_initialized() else None
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
        _STARTED_URL.clear()
        _STARTED_URL[ray.get_runtime_context().gcs_address] = url
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
    # a stage's or writer's own exception reaches the driver (an OSError stays one, for the CLI's
    # one-line message; RetryableError matches `retry_exceptions`), not Ray Data's UserCodeException
    ctx.raise_original_map_exception = True
    ctx.target_max_block_size = None  # a block is one shard end to end: never split it (pipelines/chain.py)
    ctx.actor_task_retry_on_errors = [RetryableError]  # bounded by max_task_retries (apply_stage)


@contextlib.contextmanager
def remote_args_allowed() -> Iterator[None]:
    """Ray 2.60 warns that `**ray_remote_args` (max_retries, retry_exceptions, max_task_retries) go in 2.64;
    they have no named replacement yet (DataContext.max_map_retries retries in-process and cannot bound
    worker deaths). medground pins ray 2.60.*: keep them, without the warning on every run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        yield


def segments(cfg: PipelineConfig) -> list[tuple[bool, list[tuple[BoundStage, str]]]]:
    """Consecutive stateless stages fuse into one segment (one Ray operator); a stateful stage (a model
    in an actor pool) is a segment of its own."""
    out: list[tuple[bool, list[tuple[BoundStage, str]]]] = []
    for st, label in zip(cfg.stages, stage_labels(cfg), strict=True):
        if st.cls.stateful or not out or out[-1][0]:
            out.append((st.cls.stateful, [(st, label)]))
        else:
            out[-1][1].append((st, label))
    return out


def segment_spec(bound: list[tuple[BoundStage, str]], ctx: RunContext,
                 chunk: int) -> tuple[list[Step], int, dict[str, Any], int]:
    """What a segment ships and asks for, however it runs: its steps, the rows per chunk (bounded by every
    stage's batch size), its resources (the largest CPU/GPU request of its stages) and its retries
    (bounded: Ray Data's own defaults retry forever)."""
    steps = [Step(st.cls, st.params, label) for st, label in bound]
    chunk = min([chunk, *(st.resources.batch_size for st, _ in bound)])
    resources: dict[str, Any] = {"num_cpus": max(st.resources.num_cpus for st, _ in bound)}
    gpus = max(st.resources.num_gpus for st, _ in bound)
    if gpus:
        resources["num_gpus"] = gpus
    return steps, chunk, resources, max(0, ctx.retry_attempts - 1)


def apply_segment(ds: ray.data.Dataset, stateful: bool, bound: list[tuple[BoundStage, str]], ctx: RunContext,
                  chunk: int, writer: dict[str, Any] | None, reporter: Reporter | None) -> ray.data.Dataset:
    """One Ray operator for a segment; each call gets one whole block (one shard, `batch_size=None`) and
    runs it `chunk` rows at a time through the segment's stages; `writer` fuses the shard writer in."""
    steps, chunk, resources, retries = segment_spec(bound, ctx, chunk)
    common: dict[str, Any] = {"batch_format": "pyarrow", "batch_size": None, **resources}
    args = {"steps": steps, "ctx": ctx, "chunk": chunk, "reporter": reporter, **(writer or {})}
    with remote_args_allowed():
        if stateful:  # a dead actor is restarted (max_restarts -1, Ray Data's default), its block re-run
            return ds.map_batches(ChainActor, fn_constructor_kwargs=args,
                                  concurrency=max(st.resources.concurrency for st, _ in bound),
                                  max_restarts=-1, max_task_retries=retries, **common)
        spread = {"scheduling_strategy": "SPREAD"} if writer else {}  # writers' I/O over the cluster's nodes
        return ds.map_batches(chain_task, fn_kwargs=args, max_retries=retries,
                              retry_exceptions=[RetryableError], **spread, **common)


def submit_tasks(tables: list[pa.Table], bound: list[tuple[BoundStage, str]], ctx: RunContext, chunk: int,
                 writer: dict[str, Any], reporter: Reporter | None) -> list[ray.ObjectRef]:
    """A chain of stateless stages, the shard writer fused in: one plain Ray task per shard (no Ray Data
    executor: it cost ~0.2 s of idle worker per block and its own start-up per wave, measured). Retries
    as in `apply_segment`: `RetryableError` and worker deaths, `retries.attempts - 1` times; a task's own
    exception reaches the driver as itself (as Ray Data's `raise_original_map_exception` did)."""
    steps, chunk, resources, retries = segment_spec(bound, ctx, chunk)
    task = ray.remote(chain_task).options(**resources, max_retries=retries, retry_exceptions=[RetryableError],
                                          scheduling_strategy="SPREAD")  # writers' I/O over the cluster's nodes
    # largest shards first (LPT): a wave's small, partial shards end it, so its last task is short
    order = sorted(tables, key=lambda t: -t.num_rows)
    # what every task of the wave shares is pickled once, not once per task (measured: ~45% of the
    # driver's CPU at 20 tasks); Ray resolves top-level refs before the task runs
    steps_ref, ctx_ref, expected_ref = ray.put(steps), ray.put(ctx), ray.put(writer["expected"])
    return [task.remote(to_ipc(t), steps_ref, ctx_ref, chunk, out_dir=writer["out_dir"], expected=expected_ref,
                        reporter=reporter) for t in order]


def collect(refs: list[ray.ObjectRef]) -> list[Any]:
    """Every task's result; on the first failure the tasks not yet done are cancelled (a running one is
    interrupted: shard writes are atomic, a resume redoes it) and their results consumed, so Ray logs no
    'unhandled error' for them, then the task's own exception is raised."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayError as err:
        for ref in refs:
            ray.cancel(ref)
        for ref in refs:
            with contextlib.suppress(ray.exceptions.RayError):
                ray.get(ref, timeout=60)
        cause = getattr(err, "cause", None)
        if isinstance(err, ray.exceptions.RayTaskError) and isinstance(cause, Exception):
            raise cause from err
        raise


def run_wave(
    cfg: PipelineConfig, rows: list[dict[str, Any]], out_dir: Path, ctx: RunContext, block_rows: int = 64,
    reporter: Reporter | None = None,
) -> list[dict[str, Any]]:
    """Run every stage over the samples of a few shards and write those shards. Each shard is one block
    from start to end; consecutive stateless stages and the writer run in one task per shard, so the
    pixels never leave the worker that decoded them unless a stateful stage (an actor pool) sits in
    between. `block_rows` bounds the rows a stage handles at once."""
    by_shard: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_shard.setdefault(r["shard"], []).append(r)
    return run_shards(cfg, by_shard, out_dir, ctx, block_rows, reporter)


def run_shards(
    cfg: PipelineConfig, by_shard: dict[str, list[dict[str, Any]]] | list[pa.Table], out_dir: Path,
    ctx: RunContext, block_rows: int = 64, reporter: Reporter | None = None,
) -> list[dict[str, Any]]:
    """`run_wave` on rows already grouped: shard name -> rows, or one Arrow table per shard."""
    return submit_shards(cfg, by_shard, out_dir, ctx, block_rows, reporter)()


def submit_shards(
    cfg: PipelineConfig, by_shard: dict[str, list[dict[str, Any]]] | list[pa.Table], out_dir: Path,
    ctx: RunContext, block_rows: int = 64, reporter: Reporter | None = None,
) -> Callable[[], list[dict[str, Any]]]:
    """`run_shards` in two steps: start the work now, call the result for the writers' stats. A stateless
    chain's tasks start at once (so the driver can submit the next wave while this one runs: no idle
    workers between waves); a chain with an actor pool runs when called (one Ray Data job)."""
    if isinstance(by_shard, dict):
        tables = [pa.Table.from_pylist(v, schema=SAMPLE_SCHEMA) for _, v in sorted(by_shard.items())]
    else:
        tables = by_shard
    tables = [t for t in tables if t.num_rows]
    expected = {t.column("shard")[0].as_py(): t.num_rows for t in tables}
    segs = segments(cfg)
    writer = {"out_dir": str(out_dir), "expected": expected}
    if len(segs) == 1 and not segs[0][0]:  # stateless end to end: one plain Ray task per shard
        refs = submit_tasks(tables, segs[0][1], ctx, block_rows, writer, reporter)
        return lambda: sorted((r for t in collect(refs) for r in t.to_pylist()), key=lambda r: r["shard"])
    ds = ray.data.from_arrow(tables)
    for i, (stateful, bound) in enumerate(segs):
        last = i == len(segs) - 1 and not stateful
        ds = apply_segment(ds, stateful, bound, ctx, block_rows, writer if last else None, reporter)
    if segs[-1][0]:  # the chain ends in an actor pool: the writer is a task of its own
        with remote_args_allowed():
            ds = ds.map_batches(write_task, fn_kwargs={**writer, "reporter": reporter}, batch_format="pyarrow",
                                batch_size=None, num_cpus=0.25, max_retries=max(0, ctx.retry_attempts - 1),
                                retry_exceptions=[RetryableError], scheduling_strategy="SPREAD")
    return lambda: sorted(ds.take_all(), key=lambda r: r["shard"])
