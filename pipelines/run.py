"""`medground run`: plan → (skip complete shards) → Ray waves → source losses → manifest → QC → card."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import PipelineConfig
from pipelines.plan import Plan, build_plan
from pipelines.runs import new_run_id, record_run
from pipelines.stage import RunContext
from pipelines.versions import versions
from pipelines.writers.manifest import write_manifest, write_source_losses
from pipelines.writers.shard import PROGRESS_DIR, atomic_write_bytes, completed_shards
from schemas.errors import ConfigError

PLAN_FILE = "_plan.json"


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


def corpus_dir(out: Path, cfg: PipelineConfig) -> Path:
    return out / cfg.corpus / cfg.version


def check_resumable(out_dir: Path, cfg: PipelineConfig, plan: Plan) -> None:
    """An existing output must come from the same config and the same plan, or we refuse to mix."""
    marker = out_dir / PROGRESS_DIR / PLAN_FILE
    current = {"config": cfg.fingerprint(), "shards": {k: len(v) for k, v in plan.shards.items()}}
    if marker.is_file():
        previous = json.loads(marker.read_text())
        if previous != current:
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
    log: Callable[[str], None] = print,
) -> RunResult:
    salt = cfg.resolve_salt()
    out_dir = corpus_dir(out, cfg)
    run_id = new_run_id()
    record_run(out_dir.parent, run_id, status="running", version=cfg.version, config=cfg.fingerprint(),
               versions=versions(), started=_now())
    try:
        result = execute(cfg, out_dir, salt, address=address, max_shards=max_shards, log=log)
    except BaseException as err:
        record_run(out_dir.parent, run_id, status="failed", error=type(err).__name__, ended=_now())
        raise
    result.run_id = run_id
    record_run(out_dir.parent, run_id, status="complete" if result.complete else "incomplete",
               inputs=result.inputs, shards_total=result.shards_total, shards_skipped=result.shards_skipped,
               shards_written=result.shards_written, ended=_now())
    return result


def execute(
    cfg: PipelineConfig,
    out_dir: Path,
    salt: str,
    *,
    address: str | None,
    max_shards: int | None,
    log: Callable[[str], None],
) -> RunResult:
    plan = build_plan(cfg, salt)
    log(f"planned {plan.n_samples} images in {len(plan.shards)} shards from {len(cfg.sources)} source(s)")
    check_resumable(out_dir, cfg, plan)
    done = completed_shards(out_dir) & set(plan.shards)
    pending = [s for s in plan.shards if s not in done]
    if done:
        log(f"resuming: {len(done)} shard(s) already complete, {len(pending)} to do")
    if max_shards is not None:
        pending = pending[:max_shards]
    written: list[str] = []
    if pending:
        from pipelines.ray_exec import init_ray, run_wave

        init_ray(cfg, address)
        ctx = RunContext(salt=salt, run_id=cfg.fingerprint(), debug=cfg.model.debug,
                         extra={"cache_dir": str(out_dir.parent / "_cache")})  # model answers, across versions
        wave = cfg.model.ray.shards_per_wave
        block_rows = max(1, min(cfg.model.shard_size, 64))
        for i in range(0, len(pending), wave):
            names = pending[i : i + wave]
            rows = [r for n in names for r in plan.shards[n]]
            stats = run_wave(cfg, rows, out_dir, ctx, block_rows)
            for s in stats:
                log(f"  shard {s['shard']}: {s['written']} written, {s['quarantined']} quarantined")
            written.extend(s["shard"] for s in stats)
    complete = completed_shards(out_dir) >= set(plan.shards)
    manifest = finalize(out_dir, cfg, plan) if complete else None
    return RunResult(out_dir, len(plan.shards), len(done), written, manifest, complete, inputs=plan.inputs)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def finalize(out_dir: Path, cfg: PipelineConfig, plan: Plan) -> dict[str, Any]:
    losses = [
        {"source": x.source, "unit": x.unit, "input_ref": x.ref, "stage": "source", "error_kind": x.kind,
         "message": x.message, "image_id": None}
        for x in plan.losses
    ]
    write_source_losses(out_dir, losses)
    return write_manifest(
        out_dir,
        corpus=cfg.corpus,
        version=cfg.version,
        config=cfg.raw,
        config_fingerprint=cfg.fingerprint(),
        sources=plan.sources,
        inputs=plan.inputs,
        versions=versions(),
    )
