"""The Ray adapter: the stage chain runs shard by shard, and each shard is written where it ran.

The wave's input is one block per plan shard, and it stays one block to the end. Consecutive stateless
stages fuse into one segment (pipelines/chain.py over plain rows); a chain of stateless stages only is
one plain Ray task per shard. A stateful stage (a model) is a pool of Ray actors of its own
(`concurrency`), started once per run and kept across its waves (`ActorPools`: a pool per wave paid an
actor start and the model's setup again every wave, 4.4 s a wave for findings.rules on 2 CPUs,
bench/waves.py); each shard's segments are chained task → actor call → task by object refs, the
blocks between them as Arrow IPC bytes. The shard writer runs in the last stateless segment (or as a
task after a final actor pool), so pixels never go through a shuffle. Actors ask for fractional CPUs,
so a 2-core machine never starves (a deadlock seen with whole-CPU actors).

Each wrapper reports what it did to the run's progress counters (pipelines/progress.py) when given a
`reporter` (progress.Reporter). Failures: a task that raises `RetryableError` (stage setup, a transient
I/O error while writing a shard) or whose worker died is re-run up to `retries.attempts - 1` times;
a pool actor that died is restarted (its stages set up again) and its call re-run, as often; so is a
call that raised `RetryableError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray
import ray.data
import ray.exceptions

from pipelines.chain import ChainActor, Step, chain_task, from_ipc, run_chain, to_ipc, write_task
from pipelines.config import BoundStage, PipelineConfig
from pipelines.plan_store import full_row
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


def check_capacity(cfg: PipelineConfig, cpus: float, gpus: float) -> list[str]:
    """What keeps this chain from running on a cluster of `cpus`/`gpus`; empty when it fits. A pool's actors
    hold their CPUs/GPUs for the whole run, so the pools' reservations plus the largest request of a
    stateless segment (or the writer after a final pool) must fit, or the tasks that feed the actors never
    start: a run that hangs instead of an error. Each problem names the stage's `resources` key."""
    index = {label: i for i, label in enumerate(stage_labels(cfg))}
    segs = segments(cfg)
    held_cpu = held_gpu = 0.0
    task_cpu = 0.25 if segs[-1][0] else 0.0
    pools = []
    for stateful, bound in segs:
        cpu = max(st.resources.num_cpus for st, _ in bound)
        if not stateful:
            task_cpu = max(task_cpu, cpu)
            continue
        n = max(st.resources.concurrency for st, _ in bound)
        gpu = max(st.resources.num_gpus for st, _ in bound)
        held_cpu, held_gpu = held_cpu + n * cpu, held_gpu + n * gpu
        pools.append(f"stages[{index[bound[0][1]]}].resources ({n} x {cpu:g} CPU" + (f", {gpu:g} GPU" if gpu else "")
                     + ")")
    if not pools:
        return []
    out = []
    if held_gpu > gpus:
        out.append(f"the actor pools ask for {held_gpu:g} GPU(s) and the cluster has {gpus:g}: " + ", ".join(pools))
    if held_cpu + task_cpu > cpus:
        out.append(f"the actor pools hold {held_cpu:g} CPU(s) for the run and the stateless stages need "
                   f"{task_cpu:g} more, but the cluster has {cpus:g}: lower concurrency or num_cpus in "
                   + ", ".join(pools))
    return out


class SegmentActor:
    """A stateful segment hosted for a whole run: its stages set up once (`ChainActor`), then every wave's
    shards through `run`, Arrow IPC bytes in and out (the progress reporter is the wave's, per call)."""

    def __init__(self, steps: list[Step], ctx: RunContext, chunk: int) -> None:
        self.host = ChainActor(steps, ctx, chunk)

    @ray.method(retry_exceptions=[RetryableError])
    def run(self, batch: bytes, reporter: Reporter | None) -> bytes:
        rows = run_chain(from_ipc(batch).to_pylist(), self.host.stages, self.host.chunk, reporter)
        return to_ipc(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA))


def segment_ipc(batch: bytes, steps: list[Step], ctx: RunContext, chunk: int, reporter: Reporter | None) -> bytes:
    """A stateless segment that feeds an actor pool: one block in and out as IPC bytes."""
    return to_ipc(chain_task(batch, steps, ctx, chunk, reporter=reporter))


def write_ipc(batch: bytes, out_dir: str, expected: dict[str, int], reporter: Reporter | None) -> pa.Table:
    """The writer after a final actor pool: one block = one shard."""
    return write_task(from_ipc(batch), out_dir, expected, reporter)


class ActorPools:
    """The run's actors, one pool per stateful segment (by its index in `segments`), started on first use
    and kept until `close()`. A call goes to the pool's actor with the fewest rows given so far (the
    wave's shards come largest first: greedy LPT, so a short last shard of a split evens out the load
    instead of landing by turn); ties go to the lower index."""

    def __init__(self) -> None:
        self.pools: dict[int, list[Any]] = {}
        self.loads: dict[int, list[int]] = {}

    def pick(self, index: int, bound: list[tuple[BoundStage, str]], ctx: RunContext, chunk: int,
             rows: int = 1) -> Any:
        if index not in self.pools:
            steps, chunk, resources, retries = segment_spec(bound, ctx, chunk)
            actor = ray.remote(SegmentActor).options(**resources, max_restarts=-1, max_task_retries=retries)
            size = max(st.resources.concurrency for st, _ in bound)
            self.pools[index] = [actor.remote(steps, ctx, chunk) for _ in range(size)]
            self.loads[index] = [0] * size
        return self.pools[index][least_loaded(self.loads[index], rows)]

    def close(self) -> None:
        for pool in self.pools.values():
            for actor in pool:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
        self.pools.clear()
        self.loads.clear()


def least_loaded(loads: list[int], rows: int) -> int:
    """The index of the smallest load (the first among equals), which then carries `rows` more."""
    i = min(range(len(loads)), key=loads.__getitem__)
    loads[i] += rows
    return i


def submit_chained(tables: list[pa.Table], segs: list[tuple[bool, list[tuple[BoundStage, str]]]], ctx: RunContext,
                   chunk: int, writer: dict[str, Any], reporter: Reporter | None,
                   pools: ActorPools) -> list[ray.ObjectRef]:
    """A chain with actor pools: per shard, its segments as task → actor call → … → writer, chained by
    object refs (each block moves between workers once per segment boundary, as IPC bytes)."""
    retries = max(0, ctx.retry_attempts - 1)
    opts = {"max_retries": retries, "retry_exceptions": [RetryableError]}
    shipped = []
    for i, (stateful, bound) in enumerate(segs):
        if stateful:
            shipped.append(None)
            continue
        steps, seg_chunk, resources, _ = segment_spec(bound, ctx, chunk)
        last = i == len(segs) - 1
        fn = chain_task if last else segment_ipc
        task = ray.remote(fn).options(**resources, **opts, **({"scheduling_strategy": "SPREAD"} if last else {}))
        shipped.append((task, ray.put(steps), seg_chunk, last))
    ctx_ref, expected_ref = ray.put(ctx), ray.put(writer["expected"])
    writer_task = ray.remote(write_ipc).options(num_cpus=0.25, scheduling_strategy="SPREAD", **opts)
    refs = []
    for table in sorted(tables, key=lambda t: -t.num_rows):  # LPT, as submit_tasks
        ref: Any = to_ipc(table)
        for i, (stateful, bound) in enumerate(segs):
            if stateful:
                ref = pools.pick(i, bound, ctx, chunk, table.num_rows).run.remote(ref, reporter)
                continue
            task, steps_ref, seg_chunk, last = shipped[i]
            if last:
                ref = task.remote(ref, steps_ref, ctx_ref, seg_chunk, out_dir=writer["out_dir"], expected=expected_ref,
                                  reporter=reporter)
            else:
                ref = task.remote(ref, steps_ref, ctx_ref, seg_chunk, reporter)
        if segs[-1][0]:
            ref = writer_task.remote(ref, writer["out_dir"], expected_ref, reporter)
        refs.append(ref)
    return refs


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
    """Every task's result; on the first failure the other tasks are given up to 60 s to end (a shard they
    write is complete and kept for a resume; shard writes are atomic) and their results consumed, so Ray
    logs no 'unhandled error' for them, then the task's own exception is raised. They are not
    cancelled: in Ray 2.60 a `ray.cancel` racing a task's completion can abort the driver in Ray's task
    manager ("Check failed: it != submissible_tasks_.end() Tried to complete task that was not pending",
    seen here in 1 of 4 runs of a failing run; ray-project/ray#54846, #54798)."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayError as err:
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=60)
        for ref in ready:
            with contextlib.suppress(ray.exceptions.RayError):
                ray.get(ref)
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
    """`run_wave` on rows already grouped: shard name -> rows, or one Arrow table per shard (actors, if
    any, live for this call only)."""
    pools = ActorPools()
    try:
        return submit_shards(cfg, by_shard, out_dir, ctx, block_rows, reporter, pools)()
    finally:
        pools.close()


def submit_shards(
    cfg: PipelineConfig, by_shard: dict[str, list[dict[str, Any]]] | list[pa.Table], out_dir: Path,
    ctx: RunContext, block_rows: int, reporter: Reporter | None, pools: ActorPools,
) -> Callable[[], list[dict[str, Any]]]:
    """`run_shards` in two steps: start the work now, call the result for the writers' stats. The tasks
    start at once (so the driver can submit the next wave while this one runs: no idle workers between
    waves); a chain with stateful stages uses `pools`' actors (the run's, kept across its waves)."""
    if isinstance(by_shard, dict):
        tables = [pa.Table.from_pylist([full_row(r) for r in v], schema=SAMPLE_SCHEMA)
                  for _, v in sorted(by_shard.items())]
    else:
        tables = by_shard
    tables = [t for t in tables if t.num_rows]
    expected = {t.column("shard")[0].as_py(): t.num_rows for t in tables}
    segs = segments(cfg)
    writer = {"out_dir": str(out_dir), "expected": expected}
    if len(segs) == 1 and not segs[0][0]:  # stateless end to end: one plain Ray task per shard
        refs = submit_tasks(tables, segs[0][1], ctx, block_rows, writer, reporter)
        return lambda: sorted((r for t in collect(refs) for r in t.to_pylist()), key=lambda r: r["shard"])
    refs = submit_chained(tables, segs, ctx, block_rows, writer, reporter, pools)
    return lambda: sorted((r for t in collect(refs) for r in t.to_pylist()), key=lambda r: r["shard"])
