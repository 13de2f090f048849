"""A chain of stages run inside one Ray task or actor over one block (= one plan shard), and its writer.

Consecutive stages run on plain rows (`Stage.process_rows`): the SAMPLE is decoded from Arrow once
per block, not at every stage boundary, and the pixels stay in the worker's memory. After each stage
only the columns it may have changed are normalised through their Arrow type (what a round trip
through the SAMPLE schema did), so each stage sees exactly what it saw when every stage was its own
Ray operator, and the written bytes do not change.

When the chain ends the pipeline (`out_dir` given), the block's shard is written from that worker:
no shuffle moves pixels to a writer. A block must hold every row of its shard (checked against the
plan's row count): a shard arriving in pieces is an error, never a partial shard.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.progress import Reporter
from pipelines.stage import BatchStats, RunContext, Sample, Stage, is_transient
from pipelines.writers.shard import write_shard
from schemas.errors import RetryableError
from schemas.tables import SAMPLE_SCHEMA

# columns any stage may change besides the ones it declares (quarantine_sample, Stage.quarantine)
ALWAYS_CHANGED = ("status", "image_png", "quarantine")
STATS_SCHEMA = pa.schema([("shard", pa.string()), ("samples", pa.int64()), ("written", pa.int64()),
                          ("quarantined", pa.int64()), ("node", pa.string()), ("pid", pa.int64())])


@dataclass(frozen=True)
class Step:
    """One stage of a chain, as shipped to the workers."""

    cls: type[Stage]
    params: Any
    label: str


class ShardWriteRetry(RetryableError, OSError):
    """A transient OS error while writing a shard: Ray re-runs the task (the writes are atomic)."""


def run_rows(stage: Stage, rows: list[Sample]) -> list[Sample]:
    """`process_rows`, or, for a stage that overrides `process_batch` (batched models), that."""
    if type(stage).process_batch is Stage.process_batch:
        return stage.process_rows(rows)
    return stage.process_batch(pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)).to_pylist()


# Arrow types whose round trip is the identity for values of these exact Python types (None aside): the
# PNG bytes are not copied twice per stage for nothing
IDENTITY_TYPES = {pa.binary(): bytes, pa.large_binary(): bytes, pa.string(): str, pa.large_string(): str}


def normalize(rows: list[Sample], columns: tuple[str, ...]) -> None:
    """Give `columns` of `rows` the values a round trip through SAMPLE_SCHEMA gives them (in place)."""
    for col in columns:
        arrow_type = SAMPLE_SCHEMA.field(col).type
        plain = IDENTITY_TYPES.get(arrow_type)
        if plain is not None and all(r[col] is None or type(r[col]) is plain for r in rows):
            continue
        values = pa.array([r[col] for r in rows], type=arrow_type).to_pylist()
        for row, value in zip(rows, values, strict=True):
            row[col] = value


def changed_columns(cls: type[Stage]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*cls.produces, *ALWAYS_CHANGED)))


def batch_key(rows: list[Sample]) -> str:
    """Names one batch of one shard for the progress counters (a re-run batch counts once)."""
    return hashlib.sha256(f"{rows[0]['sample_key']}|{rows[-1]['sample_key']}|{len(rows)}".encode()).hexdigest()[:16]


def run_chain(rows: list[Sample], stages: list[tuple[Stage, str]], chunk: int,
              reporter: Reporter | None) -> list[Sample]:
    """Every stage over `rows`, `chunk` rows at a time (bounded memory, live progress per chunk)."""
    out: list[Sample] = []
    sent: list[Any] = []
    for i in range(0, len(rows), max(1, chunk)):
        part = rows[i : i + max(1, chunk)]
        key = batch_key(part) if part else ""
        done: list[tuple[str, BatchStats]] = []
        for stage, label in stages:
            part = run_rows(stage, part)
            normalize(part, changed_columns(type(stage)))
            if part:
                done.append((label, stage.last_batch))
        if reporter is not None and done:
            sent.append(reporter.batches(key, done))  # one actor call per chunk, whatever the number of stages
        out.extend(part)
    if reporter is not None:
        reporter.delivered(sent)
    return out


def write_block(rows: list[Sample], out_dir: str, expected: dict[str, int],
                reporter: Reporter | None) -> pa.Table:
    """Write the shard(s) whose rows make up this block; one stats row per shard."""
    by_shard: dict[str, list[Sample]] = {}
    for row in rows:
        by_shard.setdefault(row["shard"], []).append(row)
    stats_rows, sent = [], []
    for shard in sorted(by_shard):
        got, want = len(by_shard[shard]), expected.get(shard)
        if got != want:
            raise RuntimeError(f"shard {shard} reached its writer with {got} of {want} rows (split block)")
        try:
            stats = write_shard(Path(out_dir), shard, by_shard[shard])
        except OSError as err:
            if is_transient(err) and not isinstance(err, RetryableError):
                raise ShardWriteRetry(err.errno, err.strerror, err.filename) from err
            raise
        if reporter is not None:
            sent.append(reporter.shard(stats))
        stats_rows.append({**{k: stats[k] for k in ("shard", "samples", "written", "quarantined")},
                           "node": node_id(), "pid": os.getpid()})
    if reporter is not None:
        reporter.delivered(sent)
    return pa.Table.from_pylist(stats_rows, schema=STATS_SCHEMA)


def node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


def finish(rows: list[Sample], out_dir: str | None, expected: dict[str, int], reporter: Reporter | None) -> pa.Table:
    if out_dir is None:
        return pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    return write_block(rows, out_dir, expected, reporter)


def to_ipc(table: pa.Table) -> bytes:
    """A block as one Arrow IPC stream: what a plain task ships (Ray's own Arrow pickling walks every
    column's buffers in Python: ~9x the driver CPU of this, measured on the plan's SAMPLE blocks)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def chain_task(batch: pa.Table | bytes, steps: list[Step], ctx: RunContext, chunk: int, out_dir: str | None = None,
               expected: dict[str, int] | None = None, reporter: Reporter | None = None) -> pa.Table:
    """A Ray task: stateless stages over one block (a table, or its `to_ipc` bytes), then (last segment)
    its shard written."""
    table = from_ipc(batch) if isinstance(batch, bytes) else batch
    stages = [(s.cls(s.params, ctx), s.label) for s in steps]  # fresh per block: no state across shards
    return finish(run_chain(table.to_pylist(), stages, chunk, reporter), out_dir, expected or {}, reporter)


class ChainActor:
    """A Ray actor hosting stateful stages (models): `setup()` runs once, then blocks stream through."""

    def __init__(self, steps: list[Step], ctx: RunContext, chunk: int, out_dir: str | None = None,
                 expected: dict[str, int] | None = None, reporter: Reporter | None = None) -> None:
        self.stages = [(s.cls(s.params, ctx), s.label) for s in steps]
        for stage, _ in self.stages:
            stage.ensure_ready()
        self.chunk, self.out_dir, self.expected, self.reporter = chunk, out_dir, expected or {}, reporter

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = run_chain(batch.to_pylist(), self.stages, self.chunk, self.reporter)
        return finish(rows, self.out_dir, self.expected, self.reporter)


def write_task(batch: pa.Table, out_dir: str, expected: dict[str, int], reporter: Reporter | None = None) -> pa.Table:
    """The writer on its own (after a stateful segment): one block = one shard."""
    return write_block(batch.to_pylist(), out_dir, expected, reporter)
