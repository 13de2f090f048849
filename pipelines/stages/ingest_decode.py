"""`ingest.decode`: open each item's file, decode and window its pixels, write the IMAGE record,
its PNG, its REPORT and its dataset-GT regions. Logic in extractors/imaging and extractors/records."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from extractors.imaging.encode import encode_png, phash, sha256_file, sha256_hex
from extractors.imaging.intensity import render_decoded
from extractors.records import gt_regions, image_record, report_records
from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams, item_of
from schemas.errors import BadInput


class DecodeParams(StageParams):
    ct_window: Literal["soft_tissue", "lung", "bone", "brain", "abdomen", "liver", "mediastinum"] = "soft_tissue"
    quarantine_burned_in: bool = True  # BurnedInAnnotation=YES → quarantined for review (text in pixels)
    # Secondary Capture: many public releases (RSNA, SIIM) were re-encoded as SC when anonymised, so
    # by default it is only flagged on the IMAGE row; set True for sources where SC means screenshots.
    quarantine_secondary_capture: bool = False
    png_compression: int = Field(default=1, ge=0, le=9)  # zlib level: 1 ≈ 2x faster than 6, larger files


@register_stage
class IngestDecodeStage(Stage):
    name = "ingest.decode"
    description = "decode DICOM/PNG/JPEG/NIfTI pixels, window to 8-bit PNG, build IMAGE/REPORT/GT REGION rows"
    consumes = ("item",)
    produces = ("image_png", "image", "reports", "regions")
    default_resources = Resources(num_cpus=1.0, batch_size=8)  # CPU-bound: 0.5 oversubscribes the cores
    Params = DecodeParams
    params: DecodeParams

    def process_sample(self, sample: Sample) -> Sample:
        item = item_of(sample)
        root = Path(item["root"])
        path = root / (item["path"] or "")
        if not item["path"] or not path.is_file():
            raise BadInput("missing_file", "the image file named by the index does not exist")
        file_hash = content_hash(str(path), path.stat().st_size, path.stat().st_mtime_ns)
        decoded, slice_spacing = self.read(item, path)
        if self.params.quarantine_burned_in and decoded.burned_in:
            raise BadInput("phi_risk", "BurnedInAnnotation is YES: needs review before use")
        if self.params.quarantine_secondary_capture and decoded.secondary_capture:
            raise BadInput("phi_risk", "secondary capture: needs review before use")
        u8, intensity = render_decoded(decoded, item.get("meta") or {}, item.get("modality"), self.params.ct_window)
        png = encode_png(u8, self.params.png_compression)
        height, width = int(u8.shape[0]), int(u8.shape[1])
        image_id = file_hash[:24]
        meta = item.get("meta") or {}
        if meta.get("slice_index") is not None:
            image_id = f"{image_id}_{meta.get('slice_axis', 'z')}{int(meta['slice_index']):04d}"
        spacing = slice_spacing or decoded.pixel_spacing or _spacing_from_meta(meta, height, width)
        sample["image"] = image_record(
            item,
            image_id=image_id,
            height=height,
            width=width,
            salt=self.ctx.salt,
            spacing=spacing,
            intensity=intensity,
            bit_depth=8,
            png_sha256=sha256_hex(png),
            phash=phash(u8),
            modality=decoded.modality,
            view=decoded.view,
            body_part=decoded.body_part,
        )
        sample["image"]["split"] = sample["shard"].split("-")[0]
        sample["image"]["qc_flags"] = ["secondary_capture"] if decoded.secondary_capture else []
        sample["image_png"] = png
        regions, losses = gt_regions(item, image_id, height, width, decode_mask=_mask_decoder())
        sample["regions"] = regions
        for ref, kind, message in losses:
            self.quarantine(sample, "annotation", ref, kind, message)
        sample["reports"] = report_records(item, self.ctx.salt)
        return sample

    def read(self, item: dict[str, Any], path: Path) -> tuple[Any, tuple[float, float] | None]:
        fmt = item["format"]
        if fmt == "dicom":
            from extractors.imaging.dicom import read_dicom

            return read_dicom(path), None
        if fmt in ("png", "jpg"):
            from extractors.imaging.raster import read_raster

            return read_raster(path), None
        if fmt == "nifti":
            from extractors.imaging.volume import read_nifti_slice

            return read_nifti_slice(path, item.get("meta") or {})
        if fmt == "dicom_series":
            from extractors.imaging.series import read_series_slice

            return read_series_slice(Path(item["root"]), item.get("meta") or {})
        raise BadInput("unreadable", f"unsupported format {fmt!r}")


@lru_cache(maxsize=64)
def content_hash(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, cached per worker (the slices of one volume share it)."""
    return sha256_file(path)


def _spacing_from_meta(meta: dict[str, Any], height: int, width: int) -> tuple[float, float] | None:
    """Original pixel spacing rescaled to the written image (NIH lists it for the original film)."""
    sp = meta.get("original_pixel_spacing")
    oh, ow = meta.get("original_height"), meta.get("original_width")
    if not sp or not oh or not ow or sp[0] is None or sp[1] is None:
        return None
    return float(sp[0]) * oh / height, float(sp[1]) * ow / width


def _mask_decoder() -> Any:
    try:
        from extractors.imaging.annotations import decode_annotation_mask
    except ImportError:
        return None
    return decode_annotation_mask

