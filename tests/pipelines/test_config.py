from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.config import _hash_output_settings, load_config, parse_config
from schemas.errors import ConfigError


def base(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "nih").mkdir(exist_ok=True)
    return {
        "corpus": "t",
        "salt": "s",
        "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(tmp_path / "nih")}}],
        "stages": [{"name": "ingest.decode"}, {"name": "labels.dataset"}, {"name": "masks.classical"}],
    }


def test_valid_config_binds_sources_and_stages(tmp_path: Path) -> None:
    cfg = parse_config(base(tmp_path))
    assert [s.name for s in cfg.stages] == ["ingest.decode", "labels.dataset", "masks.classical"]
    assert cfg.sources[0].params.root == tmp_path / "nih"
    assert cfg.fingerprint() == parse_config(base(tmp_path)).fingerprint()


def test_unknown_stage_lists_known_names(tmp_path: Path) -> None:
    raw = base(tmp_path)
    raw["stages"][1]["name"] = "labels.nope"
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.key == "stages[1].name"
    assert "labels.dataset" in (err.value.allowed or [])


def test_unknown_source_and_bad_param_name_the_key(tmp_path: Path) -> None:
    raw = base(tmp_path)
    raw["sources"][0]["name"] = "sources.nope"
    with pytest.raises(ConfigError, match=r"sources\[0\]\.name"):
        parse_config(raw)
    raw = base(tmp_path)
    raw["stages"][2]["params"] = {"method": "magic"}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.key == "stages[2].params.method"
    assert err.value.allowed == ["grabcut", "otsu", "ellipse"]


def test_missing_root_and_unknown_top_key(tmp_path: Path) -> None:
    raw = base(tmp_path)
    raw["sources"][0]["params"]["root"] = str(tmp_path / "absent")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.params\.root"):
        parse_config(raw)
    raw = base(tmp_path)
    raw["colour"] = "blue"
    with pytest.raises(ConfigError, match="colour: unknown key"):
        parse_config(raw)


def test_chain_requires_producers_first(tmp_path: Path) -> None:
    raw = base(tmp_path)
    raw["stages"] = [{"name": "masks.classical"}, {"name": "ingest.decode"}]
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.key == "stages[0].name" and "ingest.decode" in (err.value.allowed or [])


def test_bad_splits_and_relative_root(tmp_path: Path) -> None:
    raw = base(tmp_path)
    raw["splits"] = {"train": 0.5, "holdout": 0.5}
    with pytest.raises(ConfigError, match="splits"):
        parse_config(raw)
    raw = base(tmp_path)
    raw["sources"][0]["params"]["root"] = "nih"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    assert load_config(tmp_path / "c.yaml").sources[0].params.root == tmp_path / "nih"


def test_salt_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = base(tmp_path)
    del raw["salt"]
    cfg = parse_config(raw)
    monkeypatch.delenv("MEDGROUND_SALT", raising=False)
    with pytest.raises(ConfigError, match="MEDGROUND_SALT"):
        cfg.resolve_salt()
    monkeypatch.setenv("MEDGROUND_SALT", "secret")
    assert cfg.resolve_salt() == "secret"


def test_fingerprint_ignores_scheduling_but_not_output_settings(tmp_path: Path) -> None:
    """Issue 14: a resume may change batch/pool sizes, waves and driver-or-Ray thresholds, not outputs."""
    ref = parse_config(base(tmp_path)).fingerprint()
    sched = base(tmp_path)
    sched["stages"][2]["resources"] = {"batch_size": 3, "concurrency": 2}
    sched["ray"] = {"shards_per_wave": 2}
    sched["scan"] = {"ray_above": 10, "pairs_ray_above": 5}
    assert parse_config(sched).fingerprint() == ref
    tcia = {"name": "sources.tcia", "params": {"root": "r", "headers_ray_above": 7}}
    assert _hash_output_settings({"sources": [tcia]}, ()) == _hash_output_settings(
        {"sources": [{"name": "sources.tcia", "params": {"root": "r"}}]}, ())
    for change in ({"shard_size": 3}, {"salt": "other"}):
        assert parse_config({**base(tmp_path), **change}).fingerprint() != ref
    cpus = base(tmp_path)
    cpus["stages"][2]["resources"] = {"num_cpus": 0.5}  # kept: a GPU/CPU choice can change what `auto` runs
    cpus["stages"][2]["params"] = {"method": "ellipse"}
    assert parse_config(cpus).fingerprint() != ref
