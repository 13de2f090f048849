"""A real two-node Ray cluster on one machine (`ray.cluster_utils.Cluster`): the demo pipeline's tasks
run on both nodes, and the corpus equals a single-node run's, byte for byte.

Own module, own Ray: it never uses the session fixture; it shuts down any Ray already initialised in
this process first and leaves none running after.
"""

from __future__ import annotations

import threading
from importlib.resources import files
from pathlib import Path
from typing import Any

import psutil
import pytest

from pipelines.config import load_config
from pipelines.plan import build_plan
from pipelines.run import corpus_dir, finalize, run_pipeline
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import write_rsna_sample
from pipelines.stage import RunContext

pytestmark = pytest.mark.ray
MB = 1024 * 1024
# the pipeline's tasks: a stateless chain with its shard writer (chain_task, a plain Ray task), Ray Data's
# operators where an actor pool sits in the chain (MapBatches)
PIPELINE_TASKS = ("ray::chain_task", "ray::MapBatches")


def corpus_bytes(root: Path) -> dict[str, bytes]:
    """Like test_e2e_demo.corpus_bytes: every file but QC, the card and the progress markers."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.parts[-2] != "qc"
            and p.name != "README.md" and "_progress" not in p.parts}


class TaskTitleSampler(threading.Thread):
    """Which nodes ran tasks: Ray names a busy worker process `ray::<task>` (`ray::IDLE` when idle); the
    worker processes of a node are the descendants of that node's raylet."""

    def __init__(self, raylets: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.raylets = raylets
        self.seen: dict[str, set[str]] = {node: set() for node in raylets}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for node, pid in self.raylets.items():
                try:
                    procs = psutil.Process(pid).children(recursive=True)
                except psutil.Error:
                    continue
                for proc in procs:
                    try:
                        title = (proc.cmdline() or [""])[0]
                    except psutil.Error:
                        continue
                    if title.startswith(PIPELINE_TASKS):
                        self.seen[node].add(title.split()[0])
            self.stop.wait(0.05)


def run_on_two_nodes(cfg: Any, out: Path) -> tuple[list[dict[str, Any]], dict[str, set[str]], Path]:
    import ray
    from ray.cluster_utils import Cluster

    from pipelines.ray_exec import init_ray, run_wave

    # Ray's hybrid scheduler packs tasks on the local node until it is half busy; a few fractional-CPU
    # tasks on a tiny demo never get there, so spill from the first task on (as a big run does anyway).
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "object_store_memory": 150 * MB, "include_dashboard": False,
                                      "_system_config": {"scheduler_spread_threshold": 0.0}})
    sampler = None
    try:
        worker = cluster.add_node(num_cpus=1, resources={"medground_node_b": 1}, object_store_memory=150 * MB)
        cluster.wait_for_nodes()
        init_ray(cfg, cluster.address)  # the path `medground run --address` takes
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert len(nodes) == 2 and ray.cluster_resources().get("medground_node_b") == 1
        raylets = {n.node_id: n.all_processes["raylet"][0].process.pid for n in (cluster.head_node, worker)}
        assert set(raylets) == nodes
        sampler = TaskTitleSampler(raylets)
        sampler.start()
        salt = cfg.resolve_salt()
        plan = build_plan(cfg, salt)
        out_dir = corpus_dir(out, cfg)
        ctx = RunContext(salt=salt, run_id=cfg.fingerprint(), extra={"cache_dir": str(out_dir.parent / "_cache")})
        rows = [r for name in plan.shards for r in plan.shards[name]]
        stats = run_wave(cfg, rows, out_dir, ctx, block_rows=4)
        finalize(out_dir, cfg, plan, cfg.version, {"dedup": plan.dedup})
        return stats, sampler.seen, out_dir
    finally:
        if sampler is not None:
            sampler.stop.set()
            sampler.join()
        ray.shutdown()
        cluster.shutdown()


def run_on_one_node(cfg: Any, out: Path) -> Path:
    import ray

    ray.init(num_cpus=2, object_store_memory=300 * MB, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONHASHSEED": "0"}})
    try:
        result = run_pipeline(cfg, out, log=lambda _m: None)
        assert result.complete
        return result.out_dir
    finally:
        ray.shutdown()


def test_two_nodes_share_the_work_and_match_one_node(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # e.g. the session fixture of another module: this test needs its own cluster
        ray.shutdown()
    write_nih_sample(tmp_path / "nih_cxr14")
    write_rsna_sample(tmp_path / "rsna_pneumonia")
    (tmp_path / "demo.yaml").write_text(files("pipelines.configs").joinpath("demo.yaml").read_text())
    cfg = load_config(tmp_path / "demo.yaml")
    stats, tasks_by_node, multi = run_on_two_nodes(cfg, tmp_path / "multi")
    assert not ray.is_initialized()
    single = run_on_one_node(cfg, tmp_path / "single")
    assert not ray.is_initialized()
    assert len(stats) == len(list((single / "_progress").glob("[!_]*.json")))  # every shard, once
    a, b = corpus_bytes(multi), corpus_bytes(single)
    assert a and a.keys() == b.keys()
    assert a == b
    print({node[:8]: sorted(titles) for node, titles in tasks_by_node.items()},
          "writers on", sorted({s["node"][:8] for s in stats}))
    assert {s["node"] for s in stats} <= set(tasks_by_node)
    assert all(tasks_by_node.values()), f"a node ran no task: {tasks_by_node}"
