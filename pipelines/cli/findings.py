"""`medground findings`: extract findings from a lab's own reports, derive labels, score them.

    medground findings extract REPORTS.csv --id-col uid --text-cols findings,impression --out F.parquet
    medground findings labels F.parquet --label-set chestxray14 --out LABELS.csv
    medground findings eval LABELS.csv GOLD.csv

With several text columns, each becomes a section of the report text ("FINDINGS: ...\\n\\nIMPRESSION:
..."), so spans index that text; with one column the text is the cell as is. The report ids (all of
them, including reports with no mention) and the id column name travel in the Parquet metadata.
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


def compose_text(row: dict[str, str], cols: list[str]) -> str:
    if len(cols) == 1:
        return row.get(cols[0]) or ""
    parts = [f"{c.upper()}: {row[c].strip()}" for c in cols if (row.get(c) or "").strip()]
    return "\n\n".join(parts)


@findings_app.command("extract")
def extract(
    reports: Annotated[Path, typer.Argument(help="CSV of reports")],
    out: Annotated[Path, typer.Option("--out", help="FINDING table (Parquet)")],
    id_col: Annotated[str, typer.Option("--id-col", help="report id column")] = "id",
    text_cols: Annotated[str, typer.Option("--text-cols", help="comma-separated text columns")] = "text",
    source: Annotated[str, typer.Option(help="value of the FINDING source column")] = "user",
    batch_size: Annotated[int, typer.Option(help="reports per nlp.pipe batch")] = 64,
) -> None:
    """One FINDING row per finding/device mention (extractor=rules)."""
    from extractors.reports.extractor import ReportFindingExtractor
    from extractors.reports.findings_table import finding_rows

    cols = [c.strip() for c in text_cols.split(",") if c.strip()]
    with reports.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = [c for c in [id_col, *cols] if rows and c not in rows[0]]
    if missing:
        console.print(f"[red]error[/]: column(s) not in {reports.name}: {', '.join(missing)}")
        raise typer.Exit(2)
    ex = ReportFindingExtractor()
    texts = [compose_text(r, cols) for r in rows]
    ids = [r[id_col] for r in rows]
    out_rows = []
    for rid, mentions in zip(ids, ex.extract_many(texts, batch_size), strict=True):
        out_rows.extend(finding_rows(mentions, ex.onto, report_id=rid, source=source))
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
) -> None:
    """Report-level labels: the id column, then one column per label (binary sets add `normal`)."""
    from extractors.reports.labels import derive_labels, label_columns
    from schemas.errors import ConfigError
    from schemas.ontology import load_ontology

    onto = load_ontology()
    table = pq.read_table(findings)
    meta = table.schema.metadata or {}
    rows = table.to_pylist()
    ids = json.loads(meta[META_IDS]) if META_IDS in meta else sorted({r["report_id"] for r in rows})
    id_col = meta.get(META_ID_COL, b"report_id").decode()
    by_report: dict[str, list[_Row]] = {rid: [] for rid in ids}
    for r in rows:
        by_report.setdefault(r["report_id"], []).append(_Row(r))
    try:
        columns = label_columns(onto, label_set)
        secs = tuple(s.strip() for s in sections.split(",") if s.strip())
        values = {rid: derive_labels(ms, onto, label_set, sections=secs, uncertain=uncertain)
                  for rid, ms in by_report.items()}
    except (ConfigError, KeyError) as err:
        console.print(f"[red]error[/]: {err}")
        raise typer.Exit(2) from err
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([id_col, *columns])
        for rid, vals in values.items():
            w.writerow([rid, *("" if vals[c] is None else vals[c] for c in columns)])
    console.print(f"{len(values)} report(s) → {out}")


class _Row:
    """A FINDING row read back, seen as a mention by the label derivation."""

    def __init__(self, row: dict) -> None:
        self.code = row["code"]
        self.section = row["section"] or "unsectioned"
        self.certainty = row["certainty"]
        self.flags = tuple(row["flags"] or ())
        self.laterality = row["laterality"] or "none"


def read_label_csv(path: Path) -> tuple[str, dict[str, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        id_col = (reader.fieldnames or [""])[0]
        return id_col, {r[id_col]: r for r in reader}


@findings_app.command("eval")
def evaluate(
    predicted: Annotated[Path, typer.Argument(help="LABELS.csv from `findings labels`")],
    gold: Annotated[Path, typer.Argument(help="gold CSV of the same shape")],
    out: Annotated[Path | None, typer.Option("--out", help="write the scores as JSON")] = None,
    uncertain_positive: Annotated[bool, typer.Option(help="count -1 as positive")] = False,
) -> None:
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


def _as_dict(s: object) -> dict[str, float | int | str | None]:
    from extractors.reports.scoring import LabelScore

    assert isinstance(s, LabelScore)
    f1 = None if math.isnan(s.f1) else s.f1
    return {"label": s.label, "tp": s.tp, "fp": s.fp, "fn": s.fn, "support": s.support,
            "precision": s.precision, "recall": s.recall, "f1": f1}


def register(app: typer.Typer) -> None:
    app.add_typer(findings_app, name="findings")
