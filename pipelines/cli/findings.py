"""`medground findings`: extract findings from a lab's own reports, derive labels, score them.

    medground findings extract REPORTS.csv --id-col uid --text-cols findings,impression --out F.parquet
    medground findings extract REPORTS.csv ... --engine llm --endpoint http://host:8000/v1 --model M
    medground findings labels F.parquet --label-set chestxray14 --out LABELS.csv --laterality-out LAT.jsonl
    medground findings eval LABELS.csv GOLD.csv
    medground findings eval [--dev ../shared/datasets/reports_dev] [--engine llm --endpoint URL --model M]

With several text columns, each becomes a section of the report text ("FINDINGS: ...\\n\\nIMPRESSION:
..."), so spans index that text; with one column the text is the cell as is. The report ids (all of
them, including reports with no mention) and the id column name travel in the Parquet metadata.
`findings eval` without files runs the development evaluation (extractors.reports.evaluation): CMC 2007
ICD-9 gold and the NegEx kit, through the same extraction and label export as `extract` + `labels`.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from schemas.tables import FINDING_SCHEMA

findings_app = typer.Typer(help="Rule-based report findings: extract, labels, eval.", no_args_is_help=True)
console = Console(highlight=False)
META_IDS = b"medground.report_ids"
META_ID_COL = b"medground.id_col"


@findings_app.command("extract")
def extract(
    reports: Annotated[Path, typer.Argument(help="CSV of reports")],
    out: Annotated[Path, typer.Option("--out", help="FINDING table (Parquet)")],
    id_col: Annotated[str, typer.Option("--id-col", help="report id column")] = "id",
    text_cols: Annotated[str, typer.Option("--text-cols", help="comma-separated text columns")] = "text",
    source: Annotated[str, typer.Option(help="value of the FINDING source column")] = "user",
    batch_size: Annotated[int, typer.Option(help="reports per nlp.pipe batch")] = 64,
    engine: Annotated[str, typer.Option(help="rules | llm")] = "rules",
    endpoint: Annotated[str | None, typer.Option(help="llm: OpenAI-compatible base URL (…/v1)")] = None,
    model: Annotated[str, typer.Option(help="llm: model name sent to the endpoint")] = "default",
    api_key_env: Annotated[str | None, typer.Option(help="llm: NAME of the env variable holding the key")] = None,
    fallback: Annotated[str, typer.Option(help="llm: what an unanswered report gets: rules | none")] = "rules",
    max_concurrency: Annotated[int, typer.Option(help="llm: concurrent requests")] = 4,
) -> None:
    """One FINDING row per finding/device mention (extractor=rules, or llm: the `findings.llm` extractor)."""
    from extractors.reports.extractor import ReportFindingExtractor
    from extractors.reports.report_table import compose_text, llm_rows_fn, rule_rows

    cols = [c.strip() for c in text_cols.split(",") if c.strip()]
    with reports.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = [c for c in [id_col, *cols] if rows and c not in rows[0]]
    if missing:
        console.print(f"[red]error[/]: column(s) not in {reports.name}: {', '.join(missing)}")
        raise typer.Exit(2)
    if engine not in ("rules", "llm") or (engine == "llm" and not endpoint) or fallback not in ("rules", "none"):
        console.print("[red]error[/]: --engine is rules, or llm with --endpoint URL (--fallback rules|none)")
        raise typer.Exit(2)
    texts = [compose_text(r, cols) for r in rows]
    ids = [r[id_col] for r in rows]
    if engine == "rules":
        out_rows = rule_rows(ReportFindingExtractor(), ids, texts, source=source, batch_size=batch_size)
    else:
        from schemas.ontology import load_ontology

        run = llm_rows_fn(endpoint or "", model, load_ontology(), max_concurrency=max_concurrency,
                          fallback=fallback == "rules", api_key_env=api_key_env, source=source)
        out_rows, unanswered = run(ids, texts)
        if unanswered:
            got = "rule rows flagged llm_fallback" if fallback == "rules" else "no rows"
            console.print(f"[yellow]warning[/]: {len(unanswered)} report(s) got no LLM answer: {got}")
    meta = {**(FINDING_SCHEMA.metadata or {}), META_IDS: json.dumps(ids).encode(), META_ID_COL: id_col.encode()}
    table = pa.Table.from_pylist(out_rows, schema=FINDING_SCHEMA.with_metadata(meta))
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    console.print(f"{len(rows)} report(s), {len(out_rows)} mention(s) → {out}")


@findings_app.command("labels")
def labels(
    findings: Annotated[Path, typer.Argument(help="FINDING table from `findings extract`")],
    out: Annotated[Path, typer.Option("--out", help="labels CSV")],
    label_set: Annotated[str, typer.Option("--label-set", help="ontology label set")] = "chestxray14",
    uncertain: Annotated[str, typer.Option(help="uncertain mentions: positive | negative | probable")] = "probable",
    sections: Annotated[str, typer.Option(help="sections that feed labels")] = "findings,impression,unsectioned",
    laterality_out: Annotated[Path | None, typer.Option(
        "--laterality-out", help="JSONL: one {uid, finding, laterality} row per positive (report, label)")] = None,
) -> None:
    """Report-level labels: the id column, then one column per label (binary sets add `normal`); with
    --laterality-out, one JSONL row {uid, finding, laterality} per label whose CSV value is 1."""
    from extractors.reports.label_export import export_labels
    from schemas.errors import ConfigError
    from schemas.ontology import load_ontology

    onto = load_ontology()
    table = pq.read_table(findings)
    meta = table.schema.metadata or {}
    rows = table.to_pylist()
    ids = json.loads(meta[META_IDS]) if META_IDS in meta else sorted({r["report_id"] for r in rows})
    id_col = meta.get(META_ID_COL, b"report_id").decode()
    secs = tuple(s.strip() for s in sections.split(",") if s.strip())
    try:
        export = export_labels(rows, ids, onto, label_set, sections=secs, uncertain=uncertain)
    except (ConfigError, KeyError) as err:
        console.print(f"[red]error[/]: {err}")
        raise typer.Exit(2) from err
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([id_col, *export.columns])
        for rid, vals in export.values.items():
            w.writerow([rid, *("" if vals[c] is None else vals[c] for c in export.columns)])
    console.print(f"{len(export.values)} report(s) → {out}")
    if laterality_out is not None:
        recs = export.jsonl_rows()
        laterality_out.parent.mkdir(parents=True, exist_ok=True)
        with laterality_out.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(rec, sort_keys=True) + "\n" for rec in recs)
        console.print(f"{len(recs)} positive (report, label) row(s) → {laterality_out}")


def read_label_csv(path: Path) -> tuple[str, dict[str, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        id_col = (reader.fieldnames or [""])[0]
        return id_col, {r[id_col]: r for r in reader}


@findings_app.command("eval")
def evaluate(
    predicted: Annotated[Path | None, typer.Argument(help="LABELS.csv from `findings labels`")] = None,
    gold: Annotated[Path | None, typer.Argument(help="gold CSV of the same shape")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the scores as JSON")] = None,
    uncertain_positive: Annotated[bool, typer.Option(help="files: count -1 as positive")] = False,
    dev: Annotated[Path | None, typer.Option("--dev", help="development gold folder (CMC 2007 XML, NegEx kit); "
                                             "default ../shared/datasets/reports_dev")] = None,
    engine: Annotated[str, typer.Option(help="dev: rules | llm")] = "rules",
    endpoint: Annotated[str | None, typer.Option(
        help="dev, llm: OpenAI-compatible base URL (…/v1); the dev texts are sent to it, so use a local "
             "endpoint (the data is for development only, never for hosted prompts)")] = None,
    model: Annotated[str, typer.Option(help="dev, llm: model name sent to the endpoint")] = "default",
    label_set: Annotated[str, typer.Option("--label-set", help="dev: ontology label set")] = "chestxray14",
    uncertain: Annotated[str, typer.Option(help="dev: uncertain mentions (the CMC coders code none)")] = "negative",
    limit: Annotated[int | None, typer.Option(help="dev: only the first N reports / sentences")] = None,
    max_concurrency: Annotated[int, typer.Option(help="dev, llm: concurrent requests")] = 4,
) -> None:
    """Score LABELS.csv against GOLD.csv; without files, run the development evaluation (CMC 2007 ICD-9
    gold, NegEx kit; dev and held-out splits) through `extract` + `labels`."""
    if predicted is None and gold is None:
        _eval_dev(dev, engine, endpoint, model, label_set, uncertain, limit, max_concurrency, out)
        return
    if predicted is None or gold is None:
        console.print("[red]error[/]: give both LABELS.csv and GOLD.csv, or neither (development evaluation)")
        raise typer.Exit(2)
    _eval_files(predicted, gold, out, uncertain_positive)


def _eval_files(predicted: Path, gold: Path, out: Path | None, uncertain_positive: bool) -> None:
    """Per-label precision/recall/F1, micro and macro, over the labels both files have."""
    from extractors.reports.scoring import score_labels

    _, pred = read_label_csv(predicted)
    gid, gold_rows = read_label_csv(gold)
    gold_cols = list(next(iter(gold_rows.values())).keys()) if gold_rows else []
    pred_cols = set(next(iter(pred.values())).keys()) if pred else set()
    labels_ = [c for c in gold_cols if c != gid and c in pred_cols]
    scores = score_labels(pred, gold_rows, labels_, uncertain_positive=uncertain_positive)
    table = Table("label", "P", "R", "F1", "support")
    for s in [*scores.per_label, scores.micro]:
        f1 = "-" if math.isnan(s.f1) else f"{s.f1:.4f}"
        table.add_row(s.label, f"{s.precision:.4f}", f"{s.recall:.4f}", f1, str(s.support))
    console.print(table)
    console.print(f"micro F1 {scores.micro.f1:.4f}  macro F1 {scores.macro_f1:.4f}  reports {scores.n_reports}")
    if out is not None:
        doc = {"n_reports": scores.n_reports, "micro": _as_dict(scores.micro), "macro_f1": scores.macro_f1,
               "per_label": [_as_dict(s) for s in scores.per_label]}
        out.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _eval_dev(dev: Path | None, engine: str, endpoint: str | None, model: str, label_set: str, uncertain: str,
              limit: int | None, max_concurrency: int, out: Path | None) -> None:
    from extractors.reports.evaluation.dev import as_json, render, run_dev
    from extractors.reports.evaluation.harness import CMC_FILE, DEV_DIR, NEGEX_FILE
    from schemas.errors import ConfigError
    from schemas.ontology import load_ontology

    folder = dev or DEV_DIR
    missing = [f for f in (CMC_FILE, NEGEX_FILE) if not (folder / f).is_file()]
    if missing:
        console.print(f"[red]error[/]: {folder} lacks {', '.join(missing)} (the development gold)")
        raise typer.Exit(2)
    if engine not in ("rules", "llm") or (engine == "llm" and not endpoint):
        console.print("[red]error[/]: --engine is rules, or llm with --endpoint URL")
        raise typer.Exit(2)
    try:
        rep = run_dev(folder, load_ontology(), engine=engine, endpoint=endpoint, model=model, label_set=label_set,
                      uncertain=uncertain, limit=limit, max_concurrency=max_concurrency)
    except (ConfigError, KeyError) as err:
        console.print(f"[red]error[/]: {err}")
        raise typer.Exit(2) from err
    for line in render(rep):
        typer.echo(line)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(as_json(rep), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _as_dict(s: object) -> dict[str, float | int | str | None]:
    from extractors.reports.scoring import LabelScore

    assert isinstance(s, LabelScore)
    f1 = None if math.isnan(s.f1) else s.f1
    return {"label": s.label, "tp": s.tp, "fp": s.fp, "fn": s.fn, "support": s.support,
            "precision": s.precision, "recall": s.recall, "f1": f1}


def register(app: typer.Typer) -> None:
    app.add_typer(findings_app, name="findings")
