"""On-disk cache of model answers keyed by (model, prompt version, input hash): re-runs do not call again.

One SQLite file under the configured cache dir (`llm_cache.sqlite`), shared by the threads of a worker
and by the workers of one machine (SQLite's file locking; on a cluster point `cache_dir` at shared
storage or accept one cache per node). Only answers that passed schema validation are stored, so a
bad answer is asked again next run. `input_hash` is the sha256 of the canonical request body (report
text, prompt messages, answer schema, sampling), so nothing that changes the question can hit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from extractors.llm.client import LlmCallError, OpenAIChatClient

CACHE_FILE = "llm_cache.sqlite"


def input_hash(body: dict[str, Any]) -> str:
    """sha256 of the request body without the model name (the model is its own key column)."""
    rest = {k: v for k, v in body.items() if k != "model"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class LlmResponseCache:
    """get/put of validated answer contents; thread-safe; `hits`/`misses` count lookups."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.path = Path(cache_dir) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers (model TEXT NOT NULL, prompt_version TEXT NOT NULL, "
                "input_hash TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (model, prompt_version, input_hash))"
            )
        self.hits = 0
        self.misses = 0

    def get(self, model: str, prompt_version: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT content FROM answers WHERE model=? AND prompt_version=? AND input_hash=?",
                (model, prompt_version, key),
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
            return str(row[0])

    def put(self, model: str, prompt_version: str, key: str, content: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO answers (model, prompt_version, input_hash, content) VALUES (?, ?, ?, ?)",
                (model, prompt_version, key, content),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def answers_for(
    client: OpenAIChatClient, cache: LlmResponseCache | None, prompt_tag: str, bodies: Sequence[dict[str, Any]]
) -> list[tuple[str, str | LlmCallError, bool]]:
    """(input hash, content or error, cached?) per body: cache hits first, the misses asked concurrently.
    The caller stores a content with `cache.put` once it has validated it."""
    model = client.settings.model
    keys = [input_hash(b) for b in bodies]
    found = [cache.get(model, prompt_tag, k) if cache is not None else None for k in keys]
    todo = [i for i, c in enumerate(found) if c is None]
    asked = dict(zip(todo, client.complete_many([bodies[i] for i in todo]), strict=True))
    out: list[tuple[str, str | LlmCallError, bool]] = []
    for i, (key, content) in enumerate(zip(keys, found, strict=True)):
        out.append((key, content, True) if content is not None else (key, asked[i], False))
    return out
