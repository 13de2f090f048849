"""Audits over a written corpus. `run_audits` runs them all and writes qc/<audit>.parquet + qc/metrics.json."""

from qc.audits.run import AUDIT_NAMES, AuditResult, load_metrics, run_audits

__all__ = ["AUDIT_NAMES", "AuditResult", "load_metrics", "run_audits"]
