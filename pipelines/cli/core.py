"""Core commands: run, validate, list-stages, list-sources, demo."""

from __future__ import annotations

import shutil
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.config import PipelineConfig, load_config
from pipelines.registry import sources, stages
from schemas.errors import ConfigError

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
    qc: Annotated[bool, typer.Option(help="print the accounting audit at the end")] = True,
) -> None:
    """Run a pipeline on Ray. Re-running on the same --out resumes: complete shards are skipped."""
    cfg = load_or_exit(config)
    try:
        from pipelines.run import run_pipeline

        result = run_pipeline(cfg, out, address=address, max_shards=max_shards, log=console.print)
    except ConfigError as err:
        fail(err)
        raise
    console.print(
        f"shards: {result.shards_total} total, {result.shards_skipped} skipped (complete), "
        f"{len(result.shards_written)} written now"
    )
    if not result.complete:
        console.print("[yellow]run incomplete[/]: re-run the same command to resume")
        return
    console.print(f"corpus: {result.out_dir}")
    if qc:
        from pipelines.finish import finish_corpus

        ok = finish_corpus(result.out_dir, log=console.print)
        if not ok:
            raise typer.Exit(1)


def list_stages() -> None:
    """List registered stages."""
    table = Table("name", "kind", "consumes", "produces", "description")
    for name, cls in stages().items():
        table.add_row(name, "actor" if cls.stateful else "task", ",".join(cls.consumes),
                      ",".join(cls.produces), cls.description)
    console.print(table)


def list_sources() -> None:
    """List registered sources."""
    table = Table("name", "dataset", "modalities", "licence")
    for name, cls in sources().items():
        table.add_row(name, cls.title, ",".join(cls.modalities), cls.license)
    console.print(table)


def demo(
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("demo-out"),
    sample_dir: Annotated[Path | None, typer.Option(help="where to write the sample (default: a temp dir)")] = None,
    keep_sample: Annotated[bool, typer.Option(help="keep the temp sample dir")] = False,
) -> None:
    """Write NIH ChestX-ray14 + RSNA samples (native layouts, a few broken inputs) and build a corpus."""
    from pipelines.samples.nih_cxr14 import write_nih_sample
    from pipelines.samples.rsna_pneumonia import write_rsna_sample

    tmp = sample_dir or Path(tempfile.mkdtemp(prefix="medground-sample-"))
    nih = write_nih_sample(tmp / "nih_cxr14")
    rsna = write_rsna_sample(tmp / "rsna_pneumonia")
    config = tmp / "demo.yaml"
    config.write_text(files("pipelines.configs").joinpath("demo.yaml").read_text())
    console.print(f"sample written to {tmp}: {len(nih.images)} NIH PNGs (+{len(nih.missing)} missing on purpose), "
                  f"{len(rsna.patient_ids)} RSNA DICOMs ({len(rsna.truncated)} truncated on purpose)")
    console.print(f"config: {config}")
    try:
        run(config, out)
    finally:
        if sample_dir is None and not keep_sample:
            shutil.rmtree(tmp, ignore_errors=True)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(validate)
    app.command("list-stages")(list_stages)
    app.command("list-sources")(list_sources)
    app.command()(demo)

