"""The Cancer Imaging Archive (TCIA), in the layout the NBIA Data Retriever writes for every collection
(LIDC-IDRI, NSCLC-Radiomics, CPTAC-*, …).

    ROOT/metadata.csv    one row per series: Series UID, Collection, 3rd Party Analysis, Data
                         Description URI, Subject ID, Study UID, Study Description, Study Date, Series
                         Description, Manufacturer, Modality, SOP Class Name, SOP Class UID, Number of
                         Images, File Size, File Location, Download Timestamp
    ROOT/<File Location>/1-001.dcm, 1-002.dcm, …   File Location like
                         ./LIDC-IDRI/LIDC-IDRI-0001/01-01-2000-NA-NA-30178/3000566.000000-NA-03192/

Without metadata.csv (or with `use_metadata: false`) ROOT is walked for *.dcm files, grouped by folder
and SeriesInstanceUID (headers only); the Subject ID is then the PatientID, the Study UID the
StudyInstanceUID and the collection the first folder under ROOT. Both ways give the same items.

Each single-frame CT/MR/PET series becomes one item per slice along `axis` (x|y|z|all) of its RAS+
volume (extractors.imaging.series: files sorted along the slice normal, geometry checked; ingest
reads the series once per worker). Series that are not sliced are reported, one loss per series,
never skipped silently: non-image objects (SEG, RTSTRUCT, SR, …), multi-frame enhanced objects
(refused: one file per slice only), modalities not selected, and bad series (an unreadable or
truncated file, mixed orientations or sizes, uneven spacing or a missing slice, fewer files than
metadata.csv lists). Every file's header is read, no pixels (about a millisecond a file): in the driver
up to `headers_ray_above` files, else as Ray tasks (pipelines/sources/tcia_headers.py), same items.

Identifiers: the patient is the Subject ID and the study the Study UID, hashed by ingest. The folder
names the retriever writes hold the Subject ID, the study date and free-text descriptions, so none of
them reaches an output: keys and refs name a series by collection and Series UID, and the written
`source_path` is `<Collection>/<Series UID>/<file>` (`meta["source_path"]`); the dataset-relative
`path` is used only to open the file.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from extractors.imaging.series import (
    IMAGE_SOP_CLASSES,
    SliceHeader,
    dicom_files,
    modality_of,
    series_geometry,
    unsupported_reason,
)
from extractors.imaging.volume import expand_axes, orientation_hint, plan_slices, slice_affine
from pipelines.registry import register_source
from pipelines.sources.base import Source, SourceItem, SourceLoss, SourceParams
from pipelines.sources.tcia_headers import HeaderOrProblem, read_headers, read_one
from schemas.errors import BadInput

METADATA = "metadata.csv"
REQUIRED = ("Series UID", "Collection", "Subject ID", "Study UID", "Modality", "SOP Class UID", "Number of Images",
            "File Location")


class TciaParams(SourceParams):
    axis: Literal["x", "y", "z", "all"] = "z"
    modalities: tuple[str, ...] = ("CT", "MR", "PT")  # series of other modalities are reported, not sliced
    collections: list[str] | None = None  # None: every collection under ROOT
    window_preset: Literal["soft_tissue", "lung", "bone", "brain", "abdomen", "liver", "mediastinum"] | None = None
    use_metadata: bool = True  # False: walk ROOT for *.dcm even when metadata.csv is there
    headers_ray_above: int = Field(default=4096, ge=0)  # read DICOM headers in the driver up to this many files,
    # else as Ray tasks (pipelines/sources/tcia_headers.py); the same items either way

    @field_validator("modalities")
    @classmethod
    def _known_modalities(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        known = sorted(set(IMAGE_SOP_CLASSES.values()))
        if not v or any(m not in known for m in v):
            raise ValueError(f"modalities must be some of {known}")
        return v


@dataclass
class SeriesRef:
    collection: str
    uid: str
    folder: str  # dataset-relative folder of the series' files (never written)
    subject: str
    study: str
    modality: str
    sop_class: str
    expected: int | None = None  # Number of Images in metadata.csv
    headers: list[SliceHeader] | None = None  # already read (walk)
    problem: BadInput | None = None  # an unreadable file in its folder (walk)

    @property
    def volume_key(self) -> str:
        return f"{self.collection}/{self.uid}"


def folder_of(location: str) -> str | None:
    """`./LIDC-IDRI/…/3000566.000000-NA-03192/` (or with backslashes) → `LIDC-IDRI/…/3000566.000000-NA-03192`."""
    parts = [p for p in location.strip().replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts) if parts and ".." not in parts else None


def _count(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


@register_source
class TciaSource(Source):
    name = "sources.tcia"
    title = "The Cancer Imaging Archive (NBIA Data Retriever downloads)"
    license = ("per collection: most TCIA collections are CC BY 3.0 or CC BY 4.0, some carry the TCIA Restricted "
               "or other terms; each collection's licence is on its Data Description URI")
    citation = (
        "Clark K, Vendt B, Smith K, et al. The Cancer Imaging Archive (TCIA): Maintaining and Operating a "
        "Public Information Repository. J Digit Imaging 2013;26(6):1045-1057. Also cite each collection's "
        "data citation, given on its Data Description URI."
    )
    homepage = "https://www.cancerimagingarchive.net/"
    modalities = ("CT", "MR", "PT")
    Params = TciaParams
    params: TciaParams

    def describe(self) -> dict[str, Any]:
        """Licence and citation, with each collection's Data Description URI when metadata.csv lists it."""
        out = super().describe()
        uris: dict[str, str] = {}
        if self.params.use_metadata and (self.root / METADATA).is_file():
            with open(self.root / METADATA, newline="", encoding="utf-8-sig", errors="replace") as fh:
                for row in csv.DictReader(fh):
                    name, uri = (row.get("Collection") or "").strip(), (row.get("Data Description URI") or "").strip()
                    if name and uri and self.wanted(name):
                        uris.setdefault(name, uri)
        if uris:
            listed = "; ".join(f"{k}: {v}" for k, v in sorted(uris.items()))
            out.update(license=f"{self.license} ({listed})", collections=dict(sorted(uris.items())))
        return out

    def wanted(self, collection: str) -> bool:
        return self.params.collections is None or collection in self.params.collections

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        use_csv = self.params.use_metadata and (self.root / METADATA).is_file()
        refs, losses = self.from_metadata() if use_csv else self.from_walk()
        yield from losses
        ordered = sorted(refs, key=lambda r: (r.folder, r.uid))
        # a sample (`limit`) reads lazily, series by series, only what it needs; a whole download reads
        # every listed series' headers at once (on Ray above headers_ray_above files)
        cache = self.prefetch(ordered) if use_csv and self.params.limit is None else {}
        for ref in ordered:
            yield from self.series_items(ref, cache)

    def from_metadata(self) -> tuple[list[SeriesRef], list[SourceLoss]]:
        refs: dict[str, SeriesRef] = {}
        losses: list[SourceLoss] = []
        with open(self.root / METADATA, newline="", encoding="utf-8-sig", errors="replace") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{METADATA}: header lacks {missing} (is this an NBIA Data Retriever download?)")
            for lineno, row in enumerate(reader, start=2):
                ref = f"{METADATA}:{lineno}"
                uid, collection = (row["Series UID"] or "").strip(), (row["Collection"] or "").strip()
                folder = folder_of(row["File Location"] or "")
                if collection and not self.wanted(collection):
                    continue
                if not uid or not collection or folder is None:
                    losses.append(SourceLoss(self.name, "image", ref, "malformed_row", "no Series UID, Collection "
                                             "or usable File Location"))
                    continue
                if uid in refs:
                    losses.append(SourceLoss(self.name, "image", ref, "malformed_row", "series listed twice"))
                    continue
                refs[uid] = SeriesRef(collection, uid, folder, (row["Subject ID"] or "").strip(),
                                      (row["Study UID"] or "").strip(), (row["Modality"] or "").strip(),
                                      (row["SOP Class UID"] or "").strip(), _count(row["Number of Images"]))
        return list(refs.values()), losses

    def prefetch(self, refs: list[SeriesRef]) -> dict[Path, HeaderOrProblem]:
        """The headers of every file of the listed series that will be read (an image SOP class of a
        selected modality, folder present), when there are more than `headers_ray_above`; else {} (the
        driver reads each series when its turn comes)."""
        paths = [p for ref in refs if not unsupported_reason(ref.modality, ref.sop_class, self.params.modalities)
                 and (self.root / ref.folder).is_dir() for p in dicom_files(self.root / ref.folder)]
        return read_headers(paths, self.params.headers_ray_above) if len(paths) > self.params.headers_ray_above else {}

    def from_walk(self) -> tuple[list[SeriesRef], list[SourceLoss]]:
        by_folder: dict[Path, list[Path]] = defaultdict(list)
        for path in sorted(self.root.rglob("*")):
            if path.suffix.lower() == ".dcm" and path.is_file():
                by_folder[path.parent].append(path)
        wanted = {f: paths for f, paths in sorted(by_folder.items()) if self.wanted(self.collection_of(f))}
        got = read_headers([p for paths in wanted.values() for p in paths], self.params.headers_ray_above)
        refs: dict[str, SeriesRef] = {}
        losses: list[SourceLoss] = []
        for folder, paths in wanted.items():
            rel = folder.relative_to(self.root).as_posix()
            collection = self.collection_of(folder)
            groups: dict[str, list[SliceHeader]] = defaultdict(list)
            problem: BadInput | None = None
            for path in paths:
                header = got[path]
                if isinstance(header, BadInput):
                    problem = problem or header
                    continue
                groups[header.series_uid].append(header)
            if not groups:
                digest = hashlib.sha256(rel.encode()).hexdigest()[:12]
                losses.append(SourceLoss(self.name, "image", f"{collection}/folder-{digest}", "unreadable",
                                         "no readable DICOM file in a series folder"))
            for uid, headers in groups.items():
                if uid in refs:  # a series split over folders: the worker reads one folder
                    refs[uid].problem = BadInput("unreadable", "the series' files are spread over several folders")
                    continue
                first = headers[0]
                refs[uid] = SeriesRef(collection, uid, rel, first.patient_id, first.study_uid, first.modality,
                                      first.sop_class, headers=headers, problem=problem)
        return list(refs.values()), losses

    def collection_of(self, folder: Path) -> str:
        rel = folder.relative_to(self.root).as_posix()
        return rel.split("/")[0] if "/" in rel else "unknown"

    def read_headers(self, ref: SeriesRef, cache: dict[Path, HeaderOrProblem] | None = None) -> list[SliceHeader]:
        """The headers of the files of a series listed in metadata.csv (from `cache` where prefetched);
        the first unreadable file, in file order, loses the series."""
        folder = self.root / ref.folder
        if not folder.is_dir():
            raise BadInput("missing_file", f"the series folder named in {METADATA} is absent")
        headers = []
        for path in dicom_files(folder):
            header = (cache or {}).get(path)
            header = read_one(path) if header is None else header
            if isinstance(header, BadInput):
                raise header
            if header.series_uid == ref.uid:
                headers.append(header)
        if ref.expected is not None and len(headers) < ref.expected:
            raise BadInput("missing_file", f"the series folder holds {len(headers)} of the {ref.expected} files "
                                           f"{METADATA} lists")
        return headers

    def series_items(self, ref: SeriesRef, cache: dict[Path, HeaderOrProblem] | None = None
                     ) -> Iterator[SourceItem | SourceLoss]:
        reason = unsupported_reason(ref.modality, ref.sop_class, self.params.modalities)
        try:
            if reason:
                raise BadInput("unreadable", reason)
            if ref.problem is not None:
                raise ref.problem
            headers = ref.headers if ref.headers is not None else self.read_headers(ref, cache)
            geom = series_geometry(headers)
        except BadInput as err:
            yield SourceLoss(self.name, "image", ref.volume_key, err.kind, str(err))
            return
        modality = modality_of(headers[0].modality)
        for axis, idx, _present in plan_slices(geom.shape, expand_axes(self.params.axis)):
            file = geom.file_of(axis, idx) or geom.files[0]  # along the stack: the slice's own file
            corner = slice_affine(geom.affine, axis, idx, geom.shape)[:3]
            yield SourceItem(
                source=self.name, key=f"{ref.volume_key}_{axis}{idx:04d}", input_ref=ref.volume_key,
                path=f"{ref.folder}/{file}", format="dicom_series", root=str(self.root),
                patient=ref.subject or None, study=ref.study or None, modality=modality,
                body_part=headers[0].body_part, license=self.license,
                meta={"slice_axis": axis, "slice_index": idx, "orientation": orientation_hint(axis),
                      "slice_affine": [[round(float(v), 6) for v in r] for r in corner],
                      "volume_key": ref.volume_key, "series_dir": ref.folder, "series_uid": ref.uid,
                      "source_path": f"{ref.volume_key}/{file}", "n_files": len(geom.files),
                      "modality": modality, "window_preset": self.params.window_preset if modality == "CT" else None,
                      "volume_shape": list(geom.shape), "spacing_mm": list(geom.zooms)},
            )
