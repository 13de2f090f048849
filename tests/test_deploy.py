"""deploy/kuberay-rayjob.yaml: valid YAML with the RayJob structure KubeRay expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

RAYJOB = Path(__file__).resolve().parents[1] / "deploy" / "kuberay-rayjob.yaml"


@pytest.fixture(scope="module")
def job() -> dict[str, Any]:
    return yaml.safe_load(RAYJOB.read_text())


def containers(group: dict[str, Any]) -> list[dict[str, Any]]:
    return group["template"]["spec"]["containers"]


def test_is_a_rayjob(job: dict[str, Any]) -> None:
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    assert job["metadata"]["name"]
    assert job["spec"]["entrypoint"] == "medground run /config/pipeline.yaml --out /data/out"


def test_head_group(job: dict[str, Any]) -> None:
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]
    assert isinstance(head["rayStartParams"], dict)
    mounts = {m["mountPath"] for m in containers(head)[0]["volumeMounts"]}
    assert {"/config", "/data"} <= mounts


def test_cpu_and_gpu_worker_groups(job: dict[str, Any]) -> None:
    groups = {g["groupName"]: g for g in job["spec"]["rayClusterSpec"]["workerGroupSpecs"]}
    assert {"cpu", "gpu"} <= set(groups)
    for g in groups.values():
        assert 0 <= g["minReplicas"] <= g["replicas"] <= g["maxReplicas"]
        assert all(isinstance(v, str) for v in g["rayStartParams"].values())  # KubeRay wants strings
        assert any(m["mountPath"] == "/data" for m in containers(g)[0]["volumeMounts"])
    gpu = containers(groups["gpu"])[0]["resources"]
    assert gpu["limits"]["nvidia.com/gpu"] == gpu["requests"]["nvidia.com/gpu"] == "1"
    assert groups["gpu"]["rayStartParams"]["num-gpus"] == "1"
    assert "nvidia.com/gpu" not in containers(groups["cpu"])[0]["resources"]["limits"]


def test_salt_comes_from_a_secret(job: dict[str, Any]) -> None:
    spec = job["spec"]["rayClusterSpec"]
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for g in groups:
        env = {e["name"]: e for e in containers(g)[0].get("env", [])}
        assert "secretKeyRef" in env["MEDGROUND_SALT"]["valueFrom"]
