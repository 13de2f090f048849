"""Structured run logs: one JSON object per line at OUT/<corpus>/_runs/<run_id>.jsonl.

Events (each line has `ts` (UTC), `t` (seconds since the run started) and `event`):
run_start (run id, config hash, versions), plan (samples, shards), ray (address, dashboard),
wave_start / wave_end, shard_written (counts), retries (per batch: stage, shards, error class
names), stage (per-stage totals), run_end (status, summary).

Never log PHI: only counts, stage and shard names, hashes and error class names go in, never item
contents, sample keys, file paths of inputs or exception messages (they may quote a header value).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

LOG_SUFFIX = ".jsonl"


class RunLog:
    """Appends events to a JSON-lines file; thread safe. `RunLog(None)` logs nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def event(self, name: str, **fields: Any) -> None:
        if self._fh is None:
            return
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "t": round(time.monotonic() - self._t0, 3), "event": name, **fields}
        line = json.dumps(record, sort_keys=False, default=str)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def read_log(path: Path) -> list[dict[str, Any]]:
    """The events of a run log, in order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
