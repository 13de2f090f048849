"""QC commands: `qc CORPUS` (audits, report, gates), `card CORPUS`, `review export|import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from schemas.errors import BadInput, ConfigError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

CorpusArg = Annotated[Path, typer.Argument(help="a corpus folder (holds manifest.json and tables/)",
                                           exists=True, file_okay=False)]


def fail(err: Exception, code: int = 2) -> None:
    err_console.print(f"[bold red]error[/]: {err}")
    raise typer.Exit(code)


def qc(
    corpus: CorpusArg,
    gates: Annotated[Path | None, typer.Option("--gates", help="YAML of <metric>_max / <metric>_min",
                                               exists=True, dir_okay=False)] = None,
    forbid: Annotated[list[str] | None, typer.Option("--forbid", help="a value that must appear nowhere "
                                                     "(repeatable), e.g. a planted test name")] = None,
    dask: Annotated[bool, typer.Option(help="run the corpus-wide joins with Dask")] = False,
    report: Annotated[bool, typer.Option(help="write qc/report.html")] = True,
) -> None:
    """Run every audit (results in CORPUS/qc/*.parquet), write the report; exit 1 when a gate fails."""
    from qc.accounting import format_accounting
    from qc.audits import run_audits
    from qc.gates import evaluate_gates, format_gates, load_gates
    from qc.report import write_report

    try:
        thresholds = load_gates(gates)
        result = run_audits(corpus, forbidden=forbid or [], use_dask=dask)
        results = evaluate_gates(result.metrics, thresholds)
    except ConfigError as err:
        fail(err)
        return
    console.print(format_accounting(result.tables["accounting"]), markup=False)
    console.print(format_gates(results), markup=False)
    if report:
        console.print(f"report: {write_report(corpus, result, results)}", markup=False)
    failed = [r.gate for r in results if not r.passed]
    if failed:
        err_console.print(f"[bold red]gates failed[/]: {', '.join(failed)}")
        raise typer.Exit(1)


def card(corpus: CorpusArg) -> None:
    """Write CORPUS/README.md, a Hugging Face dataset card with statistics from the audits."""
    from qc.card import write_card

    console.print(f"dataset card: {write_card(corpus)}", markup=False)


def review_export(
    corpus: CorpusArg,
    select: Annotated[str, typer.Option("--select", help="SQL filter over r (regions), i (images), "
                                        "m (qc mask stats), e.g. \"r.predicted_iou < 0.7\"")],
    fmt: Annotated[str, typer.Option("--format", help="labelstudio | coco | dicom-seg")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    ls_shape: Annotated[str, typer.Option("--ls-shape", help="labelstudio: brush (its RLE) | polygon")] = "brush",
    source_root: Annotated[list[str] | None, typer.Option(
        "--source-root", help="dicom-seg: NAME=PATH, the dataset root a source's source_path is relative to "
        "(repeatable; default: the root in the build's config)")] = None,
) -> None:
    """Export the selected regions (with their images, or as DICOM SEGs) for annotator review."""
    from qc.review import export_review
    from qc.review.dicom_seg import parse_source_roots

    try:
        result = export_review(corpus, select, fmt, out, ls_shape=ls_shape,
                               source_roots=parse_source_roots(source_root or []))
    except ConfigError as err:
        fail(err)
        return
    console.print(f"exported {result.exported} region(s): {result.path}", markup=False)
    for reason, n in sorted(result.skipped.items()):
        console.print(f"skipped {n} region(s): {reason}", markup=False)
    if result.resized:
        console.print(f"resized {result.resized} mask(s) to the DICOM's Rows x Columns (nearest neighbour)",
                      markup=False)


def review_import(
    corpus: CorpusArg,
    fmt: Annotated[str, typer.Option("--format", help="labelstudio | coco | dicom-seg")],
    source: Annotated[Path, typer.Option("--from", help="the review tool's export file, or a folder (the "
                                         "export's folder; DICOM SEGs: every *.dcm under it)", exists=True)],
    annotator: Annotated[str, typer.Option(help="who corrected them (stored on each row)")] = "annotator",
) -> None:
    """Import corrections as REGION rows with origin `annotator` that supersede the originals."""
    from qc.review import import_review

    try:
        part, n = import_review(corpus, fmt, source, annotator)
    except (ConfigError, BadInput) as err:
        fail(err)
        return
    console.print(f"imported {n} correction(s): {part}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("qc")(qc)
    app.command("card")(card)
    review = typer.Typer(help="Annotator review: export regions, import corrections.", no_args_is_help=True)
    review.command("export")(review_export)
    review.command("import")(review_import)
    app.add_typer(review, name="review")
