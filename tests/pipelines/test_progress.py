"""Progress, run summary and structured run log of `medground run`.

One CLI run of the demo (NIH + RSNA layouts, broken inputs included) on the session's local Ray; its
output, JSON-lines log and run record are checked. The counters and the views are also tested alone.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.config import load_config
from pipelines.progress import (
    CounterHost,
    PlainProgressView,
    ProgressCounter,
    ProgressTracker,
    RichProgressView,
    counter_host,
    make_view,
    progress_line,
)
from pipelines.runlog import RunLog, read_log
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import PHI_VALUES, write_rsna_sample

REPO = Path(__file__).resolve().parents[2]
DEMO_STAGES = ["ingest.decode", "labels.dataset", "ontology.normalize", "masks.classical", "ground.link",
               "ground.templates"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, ray_session: None) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("progress")
    nih = write_nih_sample(tmp / "nih_cxr14")
    rsna = write_rsna_sample(tmp / "rsna_pneumonia")
    (tmp / "demo.yaml").write_text(files("pipelines.configs").joinpath("demo.yaml").read_text())
    res = CliRunner().invoke(app, ["run", str(tmp / "demo.yaml"), "--out", str(tmp / "out"), "--no-qc"],
                             terminal_width=200)
    assert res.exit_code == 0, res.output
    runs = tmp / "out" / "cxr-demo" / "_runs"
    [log_path] = runs.glob("*.jsonl")
    record = json.loads((runs / log_path.name.replace(".jsonl", ".json")).read_text())
    return {"output": res.output, "log_path": log_path, "events": read_log(log_path), "record": record,
            "nih": nih, "rsna": rsna, "cfg": load_config(tmp / "demo.yaml"), "out": tmp / "out"}


def events_of(demo: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in demo["events"] if e["event"] == name]


@pytest.mark.ray
def test_log_parses_and_brackets_the_run(demo: dict[str, Any]) -> None:
    events = demo["events"]
    assert events[0]["event"] == "run_start" and events[-1]["event"] == "run_end"
    start, end = events[0], events[-1]
    assert start["config"] == demo["cfg"].fingerprint() and start["run_id"] == demo["record"]["run_id"]
    assert start["versions"]["ray"] and start["versions"]["schema"]
    assert end["status"] == "complete" == demo["record"]["status"]
    order = [e["event"] for e in events]
    for a, b in (("plan", "ray"), ("ray", "wave_start"), ("wave_start", "shard_written"),
                 ("shard_written", "wave_end"), ("wave_end", "stage")):
        assert order.index(a) < order.index(b), (a, b, order)
    assert all(isinstance(e["t"], float | int) and e["ts"].endswith("Z") for e in events)


@pytest.mark.ray
def test_every_stage_counts_the_planned_rows_once(demo: dict[str, Any]) -> None:
    [plan] = events_of(demo, "plan")
    assert plan["stages"] == DEMO_STAGES and plan["rows_pending"] == plan["samples"] > 0
    stages = events_of(demo, "stage")
    assert [s["stage"] for s in stages] == DEMO_STAGES
    assert all(s["rows"] == plan["rows_pending"] for s in stages), stages
    assert sum(s["quarantined"] for s in stages) == demo["record"]["summary"]["quarantined"]
    shards = events_of(demo, "shard_written")
    assert sorted(s["shard"] for s in shards) == sorted(demo["record"]["shards_written"])  # each shard once
    assert sum(s["samples"] for s in shards) == plan["rows_pending"]


@pytest.mark.ray
def test_summary_totals_equal_written_plus_quarantined(demo: dict[str, Any]) -> None:
    summary = demo["record"]["summary"]
    [plan] = events_of(demo, "plan")
    assert summary["samples"] == summary["written"] + summary["quarantined"] == plan["rows_pending"]
    assert summary["written"] == len(demo["nih"].images) + len(demo["rsna"].patient_ids) - len(demo["rsna"].truncated)
    assert summary["quarantined"] == 2  # the NIH PNG that is missing, the truncated RSNA DICOM
    assert summary["shards"] == len(demo["record"]["shards_written"]) and summary["elapsed_s"] > 0
    assert events_of(demo, "run_end")[0]["summary"] == summary
    ingest = next(s for s in summary["stages"] if s["stage"] == "ingest.decode")
    assert ingest["quarantined"] == 2 and ingest["busy_s"] > 0 and ingest["rows_per_s"] > 0
    out = demo["output"]
    assert "run summary" in out
    assert f"{summary['samples']} samples = {summary['written']} written + 2 quarantined" in out
    assert f"run log: {demo['log_path']}" in out


@pytest.mark.ray
def test_progress_lines_reach_the_planned_counts(demo: dict[str, Any]) -> None:
    lines = [line for line in demo["output"].splitlines() if line.startswith("[") and "shards " in line]
    assert lines, demo["output"]
    n, shards = events_of(demo, "plan")[0]["rows_pending"], len(demo["record"]["shards_written"])
    assert all(f"{name} {n}/{n}" in lines[-1] for name in DEMO_STAGES) and f"shards {shards}/{shards}" in lines[-1]


@pytest.mark.ray
def test_no_phi_in_the_run_log(demo: dict[str, Any]) -> None:
    text = demo["log_path"].read_text()
    for pid in demo["rsna"].patient_ids:
        assert pid not in text
    for value in PHI_VALUES.values():
        assert value not in text
    for name in demo["nih"].images:  # NIH file names carry the patient number: no sample key is logged
        assert name not in text and name.split("_")[0] not in text


# ---- the pieces alone ---------------------------------------------------------------------------------
def batch(rows: int, quarantined: int = 0, retries: int = 0) -> dict[str, Any]:
    return {"rows": rows, "quarantined": quarantined, "retries": retries, "gave_up": 0, "seconds": 0.5,
            "errors": {"TimeoutError": retries} if retries else {}, "shards": ["train-000000"] if retries else []}


def test_counter_counts_a_rerun_batch_once() -> None:
    c = ProgressCounter()
    c.report_batch(0, "ingest.decode", "k1", batch(4, 1))
    c.report_batch(0, "ingest.decode", "k1", batch(4, 1))  # the same batch after its worker died
    c.report_batch(0, "ingest.decode", "k2", batch(3, 0, retries=2))
    c.report_shard(0, {"shard": "train-000000", "samples": 7, "written": 6, "quarantined": 1})
    c.report_shard(0, {"shard": "train-000000", "samples": 7, "written": 6, "quarantined": 1})
    snap = c.snapshot()
    assert snap["stages"]["ingest.decode"] == {"rows": 7, "quarantined": 1, "retries": 2, "gave_up": 0, "seconds": 1.0}
    assert snap["rerun_batches"] == 1 and snap["shards"] == {"shards": 1, "samples": 7, "written": 6, "quarantined": 1}
    assert [e["event"] for e in snap["events"]] == ["retries", "shard_written"]
    assert snap["events"][0]["errors"] == {"TimeoutError": 2} and snap["events"][0]["shards"] == ["train-000000"]
    assert c.snapshot()["events"] == []  # drained
    c.forget(0)  # wave 0 is over: its keys go
    assert c.seen == {}
    c.report_batch(1, "ingest.decode", "k1", batch(4))  # keys are per wave
    assert c.snapshot()["stages"]["ingest.decode"]["rows"] == 11


def test_one_call_for_a_chunk_through_a_fused_chain_counts_like_one_call_per_stage() -> None:
    one, per_stage = ProgressCounter(), ProgressCounter()
    stages = [("ingest.decode", batch(4, 1)), ("masks.classical", batch(4, 0, retries=1))]
    for _ in range(2):  # the second time: the chunk's task re-ran
        one.report_batches(0, "k1", stages)
        for name, stats in stages:
            per_stage.report_batch(0, name, "k1", stats)
    assert one.snapshot() == per_stage.snapshot()
    assert one.rerun_batches == 2 and one.stages["ingest.decode"]["rows"] == 4


def test_host_keeps_each_runs_counters_apart_and_drops_a_closed_run() -> None:
    host = CounterHost()
    host.report_batches("run-a", 0, "k1", [("ingest.decode", batch(4))])
    host.report_batches("run-b", 0, "k1", [("ingest.decode", batch(3))])  # same wave and key, other run
    host.report_shard("run-b", 0, {"shard": "train-000000", "samples": 3, "written": 3, "quarantined": 0})
    assert host.snapshot("run-a")["stages"]["ingest.decode"]["rows"] == 4
    assert host.snapshot("run-b")["stages"]["ingest.decode"]["rows"] == 3
    assert host.snapshot("run-a")["shards"]["shards"] == 0
    host.forget("run-a", 0)
    host.close("run-a")
    assert set(host.runs) == {"run-b"}
    assert host.snapshot("run-a")["stages"] == {}  # a new run of that name starts at zero


@pytest.mark.ray
def test_runs_of_one_session_share_one_counter_actor_and_a_dead_one_is_replaced(ray_session: None) -> None:
    import ray

    first, second = ProgressTracker(["a.x"], 4, 1), ProgressTracker(["a.x"], 4, 1)
    assert first.actor == second.actor and first.run != second.run  # one actor process, two runs' counters
    first.actor.report_batches.remote(first.run, 0, "k1", [("a.x", batch(4))])
    second.actor.report_batches.remote(second.run, 0, "k1", [("a.x", batch(2))])
    assert ray.get(first.actor.snapshot.remote(first.run))["stages"]["a.x"]["rows"] == 4
    assert second.poll()["stages"]["a.x"]["rows"] == 2
    first.stop(), second.stop()
    assert ray.get(first.actor.ping.remote())  # stop() leaves the session's actor running
    ray.kill(first.actor)
    deadline = time.monotonic() + 60  # the kill is asynchronous: a call right after it may still answer
    with pytest.raises(ray.exceptions.RayActorError):  # wait until Ray knows it is dead
        while time.monotonic() < deadline:
            ray.get(first.actor.ping.remote(), timeout=60)
            time.sleep(0.05)
    replaced = counter_host()
    assert replaced != first.actor and ray.get(replaced.ping.remote(), timeout=60)


def snap_of(done: int, shards: int) -> dict[str, Any]:
    return {"stages": {"a.x": {"rows": done}}, "shards": {"shards": shards}}


def test_plain_view_prints_every_few_seconds_and_the_last_state() -> None:
    lines: list[str] = []
    view = PlainProgressView(lines.append, every_s=5.0)
    view.start(["a.x"], 10, 2)
    view.update(snap_of(1, 0), 0.5)  # first change: printed
    view.update(snap_of(2, 0), 1.0)  # within 5 s: held back
    view.update(snap_of(2, 0), 2.0)
    view.update(snap_of(6, 1), 6.0)  # 5 s later: printed
    view.update(snap_of(10, 2), 7.0)
    view.stop()  # the last state is always printed
    assert [line.split("] ")[1] for line in lines] == [
        "a.x 1/10 (2.0/s) | shards 0/2", "a.x 6/10 (1.0/s) | shards 1/2", "a.x 10/10 (1.4/s) | shards 2/2"]
    assert progress_line(snap_of(3, 0), ["a.x"], 10, 2, 3.0).endswith("a.x 3/10 (1.0/s) | shards 0/2")


def test_terminal_gets_rich_bars() -> None:
    buf = io.StringIO()
    tty = Console(file=buf, force_terminal=True, width=120)
    view = make_view(tty)
    assert isinstance(view, RichProgressView)
    view.start(["ingest.decode"], 21, 6)
    view.update({"stages": {"ingest.decode": {"rows": 21}}, "shards": {"shards": 6}}, 3.0)
    view.stop()
    text = buf.getvalue()
    assert "ingest.decode" in text and "21/21" in text and "6/6" in text and "7.0 rows/s" in text
    assert isinstance(make_view(Console(file=io.StringIO())), PlainProgressView)


def test_run_log_lines_are_json(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "_runs" / "r.jsonl")
    log.event("run_start", run_id="r", config="abc")
    log.event("run_end", status="complete", summary={"samples": 1})
    log.close()
    events = read_log(tmp_path / "_runs" / "r.jsonl")
    assert [e["event"] for e in events] == ["run_start", "run_end"] and events[1]["summary"] == {"samples": 1}
    RunLog(None).event("ignored")  # no path: logs nothing, raises nothing


def test_dashboard_without_ray_default_is_a_message_not_a_crash(tmp_path: Path) -> None:
    """`ray.dashboard: true` on a local Ray: with only `ray[data]` installed, ray.init(include_dashboard=True)
    raises; medground says why and starts Ray without it (own process: the session Ray is already up)."""
    from pipelines.ray_exec import dashboard_installed

    if dashboard_installed(None):
        pytest.skip("ray[default] is installed: the dashboard can start")
    messages: list[str] = []
    assert not dashboard_installed(messages.append)
    assert "pip install 'ray[default]'" in messages[0] and "running without it" in messages[0]
    code = ("import ray; from pipelines.config import parse_config; from pipelines.ray_exec import init_ray\n"
            "cfg = parse_config({'corpus': 'd', 'salt': 's', 'sources': [{'name': 'sources.nih_cxr14', "
            "'params': {'root': '.'}}], 'stages': [{'name': 'ingest.decode'}], "
            "'ray': {'dashboard': True, 'num_cpus': 1, 'object_store_memory_mb': 128}})\n"
            "print('url', init_ray(cfg, None, print)); print('alive', ray.is_initialized()); ray.shutdown()\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a fresh local Ray, not the session's
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=REPO,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert "the Ray dashboard needs" in proc.stdout and "url None" in proc.stdout and "alive True" in proc.stdout
