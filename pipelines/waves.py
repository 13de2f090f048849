"""The wave loop of `medground run`: start Ray, run the pending shards a wave at a time, with live
progress, the run log's wave/shard/stage events, and the run summary at the end."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.config import PipelineConfig
from pipelines.plan import Plan
from pipelines.runlog import RunLog
from pipelines.stage import RunContext
from schemas.errors import ConfigError

if TYPE_CHECKING:  # Ray is imported only when there is work (resuming a complete run needs none)
    from pathlib import Path

    from pipelines.plan_store import PlanStore
    from pipelines.progress import ProgressTracker, ProgressView
    from pipelines.ray_exec import ActorPools


Submitted = tuple[int, int, float, Callable[[], list[dict[str, Any]]]]  # wave, rows, submitted at, result


@dataclass
class WavesOutcome:
    written: list[str]  # shards written by this run, in order
    summary: dict[str, Any]  # see progress.summarize; totals from the writers' own stats


def run_waves(
    cfg: PipelineConfig,
    pending: list[str],
    plan: Plan,
    store: PlanStore,
    out_dir: Path,
    ctx: RunContext,
    log: Callable[[str], None],
    *,
    address: str | None = None,
    runlog: RunLog | None = None,
    view: ProgressView | None = None,
) -> WavesOutcome:
    """Process the `pending` shards of `plan` (a Ray job per wave of `ray.shards_per_wave` shards), each
    wave's rows read from the plan on disk (`store`): the driver holds one wave, not the whole plan."""
    runlog = runlog or RunLog(None)
    labels = stage_labels(cfg)
    counts = store.counts
    runlog.event("plan", samples=sum(counts.values()), shards=len(counts), pending=len(pending),
                 rows_pending=sum(counts[n] for n in pending), stages=labels, inputs=plan.inputs)
    if not pending:
        return WavesOutcome([], {"stages": [], "shards": 0, "samples": 0, "written": 0, "quarantined": 0,
                                 "retries": 0, "rerun_batches": 0, "waves_s": 0.0})
    import ray

    from pipelines.progress import SHARD_FIELDS, ProgressTracker, summarize
    from pipelines.ray_exec import init_ray

    start = time.monotonic()
    url = init_ray(cfg, address, log)
    if url:
        log(f"Ray dashboard: {url}")
    cpus, gpus = ray.cluster_resources().get("CPU", 0), ray.cluster_resources().get("GPU", 0)
    runlog.event("ray", dashboard=url, nodes=sum(1 for n in ray.nodes() if n.get("Alive")), cpus=cpus, gpus=gpus)
    fits(cfg, cpus, gpus, local=not (address or cfg.model.ray.address or os.environ.get("RAY_ADDRESS")), log=log)
    tracker = ProgressTracker(labels, sum(counts[n] for n in pending), len(pending), view=view,
                              runlog=runlog).start()
    stats: list[dict[str, Any]] = []
    try:
        stats = run_all(cfg, pending, store, out_dir, ctx, log, runlog, tracker)
    finally:
        snap = tracker.stop()
    for s in stats:
        if s["shard"] not in tracker.logged_shards:  # progress counters lost: log from the writers' stats
            runlog.event("shard_written", **{k: s[k] for k in ("shard", *SHARD_FIELDS[1:])})
    summary = totals(summarize(snap, labels, time.monotonic() - start), stats)
    for st in summary["stages"]:
        runlog.event("stage", **st)
    return WavesOutcome([s["shard"] for s in stats], summary)


def run_all(cfg: PipelineConfig, pending: list[str], store: PlanStore, out_dir: Path, ctx: RunContext,
            log: Callable[[str], None], runlog: RunLog, tracker: ProgressTracker) -> list[dict[str, Any]]:
    """The run's waves, on actor pools that live for the run (model setup once, not once per wave)."""
    from pipelines.ray_exec import ActorPools

    pools = ActorPools()  # the run's model actors: started on first use, kept across its waves
    try:
        return submit_waves(cfg, pending, store, out_dir, ctx, log, runlog, tracker, pools)
    finally:
        pools.close()


def submit_waves(cfg: PipelineConfig, pending: list[str], store: PlanStore, out_dir: Path, ctx: RunContext,
                 log: Callable[[str], None], runlog: RunLog, tracker: ProgressTracker,
                 pools: ActorPools) -> list[dict[str, Any]]:
    """The waves, one submitted ahead: wave n+1's tasks are queued before wave n's results are read, so
    the workers never idle at a wave boundary (the driver holds two waves' rows, never the plan)."""
    from pipelines.ray_exec import submit_shards

    wave = cfg.model.ray.shards_per_wave
    block_rows = max(1, min(cfg.model.shard_size, 64))
    done: list[dict[str, Any]] = []
    rows_done, last_end = 0, time.monotonic()
    ahead: Submitted | None = None
    for n, i in enumerate([*range(0, len(pending), wave), None]):
        if i is not None:
            names = pending[i : i + wave]
            tables = store.read(names)  # this wave's rows only
            rows = sum(t.num_rows for t in tables)
            runlog.event("wave_start", wave=n, shards=names, rows=rows)
            started = (n, rows, time.monotonic(),
                       submit_shards(cfg, tables, out_dir, ctx, block_rows, tracker.reporter(n), pools))
            del tables
        if ahead is not None:
            rows_done += ahead[1]
            done.extend(end_wave(ahead, rows_done, len(done), tracker, runlog, log, last_end))
            last_end = time.monotonic()
        ahead = started if i is not None else None
    return done


def end_wave(wave: Submitted, rows_done: int, shards_done: int, tracker: ProgressTracker, runlog: RunLog,
             log: Callable[[str], None], last_end: float) -> list[dict[str, Any]]:
    """Wait for a submitted wave's shards; settle its progress counters; log it (its seconds count from
    its submission or the previous wave's end, whichever is later)."""
    n, _, submitted, result = wave
    t = max(submitted, last_end)
    stats = result()
    tracker.settle(rows_done, shards_done + len(stats))
    if n:  # the next wave's reports count in the totals too, so the settle can end before this wave's last
        tracker.end_wave(n - 1)  # report: keep its batch keys (a re-run counts once) until the next one ends
    for s in stats:
        log(f"  shard {s['shard']}: {s['written']} written, {s['quarantined']} quarantined")
    runlog.event("wave_end", wave=n, seconds=round(time.monotonic() - t, 3), shards=len(stats),
                 written=sum(s["written"] for s in stats), quarantined=sum(s["quarantined"] for s in stats))
    return stats


def fits(cfg: PipelineConfig, cpus: float, gpus: float, local: bool, log: Callable[[str], None]) -> None:
    """On a local Ray a chain whose actor pools leave no room for its tasks is a config error, before any
    shard starts; a cluster may autoscale to fit it, so there it is a warning."""
    from pipelines.ray_exec import check_capacity

    for problem in check_capacity(cfg, cpus, gpus):
        if local:
            raise ConfigError("stages", problem)
        log(f"warning: {problem} (now; an autoscaling cluster may add them)")


def stage_labels(cfg: PipelineConfig) -> list[str]:
    """One label per configured stage: its name, or `name#i` when a stage is listed twice."""
    names = [st.name for st in cfg.stages]
    return [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]


def totals(summary: dict[str, Any], stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Shard totals from the writers' returned stats (authoritative, whatever the progress counters saw)."""
    summary["shards"] = len(stats)
    for k in ("samples", "written", "quarantined"):
        summary[k] = sum(int(s[k]) for s in stats)
    return summary
