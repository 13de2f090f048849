"""Planning's Ray work (here the pre-scan, `scan.ray_above: 0`) starts the run's own Ray (its
`ray.num_cpus`), not a default one that the waves would then reuse with the config ignored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.samples.nih_cxr14 import write_nih_sample

SCRIPT = """
import json, sys
from pathlib import Path
import ray
from pipelines.config import parse_config
from pipelines.run import run_pipeline
raw = json.loads(sys.argv[1])
result = run_pipeline(parse_config(raw), Path(sys.argv[2]), log=lambda _m: None)
print(json.dumps({"complete": result.complete, "cpus": ray.cluster_resources().get("CPU")}))
"""


@pytest.mark.ray
def test_planning_on_ray_starts_the_runs_ray(tmp_path: Path) -> None:
    nih = write_nih_sample(tmp_path / "nih_cxr14", size=64)
    raw = {"corpus": "session", "salt": "s", "shard_size": 4,
           "sources": [{"name": "sources.nih_cxr14", "params": {"root": str(nih.root)}}],
           "stages": [{"name": "ingest.decode"}], "scan": {"enabled": True, "ray_above": 0},
           "ray": {"num_cpus": 5}}  # not this machine's count: a default Ray would show another
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(raw), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"complete": True, "cpus": 5.0}
    log = (tmp_path / "out" / "session" / "_runs").glob("*.jsonl")
    events = [json.loads(line) for f in log for line in f.read_text().splitlines()]
    assert [e["cpus"] for e in events if e["event"] == "ray"] == [5.0]
