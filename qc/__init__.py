"""Audits, QC report, dataset card and review export over written corpora."""
