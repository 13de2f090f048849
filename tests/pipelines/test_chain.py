"""pipelines/chain.py without Ray: fused stages equal stage-by-stage Arrow round trips; a shard in pieces
is refused; the plan store gives back each shard's rows; consecutive stateless stages form one segment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipelines.chain import Step, chain_task, run_chain, write_block
from pipelines.config import parse_config
from pipelines.plan import build_plan, full_row
from pipelines.plan_store import write_plan_store
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.stage import RunContext
from schemas.tables import SAMPLE_SCHEMA

STAGES = [{"name": "ingest.decode"}, {"name": "labels.dataset"}, {"name": "ontology.normalize"},
          {"name": "masks.classical", "params": {"method": "otsu"}}, {"name": "ground.link"}]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    nih = write_nih_sample(tmp_path_factory.mktemp("nih") / "nih_cxr14", size=64)
    cfg = parse_config({"corpus": "chain", "salt": "s", "shard_size": 4, "scan": {"enabled": False},
                        "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih.root)}}],
                        "stages": STAGES})
    return cfg, build_plan(cfg, "s")


def test_fused_chain_equals_one_round_trip_per_stage(planned: tuple[Any, Any]) -> None:
    cfg, plan = planned
    ctx = RunContext(salt="s")
    rows = [full_row(r) for shard in plan.shards.values() for r in shard]
    start = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
    table = start
    for st in cfg.stages:  # what one Ray operator per stage did
        table = st.cls(st.params, ctx).process_batch(table)
    fused = run_chain(start.to_pylist(), [(st.cls(st.params, ctx), st.name) for st in cfg.stages], chunk=3,
                      reporter=None)
    assert fused == table.to_pylist()
    assert any(r["regions"] for r in fused) and any(r["status"] != "ok" for r in fused)


def test_writer_refuses_a_shard_in_pieces(planned: tuple[Any, Any], tmp_path: Path) -> None:
    _, plan = planned
    name, rows = next((k, v) for k, v in plan.shards.items() if len(v) > 1)
    with pytest.raises(RuntimeError, match="split block"):
        write_block([full_row(r) for r in rows[:-1]], str(tmp_path), {name: len(rows)}, None)
    assert not (tmp_path / "_progress").exists()


def test_chain_task_writes_its_shard(planned: tuple[Any, Any], tmp_path: Path) -> None:
    cfg, plan = planned
    name = sorted(plan.shards)[0]
    steps = [Step(st.cls, st.params, st.name) for st in cfg.stages]
    table = pa.Table.from_pylist([full_row(r) for r in plan.shards[name]], schema=SAMPLE_SCHEMA)
    out = chain_task(table, steps, RunContext(salt="s"), 8, str(tmp_path), {name: table.num_rows})
    assert out.column("shard").to_pylist() == [name]
    assert (tmp_path / "_progress" / f"{name}.json").is_file()


def test_plan_store_reads_back_each_shard(planned: tuple[Any, Any], tmp_path: Path) -> None:
    _, plan = planned
    store = write_plan_store(tmp_path, plan.shards, per_file=2)
    assert len(list((tmp_path / "_progress" / "plan").glob("part-*.parquet"))) == -(-len(plan.shards) // 2)
    names = sorted(plan.shards, reverse=True)
    for name, table in zip(names, store.read(names), strict=True):
        assert table.equals(pa.Table.from_pylist([full_row(r) for r in plan.shards[name]], schema=SAMPLE_SCHEMA))
    assert store.counts == {k: len(v) for k, v in plan.shards.items()}


def test_consecutive_stateless_stages_form_one_segment() -> None:
    pytest.importorskip("ray")
    from pipelines.ray_exec import segments

    cfg = parse_config({"corpus": "c", "salt": "s", "sources": [{"name": "sources.nih_cxr14", "params": {"root": "."}}],
                        "stages": [{"name": "ingest.decode"}, {"name": "labels.dataset"},
                                   {"name": "findings.rules"}, {"name": "ontology.normalize"},
                                   {"name": "ground.link"}]})
    assert [(stateful, [label for _, label in seg]) for stateful, seg in segments(cfg)] == [
        (False, ["ingest.decode", "labels.dataset"]), (True, ["findings.rules"]),
        (False, ["ontology.normalize", "ground.link"])]
