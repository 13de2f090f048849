from __future__ import annotations

from pathlib import Path

from pipelines.config import parse_config
from pipelines.plan import build_plan, cut_shards, split_of
from pipelines.samples.nih_cxr14 import write_nih_sample


def test_split_is_deterministic_and_follows_fractions() -> None:
    fr = {"train": 0.8, "val": 0.1, "test": 0.1}
    names = [split_of(f"p{i}", "salt", fr) for i in range(2000)]
    assert names == [split_of(f"p{i}", "salt", fr) for i in range(2000)]
    assert 0.75 < names.count("train") / 2000 < 0.85
    assert split_of("p1", "salt", fr) == split_of("p1", "salt", fr)


def test_shards_are_sorted_zero_padded_and_per_split() -> None:
    rows = [{"sample_key": f"k{i:02d}", "split": "train" if i % 3 else "test"} for i in range(10)]
    shards = cut_shards(rows, 3)
    assert list(shards) == ["test-000000", "test-000001", "train-000000", "train-000001"]
    assert [r["sample_key"] for r in shards["test-000000"]] == ["k00", "k03", "k06"]


def test_plan_keeps_a_patient_in_one_split_and_counts_inputs(tmp_path: Path) -> None:
    sample = write_nih_sample(tmp_path / "nih")
    cfg = parse_config({
        "corpus": "t", "salt": "s", "shard_size": 2,
        "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(sample.root)}}],
        "stages": [{"name": "ingest.decode"}],
    })
    plan = build_plan(cfg, "s")
    import json
    split_of_patient: dict[str, set[str]] = {}
    for name, rows in plan.shards.items():
        for r in rows:
            split_of_patient.setdefault(json.loads(r["item"])["patient"], set()).add(name.split("-")[0])
    assert all(len(v) == 1 for v in split_of_patient.values())
    assert split_of_patient["6"] == {"test"}  # the official test list is respected
    inputs = plan.inputs["sources.nih_cxr14"]
    assert inputs["image"] == len(sample.images) + len(sample.missing)
    assert inputs["annotation"] == 10  # 8 boxes + 1 for the missing image + 1 out of bounds


def test_trainval_stays_out_of_test() -> None:  # shared reports' anchors: test_plan_items.py
    from pipelines.plan import assign_split

    fr = {"train": 0.5, "val": 0.25, "test": 0.25}
    splits = {assign_split("trainval", f"p{i}", "s", fr) for i in range(300)}
    assert splits == {"train", "val"}
    assert assign_split("test", "p1", "s", fr) == "test"
