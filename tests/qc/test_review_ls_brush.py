"""Label Studio brush RLE (qc/review/ls_brush.py) and the brush-shaped Label Studio export/import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qc.audits.masks import decode
from qc.corpus import read_table
from qc.review import export_review, import_review
from qc.review.ls_brush import decode_mask, decode_values, encode_mask, encode_values
from schemas.errors import BadInput, ConfigError

LOW = "r.origin = 'classical' AND r.predicted_iou < 0.7"
# label_studio_converter.brush.mask2rle of [[0, 1, 1], [0, 0, 1]] (runs of 4, 8, 8, 4 RGBA values)
GOLDEN = [0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248]


def bits_to_bytes(bits: str) -> list[int]:
    bits += "0" * (-len(bits) % 8)
    return [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]


def test_encoding_matches_label_studio_converter_bytes() -> None:
    mask = np.array([[0, 1, 1], [0, 0, 1]], dtype=np.uint8)
    assert encode_mask(mask) == GOLDEN
    assert np.array_equal(decode_mask(GOLDEN, 2, 3), mask)


def test_long_runs_split_at_2_16_and_aligned_output_gets_a_zero_byte() -> None:
    values = np.zeros(2**16 + 5, dtype=np.uint8)
    values[-1] = 7
    rle = encode_values(values)
    assert np.array_equal(decode_values(rle), values)
    # header 53 bits + a full 2**16 run (27) + the rest, 4, still in a 16-bit field (27) + a literal (14)
    assert len(rle) == 16
    # header 53 + one run in a 16-bit field (27) = 80 bits: already aligned, so the converter's padding
    # adds a whole zero byte
    aligned = encode_values(np.zeros(1000, dtype=np.uint8))
    assert len(aligned) == 11 and aligned[-1] == 0 and decode_values(aligned).tolist() == [0] * 1000


def test_decoder_takes_literal_blocks_and_other_field_sizes() -> None:
    # What Label Studio's JS encoder may write: word size 8, field sizes 2, 3, 4, 5, one literal block of 3
    # values, then a run of 5 in field 1.
    bits = f"{8:032b}" + f"{7:05b}" + "0001" + "0010" + "0011" + "0100"
    bits += "0" + "00" + "10" + "00000001" + "00000010" + "00000011"
    bits += "1" + "01" + "100" + "11111111"
    assert decode_values(bits_to_bytes(bits)).tolist() == [1, 2, 3, 255, 255, 255, 255, 255]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_mask_round_trip(height: int, width: int, density: float, seed: int) -> None:
    mask = (np.random.default_rng(seed).random((height, width)) < density).astype(np.uint8)
    assert np.array_equal(decode_mask(encode_mask(mask), height, width), mask)


def test_decode_rejects_truncated_and_wrong_size() -> None:
    rle = encode_mask(np.ones((4, 4), dtype=np.uint8))
    with pytest.raises(BadInput):
        decode_mask(rle[:7], 4, 4)
    with pytest.raises(BadInput, match="original_height"):
        decode_mask(rle, 5, 4)


def test_brush_export_import_round_trip(corpus: Path, tmp_path: Path) -> None:
    export = export_review(corpus, LOW, "labelstudio", tmp_path / "ls")  # brush is the default
    tasks = json.loads(export.path.read_text())
    assert "<BrushLabels " in (tmp_path / "ls/labeling_config.xml").read_text()
    results = [res for t in tasks for res in t["predictions"][0]["result"]]
    assert [r["type"] for r in results] == ["brushlabels"] * 3 and results[0]["value"]["format"] == "rle"
    before = {r["region_id"]: r for r in read_table(corpus, "regions").to_pylist()}
    # The annotator submits the first unchanged, erases the top rows of the second, and adds a polygon.
    tasks[0]["annotations"] = [{"result": tasks[0]["predictions"][0]["result"]}]
    second = json.loads(json.dumps(tasks[1]["predictions"][0]["result"]))
    edited = decode_mask(second[0]["value"]["rle"], 64, 64)
    edited[:24] = 0
    second[0]["value"]["rle"] = encode_mask(edited)
    added = {"id": "new1", "type": "polygonlabels", "original_width": 64, "original_height": 64,
             "value": {"points": [[10, 10], [30, 10], [30, 30], [10, 30]], "polygonlabels": ["nodule"]}}
    tasks[1]["annotations"] = [{"result": [*second, added]}]
    export.path.write_text(json.dumps(tasks))
    _, n = import_review(corpus, "labelstudio", tmp_path / "ls", annotator="rad3")  # a folder works too
    assert n == 4
    new = {r["supersedes"]: r for r in read_table(corpus, "regions").to_pylist() if r["origin"] == "annotator"}
    assert set(new) == {"r00cl", "r01cl", "r02cl", None}
    for rid in ("r00cl", "r02cl"):  # brush is lossless: unchanged masks come back bit for bit
        assert new[rid]["rle_counts"] == before[rid]["rle_counts"]
    assert np.array_equal(decode(new["r01cl"]["rle_counts"], 64, 64), edited)
    assert new[None]["code"] == "nodule" and new[None]["area"] == 14 * 14  # percent points 10..30 of 64 px


def test_unknown_shape(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--ls-shape"):
        export_review(corpus, LOW, "labelstudio", tmp_path / "x", ls_shape="ellipse")
