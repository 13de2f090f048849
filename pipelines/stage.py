"""The stage contract: a small class with a declared contract whose logic lives in `extractors/`.

A stage reads and writes SAMPLE rows (schemas.tables.SAMPLE_SCHEMA). It declares which SAMPLE
columns it consumes and produces (checked along the whole chain before any work starts), the
resources it needs (a stateful stage — one with a model loaded in `setup()` — becomes a Ray actor
pool; a stateless one runs as Ray tasks), and its parameters as a pydantic model (validated from the
YAML config before Ray starts).

Per-row accounting is built in: `process_batch` calls `process_sample` for each sample that is still
`ok`; a `BadInput` quarantines that sample (with this stage's name and the error kind); any other
exception quarantines it as `stage_error` unless the run is in debug mode, where it is re-raised.
Named transient failures (`RetryableError`, timeouts, connection resets, EIO/EAGAIN/...) are retried
on a fresh copy of the sample a bounded number of times with exponential backoff, then quarantined as
`transient`. Partial losses (one bad box among good ones) are recorded by the stage itself with
`quarantine()`. After each batch, `last_batch` holds its counts (rows, quarantined, retries, seconds).
"""

from __future__ import annotations

import copy
import errno
import json
import time
from abc import ABC
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from schemas.errors import BadInput, RetryableError
from schemas.tables import SAMPLE_SCHEMA

Sample = dict[str, Any]


class StageParams(BaseModel):
    """Base of every stage's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage asks Ray for. Fractional CPUs keep a 2-core machine from deadlocking."""

    num_cpus: float = 0.5
    num_gpus: float = 0.0
    concurrency: int = 1  # actor pool size (stateful stages) / max parallel tasks (stateless)
    batch_size: int = 8


@dataclass(frozen=True)
class RunContext:
    """Run-wide values every stage may need. Serialisable (shipped to Ray workers)."""

    salt: str
    run_id: str = "local"
    debug: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    retry_attempts: int = 3  # tries per row on a transient failure (config `retries.attempts`)
    retry_backoff_s: float = 0.1  # wait before the first retry, doubled each time (`retries.backoff_s`)


# OS errors worth another try; ENOENT, EACCES, ENOSPC and the like are not transient
TRANSIENT_ERRNOS = frozenset({errno.EIO, errno.EAGAIN, errno.EINTR, errno.ETIMEDOUT, errno.ECONNRESET, errno.EBUSY})


def is_transient(err: BaseException) -> bool:
    """A named transient failure: worth retrying a bounded number of times."""
    if isinstance(err, RetryableError | TimeoutError | ConnectionError):
        return True
    return isinstance(err, OSError) and err.errno in TRANSIENT_ERRNOS


@dataclass
class BatchStats:
    """What one `process_batch` call did: reported to the run's progress counters."""

    rows: int = 0  # rows in the batch (quarantined ones pass through)
    quarantined: int = 0  # rows this stage quarantined
    retries: int = 0  # extra attempts made on transient failures
    gave_up: int = 0  # rows quarantined as `transient` after the last attempt
    seconds: float = 0.0  # wall time of the batch
    errors: dict[str, int] = field(default_factory=dict)  # class name of each retried error -> count
    shards: list[str] = field(default_factory=list)  # shards of the rows that were retried


class Stage(ABC):
    """Base class of every stage. Subclasses set the class attributes and override one method."""

    name: ClassVar[str]  # registered name, dotted lower case: "masks.classical"
    description: ClassVar[str] = ""
    consumes: ClassVar[tuple[str, ...]] = ()  # SAMPLE columns read ("image_png", "regions", ...)
    produces: ClassVar[tuple[str, ...]] = ()  # SAMPLE columns written
    stateful: ClassVar[bool] = False  # True → Ray actor pool (model loaded once in setup())
    default_resources: ClassVar[Resources] = Resources()
    Params: ClassVar[type[StageParams]] = StageParams

    def __init__(self, params: StageParams | None = None, ctx: RunContext | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.ctx = ctx if ctx is not None else RunContext(salt="")
        self._ready = False
        self.last_batch = BatchStats()

    # ---- contract -----------------------------------------------------------------------------
    @classmethod
    def input_schema(cls) -> pa.Schema:
        return pa.schema([SAMPLE_SCHEMA.field(c) for c in cls.consumes])

    @classmethod
    def output_schema(cls) -> pa.Schema:
        return pa.schema([SAMPLE_SCHEMA.field(c) for c in cls.produces])

    def setup(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Load models or build matchers; called once per worker before the first batch."""

    def process_sample(self, sample: Sample) -> Sample:
        """Transform one `ok` sample in place and return it. Raise BadInput to quarantine it."""
        return sample

    # ---- execution ----------------------------------------------------------------------------
    def ensure_ready(self) -> None:
        """Run `setup()` unless it already ran on this instance (every entry point calls this)."""
        if not self._ready:
            self.setup()
            self._ready = True

    def process_batch(self, table: pa.Table) -> pa.Table:
        return pa.Table.from_pylist(self.process_rows(table.to_pylist()), schema=SAMPLE_SCHEMA)

    def process_rows(self, rows: list[Sample]) -> list[Sample]:
        """`process_batch` on plain rows: what a fused chain of stages calls (pipelines/chain.py), with
        no Arrow round trip between stages."""
        self.ensure_ready()
        start = time.perf_counter()
        self.last_batch = stats = BatchStats(rows=len(rows))
        ok_in = sum(r["status"] == "ok" for r in rows)
        out = [self._run_one(row) for row in rows]
        stats.quarantined = ok_in - sum(r["status"] == "ok" for r in out)
        stats.seconds = time.perf_counter() - start
        return out

    def _run_one(self, sample: Sample) -> Sample:
        if sample["status"] != "ok":
            return sample
        attempts = max(1, self.ctx.retry_attempts)
        pristine = copy.deepcopy(sample) if attempts > 1 else sample  # a retry starts from the input again
        work = sample
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                work = copy.deepcopy(pristine)
            try:
                return self.process_sample(work)
            except BadInput as err:
                return quarantine_sample(work, self.name, err.kind, str(err))
            except Exception as err:  # every row accounted for: unforeseen errors quarantine the sample
                if is_transient(err) and attempt < attempts:
                    self._count_retry(work, err)
                    time.sleep(self.ctx.retry_backoff_s * 2 ** (attempt - 1))
                    continue
                if self.ctx.debug:
                    raise
                if is_transient(err):  # quarantined as it came in: a failed attempt's partial work is dropped
                    self.last_batch.gave_up += 1
                    return quarantine_sample(pristine, self.name, "transient",
                                             f"{type(err).__name__} after {attempts} attempts: {err}")
                return quarantine_sample(work, self.name, "stage_error", f"{type(err).__name__}: {err}")
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    def _count_retry(self, sample: Sample, err: BaseException) -> None:
        stats = self.last_batch
        stats.retries += 1
        stats.errors[type(err).__name__] = stats.errors.get(type(err).__name__, 0) + 1
        if sample.get("shard") and sample["shard"] not in stats.shards:
            stats.shards.append(sample["shard"])

    # ---- helpers for subclasses ---------------------------------------------------------------
    def quarantine(self, sample: Sample, unit: str, ref: str, kind: str, message: str) -> None:
        """Record the loss of one sub-record (annotation, label, report) of a sample that goes on."""
        image = sample.get("image") or {}
        sample["quarantine"] = [
            *(sample.get("quarantine") or []),
            {
                "source": item_of(sample)["source"],
                "unit": unit,
                "input_ref": ref,
                "stage": self.name,
                "error_kind": kind,
                "message": message,
                "image_id": image.get("image_id"),
            },
        ]


def item_of(sample: Sample) -> dict[str, Any]:
    """The source adapter's record for this sample (parsed from its JSON column)."""
    return json.loads(sample["item"])


def quarantine_sample(sample: Sample, stage: str, kind: str, message: str) -> Sample:
    """Mark the whole sample quarantined: it is not written, and the writer accounts for its parts."""
    item = item_of(sample)
    image = sample.get("image") or {}
    sample["status"] = "quarantined"
    sample["image_png"] = None
    sample["quarantine"] = [
        *(sample.get("quarantine") or []),
        {
            "source": item["source"],
            "unit": "image",
            "input_ref": item.get("input_ref") or item["key"],
            "stage": stage,
            "error_kind": kind,
            "message": message,
            "image_id": image.get("image_id"),
        },
    ]
    return sample
