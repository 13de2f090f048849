"""Release gates: thresholds on the audit metrics, from YAML, so a scheduled run can stop a bad release.

    leakage_max: 0                # at most 0 leaked patients / duplicate groups
    violation_rate_max: 0.01
    extractor_agreement_min: 0.8

Each key is `<metric>_max` or `<metric>_min`; the metric must be one `run_audits` computes. A metric
that is None (e.g. no LLM findings, so no agreement) passes: there is nothing to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from schemas.errors import ConfigError

DEFAULT_GATES: dict[str, float] = {
    "accounting_unbalanced_max": 0,
    "schema_errors_max": 0,
    "checksum_mismatches_max": 0,
    "leakage_max": 0,
    "phi_hits_max": 0,
}


@dataclass(frozen=True)
class GateResult:
    gate: str
    metric: str
    threshold: float
    value: float | None
    passed: bool


def load_gates(path: Path | None) -> dict[str, float]:
    """The default gates, overridden/extended by the YAML file at `path`."""
    gates = dict(DEFAULT_GATES)
    if path is None:
        return gates
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError("gates", "must be a mapping of <metric>_max / <metric>_min to numbers")
    for key, value in data.items():
        if not (key.endswith("_max") or key.endswith("_min")):
            raise ConfigError(f"gates.{key}", "a gate ends in _max or _min")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"gates.{key}", "must be a number")
        gates[key] = value
    return gates


def evaluate_gates(metrics: dict[str, Any], gates: dict[str, float]) -> list[GateResult]:
    results = []
    for gate, threshold in sorted(gates.items()):
        metric, bound = gate[:-4], gate[-3:]
        if metric not in metrics:
            raise ConfigError(f"gates.{gate}", f"unknown metric {metric!r}", sorted(metrics))
        value = metrics[metric]
        passed = value is None or (value <= threshold if bound == "max" else value >= threshold)
        results.append(GateResult(gate, metric, threshold, value, passed))
    return results


def format_gates(results: list[GateResult]) -> str:
    lines = []
    for r in results:
        op = "<=" if r.gate.endswith("_max") else ">="
        value = "n/a" if r.value is None else f"{r.value:g}"
        lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.metric} = {value}  ({op} {r.threshold:g})")
    return "\n".join(lines)
