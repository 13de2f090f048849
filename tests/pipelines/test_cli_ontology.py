"""`medground ontology …` through typer's CliRunner on an app built here."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

try:
    from pipelines.cli.ontology import register
except ModuleNotFoundError as err:  # pipelines/cli/__init__ mounts every area; one may not exist yet
    pytest.skip(f"pipelines.cli not importable: {err}", allow_module_level=True)

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def root() -> None:  # keeps `ontology` a sub-command even with one group
        """test root"""

    return app


def test_validate_shipped(app: typer.Typer) -> None:
    res = RUNNER.invoke(app, ["ontology", "validate"])
    assert res.exit_code == 0, res.output
    assert "ontology 1.2.0: OK" in res.output and "label map sources.nih_cxr14: 16 mapped" in res.output


def test_validate_reports_problems(app: typer.Typer, tmp_path: Path) -> None:
    bad = {"version": "0.1", "nodes": [
        {"code": "a", "name": "a", "kind": "finding", "synonyms": ["x"]},
        {"code": "b", "name": "b", "kind": "finding", "synonyms": ["X"]},
    ]}  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    res = RUNNER.invoke(app, ["ontology", "validate", "--path", str(path)])
    assert res.exit_code == 1
    assert "surface form 'x'" in res.output


def test_show(app: typer.Typer) -> None:
    res = RUNNER.invoke(app, ["ontology", "show", "pneumothorax"])
    assert res.exit_code == 0
    assert "path: pleural_abnormality > pneumothorax" in res.output
    assert "children: hydropneumothorax, tension_pneumothorax" in res.output and "PTX" in res.output
    assert RUNNER.invoke(app, ["ontology", "show", "PTX"]).exit_code == 0  # synonyms resolve too
    res = RUNNER.invoke(app, ["ontology", "show", "hydropneumothorax"])
    assert "implies: pleural_effusion" in res.output and "path: pleural_abnormality > pneumothorax" in res.output
    assert RUNNER.invoke(app, ["ontology", "show", "nonsense_code"]).exit_code == 1


def test_map(app: typer.Typer) -> None:
    res = RUNNER.invoke(app, ["ontology", "map", "Lung Opacity", "--source", "sources.rsna_pneumonia"])
    assert res.exit_code == 0 and res.output.startswith("pneumonia\trule=label_map:sources.rsna_pneumonia")
    res = RUNNER.invoke(app, ["ontology", "map", "enlarged cardiac silhouette"])
    assert res.output.startswith("cardiomegaly\trule=synonym")
    res = RUNNER.invoke(app, ["ontology", "map", "No Indexing", "--source", "sources.iu_xray"])
    assert res.exit_code == 1
    assert RUNNER.invoke(app, ["ontology", "map", "blorp"]).exit_code == 1


def test_diff(app: typer.Typer, tmp_path: Path) -> None:
    old = {"version": "1.0.0", "nodes": [{"code": "a", "name": "a", "kind": "finding"}]}
    new = {"version": "1.1.0", "nodes": [*old["nodes"], {"code": "b", "name": "b", "parent": "a"}]}
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(old))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new))
    res = RUNNER.invoke(app, ["ontology", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")])
    assert res.exit_code == 0 and res.output.splitlines() == ["version 1.0.0 → 1.1.0", "+ b"]
