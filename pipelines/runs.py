"""The run registry and the `latest` pointer of a corpus.

    OUT/<corpus>/_runs/<run_id>.json   one record per run: id, config hash, versions, inputs seen,
                                       shards written/skipped, start/end, status
    OUT/<corpus>/LATEST                the published version; replaced atomically, and only after a
                                       complete run whose QC gates passed

Run records carry times (they describe an event); corpus files never do (they must be reproducible).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from pipelines.writers.shard import atomic_write_bytes

RUNS_DIR = "_runs"
LATEST = "LATEST"


def new_run_id() -> str:
    """UTC start time to the microsecond, then a random tag: ids sort in start order (`list_runs`), also
    for two runs started within one second (seconds alone sorted those by the random tag)."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1e6):06d}Z"
    return stamp + "-" + uuid.uuid4().hex[:6]


def record_run(corpus_root: Path, run_id: str, **fields: Any) -> dict[str, Any]:
    """Create or update a run record (fields are merged into what is there)."""
    path = corpus_root / RUNS_DIR / f"{run_id}.json"
    record = (json.loads(path.read_text()) if path.is_file()
              else {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname()})
    record.update(fields)
    atomic_write_bytes(path, json.dumps(record, indent=1, sort_keys=True, default=str).encode())
    return record


def list_runs(corpus_root: Path) -> list[dict[str, Any]]:
    """Run records, oldest first; a `running` record whose process is gone (driver killed) shows `stale`."""
    runs = [json.loads(p.read_text()) for p in sorted((corpus_root / RUNS_DIR).glob("*.json"))]
    for r in runs:
        if r.get("status") == "running" and r.get("host") == socket.gethostname() and not pid_alive(r.get("pid")):
            r["status"] = "stale"
    return runs


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(corpus_root: Path, version: str) -> None:
    atomic_write_bytes(corpus_root / LATEST, f"{version}\n".encode())


def latest(corpus_root: Path) -> str | None:
    path = corpus_root / LATEST
    return path.read_text().strip() if path.is_file() else None
