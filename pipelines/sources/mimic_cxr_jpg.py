"""MIMIC-CXR-JPG (v2.0.0 / v2.1.0), in the layout PhysioNet ships it, with the MIMIC-CXR reports:

    ROOT/files/p10/p10000032/s50414267/<dicom_id>.jpg
    ROOT/mimic-cxr-2.0.0-metadata.csv[.gz]   dicom_id,subject_id,study_id,PerformedProcedureStepDescription,
                                             ViewPosition,Rows,Columns,StudyDate,StudyTime,...
    ROOT/mimic-cxr-2.0.0-split.csv[.gz]      dicom_id,study_id,subject_id,split (train|validate|test)
    ROOT/mimic-cxr-2.0.0-chexpert.csv[.gz]   subject_id,study_id,Atelectasis,...,Support Devices
                                             (1.0 present, 0.0 absent, -1.0 uncertain, blank not mentioned)
    REPORTS/files/p10/p10000032/s50414267.txt   (MIMIC-CXR `mimic-cxr-reports`; REPORTS defaults to ROOT)

One item per image (metadata row). Labels and the report are per study: every image of the study
carries them (the REPORT row is keyed by study, so it is the same record). A metadata row whose JPEG
is absent is reported as a loss; a study with no report file simply has no report.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

from pipelines.registry import register_source
from pipelines.sources.base import Label, Source, SourceItem, SourceLoss, SourceParams

PREFIX = "mimic-cxr-2.0.0"
SPLITS = {"train": "train", "validate": "val", "test": "test"}
CERTAINTY = {"1.0": "present", "1": "present", "0.0": "absent", "0": "absent", "-1.0": "uncertain",
             "-1": "uncertain"}


class MimicCxrJpgParams(SourceParams):
    reports_root: Path | None = None  # folder holding files/pXX/pYYYYYYYY/sZZZZZZZZ.txt; default ROOT
    labeler: Literal["chexpert", "negbio"] = "chexpert"
    use_official_split: bool = True


def open_table(root: Path, stem: str) -> tuple[IO[str], str] | None:
    """The table `stem`.csv or `stem`.csv.gz, opened for the caller to close (with-statement)."""
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        path = root / name
        if path.is_file():
            opener = gzip.open if name.endswith(".gz") else open
            # closed by the caller's `with`
            return opener(path, "rt", newline="", encoding="utf-8", errors="replace"), name
    return None


def study_dir(subject: str, study: str) -> str:
    return f"files/p{subject[:2]}/p{subject}/s{study}"


@register_source
class MimicCxrJpgSource(Source):
    name = "sources.mimic_cxr_jpg"
    title = "MIMIC-CXR-JPG"
    license = "PhysioNet Credentialed Health Data License 1.5.0 (credentialed access; no redistribution)"
    citation = (
        "Johnson AEW, Pollard TJ, Greenbaum NR, et al. MIMIC-CXR-JPG, a large publicly available database "
        "of labeled chest radiographs. arXiv:1901.07042. PhysioNet, doi:10.13026/jsn5-t979."
    )
    homepage = "https://physionet.org/content/mimic-cxr-jpg/"
    modalities = ("CR", "DX")
    Params = MimicCxrJpgParams
    params: MimicCxrJpgParams

    def read_splits(self) -> dict[str, str]:
        opened = open_table(self.root, f"{PREFIX}-split")
        if opened is None or not self.params.use_official_split:
            return {}
        with opened[0] as fh:
            return {r["dicom_id"]: SPLITS.get(r["split"], r["split"]) for r in csv.DictReader(fh)}

    def read_labels(self) -> dict[tuple[str, str], list[Label]]:
        opened = open_table(self.root, f"{PREFIX}-{self.params.labeler}")
        out: dict[tuple[str, str], list[Label]] = {}
        if opened is None:
            return out
        with opened[0] as fh:
            reader = csv.DictReader(fh)
            for lineno, row in enumerate(reader, start=2):
                ref = f"{opened[1]}:{lineno}"
                out[(row["subject_id"], row["study_id"])] = [
                    Label(label=col, ref=f"{ref}#{col}", certainty=CERTAINTY[v.strip()])
                    for col, v in row.items()
                    if col not in ("subject_id", "study_id") and (v or "").strip() in CERTAINTY
                ]
        return out

    def read_report(self, subject: str, study: str) -> dict[str, str] | None:
        rel = f"{study_dir(subject, study)}.txt"
        path = (self.params.reports_root or self.root) / rel
        return {"text": path.read_text(errors="replace"), "ref": rel} if path.is_file() else None

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        opened = open_table(self.root, f"{PREFIX}-metadata")
        if opened is None:
            raise FileNotFoundError(f"{PREFIX}-metadata.csv[.gz] not in {self.root}")
        splits, labels = self.read_splits(), self.read_labels()
        reports: dict[tuple[str, str], dict[str, str] | None] = {}
        with opened[0] as fh:
            for lineno, row in enumerate(csv.DictReader(fh), start=2):
                ref = f"{opened[1]}:{lineno}"
                dicom_id, subject, study = (row.get(k, "").strip() for k in ("dicom_id", "subject_id", "study_id"))
                if not dicom_id or not subject.isdigit() or not study.isdigit():
                    yield SourceLoss(self.name, "image", ref, "malformed_row", "metadata row lacks ids")
                    continue
                rel = f"{study_dir(subject, study)}/{dicom_id}.jpg"
                if not (self.root / rel).is_file():
                    yield SourceLoss(self.name, "image", rel, "missing_file", "JPEG named by the metadata is absent")
                    continue
                if (subject, study) not in reports:
                    reports = {(subject, study): self.read_report(subject, study)}  # rows come study by study
                yield SourceItem(
                    source=self.name, key=dicom_id, input_ref=rel, path=rel, format="jpg", root=str(self.root),
                    patient=subject, study=study, split=splits.get(dicom_id), modality="CR",
                    view=(row.get("ViewPosition") or "").strip() or None, body_part="CHEST", license=self.license,
                    labels=labels.get((subject, study), []), report=reports[(subject, study)],
                    meta={"original_height": _int(row.get("Rows")), "original_width": _int(row.get("Columns"))},
                )


def _int(v: str | None) -> int | None:
    try:
        return int(float(v or ""))
    except (ValueError, OverflowError):  # "abc", "1E310" (inf)
        return None
