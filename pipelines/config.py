"""Pipeline configuration: YAML → validated objects, before Ray starts.

Every error is a `ConfigError` naming the key (dotted path into the YAML) and, where there is a
closed set, the allowed values. `load_config` checks: the file's top-level keys, every source and
stage name against the registry, every source's and stage's params against its pydantic model, and
the SAMPLE-column chain (each stage consumes only what a source or an earlier stage produced).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.registry import get_source, get_stage
from pipelines.sources.base import Source, SourceParams
from pipelines.stage import Resources, Stage, StageParams
from schemas.errors import ConfigError

# SAMPLE columns a source provides before any stage runs (the record lists start empty, so a stage may
# read them anywhere; `image` and `image_png` exist only after a stage decoded the pixels).
SOURCE_COLUMNS = ("sample_key", "shard", "status", "item", "quarantine", "reports", "findings", "regions", "groundings")
SPLIT_NAMES = ("train", "val", "test")


class RayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str | None = None  # None: RAY_ADDRESS, else a local Ray started for this run
    num_cpus: int | None = None  # local Ray only
    object_store_memory_mb: int = Field(default=1024, ge=128)  # local Ray only; spills beyond
    shards_per_wave: int = Field(default=8, ge=1)  # bounds memory: shards processed per Ray job
    dashboard: bool = False  # local Ray only: start the Ray dashboard (needs `ray[default]`)


class RetriesConfig(BaseModel):
    """Bounded retries of named transient failures (RetryableError, timeouts, EIO/EAGAIN/...)."""

    model_config = ConfigDict(extra="forbid")
    attempts: int = Field(default=3, ge=1, le=20)  # tries per row, and per Ray task, before giving up
    backoff_s: float = Field(default=0.1, ge=0, le=60)  # wait before the first retry; doubles each time


class ScanConfig(BaseModel):
    """The pre-scan before splits: content hashes (exact copies, incremental runs) and near duplicates."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True  # False: no pre-scan (no duplicate groups; incremental runs match inputs by index only)
    near_duplicates: bool = True  # pHash groups; False: exact copies only
    max_distance: int = Field(default=4, ge=0, le=16)  # Hamming distance on the 64-bit pHash
    scope: Literal["across", "within"] = "across"  # near duplicates across sources, or within each source
    ray_above: int = Field(default=256, ge=0)  # scan in the driver process up to this many files, else on Ray
    # near-duplicate pair search in the driver up to this many pHashes, else a Ray Data bucket join (same pairs)
    pairs_ray_above: int = Field(default=100_000, ge=0)


class StepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, Any] = Field(default_factory=dict)  # overrides of Resources fields


class PipelineConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corpus: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    version: str = Field(default="0.1.0", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = None  # free text for the dataset card (what was built, from what)
    salt_env: str = "MEDGROUND_SALT"  # name of the environment variable that holds the salt
    salt: str | None = None  # literal salt: only for demos/tests (a real salt is a secret)
    shard_size: int = Field(default=256, ge=1)
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    sources: list[StepConfig] = Field(min_length=1)
    stages: list[StepConfig] = Field(min_length=1)
    ray: RayConfig = Field(default_factory=RayConfig)
    retries: RetriesConfig = Field(default_factory=RetriesConfig)
    scan: ScanConfig = Field(default_factory=ScanConfig)
    gates: dict[str, float] = Field(default_factory=dict)  # QC release gates on top of qc.gates.DEFAULT_GATES
    debug: bool = False

    @field_validator("gates")
    @classmethod
    def _gates(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if not (k.endswith("_max") or k.endswith("_min"))]
        if bad:
            raise ValueError(f"gate {bad[0]!r} must be <metric>_max or <metric>_min")
        return v

    @field_validator("splits")
    @classmethod
    def _splits(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if k not in SPLIT_NAMES]
        if bad:
            raise ValueError(f"unknown split {bad[0]!r} (allowed: {', '.join(SPLIT_NAMES)})")
        if abs(sum(v.values()) - 1.0) > 1e-6 or any(x < 0 for x in v.values()):
            raise ValueError("split fractions must be >= 0 and sum to 1")
        return v


@dataclass
class BoundSource:
    name: str
    cls: type[Source]
    params: SourceParams

    def build(self) -> Source:
        return self.cls(self.params)


@dataclass
class BoundStage:
    name: str
    cls: type[Stage]
    params: StageParams
    resources: Resources


@dataclass
class PipelineConfig:
    model: PipelineConfigModel
    sources: list[BoundSource]
    stages: list[BoundStage]
    raw: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = Path(".")

    @property
    def corpus(self) -> str:
        return self.model.corpus

    @property
    def version(self) -> str:
        return self.model.version

    def resolve_salt(self) -> str:
        if self.model.salt:
            return self.model.salt
        salt = os.environ.get(self.model.salt_env)
        if not salt:
            raise ConfigError(
                "salt_env", f"environment variable {self.model.salt_env} is not set (the patient-ID salt)"
            )
        return salt

    def fingerprint(self) -> str:
        """Hash of what determines the output bytes (not the Ray or retry settings, nor a stage's batch
        size or pool size, nor the driver-or-Ray thresholds `*ray_above`: a resume may change them, and
        a sample's output never depends on its batch or on where it was computed)."""
        return _hash_output_settings(self.raw, ("ray", "debug", "retries", "gates"))

    def content_fingerprint(self) -> str:
        """The fingerprint without `version`: what an incremental run must share with the version it
        builds on (same sources, stages and parameters)."""
        return _hash_output_settings(self.raw, ("ray", "debug", "retries", "gates", "version"))


# Stage resources that only schedule work (num_cpus/num_gpus stay: a GPU changes what `device: auto` runs on).
SCHEDULING_RESOURCES = ("batch_size", "concurrency")


# Where work runs (driver or Ray tasks), never what it gives: `scan.ray_above`, `scan.pairs_ray_above`,
# a source's `headers_ray_above` (both paths are tested to give the same items, pairs and losses).
SCHEDULING_THRESHOLD_SUFFIX = "ray_above"


def _hash_output_settings(raw: dict[str, Any], drop: tuple[str, ...]) -> str:
    data = {k: v for k, v in raw.items() if k not in drop}
    if isinstance(data.get("stages"), list):
        data["stages"] = [_without_scheduling(st) for st in data["stages"]]
    if isinstance(data.get("scan"), dict):
        data["scan"] = _without_thresholds(data["scan"])
        if not data["scan"]:
            del data["scan"]  # a section of thresholds only is the same run as none
    if isinstance(data.get("sources"), list):
        data["sources"] = [
            {**src, "params": _without_thresholds(src["params"])}
            if isinstance(src, dict) and isinstance(src.get("params"), dict) else src
            for src in data["sources"]
        ]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _without_thresholds(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if not k.endswith(SCHEDULING_THRESHOLD_SUFFIX)}


def _without_scheduling(step: Any) -> Any:
    if not isinstance(step, dict) or not isinstance(step.get("resources"), dict):
        return step
    kept = {k: v for k, v in step["resources"].items() if k not in SCHEDULING_RESOURCES}
    return {**{k: v for k, v in step.items() if k != "resources"}, **({"resources": kept} if kept else {})}


def _pydantic_error(prefix: str, err: ValidationError) -> ConfigError:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    key = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    msg = first["msg"]
    allowed = None
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    ctx = first.get("ctx") or {}
    if "expected" in ctx:
        allowed = [s.strip(" '") for s in str(ctx["expected"]).replace(" or ", ",").split(",")]
    return ConfigError(key, msg, allowed)


def _bind_source(i: int, step: StepConfig, base_dir: Path) -> BoundSource:
    cls = get_source(step.name, key=f"sources[{i}].name")
    params = dict(step.params)
    if "root" in params and not Path(str(params["root"])).is_absolute():
        params["root"] = str((base_dir / str(params["root"])).resolve())
    try:
        return BoundSource(step.name, cls, cls.Params(**params))
    except ValidationError as err:
        raise _pydantic_error(f"sources[{i}].params", err) from None


def _bind_stage(i: int, step: StepConfig) -> BoundStage:
    cls = get_stage(step.name, key=f"stages[{i}].name")
    try:
        params = cls.Params(**step.params)
    except ValidationError as err:
        raise _pydantic_error(f"stages[{i}].params", err) from None
    allowed = set(Resources.__dataclass_fields__)
    for k in step.resources:
        if k not in allowed:
            raise ConfigError(f"stages[{i}].resources.{k}", "unknown key", sorted(allowed))
    base = cls.default_resources
    resources = Resources(**{**base.__dict__, **step.resources})
    return BoundStage(step.name, cls, params, resources)


def check_chain(stages: list[BoundStage]) -> None:
    """Each stage consumes only SAMPLE columns a source or an earlier stage produced."""
    available = set(SOURCE_COLUMNS)
    for i, st in enumerate(stages):
        missing = [c for c in st.cls.consumes if c not in available]
        if missing:
            from pipelines.registry import stages as all_stages

            producers = sorted(n for n, c in all_stages().items() if set(missing) & set(c.produces))
            raise ConfigError(
                f"stages[{i}].name",
                f"{st.name} consumes {missing} which no source or earlier stage produces; "
                "put a stage that produces it earlier",
                producers,
            )
        available |= set(st.cls.produces)


def parse_config(raw: dict[str, Any], base_dir: Path = Path(".")) -> PipelineConfig:
    if not isinstance(raw, dict):
        raise ConfigError("<root>", "the config must be a YAML mapping")
    try:
        model = PipelineConfigModel(**raw)
    except ValidationError as err:
        raise _pydantic_error("", err) from None
    sources = [_bind_source(i, s, base_dir) for i, s in enumerate(model.sources)]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError("sources", "a source is listed twice")
    stages = [_bind_stage(i, s) for i, s in enumerate(model.stages)]
    check_chain(stages)
    return PipelineConfig(model=model, sources=sources, stages=stages, raw=raw, base_dir=base_dir)


def load_config(path: Path, overrides: dict[str, Any] | None = None) -> PipelineConfig:
    if not path.is_file():
        raise ConfigError("CONFIG", f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError("CONFIG", f"not valid YAML: {err}") from None
    raw = {**(raw or {}), **(overrides or {})}
    return parse_config(raw, base_dir=path.parent.resolve())
