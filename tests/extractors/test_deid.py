"""Salted hashes, the DICOM allow-list, and report scrubbing against planted fake PHI."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pydicom
import pytest

from extractors.deid import DICOM_ALLOWLIST, allowlisted_meta, salted_hash, scrub_text
from pipelines.samples.dicom import write_dicom

PLANTED = {
    "date": "03/14/2019",
    "iso_date": "2019-03-01",
    "long_date": "March 14, 2019",
    "day_month": "14 Mar 2019",
    "time": "10:45 AM",
    "military": "1430 hours",
    "mrn": "12345678",
    "accession": "ACC99887766",
    "phone": "(617) 555-1234",
    "email": "jdoe@example.org",
    "ssn": "123-45-6789",
    "doctor": "Smithers",
    "signer": "Gregory House",
    "age": "92-year-old",
}
REPORT = (
    "EXAMINATION: CHEST (PA AND LAT) on {date} at {time}.\n"
    "INDICATION: ___ year old woman with cough. MRN: {mrn}. Accession # {accession}. Prior {iso_date}.\n"
    "The {age} patient. FINDINGS: 2.3 x 1.1 cm nodule in the right upper lobe at the level of T4. "
    "There may be a small left pleural effusion. No pneumothorax.\n"
    "IMPRESSION: Findings discussed with Dr. {doctor} by phone {phone} on {long_date} at {military}.\n"
    "Electronically signed by: {signer}, MD on {day_month}. Contact {email}. SSN {ssn}.\n"
)


def test_salted_hash_is_hmac_sha256_prefix() -> None:
    expected = hmac.new(b"salt", b"patient-1", hashlib.sha256).hexdigest()
    assert salted_hash("patient-1", "salt") == expected[:16]
    assert salted_hash("patient-1", "salt", length=32) == expected[:32]
    assert salted_hash("patient-1", "other") != salted_hash("patient-1", "salt")
    with pytest.raises(ValueError):
        salted_hash("x", "salt", length=0)


def test_scrub_removes_every_planted_value_and_keeps_clinical_text() -> None:
    text = scrub_text(REPORT.format(**PLANTED))
    for kind, value in PLANTED.items():
        assert value not in text, kind
    assert "John" not in text and "House" not in text
    for kept in ("2.3 x 1.1 cm", "right upper lobe", "T4", "There may be a small left pleural effusion",
                 "No pneumothorax", "___ year old woman", "CHEST (PA AND LAT)", "Dr. ___", "___-year-old"):
        assert kept in text, kept


def test_scrub_keeps_mimic_placeholders_and_plain_text() -> None:
    clean = "FINAL REPORT\n INDICATION:  ___F with SOB.\n\nCOMPARISON:  ___\n\nIMPRESSION: No acute process."
    assert scrub_text(clean) == clean
    plain = "Heart size is normal. 10 mm nodule, 4 images, series 3 image 45, C5-6 level, 1/2 of the lung."
    assert scrub_text(plain) == plain


def test_allowlist_names_nothing_identifying() -> None:
    identifying = {"PatientName", "PatientID", "PatientBirthDate", "PatientAge", "PatientSex", "AccessionNumber",
                   "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "StudyDate", "StudyTime",
                   "InstitutionName", "ReferringPhysicianName", "StudyDescription", "SeriesDescription",
                   "OperatorsName", "DeviceSerialNumber", "StationName"}
    assert not identifying & set(DICOM_ALLOWLIST)
    assert all(pydicom.datadict.tag_for_keyword(k) is not None for k in DICOM_ALLOWLIST)


def test_allowlisted_meta_from_a_file(tmp_path: Path) -> None:
    import numpy as np

    path = write_dicom(tmp_path / "a.dcm", np.zeros((8, 8), np.uint8), patient_id="PID123", patient_name="DOE^J",
                       birth_date="19300101", accession="ACC1", body_part="CHEST", view_position="PA",
                       pixel_spacing=(0.5, 0.5), window=(40, 400),
                       extra={"InstitutionName": "ST PHIPLANT", "PatientAge": "091Y"})
    meta = allowlisted_meta(pydicom.dcmread(path))
    assert meta["BodyPartExamined"] == "CHEST" and meta["PixelSpacing"] == [0.5, 0.5]
    assert meta["WindowCenter"] == 40.0 and meta["Rows"] == 8
    assert list(meta) == sorted(meta) and set(meta) <= set(DICOM_ALLOWLIST)
    flat = repr(meta)
    for value in ("PID123", "DOE", "19300101", "ACC1", "PHIPLANT", "091Y"):
        assert value not in flat
