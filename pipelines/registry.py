"""Stages and sources registered by name. Modules under pipelines/stages and pipelines/sources are
discovered automatically, so adding one touches no registry file."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, TypeVar

from schemas.errors import ConfigError

if TYPE_CHECKING:
    from pipelines.sources.base import Source
    from pipelines.stage import Stage

_STAGES: dict[str, type[Stage]] = {}
_SOURCES: dict[str, type[Source]] = {}
_discovered = False

S = TypeVar("S", bound="type[Stage]")
T = TypeVar("T", bound="type[Source]")


def register_stage(cls: S) -> S:
    if not cls.name.startswith(tuple(f"{p}." for p in STAGE_FAMILIES)):
        raise ValueError(f"stage name {cls.name!r} must start with one of {STAGE_FAMILIES}")
    if cls.name in _STAGES and _STAGES[cls.name] is not cls:
        raise ValueError(f"stage {cls.name!r} registered twice")
    _STAGES[cls.name] = cls
    return cls


def register_source(cls: T) -> T:
    if not cls.name.startswith("sources."):
        raise ValueError(f"source name {cls.name!r} must start with 'sources.'")
    if cls.name in _SOURCES and _SOURCES[cls.name] is not cls:
        raise ValueError(f"source {cls.name!r} registered twice")
    _SOURCES[cls.name] = cls
    return cls


STAGE_FAMILIES = ("ingest", "labels", "findings", "ontology", "masks", "ground", "qc", "describe")


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import pipelines.sources
    import pipelines.stages

    for pkg in (pipelines.stages, pipelines.sources):
        for mod in pkgutil.iter_modules(pkg.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _discovered = True


def stages() -> dict[str, type[Stage]]:
    _discover()
    return dict(sorted(_STAGES.items()))


def sources() -> dict[str, type[Source]]:
    _discover()
    return dict(sorted(_SOURCES.items()))


def get_stage(name: str, key: str = "stages") -> type[Stage]:
    known = stages()
    if name not in known:
        raise ConfigError(key, f"unknown stage {name!r}", allowed=list(known))
    return known[name]


def get_source(name: str, key: str = "sources") -> type[Source]:
    known = sources()
    if name not in known:
        raise ConfigError(key, f"unknown source {name!r}", allowed=list(known))
    return known[name]
