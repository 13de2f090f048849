"""Label audits: distribution per source, split and hierarchy level; ontology rule violations."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from qc.corpus import query
from schemas.ontology import Ontology, load_ontology

SPLIT_OF_STUDY = "(SELECT study_id, min(split) AS split FROM images GROUP BY study_id)"

DISTRIBUTION_SQL = f"""
WITH labelled AS (
  SELECT f.source, coalesce(i.split, s.split, 'unassigned') AS split, 'finding' AS kind,
         f.extractor AS origin, f.code_path
  FROM findings f
  LEFT JOIN images i ON i.image_id = f.image_id
  LEFT JOIN {SPLIT_OF_STUDY} s ON f.image_id IS NULL AND s.study_id = f.study_id
  WHERE f.certainty = 'present' AND f.code_path IS NOT NULL
  UNION ALL
  SELECT r.source, coalesce(i.split, 'unassigned'), 'region', r.origin, r.code_path
  FROM regions r LEFT JOIN images i USING (image_id)
  WHERE r.code_path IS NOT NULL
),
levels AS (
  SELECT source, split, kind, origin, generate_subscripts(code_path, 1) - 1 AS level,
         unnest(code_path) AS code FROM labelled
)
SELECT source, split, kind, origin, level::INTEGER AS level, code, count(*)::BIGINT AS n
FROM levels GROUP BY ALL ORDER BY source, split, kind, origin, level, code
"""

VIOLATIONS = pa.schema([("table", pa.string()), ("row_id", pa.string()), ("source", pa.string()),
                        ("rule", pa.string()), ("code", pa.string())])


def label_distribution(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Counts per (source, split, kind, origin, hierarchy level, code); a label counts at every level."""
    return query(con, DISTRIBUTION_SQL)


def row_violations(onto: Ontology, table: str, row: dict, modality: str | None) -> list[dict]:
    code = row["code"]
    base = {"table": table, "row_id": row["id"], "source": row["source"], "code": code}
    if code not in onto:
        return [{**base, "rule": "unknown_code"}]
    found = []
    if row["code_path"] is not None and list(row["code_path"]) != onto.path(code):
        found.append({**base, "rule": "code_path_mismatch"})
    allowed = onto.get(code).modalities
    if modality and allowed and modality not in allowed:
        found.append({**base, "rule": "modality_not_allowed"})
    return found


def ontology_violations(con: duckdb.DuckDBPyConnection, onto: Ontology | None = None) -> pa.Table:
    """Unknown codes, code paths that are not the ontology's path, disallowed modalities, and images
    that carry a present `no_finding` beside a present finding."""
    onto = onto or load_ontology()
    rows: list[dict] = []
    labelled = query(con, """
        SELECT 'findings' AS tbl, f.finding_id AS id, f.source, f.code, f.code_path, i.modality
        FROM findings f LEFT JOIN images i USING (image_id)
        WHERE f.code IS NOT NULL AND coalesce(f.certainty, 'present') = 'present'
        UNION ALL
        SELECT 'regions', r.region_id, r.source, r.code, r.code_path, i.modality
        FROM regions r LEFT JOIN images i USING (image_id) WHERE r.code IS NOT NULL
        ORDER BY 1, 2""").to_pylist()
    for r in labelled:
        rows.extend(row_violations(onto, r["tbl"], r, r["modality"]))
    exclusive = query(con, """
        SELECT image_id, any_value(source) AS source FROM findings
        WHERE certainty = 'present' AND image_id IS NOT NULL GROUP BY image_id
        HAVING bool_or(code = 'no_finding') AND bool_or(code <> 'no_finding') ORDER BY image_id""")
    for r in exclusive.to_pylist():
        rows.append({"table": "images", "row_id": r["image_id"], "source": r["source"],
                     "rule": "no_finding_with_finding", "code": "no_finding"})
    return pa.Table.from_pylist(rows, schema=VIOLATIONS)


def labelled_rows(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("""
        SELECT (SELECT count(*) FROM findings WHERE code IS NOT NULL AND
                coalesce(certainty, 'present') = 'present')
             + (SELECT count(*) FROM regions WHERE code IS NOT NULL)""").fetchall()[0][0])
