"""After a complete run: the accounting audit (inputs = written + quarantined) and the dataset card."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def finish_corpus(corpus_dir: Path, log: Callable[[str], None] = print) -> bool:
    """Print the accounting, write the dataset card; False when the books do not balance."""
    from qc.accounting import account, format_accounting
    from qc.card import write_card

    table = account(corpus_dir)
    log(format_accounting(table))
    balanced = all(table.column("balanced").to_pylist())
    card = write_card(corpus_dir)
    log(f"dataset card: {card}")
    if not balanced:
        log("ACCOUNTING DOES NOT BALANCE: some inputs were neither written nor quarantined")
    return balanced
