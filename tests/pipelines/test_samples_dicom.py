"""write_dicom writes valid, deterministic files with the challenges' tag set; truncate_file breaks them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from extractors.imaging.dicom import read_dicom
from pipelines.samples.dicom import truncate_file, write_dicom
from schemas.errors import BadInput

RSNA_TAGS = ("SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "StudyDate", "StudyTime", "AccessionNumber",
             "Modality", "ConversionType", "ReferringPhysicianName", "SeriesDescription", "PatientName", "PatientID",
             "PatientBirthDate", "PatientSex", "PatientAge", "BodyPartExamined", "ViewPosition", "StudyInstanceUID",
             "SeriesInstanceUID", "StudyID", "SeriesNumber", "InstanceNumber", "PatientOrientation",
             "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns", "PixelSpacing", "BitsAllocated",
             "BitsStored", "HighBit", "PixelRepresentation", "PixelData")
KW = {"patient_id": "p1", "patient_name": "DOE^JANE", "birth_date": "19500101", "accession": "A1"}


def chest(size: int = 48) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (size, size), dtype=np.uint8)


def test_cr_file_has_the_challenge_tag_set_and_round_trips(tmp_path: Path) -> None:
    pixels = chest()
    path = write_dicom(tmp_path / "x.dcm", pixels, view_position="PA", body_part="CHEST",
                       pixel_spacing=(0.168, 0.168), extra={"PatientSex": "F", "PatientAge": "045Y"}, **KW)
    ds = pydicom.dcmread(path)
    assert all(k in ds for k in RSNA_TAGS), [k for k in RSNA_TAGS if k not in ds]
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPClassUID == pydicom.uid.ComputedRadiographyImageStorage
    assert (ds.PatientID, str(ds.PatientName), ds.PatientSex, ds.PatientAge) == ("p1", "DOE^JANE", "F", "045Y")
    img = read_dicom(path)
    assert np.array_equal(img.pixels, pixels) and img.view == "PA" and img.pixel_spacing == (0.168, 0.168)


def test_same_inputs_same_bytes_and_uids_follow_inputs(tmp_path: Path) -> None:
    a = write_dicom(tmp_path / "a.dcm", chest(), **KW).read_bytes()
    b = write_dicom(tmp_path / "b.dcm", chest(), **KW).read_bytes()
    assert a == b
    other = pydicom.dcmread(write_dicom(tmp_path / "c.dcm", chest(), **{**KW, "patient_id": "p2"}))
    first = pydicom.dcmread(tmp_path / "a.dcm")
    assert other.StudyInstanceUID != first.StudyInstanceUID
    assert other.SOPInstanceUID != first.SOPInstanceUID
    assert all(pydicom.uid.UID(u).is_valid for u in (first.StudyInstanceUID, first.SOPInstanceUID))
    given = write_dicom(tmp_path / "d.dcm", chest(), study_uid="1.2.3", series_uid="1.2.3.4", sop_uid="1.2.3.4.5", **KW)
    ds = pydicom.dcmread(given)
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID) == ("1.2.3", "1.2.3.4", "1.2.3.4.5")


@pytest.mark.parametrize("sop,uid", [("DX", pydicom.uid.DigitalXRayImageStorageForPresentation),
                                     ("CT Image Storage", pydicom.uid.CTImageStorage),
                                     ("MR", pydicom.uid.MRImageStorage),
                                     ("SC", pydicom.uid.SecondaryCaptureImageStorage)])
def test_sop_classes(tmp_path: Path, sop: str, uid: str) -> None:
    ds = pydicom.dcmread(write_dicom(tmp_path / "x.dcm", chest(16), sop_class=sop))
    assert ds.SOPClassUID == uid
    with pytest.raises(ValueError):
        write_dicom(tmp_path / "y.dcm", chest(16), sop_class="Ultrasound Multi-frame")


def test_jpeg_baseline_option(tmp_path: Path) -> None:
    smooth = np.tile(np.linspace(0, 240, 64).astype(np.uint8), (64, 1))
    path = write_dicom(tmp_path / "j.dcm", smooth, compress_jpeg=True, **KW)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit
    assert np.abs(read_dicom(path).pixels.astype(int) - smooth).max() <= 3
    assert write_dicom(tmp_path / "j2.dcm", smooth, compress_jpeg=True, **KW).read_bytes() == path.read_bytes()
    with pytest.raises(ValueError):
        write_dicom(tmp_path / "k.dcm", smooth.astype(np.uint16), compress_jpeg=True)


def test_ct_with_rescale_window_and_burned_in(tmp_path: Path) -> None:
    stored = np.array([[0, 1024], [1064, 2024]], np.int16)
    path = write_dicom(tmp_path / "ct.dcm", stored, modality="CT", rescale=(1, -1024), window=(40, 400),
                       burned_in=True)
    ds = pydicom.dcmread(path)
    assert ds.RescaleType == "HU" and ds.PixelRepresentation == 1 and ds.BitsStored == 16
    img = read_dicom(path)
    assert img.pixels.tolist() == [[-1024, 0], [40, 1000]] and img.window == (40, 400) and img.burned_in


def test_truncate_file(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "t.dcm", chest(), **KW)
    size = path.stat().st_size
    assert truncate_file(path, keep_bytes=600) == path and path.stat().st_size == 600 < size
    with pytest.raises(BadInput):
        read_dicom(path)
