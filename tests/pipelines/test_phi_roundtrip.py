"""PHI round trip for every source that reads DICOM files: distinctive fake identifiers are
planted in the headers (person names, IDs, birth date, accession, institution and a private tag), the
source runs through ingest and a short stage chain into the real shard writer, source-loss table,
manifest, QC audits and dataset card, and then no output byte (nor any decoded Parquet cell: Parquet
pages are zstd-compressed, so raw bytes alone would prove little) may hold a planted value or one
of its usual encodings. Patient ids in the outputs must be the salted hashes of the raw ones.
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from extractors.deid import salted_hash
from pipelines.plan import count_inputs
from pipelines.registry import get_stage
from pipelines.samples.dicom import write_dicom
from pipelines.samples.phantom import chest_phantom, to_uint8
from pipelines.samples.rsna_pneumonia import write_rsna_sample
from pipelines.samples.siim_acr import write_siim_sample
from pipelines.samples.tcia import write_tcia_sample
from pipelines.samples.vindr_cxr import write_vindr_sample
from pipelines.sources.base import Source, SourceItem, SourceLoss
from pipelines.sources.generic_folder import GenericFolderParams, GenericFolderSource
from pipelines.sources.rsna_pneumonia import RsnaParams, RsnaPneumoniaSource
from pipelines.sources.siim_acr import SiimAcrParams, SiimAcrSource
from pipelines.sources.tcia import TciaParams, TciaSource
from pipelines.sources.vindr_cxr import VindrCxrParams, VindrCxrSource
from pipelines.versions import versions
from pipelines.writers.manifest import write_manifest, write_source_losses
from pipelines.writers.shard import write_shard
from qc.audits.run import run_audits
from qc.card import write_card
from tests.pipelines.stage_rows import rows_of, run_stages

SALT = "phi-roundtrip-salt"
PHI = {
    "PatientName": "ZQXDOE^ZQXJANE^ZQXMIDDLE",
    "PatientID": "ZQX-PID-80417",
    "PatientBirthDate": "19230417",
    "OtherPatientIDs": "ZQX-OTHER-55213",
    "AccessionNumber": "ZQXACC99172",
    "InstitutionName": "ZQXVILLE GENERAL HOSPITAL",
    "ReferringPhysicianName": "ZQXHOUSE^ZQXGREGORY",
    "private": "ZQX PRIVATE CLINICAL NOTE",
}
CHAIN = ("ingest.decode", "labels.dataset", "ontology.normalize", "ground.link", "ground.templates")


def needles(phi: dict[str, str]) -> list[str]:
    """Each planted value and its common encodings: DICOM person-name parts, spaced names, dates."""
    out: set[str] = set()
    for value in phi.values():
        out.add(value)
        if "^" in value:
            parts = [p for p in value.split("^") if p]
            out.update(parts)
            out.update({" ".join(parts), " ".join(reversed(parts)), ", ".join(parts)})
        if len(value) == 8 and value.isdigit():
            y, m, d = value[:4], value[4:6], value[6:]
            out.update({f"{y}-{m}-{d}", f"{m}/{d}/{y}", f"{d}.{m}.{y}", f"{m}-{d}-{y}"})
    return sorted(out)


def write_generic(root: Path) -> Path:
    for i in range(2):
        write_dicom(root / "images" / f"case_{i:03d}.dcm", to_uint8(chest_phantom(64, seed=70 + i)), modality="CR",
                    patient_id=PHI["PatientID"], body_part="CHEST", pixel_spacing=(0.2, 0.2), phi=PHI)
    return root


CASES: dict[str, tuple[Callable[[Path], Path], Callable[[Path], Source]]] = {
    "vindr_cxr": (lambda r: write_vindr_sample(r, size=128, phi=PHI).root,
                  lambda r: VindrCxrSource(VindrCxrParams(root=r))),
    "siim_acr": (lambda r: write_siim_sample(r, size=128, phi=PHI).root,
                 lambda r: SiimAcrSource(SiimAcrParams(root=r))),
    "rsna_pneumonia": (lambda r: write_rsna_sample(r, size=64, phi=PHI).root,
                       lambda r: RsnaPneumoniaSource(RsnaParams(root=r))),
    "tcia": (lambda r: write_tcia_sample(r, phi=PHI).root, lambda r: TciaSource(TciaParams(root=r))),
    "tcia_walk": (lambda r: write_tcia_sample(r, phi=PHI).root,
                  lambda r: TciaSource(TciaParams(root=r, use_metadata=False, axis="all"))),
    "generic_folder_dicom": (write_generic, lambda r: GenericFolderSource(
        GenericFolderParams(root=r, images="images/*.dcm", masks=None, body_part="CHEST"))),
}


def build_corpus(source: Source, out: Path) -> tuple[list[SourceItem], dict[str, Any]]:
    """Source → stage chain → shard writer, source losses, manifest, QC audits and card (no Ray)."""
    recs = list(source.items())
    items = [r for r in recs if isinstance(r, SourceItem)]
    losses = [r for r in recs if isinstance(r, SourceLoss)]
    counts: Counter[str] = Counter(lo.unit for lo in losses)
    for item in items:
        count_inputs(item, counts)
    rows = run_stages(rows_of(source), [get_stage(n) for n in CHAIN], salt=SALT)
    write_shard(out, "train-000000", rows)
    write_source_losses(out, [{"source": lo.source, "unit": lo.unit, "input_ref": lo.ref, "stage": "source",
                               "error_kind": lo.kind, "message": lo.message, "image_id": None} for lo in losses])
    inputs = {source.name: {u: counts.get(u, 0) for u in ("image", "annotation", "label", "report")}}
    write_manifest(out, corpus="phi-roundtrip", version="0.0.1", config={"description": "PHI round trip"},
                   config_fingerprint="phi", sources=[source.describe()], inputs=inputs, versions=versions())
    result = run_audits(out, forbidden=needles(PHI))
    write_card(out, result)
    return items, result.metrics


def output_texts(out: Path) -> Iterator[tuple[str, bytes]]:
    """Every file's raw bytes, every Parquet table decoded to JSON, every tar member's bytes."""
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        yield rel, path.read_bytes()
        if path.suffix == ".parquet":
            yield f"{rel} (decoded)", json.dumps(pq.read_table(path).to_pylist(), default=str).encode()
        elif path.suffix == ".tar":
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    fh = tar.extractfile(member)
                    yield f"{rel}:{member.name}", fh.read() if fh else b""


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_planted_identifier_reaches_any_output(tmp_path: Path, case: str) -> None:
    write, make_source = CASES[case]
    root = write(tmp_path / "data")
    planted = b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.suffix in (".dcm", ".dicom"))
    assert all(v.encode() in planted for v in PHI.values()), "the sample writer did not plant every value"
    source = make_source(root)
    out = tmp_path / "corpus"
    items, metrics = build_corpus(source, out)
    assert items, "the sample produced no image"
    assert (out / "README.md").is_file() and (out / "shards" / "train-000000.tar").is_file()
    forms = [(n, n.lower().encode()) for n in needles(PHI)]
    forms += [(f"{n} (utf-16)", n.lower().encode("utf-16-le")) for n in needles(PHI)]
    texts = list(output_texts(out))
    hits = [(name, where) for where, data in texts for name, form in forms if form in data.lower()]
    assert hits == [], "planted values found in the outputs"
    assert len(texts) > 10
    assert metrics["phi_hits"] == 0 and metrics["accounting_unbalanced"] == 0
    check_patient_ids(case, items, out)


def check_patient_ids(case: str, items: list[SourceItem], out: Path) -> None:
    """Written patient ids are the salted hashes of the sources' raw ones, never a raw value."""
    images = pq.read_table(out / "tables" / "images").to_pylist()
    raw = {i.key: i.patient for i in items}
    assert images and all(img["patient_id"] == salted_hash(raw[img["source_key"]], SALT) for img in images)
    assert not {img["patient_id"] for img in images} & set(raw.values())
    if case == "tcia":  # the Subject ID of metadata.csv
        assert set(raw.values()) == {"LIDC-IDRI-0001", "LIDC-IDRI-0002"}
    if case in ("tcia_walk", "generic_folder_dicom"):  # the header's PatientID (TCIA walk) / the file stem
        assert set(raw.values()) == ({PHI["PatientID"]} if case == "tcia_walk" else {"case_000", "case_001"})
