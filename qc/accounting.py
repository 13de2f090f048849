"""The accounting audit: per (source, unit), inputs = written + quarantined, counted from the tables.

inputs come from manifest["inputs"][source][unit] (what the source adapters saw); written is counted
from the tables (image → images, annotation → regions with origin dataset_gt, label → findings with
extractor dataset, report → reports); quarantined from the quarantine table. Units that are not
inputs (finding, region: derived records a stage lost) appear only in the per-stage breakdown.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from qc.corpus import connect, query, read_manifest

INPUT_UNITS = ("image", "annotation", "label", "report")
ACCOUNTING_SCHEMA = pa.schema([
    pa.field("source", pa.string()),
    pa.field("unit", pa.string()),
    pa.field("inputs", pa.int64()),
    pa.field("written", pa.int64()),
    pa.field("quarantined", pa.int64()),
    pa.field("balanced", pa.bool_()),
])

WRITTEN_SQL = """
SELECT source, 'image' AS unit, count(*) AS n FROM images GROUP BY source
UNION ALL SELECT source, 'annotation', count(*) FROM regions WHERE origin = 'dataset_gt' GROUP BY source
UNION ALL SELECT source, 'label', count(*) FROM findings WHERE extractor = 'dataset' GROUP BY source
UNION ALL SELECT source, 'report', count(*) FROM reports GROUP BY source
"""

ACCOUNT_SQL = f"""
WITH written AS ({WRITTEN_SQL}),
quarantined AS (SELECT source, unit, count(*) AS n FROM quarantine GROUP BY source, unit),
keys AS (SELECT source, unit FROM inputs UNION SELECT source, unit FROM written
         UNION SELECT source, unit FROM quarantined WHERE unit IN {INPUT_UNITS})
SELECT k.source, k.unit,
       coalesce(i.n, 0)::BIGINT AS inputs,
       coalesce(w.n, 0)::BIGINT AS written,
       coalesce(q.n, 0)::BIGINT AS quarantined,
       coalesce(i.n, 0) = coalesce(w.n, 0) + coalesce(q.n, 0) AS balanced
FROM keys k
LEFT JOIN inputs i USING (source, unit)
LEFT JOIN written w USING (source, unit)
LEFT JOIN quarantined q USING (source, unit)
WHERE coalesce(i.n, 0) + coalesce(w.n, 0) + coalesce(q.n, 0) > 0
ORDER BY k.source, array_position({list(INPUT_UNITS)}, k.unit), k.unit
"""


def inputs_table(manifest: dict) -> pa.Table:
    rows = [
        {"source": source, "unit": unit, "n": int(n)}
        for source, units in sorted((manifest.get("inputs") or {}).items())
        for unit, n in sorted(units.items())
    ]
    schema = pa.schema([("source", pa.string()), ("unit", pa.string()), ("n", pa.int64())])
    return pa.Table.from_pylist(rows, schema=schema)


def account(corpus_dir: Path) -> pa.Table:
    """One row per (source, unit): inputs, written, quarantined, balanced."""
    con = connect(Path(corpus_dir))
    con.register("inputs", inputs_table(read_manifest(Path(corpus_dir))))
    return query(con, ACCOUNT_SQL).cast(ACCOUNTING_SCHEMA)


def quarantine_breakdown(corpus_dir: Path) -> pa.Table:
    """Quarantined rows per (source, unit, stage, error_kind), largest first."""
    con = connect(Path(corpus_dir))
    return query(con, """
        SELECT source, unit, stage, error_kind, count(*)::BIGINT AS n FROM quarantine
        GROUP BY ALL ORDER BY n DESC, source, unit, stage, error_kind""")


def format_accounting(table: pa.Table) -> str:
    """A plain-text table that shows `inputs = written + quarantined` for each source and unit."""
    rows = table.to_pylist()
    if not rows:
        return "accounting: no inputs recorded"
    width = max(len("source"), *(len(r["source"]) for r in rows))
    lines = [f"{'source':<{width}}  {'unit':<10}  {'inputs':>7} = {'written':>7} + {'quarantined':>11}  check",
             "-" * (width + 50)]
    for r in rows:
        mark = "ok" if r["balanced"] else "UNBALANCED"
        lines.append(f"{r['source']:<{width}}  {r['unit']:<10}  {r['inputs']:>7} = {r['written']:>7} + "
                     f"{r['quarantined']:>11}  {mark}")
    total = {k: sum(r[k] for r in rows) for k in ("inputs", "written", "quarantined")}
    bad = sum(not r["balanced"] for r in rows)
    lines.append("-" * (width + 50))
    lines.append(f"{'all':<{width}}  {'':<10}  {total['inputs']:>7} = {total['written']:>7} + "
                 f"{total['quarantined']:>11}  {'ok' if not bad else f'{bad} UNBALANCED'}")
    return "\n".join(lines)
