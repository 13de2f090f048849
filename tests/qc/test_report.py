from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from qc.audits import run_audits
from qc.corpus import connect, read_table
from qc.gates import evaluate_gates, load_gates
from qc.report import write_report
from qc.thumbs import sample_thumbnails

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = ("summary", "gates", "accounting", "counts", "hierarchy", "masks", "scores", "dice_vs_qc",
            "quarantine", "thumbnails")


def test_report_is_self_contained_with_every_section(corpus: Path) -> None:
    result = run_audits(corpus)
    page = write_report(corpus, result, evaluate_gates(result.metrics, load_gates(None))).read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 6 + 3 + 2  # 6 figures + up to 3 thumbnails per label (4 + 2 masks)
    for data in images:
        Image.open(io.BytesIO(base64.b64decode(data))).verify()
    assert "ingest.decode" in page and "leakage_max" in page
    assert sorted(p.name for p in (corpus / "qc/figures").iterdir())[0] == "counts_per_source.png"


def test_thumbnails_include_the_worst_region_per_label(corpus: Path) -> None:
    thumbs = sample_thumbnails(connect(corpus), corpus, per_label=2)
    by_code: dict[str, list] = {}
    for t in thumbs:
        by_code.setdefault(t.code, []).append(t)
    assert set(by_code) == {"pleural_effusion", "pneumonia"}
    assert all(len(v) <= 2 for v in by_code.values())
    worst = [t for t in by_code["pleural_effusion"] if t.worst]
    regions = [r for r in read_table(corpus, "regions").to_pylist()
               if r["code"] == "pleural_effusion" and r["rle_counts"]]
    expected = min(regions, key=lambda r: r["dice_vs_gt"])["region_id"]  # Dice first, then predicted IoU
    assert len(worst) == 1 and worst[0].region_id == expected
    assert worst[0].phrase == "pleural effusion"
    pixels = np.array(Image.open(io.BytesIO(worst[0].png)).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 120) & (pixels[..., 2] < 100)
    assert red.sum() > 10  # the mask outline is drawn


def test_report_escapes_phrases(corpus: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = corpus / "tables/groundings/part-train-000000.parquet"
    table = pq.read_table(path)
    phrases = ["<b>effusion</b>"] * table.num_rows
    pq.write_table(table.set_column(table.schema.get_field_index("phrase"), "phrase", pa.array(phrases)), path)
    page = write_report(corpus).read_text()
    assert "&lt;b&gt;effusion&lt;/b&gt;" in page and "<b>effusion</b>" not in page


@pytest.mark.browser
def test_report_renders_in_headless_chromium(corpus: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("no headless chromium installed (apt-get install chromium)")
    page = write_report(corpus)
    shot = tmp_path / "shot.png"
    binary = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    pixels = np.array(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (2400, 1200)
    assert pixels.std() > 20  # not blank
    header = pixels[5:40, 5:300].reshape(-1, 3).mean(axis=0)
    assert header[2] > header[0]  # the dark-blue header band rendered with its CSS
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # plots and thumbnails drew
    dom = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                         check=True, capture_output=True, timeout=120, text=True).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom
