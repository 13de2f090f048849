from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def write_config(tmp_path: Path, **changes: object) -> Path:
    (tmp_path / "nih").mkdir(exist_ok=True)
    raw = {
        "corpus": "t",
        "salt": "s",
        "sources": [{"name": "sources.nih_cxr14", "params": {"root": "nih"}}],
        "stages": [{"name": "ingest.decode"}, {"name": "masks.classical"}],
        **changes,
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_validate_ok_and_errors_name_the_key(tmp_path: Path) -> None:
    res = runner.invoke(app, ["validate", str(write_config(tmp_path))])
    assert res.exit_code == 0, res.output
    assert "ingest.decode → masks.classical" in res.output
    bad = write_config(tmp_path, stages=[{"name": "masks.magic"}])
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2
    assert "stages[0].name" in res.output and "masks.classical" in res.output


def test_validate_needs_the_salt(tmp_path: Path) -> None:
    path = write_config(tmp_path, salt=None, salt_env="MEDGROUND_TEST_NO_SUCH_VAR")
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2 and "MEDGROUND_TEST_NO_SUCH_VAR" in res.output


def test_list_stages_and_sources() -> None:
    res = runner.invoke(app, ["list-stages"], terminal_width=250)
    assert res.exit_code == 0
    for name in ("ingest.decode", "labels.dataset", "masks.classical"):
        assert name in res.output
    res = runner.invoke(app, ["list-sources"], terminal_width=250)
    assert "sources.nih_cxr14" in res.output and "sources.rsna_pneumonia" in res.output


def test_demo_config_variants_validate(tmp_path: Path) -> None:
    import yaml

    from pipelines.cli.core import demo_config_text
    from pipelines.config import parse_config

    for masks, stage in (("sam", "masks.sam_box"), ("classical", "masks.classical")):
        raw = yaml.safe_load(demo_config_text(masks))
        for src in raw["sources"]:
            (tmp_path / src["params"]["root"]).mkdir(exist_ok=True)
        cfg = parse_config(raw, base_dir=tmp_path)
        names = [s.name for s in cfg.stages]
        assert stage in names and ({"masks.sam_box", "masks.classical"} - {stage}).isdisjoint(names)
        assert ("LiteMedSAM" in raw["description"]) == (masks == "sam")
    res = runner.invoke(app, ["demo", "--masks", "magic", "--sample-dir", str(tmp_path / "s")])
    assert res.exit_code == 2 and "--masks" in res.output
