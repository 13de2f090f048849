"""Indiana University Chest X-ray Collection (Open-i), in the layout of its two tarballs:

    ROOT/ecgen-radiology/<n>.xml    one report per study: <uId id="CXR1"/>, <AbstractText Label="COMPARISON|
                                    INDICATION|FINDINGS|IMPRESSION">, <MeSH><major>Cardiomegaly/mild</major>,
                                    <parentImage id="CXR1_1_IM-0001-3001"> per image
    ROOT/NLMCXR_png/CXR1_1_IM-0001-3001.png   (the PNG tarball; `images_dir`)

One item per parentImage. The report (FINDINGS + IMPRESSION, with COMPARISON and INDICATION ahead
when present) and the MeSH labels belong to the study and ride on each of its images. Labels pass the
first term of each MeSH heading (`Cardiomegaly/mild` → `Cardiomegaly`; the ontology's label map
knows the Open-i wording), `normal` included. The collection has no patient ids and no split: the
study (uId) stands for the patient. An unparseable XML file is reported; so is an image it names
that is not in the PNG folder.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from pipelines.registry import register_source
from pipelines.sources.base import Label, Source, SourceItem, SourceLoss, SourceParams

SECTIONS = ("COMPARISON", "INDICATION", "FINDINGS", "IMPRESSION")


class IuXrayParams(SourceParams):
    reports_dir: str = "ecgen-radiology"
    images_dir: str = "NLMCXR_png"
    include_automatic_mesh: bool = False  # also <automatic> MeSH terms (machine-assigned)


@register_source
class IuXraySource(Source):
    name = "sources.iu_xray"
    title = "Indiana University Chest X-ray Collection (Open-i)"
    license = "CC-BY-NC-ND-4.0"
    citation = (
        "Demner-Fushman D, Kohli MD, Rosenman MB, et al. Preparing a collection of radiology examinations "
        "for distribution and retrieval. JAMIA 2016;23(2):304-310."
    )
    homepage = "https://openi.nlm.nih.gov/faq#collection"
    modalities = ("CR", "DX")
    Params = IuXrayParams
    params: IuXrayParams

    def iter_items(self) -> Iterator[SourceItem | SourceLoss]:
        files = sorted((self.root / self.params.reports_dir).glob("*.xml"),
                       key=lambda p: (int(p.stem) if p.stem.isdigit() else 1 << 30, p.name))
        for path in files:
            rel = f"{self.params.reports_dir}/{path.name}"
            try:
                doc = ET.parse(path).getroot()
            except ET.ParseError:
                yield SourceLoss(self.name, "report", rel, "malformed_row", "report XML cannot be parsed")
                continue
            uid = (doc.find("uId").get("id") if doc.find("uId") is not None else None) or path.stem
            report = self.report(doc, rel)
            labels = self.labels(doc, rel)
            for img in doc.iter("parentImage"):
                image_id = img.get("id") or ""
                img_rel = f"{self.params.images_dir}/{image_id}.png"
                if not image_id or not (self.root / img_rel).is_file():
                    yield SourceLoss(self.name, "image", f"{rel}#{image_id}", "missing_file", "no such PNG")
                    continue
                yield SourceItem(source=self.name, key=image_id, input_ref=img_rel, path=img_rel, format="png",
                                 root=str(self.root), patient=uid, study=uid, modality="CR", body_part="CHEST",
                                 license=self.license, labels=list(labels), report=report,
                                 meta={"caption": (img.findtext("caption") or "").strip() or None})

    def report(self, doc: ET.Element, rel: str) -> dict[str, str] | None:
        parts = {}
        for node in doc.iter("AbstractText"):
            label = (node.get("Label") or "").upper()
            text = " ".join((node.text or "").split())
            if label in SECTIONS and text:
                parts[label] = text
        if not parts.get("FINDINGS") and not parts.get("IMPRESSION"):
            return None
        return {"text": "\n".join(f"{s}: {parts[s]}" for s in SECTIONS if s in parts), "ref": rel}

    def labels(self, doc: ET.Element, rel: str) -> list[Label]:
        out: list[Label] = []
        tags = ("major", "automatic") if self.params.include_automatic_mesh else ("major",)
        mesh = doc.find("MeSH")
        for tag in tags:
            for i, node in enumerate(mesh.findall(tag) if mesh is not None else []):
                term = (node.text or "").split("/")[0].strip()
                if term and term not in {lab.label for lab in out}:
                    out.append(Label(label=term, ref=f"{rel}#MeSH/{tag}[{i}]"))
        return out
