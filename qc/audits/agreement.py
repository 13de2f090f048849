"""Rules-vs-LLM agreement where both extractors ran on the same report: per (report, code), do they both
find it, and do they agree on certainty and laterality?"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from qc.corpus import query

AGREEMENT_SQL = """
WITH r AS (SELECT report_id, code, any_value(certainty) AS certainty, any_value(laterality) AS laterality
           FROM findings WHERE extractor = 'rules' AND report_id IS NOT NULL GROUP BY report_id, code),
     l AS (SELECT report_id, code, any_value(certainty) AS certainty, any_value(laterality) AS laterality
           FROM findings WHERE extractor = 'llm' AND report_id IS NOT NULL GROUP BY report_id, code),
     both_ran AS (SELECT DISTINCT report_id FROM r INTERSECT SELECT DISTINCT report_id FROM l)
SELECT report_id, code,
       r.code IS NOT NULL AS rules_found, l.code IS NOT NULL AS llm_found,
       r.certainty AS rules_certainty, l.certainty AS llm_certainty,
       (r.code IS NOT NULL AND l.code IS NOT NULL AND r.certainty IS NOT DISTINCT FROM l.certainty
        AND r.laterality IS NOT DISTINCT FROM l.laterality) AS agree
FROM r FULL OUTER JOIN l USING (report_id, code)
WHERE report_id IN (SELECT report_id FROM both_ran)
ORDER BY report_id, code
"""


def extractor_agreement(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per (report, code) found by either extractor on reports both processed."""
    return query(con, AGREEMENT_SQL)


def agreement_rate(table: pa.Table) -> float | None:
    agree = table.column("agree").to_pylist()
    return sum(agree) / len(agree) if agree else None
