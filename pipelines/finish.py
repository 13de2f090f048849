"""After a complete run: every QC audit, the release gates, the dataset card, then publication.

A version becomes LATEST only here, and only when the accounting balances and every gate passes
(qc.gates.DEFAULT_GATES: accounting, schema, checksums, split leakage, PHI; plus the config's
`gates`). A version that fails stays on disk, readable and audited, but unpublished.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def finish_corpus(corpus_dir: Path, log: Callable[[str], None] = print, gates: dict[str, float] | None = None) -> bool:
    """Run the audits, print the accounting and gates, write the card; False when a gate fails."""
    from qc.accounting import format_accounting
    from qc.audits import run_audits
    from qc.card import write_card
    from qc.gates import DEFAULT_GATES, evaluate_gates, format_gates

    result = run_audits(corpus_dir)
    log(format_accounting(result.tables["accounting"]))
    results = evaluate_gates(result.metrics, {**DEFAULT_GATES, **(gates or {})})
    log(format_gates(results))
    log(f"dataset card: {write_card(corpus_dir, result)}")
    failed = [r.gate for r in results if not r.passed]
    if failed:
        log(f"QC GATES FAILED: {', '.join(failed)}")
    return not failed


def finish_and_publish(corpus_dir: Path, log: Callable[[str], None] = print,
                       gates: dict[str, Any] | None = None) -> bool:
    """`finish_corpus`, then point LATEST at this version when it passed."""
    from pipelines.runs import publish

    if not finish_corpus(corpus_dir, log=log, gates=gates):
        return False
    publish(corpus_dir.parent, corpus_dir.name)
    return True
