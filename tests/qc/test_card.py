from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow.dataset as pads
import pytest
import yaml

from qc.card import write_card
from qc.card_meta import data_files, size_category


def front_matter(card: Path) -> dict:
    text = card.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_front_matter(corpus: Path) -> None:
    meta = front_matter(write_card(corpus))
    assert sorted(meta["license"]) == ["cc0-1.0", "other"]
    assert meta["size_categories"] == ["n<1K"]
    assert "image-segmentation" in meta["task_categories"]
    names = [c["config_name"] for c in meta["configs"]]
    assert names == ["images", "reports", "findings", "regions", "groundings", "quarantine"]
    assert next(c for c in meta["configs"] if c.get("default"))["config_name"] == "regions"


def test_card_body_counts_from_audits(corpus: Path) -> None:
    text = write_card(corpus).read_text()
    assert "| sources.nih_cxr14 | image | 5 | 4 | 1 | True |" in text
    assert "Wang X. et al. ChestX-ray8" in text and "licence: **CC0-1.0**" in text
    assert "`masks.classical` (method=grabcut, min_area=16)" in text
    assert "| sources.nih_cxr14 | image | ingest.decode | missing_file | 1 |" in text
    assert "## Known limitations" in text and "classical are machine-generated" in text
    assert (corpus / "qc/metrics.json").is_file()


def test_card_warns_about_leakage_and_is_deterministic(make_corpus: Callable[..., Path]) -> None:
    corpus = make_corpus(leak_patient=True)
    first = write_card(corpus).read_bytes()
    assert b"1 patients or duplicate groups appear in more than one split" in first
    assert write_card(corpus).read_bytes() == first


def test_configs_point_at_every_table_part(corpus: Path) -> None:
    meta = front_matter(write_card(corpus))
    for config in meta["configs"]:
        for entry in config["data_files"]:
            files = sorted(corpus.glob(entry["path"]))
            assert files, entry
            assert pads.dataset([str(f) for f in files], format="parquet").count_rows() >= 1


def test_split_names_follow_the_writer_parts(corpus: Path) -> None:
    (corpus / "tables/images/part-test-000001.parquet").write_bytes(
        (corpus / "tables/images/part-train-000000.parquet").read_bytes())
    assert data_files(corpus, "images") == [
        {"split": "train", "path": "tables/images/part-train-*.parquet"},
        {"split": "test", "path": "tables/images/part-test-*.parquet"}]
    (corpus / "tables/images/part-source.parquet").write_bytes(b"")
    assert data_files(corpus, "images") == [{"split": "train", "path": "tables/images/*.parquet"}]


def test_size_category() -> None:
    assert [size_category(n) for n in (0, 999, 1000, 25_000_000)] == ["n<1K", "n<1K", "1K<n<10K", "10M<n<100M"]


def test_hf_datasets_loads_the_card_configs(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    write_card(corpus)
    regions = datasets.load_dataset(str(corpus), "regions", cache_dir=str(tmp_path / "cache"))
    assert regions["train"].num_rows == 12 and "rle_counts" in regions["train"].column_names
    images = datasets.load_dataset(str(corpus), "images", cache_dir=str(tmp_path / "cache"))
    assert sorted(images["train"]["image_id"]) == [f"img{i:02d}" for i in range(6)]
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
