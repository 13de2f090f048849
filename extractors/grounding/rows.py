"""GROUNDING rows: one builder so every link carries the same fields and a deterministic id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from schemas.tables import GROUNDING_SCHEMA, empty_row


def grounding_id(*parts: object) -> str:
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:20]


def grounding_row(
    region: dict[str, Any],
    *,
    method: str,
    phrase: str | None,
    code: str | None,
    score: float | None,
    finding_id: str | None = None,
    code_match: str | None = None,
    laterality_agrees: bool | None = None,
    location_agrees: bool | None = None,
    overlap: float | None = None,
    flags: Iterable[str] = (),
) -> dict[str, Any]:
    row = empty_row(GROUNDING_SCHEMA)
    row.update(
        grounding_id=grounding_id(region["region_id"], finding_id, method, phrase),
        region_id=region["region_id"],
        finding_id=finding_id,
        image_id=region["image_id"],
        source=region["source"],
        phrase=phrase,
        code=code,
        method=method,
        score=None if score is None else round(float(score), 4),
        code_match=code_match,
        laterality_agrees=laterality_agrees,
        location_agrees=location_agrees,
        overlap=None if overlap is None else round(float(overlap), 4),
        flags=sorted(set(flags)),
    )
    return row


def add_flag(flags: list[str] | None, flag: str) -> list[str]:
    """`flags` with `flag` added once, sorted (idempotent: re-running a stage adds nothing)."""
    return sorted({*(flags or []), flag})


def drop_flags(flags: list[str] | None, drop: Iterable[str]) -> list[str]:
    gone = set(drop)
    return [f for f in flags or [] if f not in gone]
