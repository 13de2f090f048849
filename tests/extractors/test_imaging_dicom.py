"""read_dicom on real challenge files (JPEG baseline, MONOCHROME1) and on files written by the sample factory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from extractors.imaging.dicom import read_dicom
from pipelines.samples.dicom import truncate_file, write_dicom
from schemas.errors import BadInput

SIIM = "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
PHI = {"patient_name": "ROE^RICHARD^PHIPLANT", "birth_date": "19230417", "accession": "ACCPHI123",
       "patient_id": "PIDPHI987"}
FORBIDDEN_META = {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyInstanceUID",
                  "SeriesInstanceUID", "SOPInstanceUID", "StudyDate", "InstitutionName", "ReferringPhysicianName"}


def ramp(h: int = 32, w: int = 40, dtype: type = np.uint8) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) % 251).astype(dtype)


def test_real_siim_jpeg_baseline_decodes(shared_datasets: Path) -> None:
    img = read_dicom(shared_datasets / "images" / SIIM)
    assert img.pixels.shape == (1024, 1024)
    assert img.pixels.dtype == np.uint8 and img.pixels.std() > 10
    assert (img.modality, img.view, img.body_part, img.photometric) == ("CR", "PA", "CHEST", "MONOCHROME2")
    assert img.pixel_spacing == (0.168, 0.168)
    assert img.secondary_capture  # the challenge's files are Secondary Capture with ConversionType WSD
    assert not img.burned_in and not img.inverted
    assert img.meta["LossyImageCompressionMethod"] == "ISO_10918_1"
    assert not FORBIDDEN_META & set(img.meta)


def test_real_monochrome1_comes_out_inverted(shared_datasets: Path) -> None:
    mono2 = read_dicom(shared_datasets / "images" / SIIM)
    mono1 = read_dicom(shared_datasets / "images" / "siim_fake_MONOCHROME1.dcm")
    assert mono1.inverted and mono1.photometric == "MONOCHROME1"
    corr = np.corrcoef(mono2.pixels.ravel().astype(float), mono1.pixels.ravel().astype(float))[0, 1]
    assert corr == pytest.approx(-1.0, abs=1e-6)


def test_written_file_round_trips(tmp_path: Path) -> None:
    pixels = ramp()
    path = write_dicom(tmp_path / "a.dcm", pixels, view_position="AP", body_part="CHEST",
                       imager_pixel_spacing=(0.2, 0.25), **PHI)
    img = read_dicom(path)
    assert np.array_equal(img.pixels, pixels)
    assert img.pixel_spacing == (0.2, 0.25) and img.view == "AP" and img.modality == "CR"
    assert not img.secondary_capture and img.window is None and not img.rescale_applied
    assert img.bits_stored == 8 and img.frames == 1
    assert not FORBIDDEN_META & set(img.meta)
    assert not any(v in repr(img.meta) for v in PHI.values())


def test_pixel_spacing_wins_over_imager_spacing(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "a.dcm", ramp(), pixel_spacing=(0.1, 0.1), imager_pixel_spacing=(0.2, 0.2))
    assert read_dicom(path).pixel_spacing == (0.1, 0.1)


def test_written_monochrome1_16bit_with_window(tmp_path: Path) -> None:
    pixels = (ramp(dtype=np.uint16) * 16).astype(np.uint16)  # 12-bit values
    m2 = read_dicom(write_dicom(tmp_path / "m2.dcm", pixels, modality="DX", window=(2000, 1000)))
    m1 = read_dicom(write_dicom(tmp_path / "m1.dcm", pixels, modality="DX", photometric="MONOCHROME1",
                                window=(2000, 1000)))
    assert m2.bits_stored == 12 and m1.inverted
    assert np.array_equal(m1.pixels.astype(int), 4095 - pixels.astype(int))
    assert m1.window == (4095 - 2000, 1000)
    assert m2.window == (2000, 1000)


def test_ct_rescale_and_first_of_several_windows(tmp_path: Path) -> None:
    hu = np.array([[-1000, -160], [40, 1500]], np.int16)
    stored = (hu + 1024).astype(np.int16)
    path = write_dicom(tmp_path / "ct.dcm", stored, modality="CT", rescale=(1.0, -1024.0),
                       window=[(40, 400), (-600, 1500)])
    img = read_dicom(path)
    assert img.rescale_applied and img.modality == "CT"
    assert np.array_equal(img.pixels, hu.astype(float))
    assert img.window == (40.0, 400.0)


def test_voi_lut_sequence_is_applied(tmp_path: Path) -> None:
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [256, 0, 8])
    item.add_new("LUTData", "US", [255 - i for i in range(256)])  # an inverting LUT
    path = write_dicom(tmp_path / "voi.dcm", ramp(), extra={"VOILUTSequence": Sequence([item])})
    img = read_dicom(path)
    assert img.voi_applied and img.window is None
    assert np.array_equal(img.pixels.astype(int), 255 - ramp().astype(int))


def test_multiframe_and_jpeg_baseline(tmp_path: Path) -> None:
    frames = np.stack([ramp(), ramp()[::-1], np.full((32, 40), 77, np.uint8)])
    img = read_dicom(write_dicom(tmp_path / "mf.dcm", frames, modality="OT", sop_class="SC"))
    assert img.frames == 3 and img.pixels.shape == (3, 32, 40) and img.is_multiframe
    assert np.array_equal(img.frame(1), ramp()[::-1]) and img.secondary_capture
    smooth = np.tile(np.linspace(0, 250, 40).astype(np.uint8), (32, 1))
    jpg = read_dicom(write_dicom(tmp_path / "j.dcm", smooth, compress_jpeg=True))
    assert np.abs(jpg.pixels.astype(int) - smooth).max() <= 3
    assert jpg.meta["LossyImageCompression"] == "01"


def test_burned_in_flag(tmp_path: Path) -> None:
    assert read_dicom(write_dicom(tmp_path / "b.dcm", ramp(), burned_in=True)).burned_in
    assert not read_dicom(write_dicom(tmp_path / "n.dcm", ramp(), burned_in=False)).burned_in


@pytest.mark.parametrize("keep", [0, 100, 600, 900])
def test_truncated_file_is_unreadable_without_header_values(tmp_path: Path, keep: int) -> None:
    path = write_dicom(tmp_path / "t.dcm", ramp(64, 64), **PHI)
    truncate_file(path, keep_bytes=keep)
    with pytest.raises(BadInput) as err:
        read_dicom(path)
    assert err.value.kind == "unreadable"
    assert not any(v in str(err.value) for v in PHI.values())


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        read_dicom(tmp_path / "nope.dcm")
    assert err.value.kind == "missing_file"
    (tmp_path / "g.dcm").write_bytes(b"not a dicom at all" * 20)
    with pytest.raises(BadInput) as err:
        read_dicom(tmp_path / "g.dcm")
    assert err.value.kind == "unreadable"
