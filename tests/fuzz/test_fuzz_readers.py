"""Fuzz the readers with generated malformed inputs (hypothesis).

Property of every reader: it returns a valid result or raises `schemas.errors.BadInput`; no other
exception type escapes and nothing hangs (each example has a deadline, inputs are bounded). The
ingest stage, run on SAMPLE tables built from mutated files, ends every sample `ok` or `quarantined`
with a stage, a known error kind and a message — never the catch-all `stage_error`.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.deid import scrub_text
from extractors.imaging.dicom import read_dicom
from extractors.imaging.raster import read_raster
from extractors.imaging.volume import read_nifti_slice
from pipelines.samples.dicom import write_dicom
from pipelines.samples.nih_cxr14 import write_nih_sample
from pipelines.samples.rsna_pneumonia import write_rsna_sample
from pipelines.sources.base import SourceItem, SourceLoss
from pipelines.sources.nih_cxr14 import NihCxr14Source
from pipelines.sources.rsna_pneumonia import RsnaPneumoniaSource
from pipelines.stages.ingest_decode import IngestDecodeStage
from schemas.errors import BadInput
from schemas.tables import ERROR_KINDS
from tests.pipelines.stage_rows import rows_of, run_stages

FUZZ = settings(max_examples=50, deadline=3000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_names = itertools.count()

# A mutation: truncate to a fraction of the file, then overwrite bytes at fractional offsets.
# `head` biases offsets into the first bytes (headers), where a flipped byte does the most harm.
mutations = st.fixed_dictionaries({
    "keep": st.one_of(st.just(1.0), st.floats(0.0, 1.0)),
    "edits": st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), max_size=8),
    "head": st.sampled_from([64, 400, 1 << 30]),
})


def mutate(data: bytes, m: dict[str, Any]) -> bytes:
    out = bytearray(data[: int(len(data) * m["keep"])])
    span = min(len(out), m["head"])
    for frac, value in m["edits"]:
        if span:
            out[int(frac * span)] = value
    return bytes(out)


def fresh(folder: Path, suffix: str, data: bytes) -> Path:
    """A new file per example: the NIfTI reader caches by (path, mtime, size)."""
    path = folder / f"fuzz-{next(_names):05d}{suffix}"
    path.write_bytes(data)
    return path


def assert_reader_contract(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except BadInput as err:
        assert err.kind in ERROR_KINDS and str(err)
        return None


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (24, 20), dtype=np.uint8)
    dcm = write_dicom(tmp / "orig.dcm", img, modality="CR", window=(128.0, 200.0), rescale=(1.0, -10.0),
                      pixel_spacing=(0.2, 0.2), view_position="PA", body_part="CHEST")
    vol = nib.Nifti1Image(rng.integers(-50, 200, (6, 5, 4), dtype=np.int16), np.diag([0.8, 0.8, 2.0, 1.0]))
    nii = tmp / "orig.nii"
    nib.save(vol, str(nii))
    ok_png, png = cv2.imencode(".png", img)
    ok_jpg, jpg = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    assert ok_png and ok_jpg
    return {"dir": tmp, "dicom": dcm.read_bytes(), "nifti": nii.read_bytes(), "png": png.tobytes(),
            "jpg": jpg.tobytes()}


# ---- image readers ---------------------------------------------------------------------------------
@FUZZ
@given(m=mutations)
def test_dicom_reader(originals: dict[str, Any], m: dict[str, Any]) -> None:
    path = fresh(originals["dir"], ".dcm", mutate(originals["dicom"], m))
    decoded = assert_reader_contract(lambda: read_dicom(path))
    if decoded is not None:
        assert decoded.pixels.ndim in (2, 3) and decoded.pixels.size > 0


@pytest.mark.parametrize("value", [0x00, 0xFF])
def test_dicom_reader_every_header_byte_overwritten(originals: dict[str, Any], value: int) -> None:
    """Deterministic sweep: each header byte (everything before the pixel data) set to `value`."""
    data = originals["dicom"]
    escaped = []
    for i in range(len(data) - 24 * 20):
        path = originals["dir"] / "sweep.dcm"
        path.write_bytes(data[:i] + bytes([value]) + data[i + 1 :])
        try:
            assert_reader_contract(lambda p=path: read_dicom(p))
        except Exception as err:  # collecting what escapes is the point
            escaped.append((i, type(err).__name__))
    assert not escaped, f"{len(escaped)} offsets escape BadInput, first {escaped[:3]}"


@FUZZ
@given(m=mutations)
def test_nifti_reader(originals: dict[str, Any], m: dict[str, Any]) -> None:
    path = fresh(originals["dir"], ".nii", mutate(originals["nifti"], m))
    out = assert_reader_contract(lambda: read_nifti_slice(path, {"slice_axis": "z", "slice_index": 1}))
    if out is not None:
        assert out[0].pixels.ndim == 2


@FUZZ
@given(m=mutations, fmt=st.sampled_from(["png", "jpg"]))
def test_raster_reader(originals: dict[str, Any], m: dict[str, Any], fmt: str) -> None:
    path = fresh(originals["dir"], f".{fmt}", mutate(originals[fmt], m))
    decoded = assert_reader_contract(lambda: read_raster(path))
    if decoded is not None:
        assert decoded.pixels.ndim in (2, 3) and decoded.pixels.size > 0


# ---- CSV indexes -----------------------------------------------------------------------------------
cells = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
garbage_rows = st.lists(
    st.one_of(
        st.lists(st.one_of(cells, st.sampled_from(["1", "0", "", "nan", "1e999", "-3.5", '"', "|"])), max_size=13)
        .map(lambda cols: ",".join(cols)),
        st.binary(max_size=40).map(lambda b: b.decode("latin-1")),  # arbitrary bytes, read back as text
    ),
    min_size=1, max_size=6,
)


@pytest.fixture(scope="module")
def csv_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("csv")
    nih = write_nih_sample(tmp / "nih", size=64)
    rsna = write_rsna_sample(tmp / "rsna", size=64)
    files = {p: p.read_bytes() for p in [nih.root / "Data_Entry_2017.csv", nih.root / "BBox_List_2017.csv",
                                          rsna.root / "stage_2_train_labels.csv"]}
    return {"nih": nih, "rsna": rsna, "files": files}


def append_rows(path: Path, original: bytes, rows: list[str], encoding: str) -> None:
    path.write_bytes(original + "".join(r + "\n" for r in rows).encode(encoding, errors="replace"))


def assert_source_contract(source: Any, keys: set[str]) -> None:
    try:
        records = list(source.items())
    except BadInput as err:
        assert err.kind in ERROR_KINDS
        return
    assert all(isinstance(r, SourceItem | SourceLoss) for r in records)
    assert keys <= {r.key for r in records if isinstance(r, SourceItem)}, "a good row was lost"


ENCODINGS = [pytest.param("utf-8"), pytest.param("latin-1")]


@pytest.mark.parametrize("encoding", ENCODINGS)
@FUZZ
@given(index=garbage_rows, boxes=garbage_rows)
def test_nih_index_with_garbage_rows(csv_roots: dict[str, Any], index: list[str], boxes: list[str],
                                     encoding: str) -> None:
    nih = csv_roots["nih"]
    files = csv_roots["files"]
    try:
        append_rows(nih.root / "Data_Entry_2017.csv", files[nih.root / "Data_Entry_2017.csv"], index, encoding)
        append_rows(nih.root / "BBox_List_2017.csv", files[nih.root / "BBox_List_2017.csv"], boxes, encoding)
        source = NihCxr14Source(NihCxr14Source.Params(root=nih.root))
        assert_source_contract(source, set(nih.images) | set(nih.missing))
    finally:
        for path, data in files.items():
            path.write_bytes(data)


@pytest.mark.parametrize("encoding", ENCODINGS)
@FUZZ
@given(rows=garbage_rows)
def test_rsna_labels_with_garbage_rows(csv_roots: dict[str, Any], rows: list[str], encoding: str) -> None:
    rsna = csv_roots["rsna"]
    path = rsna.root / "stage_2_train_labels.csv"
    try:
        append_rows(path, csv_roots["files"][path], rows, encoding)
        source = RsnaPneumoniaSource(RsnaPneumoniaSource.Params(root=rsna.root))
        assert_source_contract(source, set(rsna.patient_ids))
    finally:
        path.write_bytes(csv_roots["files"][path])



# ---- report text -----------------------------------------------------------------------------------
REPORT_BITS = ["FINDINGS:", "IMPRESSION:", "No ", "pneumothorax", "left", "effusion", "may", "Dr. Smith",
               "12/03/2019", "MRN 1234567", " ", "\n", ".", "(", ")", "___", "3.5 cm", "no evidence of"]
report_text = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(REPORT_BITS), st.text(max_size=8)), max_size=60).map("".join),
)


@FUZZ
@given(text=report_text)
def test_scrub_text_never_fails(text: str) -> None:
    out = assert_reader_contract(lambda: scrub_text(text))
    assert out is None or isinstance(out, str)


@pytest.fixture(scope="module")
def report_extractor() -> Any:
    reports = pytest.importorskip("extractors.reports.extractor")
    return reports.ReportFindingExtractor()


@FUZZ
@given(text=report_text)
def test_report_extractor_never_fails(report_extractor: Any, text: str) -> None:
    mentions = assert_reader_contract(lambda: report_extractor.extract(text))
    for m in mentions or []:
        assert 0 <= m.start <= m.end <= len(text) and m.certainty in ("present", "absent", "uncertain")


# ---- the ingest stage over mutated files -----------------------------------------------------------
KNOWN_STAGE_ERRORS: tuple[str, ...] = ()  # readers raise only BadInput: any stage_error fails the test
@pytest.fixture(scope="module")
def ingest_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ingest")
    nih = write_nih_sample(tmp / "nih", size=64, broken=False)
    rsna = write_rsna_sample(tmp / "rsna", size=64, broken=False)
    rows = rows_of(NihCxr14Source(NihCxr14Source.Params(root=nih.root)))[:3]
    rows += rows_of(RsnaPneumoniaSource(RsnaPneumoniaSource.Params(root=rsna.root)))[:3]
    return {"tmp": tmp, "rows": rows}


@FUZZ
@given(ms=st.lists(mutations, min_size=6, max_size=6))
def test_ingest_stage_quarantines_mutated_files(ingest_rows: dict[str, Any], ms: list[dict[str, Any]]) -> None:
    import json

    work = ingest_rows["tmp"] / f"case-{next(_names):05d}"
    rows = []
    for row, m in zip(ingest_rows["rows"], ms, strict=True):
        item = json.loads(row["item"])
        src = Path(item["root"]) / item["path"]
        dst = work / item["source"] / item["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(mutate(src.read_bytes(), m))
        item["root"] = str(work / item["source"])
        rows.append({**row, "item": json.dumps(item, sort_keys=True)})
    try:
        out = run_stages(rows, [IngestDecodeStage])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert len(out) == len(rows)
    for s in out:
        assert s["status"] in ("ok", "quarantined")
        if s["status"] == "ok":
            assert s["image_png"] and s["image"]["height"] > 0
        else:
            last = s["quarantine"][-1]
            assert last["stage"] == "ingest.decode" and last["message"]
            assert last["error_kind"] in ERROR_KINDS, last
            if last["error_kind"] == "stage_error":  # a reader let a non-BadInput escape
                assert last["message"].startswith(KNOWN_STAGE_ERRORS), last
