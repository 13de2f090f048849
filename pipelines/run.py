"""`medground run`: plan → (skip complete shards) → Ray waves → source losses → manifest → QC → card."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config import PipelineConfig
from pipelines.incremental import (
    PLAN_FILE,
    Increment,
    choose_version,
    increment_plan,
    link_shard,
    read_inputs,
    read_plan_file,
    write_inputs,
)
from pipelines.plan import Plan, build_plan
from pipelines.plan_store import write_plan_store
from pipelines.ray_session import launcher
from pipelines.runlog import LOG_SUFFIX, RunLog
from pipelines.runs import RUNS_DIR, latest, new_run_id, record_run
from pipelines.stage import RunContext
from pipelines.versions import versions
from pipelines.writers.manifest import write_manifest, write_source_losses
from pipelines.writers.shard import PROGRESS_DIR, atomic_write_bytes, completed_shards
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from pipelines.progress import ProgressView


@dataclass
class RunResult:
    out_dir: Path
    shards_total: int
    shards_skipped: int
    shards_written: list[str]
    manifest: dict[str, Any] | None
    complete: bool
    run_id: str = ""
    inputs: dict[str, dict[str, int]] | None = None
    version: str = ""
    increment: dict[str, Any] | None = None  # base, carried shards, new/redone/removed inputs
    dedup: dict[str, int] | None = None
    unchanged: bool = False  # an incremental run that found nothing new (no version written)
    summary: dict[str, Any] | None = None  # per-stage rows/quarantined/busy seconds, totals, elapsed


@dataclass(frozen=True)
class Target:
    """Where a run writes: `version` under the corpus root; for an incremental run, the published
    version it builds on."""

    version: str
    base: str | None = None
    generation: int = 0


def resolve_target(corpus_root: Path, cfg: PipelineConfig, incremental: bool, new_version: str | None) -> Target:
    if not incremental:
        if new_version:
            raise ConfigError("--new-version", "only with --incremental (a full build writes `version`)")
        return Target(cfg.version)
    base = latest(corpus_root)
    if base is None:
        raise ConfigError("--incremental", f"no published version under {corpus_root} to build on; "
                          "run once without --incremental first")
    previous = read_plan_file(corpus_root / base)
    if previous.get("content") not in (None, cfg.content_fingerprint()):
        raise ConfigError("--incremental", f"the config differs from the one that built {base} (other than "
                          "`version`): its shards cannot be reused; run a full build with a new `version`")
    version, generation = choose_version(corpus_root, base, cfg.version, new_version)
    return Target(version, base, generation)


def corpus_dir(out: Path, cfg: PipelineConfig) -> Path:
    return out / cfg.corpus / cfg.version


def check_resumable(out_dir: Path, cfg: PipelineConfig, plan: Plan, target: Target) -> None:
    """An existing output must come from the same config and the same plan, or we refuse to mix."""
    marker = out_dir / PROGRESS_DIR / PLAN_FILE
    current = {"config": cfg.fingerprint(), "content": cfg.content_fingerprint(), "base": target.base,
               "generation": target.generation, "shards": {k: len(v) for k, v in plan.shards.items()}}
    if marker.is_file():
        previous = json.loads(marker.read_text())
        if {k: previous.get(k) for k in current} != current:
            raise ConfigError(
                "--out",
                f"{out_dir} holds a corpus built from another config or other inputs; "
                "use a new --out or a new `version`",
            )
    else:
        atomic_write_bytes(marker, json.dumps(current, sort_keys=True).encode())


def run_pipeline(
    cfg: PipelineConfig,
    out: Path,
    *,
    address: str | None = None,
    max_shards: int | None = None,
    incremental: bool = False,
    new_version: str | None = None,
    log: Callable[[str], None] = print,
    progress: ProgressView | None = None,
) -> RunResult:
    """Build (or resume) `cfg.version`; with `incremental`, a new version holding only new work on top
    of the published one (pipelines/incremental.py). `progress` shows live per-stage progress; the run's
    events go to OUT/<corpus>/_runs/<run_id>.jsonl (pipelines/runlog.py), its summary to the run record."""
    salt = cfg.resolve_salt()
    corpus_root = out / cfg.corpus
    target = resolve_target(corpus_root, cfg, incremental, new_version)
    out_dir = corpus_root / target.version
    run_id = new_run_id()
    record_run(corpus_root, run_id, status="running", version=target.version, base=target.base,
               config=cfg.fingerprint(), versions=versions(), started=_now())
    runlog = RunLog(corpus_root / RUNS_DIR / f"{run_id}{LOG_SUFFIX}")
    runlog.event("run_start", run_id=run_id, corpus=cfg.corpus, version=target.version, base=target.base,
                 config=cfg.fingerprint(), versions=versions(), max_shards=max_shards, incremental=incremental)
    started = time.monotonic()
    try:
        result = execute(cfg, out_dir, salt, address=address, max_shards=max_shards, log=log, target=target,
                         runlog=runlog, view=progress)
    except BaseException as err:
        record_run(corpus_root, run_id, status="failed", error=type(err).__name__, ended=_now())
        runlog.event("run_end", status="failed", error=type(err).__name__,
                     elapsed_s=round(time.monotonic() - started, 3))
        runlog.close()
        raise
    result.run_id = run_id
    result.summary = {**(result.summary or {}), "elapsed_s": round(time.monotonic() - started, 3)}
    status = "unchanged" if result.unchanged else "complete" if result.complete else "incomplete"
    record_run(corpus_root, run_id, status=status,
               inputs=result.inputs, shards_total=result.shards_total, shards_skipped=result.shards_skipped,
               shards_written=result.shards_written, increment=result.increment, dedup=result.dedup,
               summary=result.summary, ended=_now())
    runlog.event("run_end", status=status, shards_total=result.shards_total, shards_skipped=result.shards_skipped,
                 shards_written=len(result.shards_written), summary=result.summary)
    runlog.close()
    return result


def execute(
    cfg: PipelineConfig,
    out_dir: Path,
    salt: str,
    *,
    address: str | None,
    max_shards: int | None,
    log: Callable[[str], None],
    target: Target | None = None,
    runlog: RunLog | None = None,
    view: ProgressView | None = None,
) -> RunResult:
    target = target or Target(out_dir.name)
    with launcher(lambda: start_ray(cfg, address, log)):  # planning's Ray work runs on the run's Ray
        plan, inc = make_plan(cfg, out_dir, salt, target, log)
    if inc is not None and inc.unchanged:
        log(f"nothing new since {inc.base}: no new version; LATEST stays {inc.base}")
        return RunResult(out_dir.parent / inc.base, len(plan.shards), len(plan.shards), [], None, True,
                         inputs=plan.inputs, version=inc.base, increment=inc.describe(), dedup=plan.dedup,
                         unchanged=True)
    check_resumable(out_dir, cfg, plan, target)
    if inc is not None:
        for shard in inc.carried:
            link_shard(out_dir.parent / inc.base, out_dir, shard)
    write_inputs(out_dir, plan)
    store = write_plan_store(out_dir, plan.shards)
    plan.shards.clear()  # from here on the driver reads one wave at a time from _progress/plan/
    done = completed_shards(out_dir) & set(store.counts)
    pending = [s for s in store.counts if s not in done]
    resumed = done - set(inc.carried if inc else ())
    if resumed:
        log(f"resuming: {len(resumed)} shard(s) already complete, {len(pending)} to do")
    if max_shards is not None:
        pending = pending[:max_shards]
    from pipelines.waves import run_waves  # starts Ray only when there is work

    ctx = RunContext(salt=salt, run_id=cfg.fingerprint(), debug=cfg.model.debug,
                     extra={"cache_dir": str(out_dir.parent / "_cache")},  # model answers, across versions
                     retry_attempts=cfg.model.retries.attempts, retry_backoff_s=cfg.model.retries.backoff_s)
    waves = run_waves(cfg, pending, plan, store, out_dir, ctx, log, address=address, runlog=runlog, view=view)
    written = waves.written
    complete = completed_shards(out_dir) >= set(store.counts)
    build = {"dedup": plan.dedup, **({"increment": inc.describe()} if inc else {})}
    manifest = finalize(out_dir, cfg, plan, target.version, build) if complete else None
    return RunResult(out_dir, len(store.counts), len(done), written, manifest, complete, inputs=plan.inputs,
                     version=target.version, increment=inc.describe() if inc else None, dedup=plan.dedup,
                     summary=waves.summary)


def make_plan(
    cfg: PipelineConfig, out_dir: Path, salt: str, target: Target, log: Callable[[str], None]
) -> tuple[Plan, Increment | None]:
    """The full plan; for an incremental run, cut into the base version's reusable shards and new ones."""
    base_inputs = read_inputs(out_dir.parent / target.base) if target.base else []
    pins = {r["sample_key"]: r["split"] for r in base_inputs}
    plan = build_plan(cfg, salt, cache_root=out_dir.parent, pins=pins, log=log)
    if plan.dedup.get("duplicate_groups"):
        log(f"duplicates: {plan.dedup['duplicate_groups']} group(s) of {plan.dedup['images_in_groups']} images, "
            f"{plan.dedup['exact_copies_quarantined']} exact copy(ies) quarantined, "
            f"{plan.dedup['groups_across_official_splits']} group(s) across official splits")
    if target.base is None:
        log(f"planned {plan.n_samples} images in {len(plan.shards)} shards from {len(cfg.sources)} source(s)")
        return plan, None
    if not base_inputs:
        log(f"{target.base} records no inputs (built before incremental runs existed): everything is redone")
    plan, inc = increment_plan(plan, base_inputs, target.generation, cfg.model.shard_size,
                               out_dir.parent / target.base, target.version)
    log(f"incremental {target.version} on {target.base}: {len(inc.carried)} shard(s) reused, "
        f"{inc.new_inputs} new input(s), {inc.changed_inputs} redone, {inc.removed_inputs} removed; "
        f"{len(plan.shards) - len(inc.carried)} shard(s) to build")
    return plan, inc


def start_ray(cfg: PipelineConfig, address: str | None, log: Callable[[str], None]) -> None:
    from pipelines.ray_exec import init_ray  # imports Ray: only when planning needs it

    init_ray(cfg, address, log)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def finalize(out_dir: Path, cfg: PipelineConfig, plan: Plan, version: str, build: dict[str, Any]) -> dict[str, Any]:
    losses = [
        {"source": x.source, "unit": x.unit, "input_ref": x.ref, "stage": "source", "error_kind": x.kind,
         "message": x.message, "image_id": None}
        for x in plan.losses
    ]
    write_source_losses(out_dir, losses)
    return write_manifest(
        out_dir,
        corpus=cfg.corpus,
        version=version,
        config=cfg.raw,
        config_fingerprint=cfg.fingerprint(),
        sources=plan.sources,
        inputs=plan.inputs,
        versions=versions(),
        build=build,
    )
