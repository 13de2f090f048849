from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import PHI_VALUES, write_rsna_sample
from pipelines.sources.nih_cxr14 import NihCxr14Params, NihCxr14Source
from pipelines.sources.rsna_pneumonia import RsnaParams, RsnaPneumoniaSource
from pipelines.stages.ingest_decode import IngestDecodeStage
from tests.pipelines.stage_rows import rows_of, run_stages


def test_nih_pngs_decode_boxes_scale_and_bad_inputs_quarantine(tmp_path: Path) -> None:
    sample = write_nih_sample(tmp_path / "nih", size=256)
    out = run_stages(rows_of(NihCxr14Source(NihCxr14Params(root=sample.root))), [IngestDecodeStage])
    by_key = {r["sample_key"].split(":")[1]: r for r in out}
    missing = by_key[sample.missing[0]]
    assert missing["status"] == "quarantined" and missing["quarantine"][0]["error_kind"] == "missing_file"
    ok = by_key["00000003_000.png"]
    assert ok["status"] == "ok" and ok["image"]["height"] == 256 and ok["image"]["width"] == 256
    box = ok["regions"][0]
    assert (box["box_x"], box["box_y"]) == pytest.approx((225.08 / 4, 547.02 / 4))  # 1024 space → 256 image
    png = cv2.imdecode(np.frombuffer(ok["image_png"], np.uint8), cv2.IMREAD_UNCHANGED)
    assert png.shape == (256, 256) and png.dtype == np.uint8
    assert ok["image"]["patient_id"] not in (None, "3") and len(ok["image"]["patient_id"]) >= 16
    oob = by_key[sample.bad_boxes[0]]
    assert oob["status"] == "ok"
    assert [q["error_kind"] for q in oob["quarantine"]] == ["out_of_bounds"]
    assert ok["image"]["pixel_spacing_x"] == pytest.approx(0.143 * 2500 / 256)


def test_rsna_dicoms_decode_truncated_quarantined_no_phi(tmp_path: Path) -> None:
    sample = write_rsna_sample(tmp_path / "rsna", size=128)
    out = run_stages(rows_of(RsnaPneumoniaSource(RsnaParams(root=sample.root))), [IngestDecodeStage])
    status = {r["sample_key"].split(":")[1]: r["status"] for r in out}
    assert status[sample.truncated[0]] == "quarantined"
    assert sum(s == "ok" for s in status.values()) == len(sample.patient_ids) - 1
    ok = [r for r in out if r["status"] == "ok"]
    assert all(r["image"]["modality"] == "CR" and r["image"]["pixel_spacing_x"] == pytest.approx(0.168) for r in ok)
    blob = repr(out).encode()
    assert not any(v.encode() in blob for v in PHI_VALUES.values())


def test_same_input_same_ids_and_png_bytes(tmp_path: Path) -> None:
    sample = write_rsna_sample(tmp_path / "rsna", size=64, broken=False)
    src = RsnaPneumoniaSource(RsnaParams(root=sample.root))
    a = run_stages(rows_of(src), [IngestDecodeStage])
    b = run_stages(rows_of(src), [IngestDecodeStage])
    assert [r["image"]["image_id"] for r in a] == [r["image"]["image_id"] for r in b]
    assert [r["image_png"] for r in a] == [r["image_png"] for r in b]
    c = run_stages(rows_of(src), [IngestDecodeStage], salt="other")
    assert a[0]["image"]["patient_id"] != c[0]["image"]["patient_id"]


def test_real_siim_dicoms_decode_and_monochrome1_is_inverted(shared_datasets: Path, tmp_path: Path) -> None:
    """The real SIIM CR (JPEG baseline, Secondary Capture) decodes; its MONOCHROME1 twin comes out inverted."""
    import json
    import shutil

    from pipelines.plan import sample_row
    from pipelines.sources.base import SourceItem

    rows = []
    for name in ("siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm", "siim_fake_MONOCHROME1.dcm"):
        shutil.copy(shared_datasets / "images" / name, tmp_path / name)
        item = SourceItem(source="sources.x", key=name, input_ref=name, path=name, format="dicom", root=str(tmp_path))
        row = sample_row(item, "train")
        row.pop("split")
        row["shard"] = "train-000000"
        rows.append(row)
    out = run_stages(rows, [IngestDecodeStage])
    assert [r["status"] for r in out] == ["ok", "ok"], [r["quarantine"] for r in out]
    assert out[0]["image"]["qc_flags"] == ["secondary_capture"]
    a, b = (cv2.imdecode(np.frombuffer(r["image_png"], np.uint8), cv2.IMREAD_UNCHANGED).astype(float) for r in out)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] < -0.95
    assert json.loads(rows[0]["item"])["key"].startswith("siim_")
