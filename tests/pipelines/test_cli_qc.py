from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli.qc import register


def factory() -> ModuleType:
    name = "qc_corpus_factory"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "qc" / "corpus_factory.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def corpus(tmp_path: Path, **knobs: object) -> Path:
    f = factory()
    return f.write_corpus(tmp_path, f.CorpusKnobs(**knobs))


def test_qc_passes_on_a_clean_corpus(app: typer.Typer, tmp_path: Path) -> None:
    c = corpus(tmp_path)
    result = CliRunner().invoke(app, ["qc", str(c)])
    assert result.exit_code == 0, result.output
    assert "inputs =" in result.output and "PASS  leakage = 0" in result.output
    assert (c / "qc/report.html").is_file() and (c / "qc/leakage.parquet").is_file()


def test_qc_gate_fails_on_leakage(app: typer.Typer, tmp_path: Path) -> None:
    c = corpus(tmp_path, leak_patient=True)
    result = CliRunner().invoke(app, ["qc", str(c), "--no-report"])
    assert result.exit_code == 1
    assert "FAIL  leakage = 1" in result.output


def test_qc_gates_file(app: typer.Typer, tmp_path: Path) -> None:
    c = corpus(tmp_path)
    gates = tmp_path / "gates.yaml"
    gates.write_text("extractor_agreement_min: 0.9\n")
    result = CliRunner().invoke(app, ["qc", str(c), "--gates", str(gates), "--no-report"])
    assert result.exit_code == 1 and "FAIL  extractor_agreement = 0.5" in result.output
    gates.write_text("leakage_maximum: 0\n")
    result = CliRunner().invoke(app, ["qc", str(c), "--gates", str(gates), "--no-report"])
    assert result.exit_code == 2 and "_max or _min" in result.output


def test_qc_forbidden_value_fails_phi_gate(app: typer.Typer, tmp_path: Path) -> None:
    c = corpus(tmp_path, phi_text="PHIPLANT")
    result = CliRunner().invoke(app, ["qc", str(c), "--forbid", "phiplant", "--no-report", "--dask"])
    assert result.exit_code == 1 and "FAIL  phi_hits" in result.output


def test_card_command(app: typer.Typer, tmp_path: Path) -> None:
    c = corpus(tmp_path)
    result = CliRunner().invoke(app, ["card", str(c)])
    assert result.exit_code == 0 and (c / "README.md").read_text().startswith("---\n")


def test_review_export_then_import(app: typer.Typer, tmp_path: Path) -> None:
    c = corpus(tmp_path)
    out = tmp_path / "review"
    runner = CliRunner()
    result = runner.invoke(app, ["review", "export", str(c), "--select", "r.origin = 'classical'",
                                 "--format", "coco", "--out", str(out)])
    assert result.exit_code == 0 and "exported 6 region(s)" in result.output
    result = runner.invoke(app, ["review", "import", str(c), "--format", "coco",
                                 "--from", str(out / "annotations.json"), "--annotator", "rad1"])
    assert result.exit_code == 0 and "imported 6 correction(s)" in result.output
    result = runner.invoke(app, ["qc", str(c), "--no-report"])
    assert result.exit_code == 0, result.output
    assert json.loads((c / "qc/metrics.json").read_text())["annotator_regions"] == 6
    result = runner.invoke(app, ["review", "export", str(c), "--select", "nonsense(", "--format", "coco",
                                 "--out", str(out)])
    assert result.exit_code == 2 and "--select" in result.output
