"""Run every audit, write each result as qc/<name>.parquet and the headline numbers as qc/metrics.json.

The metrics are what gates, the QC report and the dataset card read: they are computed from the
tables here, never from logs. Output bytes are deterministic (sorted rows, no timestamps).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from qc.accounting import account, quarantine_breakdown
from qc.audits.agreement import agreement_rate, extractor_agreement
from qc.audits.integrity import checksum_audit, schema_audit
from qc.audits.labels import label_distribution, labelled_rows, ontology_violations
from qc.audits.leakage import leakage, leakage_dask
from qc.audits.masks import mask_stats, mask_summary
from qc.audits.phi import phi_scan
from qc.corpus import connect, qc_dir, query

AUDIT_NAMES = ("accounting", "quarantine_reasons", "schema", "checksums", "label_distribution",
               "ontology_violations", "mask_stats", "leakage", "phi", "agreement", "counts")
METRICS_FILE = "metrics.json"


@dataclass
class AuditResult:
    tables: dict[str, pa.Table]
    metrics: dict[str, Any]


def count_rows(con: Any) -> pa.Table:
    return query(con, """
        SELECT source, 'images' AS tbl, count(*)::BIGINT AS n FROM images GROUP BY source
        UNION ALL SELECT source, 'reports', count(*) FROM reports GROUP BY source
        UNION ALL SELECT source, 'findings', count(*) FROM findings GROUP BY source
        UNION ALL SELECT source, 'regions', count(*) FROM regions GROUP BY source
        UNION ALL SELECT source, 'groundings', count(*) FROM groundings GROUP BY source
        UNION ALL SELECT source, 'quarantine', count(*) FROM quarantine GROUP BY source
        ORDER BY source, tbl""")


def summarize(tables: dict[str, pa.Table], con: Any) -> dict[str, Any]:
    acc = tables["accounting"].to_pylist()
    labelled = labelled_rows(con)
    violations = tables["ontology_violations"].num_rows
    status = tables["checksums"].column("status").to_pylist()
    superseded = con.execute(
        "SELECT count(DISTINCT supersedes) FROM regions WHERE supersedes IS NOT NULL").fetchall()[0][0]
    metrics: dict[str, Any] = {
        "inputs": sum(r["inputs"] for r in acc),
        "written": sum(r["written"] for r in acc),
        "quarantined": sum(r["quarantined"] for r in acc),
        "accounting_unbalanced": sum(not r["balanced"] for r in acc),
        "schema_errors": sum(not ok for ok in tables["schema"].column("ok").to_pylist()),
        "checksum_mismatches": sum(s != "ok" for s in status),
        "ontology_violations": violations,
        "violation_rate": violations / labelled if labelled else 0.0,
        "leakage": tables["leakage"].num_rows,
        "phi_hits": tables["phi"].num_rows,
        "extractor_agreement": agreement_rate(tables["agreement"]),
        "annotator_regions": int(con.execute(
            "SELECT count(*) FROM regions WHERE origin = 'annotator'").fetchall()[0][0]),
        "superseded_regions": int(superseded),
    }
    for row in tables["counts"].to_pylist():
        metrics[f"rows_{row['tbl']}"] = metrics.get(f"rows_{row['tbl']}", 0) + row["n"]
    metrics.update(mask_summary(con, tables["mask_stats"]))
    return metrics


def run_audits(
    corpus_dir: Path,
    *,
    forbidden: list[str] | None = None,
    dask_scheduler: Callable[..., Any] | str | None = None,
    use_dask: bool = False,
    write: bool = True,
) -> AuditResult:
    """Run every audit. `use_dask` runs the leakage join with Dask on `dask_scheduler`."""
    corpus_dir = Path(corpus_dir)
    con = connect(corpus_dir)
    tables = {
        "accounting": account(corpus_dir),
        "quarantine_reasons": quarantine_breakdown(corpus_dir),
        "schema": schema_audit(corpus_dir),
        "checksums": checksum_audit(corpus_dir),
        "label_distribution": label_distribution(con),
        "ontology_violations": ontology_violations(con),
        "mask_stats": mask_stats(con),
        "leakage": leakage_dask(corpus_dir, dask_scheduler) if use_dask else leakage(con),
        "phi": phi_scan(corpus_dir, forbidden),
        "agreement": extractor_agreement(con),
        "counts": count_rows(con),
    }
    metrics = summarize(tables, con)
    if write:
        out = qc_dir(corpus_dir)
        for name, table in tables.items():
            pq.write_table(table, out / f"{name}.parquet", compression="zstd")
        (out / METRICS_FILE).write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return AuditResult(tables=tables, metrics=metrics)


def load_metrics(corpus_dir: Path) -> dict[str, Any] | None:
    path = Path(corpus_dir) / "qc" / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else None
