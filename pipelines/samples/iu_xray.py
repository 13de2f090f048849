"""Write a tiny IU X-ray (Open-i) copy in its real layout: `ecgen-radiology/<n>.xml` (the real eCitation
element tree: uId, AbstractText Label=COMPARISON/INDICATION/FINDINGS/IMPRESSION, MeSH major/automatic,
parentImage with figureId/caption/url) and `NLMCXR_png/CXR<n>_<k>_IM-XXXX-XXXX.png`; de-identified text
carries `XXXX` the way the collection does. Broken on purpose: a truncated XML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import cv2

from pipelines.samples.phantom import chest_phantom, to_uint8

# (n, findings, impression, MeSH major, images)
CASES = [
    (1, "The cardiac silhouette and mediastinum size are within normal limits. There is no pulmonary edema.",
     "Normal chest x-XXXX.", ["normal"], ["CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001"]),
    (2, "Borderline cardiomegaly. Midline sternotomy XXXX. Enlarged pulmonary arteries.",
     "Borderline cardiomegaly.", ["Cardiomegaly/borderline", "Pulmonary Artery/enlarged"], ["CXR2_IM-0652-1001"]),
    (10, "Small right pleural effusion with adjacent opacity.", "Right pleural effusion.",
     ["Pleural Effusion/right/small", "Opacity/lung/base/right"], ["CXR10_IM-0002-2001", "CXR10_IM-0002-1001"]),
]
XML = """<?xml version="1.0" encoding="utf-8"?>
<eCitation>
   <meta type="rr"/>
   <uId id="CXR{n}"/>
   <pmcId id="{n}"/>
   <docSource>CXR</docSource>
   <IUXRId id="{n}"/>
   <licenseType>open-access</licenseType>
   <licenseURL>http://creativecommons.org/licenses/by-nc-nd/4.0/</licenseURL>
   <ccLicense>byncnd</ccLicense>
   <articleDate>2013-08-01</articleDate>
   <articleType>XR</articleType>
   <publisher>Indiana University</publisher>
   <title>Indiana University Chest X-ray Collection</title>
   <MedlineCitation Owner="Indiana University" Status="supplied by publisher">
      <Article PubModel="Electronic">
         <ArticleTitle>Indiana University Chest X-ray Collection</ArticleTitle>
         <Abstract>
            <AbstractText Label="COMPARISON">None.</AbstractText>
            <AbstractText Label="INDICATION">XXXX-year-old XXXX with chest pain.</AbstractText>
            <AbstractText Label="FINDINGS">{findings}</AbstractText>
            <AbstractText Label="IMPRESSION">{impression}</AbstractText>
         </Abstract>
      </Article>
   </MedlineCitation>
   <MeSH>
{mesh}
   </MeSH>
{images}</eCitation>
"""
IMAGE = """   <parentImage id="{id}">
      <figureId>F{k}</figureId>
      <caption>Xray Chest PA and Lateral</caption>
      <url>/hadoop/storage/radiology/extract/{id}.jpg</url>
   </parentImage>
"""


@dataclass
class IuSample:
    root: Path
    images: list[str] = field(default_factory=list)
    broken_xml: list[str] = field(default_factory=list)


def write_iu_sample(root: Path, size: int = 128, broken: bool = True) -> IuSample:
    out = IuSample(root)
    (root / "ecgen-radiology").mkdir(parents=True, exist_ok=True)
    (root / "NLMCXR_png").mkdir(parents=True, exist_ok=True)
    for n, findings, impression, mesh, images in CASES:
        text = XML.format(n=n, findings=escape(findings), impression=escape(impression),
                          mesh="\n".join(f"      <major>{escape(m)}</major>" for m in mesh)
                          + "\n      <automatic>Lung/hypoinflation</automatic>",
                          images="".join(IMAGE.format(id=i, k=k + 1) for k, i in enumerate(images)))
        (root / "ecgen-radiology" / f"{n}.xml").write_text(text)
        for k, image_id in enumerate(images):
            cv2.imwrite(str(root / "NLMCXR_png" / f"{image_id}.png"), to_uint8(chest_phantom(size, seed=n * 10 + k)))
            out.images.append(image_id)
    if broken:
        image = IMAGE.format(id="CXR11_IM-0001-1001", k=1)
        full = XML.format(n=11, findings="x", impression="y", mesh="", images=image)
        (root / "ecgen-radiology" / "11.xml").write_text(full[: len(full) // 2])
        out.broken_xml.append("ecgen-radiology/11.xml")
    return out
