"""Weak-mask quality on real CT: Dice of every box-prompted method against expert organ masks.

    python bench/masks_quality.py [--data ../shared/datasets/btcv_ct_slices] [--limit N]
                                  [--dump rows.json] [--no-sam] [--fit] [--encode-cache DIR]

Data: `btcv_ct_slices/` (27 abdominal CT slices, one per patient, 235 organ masks; see its README
in ../shared/datasets). The prompt of each organ is the tight box of its GT mask (x1/y1 exclusive).
Methods: `box_fill` (the floor), `ellipse` (inscribed), `grabcut` (masks.classical as the stage
runs it, ellipse fallback included), LiteMedSAM `sam` (single mask), `sam_best` (the multimask
output with the highest predicted IoU), `chosen` (extractors.masks.select: the candidate with
the best GT-free QC score) and `oracle` (the best selectable candidate by true Dice: the ceiling of
any choice among these candidates). Patients are split in sorted order, alternately, into a `tune` half and
a `report` half; both are printed (tune only what the tune half shows).

Multi-part targets (`MULTIPART`: both kidneys under one box) are scored in their own table.
Prints Dice per organ and overall per method and half, and the Spearman rank correlation of the QC
score with true Dice. `--fit` also prints QC weights refitted on the tune half (within-box least
squares, as `extractors.masks.select.WEIGHTS` were made) and the leave-one-patient-out check of that
fit inside the tune half (`lopo_cv`), then the same for masks.classical's own choice
(`CLASSICAL_WEIGHTS`, pooled least squares on its candidates' shape and image features:
`fit_classical`, `classical_lopo`). The image is the 8-bit PNG as shipped
(already windowed: no second window). `--encode-cache DIR` (development only, e.g. /tmp/...):
LiteMedSAM embeddings of every encoder input (whole images and crops) are kept there by content
hash, so a rerun decodes only (never point it at the repository; embeddings are not committed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.simplefilter("ignore", FutureWarning)

from extractors.masks.candidates import Candidate, classical_candidates, features  # noqa: E402
from extractors.masks.classical import ClassicalBoxMasker  # noqa: E402
from extractors.masks.sam.qc import dice, mask_box_xyxy  # noqa: E402
from extractors.masks.select import SELECTABLE  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "btcv_ct_slices"
METHODS = ("box_fill", "ellipse", "grabcut", "sam", "sam_best", "chosen", "oracle")
# derived multi-part targets, one box over several organs (issue 16's "two kidneys under one box"):
# scored apart from the organ table, on the slices that hold every part
MULTIPART = {"kidneys_both": ("kidney_left", "kidney_right")}


def load_items(data: Path, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    names = sorted(p.name for p in (data / "images").glob("*.png"))[:limit]
    out = []
    for name in names:
        img = cv2.imread(str(data / "images" / name), cv2.IMREAD_UNCHANGED)
        lab = cv2.imread(str(data / "labels" / name), cv2.IMREAD_UNCHANGED)
        gray = img[..., 0] if img.ndim == 3 else img  # grey stored as RGB
        out.append((name, gray, lab))
    return out


def halves(names: list[str]) -> dict[str, str]:
    """Patient → 'tune' | 'report', alternating in sorted patient order (one slice per patient)."""
    patients = sorted({n.rsplit("_", 1)[0] for n in names})
    side = {p: ("tune" if i % 2 == 0 else "report") for i, p in enumerate(patients)}
    return {n: side[n.rsplit("_", 1)[0]] for n in names}


def score_image(gray: np.ndarray, lab: np.ndarray, organs: dict[str, str], predictor: Any) -> list[dict[str, Any]]:
    from extractors.masks.select import choose, qc_score

    names, gts = targets(lab, organs)
    boxes = np.stack([mask_box_xyxy(g) for g in gts])
    sam_sets: list[list[Candidate]] = [[] for _ in names]
    if predictor is not None:
        from extractors.masks.sam.candidates import sam_candidates

        enc = predictor.encode([gray])[0]
        sam_sets = sam_candidates(predictor, enc, boxes, gray)
    grabcut = ClassicalBoxMasker("grabcut")
    rows = []
    for organ, gt, box, sam in zip(names, gts, boxes, sam_sets, strict=True):
        classical = classical_candidates(gray, box)
        cands = sam + classical
        features(cands, box, gray)
        alone = [Candidate(c.name, c.mask) for c in classical]  # masks.classical's own features
        features(alone, box, gray)
        x, y = float(box[0]), float(box[1])
        stage_gc = grabcut.predict(gray, (x, y, float(box[2] - x), float(box[3] - y)))
        winner = choose(cands, box, image=gray)
        row: dict[str, Any] = {"organ": organ, "multipart": organ in MULTIPART, "grabcut": dice(stage_gc.mask, gt),
                               "grabcut_qc": stage_gc.qc_score,
                               "classical": {c.name: {"dice": dice(c.mask, gt), **c.feats} for c in alone},
                               "chosen": dice(winner.mask, gt), "chosen_name": winner.name,
                               "qc_score": winner.score, "reason": winner.reason, "cands": {}}
        for cand in cands:
            row["cands"][cand.name] = {"dice": dice(cand.mask, gt), "qc": qc_score(cand), **cand.feats}
        row["oracle"] = max(v["dice"] for k, v in row["cands"].items() if k in SELECTABLE)
        row["box_fill"] = row["cands"]["box_fill"]["dice"]
        row["ellipse"] = row["cands"]["ellipse"]["dice"]
        if sam:
            row["sam"] = row["cands"]["sam"]["dice"]
            best = max((k for k in row["cands"] if k.startswith("sam_m")), key=lambda k: row["cands"][k]["pred_iou"])
            row["sam_best"] = row["cands"][best]["dice"]
        rows.append(row)
    return rows


def targets(lab: np.ndarray, organs: dict[str, str]) -> tuple[list[str], list[np.ndarray]]:
    """Each organ of the label map, then each `MULTIPART` union whose parts are all present."""
    classes = [int(c) for c in np.unique(lab) if c != 0]
    names, gts = [organs[str(c)] for c in classes], [lab == c for c in classes]
    ids = {v: int(k) for k, v in organs.items()}
    for name, parts in MULTIPART.items():
        if all(p in ids and (lab == ids[p]).any() for p in parts):
            names.append(name)
            gts.append(np.isin(lab, [ids[p] for p in parts]))
    return names, gts


def table(rows: list[dict[str, Any]], methods: tuple[str, ...]) -> str:
    by_organ: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_organ[r["organ"]].append(r)
    head = f"{'organ':<30}{'n':>4}" + "".join(f"{m:>10}" for m in methods)
    lines = [head, "-" * len(head)]
    for organ in sorted(by_organ):
        rs = by_organ[organ]
        lines.append(f"{organ:<30}{len(rs):>4}" + "".join(f"{_mean(rs, m):>10.3f}" for m in methods))
    lines.append(f"{'overall (mean over masks)':<30}{len(rows):>4}" + "".join(f"{_mean(rows, m):>10.3f}"
                                                                          for m in methods))
    lines.append(f"{'organs below box_fill':<34}" + "".join(
        f"{sum(_mean(rs, m) < _mean(rs, 'box_fill') - 1e-9 for rs in by_organ.values()):>10d}" for m in methods))
    return "\n".join(lines)


def fit_weights(rows: list[dict[str, Any]]) -> dict[str, float]:
    """QC weights by least squares of Dice on the features of the selectable candidates of `rows`,
    centred per box (only the ranking inside a box matters), intercept from the pooled residual."""
    from extractors.masks.select import NO_MODEL, WEIGHTS

    keys = [k for k in WEIGHTS if k != "intercept"]
    xs, ys, raw_x, raw_y = [], [], [], []
    for r in rows:
        fx = np.array([[_feat(v, k, NO_MODEL) for k in keys] for n, v in r["cands"].items() if n in SELECTABLE])
        fy = np.array([v["dice"] for n, v in r["cands"].items() if n in SELECTABLE])
        xs.append(fx - fx.mean(0))
        ys.append(fy - fy.mean())
        raw_x.append(fx)
        raw_y.append(fy)
    coef, *_ = np.linalg.lstsq(np.concatenate(xs), np.concatenate(ys), rcond=None)
    b0 = float(np.mean(np.concatenate(raw_y) - np.concatenate(raw_x) @ coef))
    return {"intercept": round(b0, 4), **{k: round(float(c), 4) for k, c in zip(keys, coef, strict=True)}}


def lopo_cv(rows: list[dict[str, Any]]) -> tuple[float, int]:
    """Leave-one-patient-out check of the fit inside `rows` (the tune half): weights refitted on the
    other patients, each patient's boxes re-chosen from their stored features with them (box fill
    under `BOX_MARGIN`; a diffuse-guarded box stays box fill). Mean chosen Dice and organs below box
    fill, over all of `rows`."""
    from extractors.masks.select import BOX_MARGIN, NO_MODEL

    out: list[dict[str, Any]] = []
    for image in sorted({r["image"] for r in rows}):
        weights = fit_weights([r for r in rows if r["image"] != image])
        for r in (r for r in rows if r["image"] == image):
            scores = {n: _score(weights, v, NO_MODEL) for n, v in r["cands"].items()
                      if n in SELECTABLE and (v["fill"] > 0 or n == "box_fill")}
            best = max(scores, key=lambda n: scores[n])  # first of the best: candidate order
            if best != "box_fill" and (scores[best] - scores["box_fill"] < BOX_MARGIN
                                       or r["reason"].startswith("diffuse:")):
                best = "box_fill"
            out.append({**r, "chosen": r["cands"][best]["dice"]})
    return _mean(out, "chosen"), _organs_below(out)


def classical_names(r: dict[str, Any]) -> list[str]:
    """The candidates masks.classical's QC choice weighs for a row (candidate order): box fill, the
    ellipse, and GrabCut's mask unless it failed or is degenerate (outside min/max_fraction)."""
    masker, gc = ClassicalBoxMasker("grabcut"), r["classical"].get("grabcut")
    ok = gc is not None and masker.min_fraction <= gc["fill"] <= masker.max_fraction
    return ["box_fill", "ellipse", *(["grabcut"] if ok else [])]


def fit_classical(rows: list[dict[str, Any]]) -> dict[str, float]:
    """`CLASSICAL_WEIGHTS` refitted: pooled least squares (with intercept) of Dice on the features of
    the candidates `classical_names` gives, over `rows`."""
    from extractors.masks.select import CLASSICAL_WEIGHTS, NO_MODEL

    keys = [k for k in CLASSICAL_WEIGHTS if k != "intercept"]
    cands = [r["classical"][n] for r in rows for n in classical_names(r)]
    x = np.array([[1.0, *(_feat(v, k, NO_MODEL) for k in keys)] for v in cands])
    coef, *_ = np.linalg.lstsq(x, np.array([v["dice"] for v in cands]), rcond=None)
    return {"intercept": round(float(coef[0]), 4),
            **{k: round(float(c), 4) for k, c in zip(keys, coef[1:], strict=True)}}


def classical_lopo(rows: list[dict[str, Any]]) -> tuple[float, int]:
    """`lopo_cv` for masks.classical's choice: `fit_classical` without each patient, its boxes
    re-chosen (box fill under `CLASSICAL_MARGIN`). Mean chosen Dice and organs below box fill."""
    from extractors.masks.select import CLASSICAL_MARGIN, NO_MODEL

    out: list[dict[str, Any]] = []
    for image in sorted({r["image"] for r in rows}):
        weights = fit_classical([r for r in rows if r["image"] != image])
        for r in (r for r in rows if r["image"] == image):
            scores = {n: _score(weights, r["classical"][n], NO_MODEL) for n in classical_names(r)}
            best = max(scores, key=lambda n: scores[n])
            if best != "box_fill" and scores[best] - scores["box_fill"] < CLASSICAL_MARGIN:
                best = "box_fill"
            out.append({**r, "chosen": r["classical"][best]["dice"]})
    return _mean(out, "chosen"), _organs_below(out)


def _score(weights: dict[str, float], v: dict[str, float], default: dict[str, float]) -> float:
    """A candidate's QC score from its stored features, as `select.qc_score` computes it."""
    total = weights["intercept"] + sum(w * _feat(v, k, default) for k, w in weights.items() if k != "intercept")
    return float(np.clip(total, 0.0, 1.0))


def _organs_below(rows: list[dict[str, Any]]) -> int:
    """Organs whose mean chosen Dice is below their mean box-fill Dice."""
    by_organ: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_organ[r["organ"]].append(r)
    return sum(_mean(rs, "chosen") < _mean(rs, "box_fill") - 1e-9 for rs in by_organ.values())


def _feat(v: dict[str, float], key: str, default: dict[str, float]) -> float:
    x = float(v.get(key, float("nan")))
    return default.get(key, 0.0) if np.isnan(x) else x


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _ranks(np.asarray(a)), _ranks(np.asarray(b))
    return float(np.corrcoef(ra, rb)[0, 1]) if len(a) > 2 else float("nan")


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for v in np.unique(x):  # average ranks of ties
        ranks[x == v] = ranks[x == v].mean()
    return ranks


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    vals = [r[key] for r in rows if key in r]
    return float(np.mean(vals)) if vals else float("nan")


def cached_encoder(predictor: Any, cache: Path) -> Any:
    """`predictor` whose `encode` keeps each embedding in `cache` by a hash of the input pixels."""
    import torch

    from extractors.masks.sam.frame import frame_for
    from extractors.masks.sam.predictor import EncodedImage

    cache.mkdir(parents=True, exist_ok=True)
    encode, size = predictor.encode, predictor.backbone.image_size

    def cached(images: list[np.ndarray]) -> list[Any]:
        out: list[Any] = []
        for img in images:
            path = cache / f"{hashlib.sha1(img.tobytes() + repr(img.shape).encode()).hexdigest()}.pt"
            if path.is_file():
                out.append(EncodedImage(frame_for(img.shape[0], img.shape[1], size), torch.load(path)))
                continue
            enc = encode([img])[0]
            torch.save(enc.embedding, path)
            out.append(enc)
        return out

    predictor.encode = cached
    return predictor


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="first N images only")
    ap.add_argument("--dump", type=Path, default=None, help="write every region's candidates and features")
    ap.add_argument("--no-sam", action="store_true", help="classical methods only (no torch)")
    ap.add_argument("--fit", action="store_true", help="print QC weights refitted on the tune half")
    ap.add_argument("--encode-cache", type=Path, default=None, help="dev only: keep embeddings here (/tmp)")
    args = ap.parse_args(argv)
    if not (args.data / "images").is_dir():
        print(f"no data at {args.data} (see ../shared/datasets/README.md)", file=sys.stderr)
        return 2
    organs = json.loads((args.data / "labels.json").read_text())
    predictor = None
    if not args.no_sam:
        from extractors.masks.sam.models import load_backbone
        from extractors.masks.sam.predictor import BatchedSamPredictor

        predictor = BatchedSamPredictor(load_backbone("litemedsam", device="cpu"), cpu_threads=1)
        if args.encode_cache is not None:
            predictor = cached_encoder(predictor, args.encode_cache)
    items = load_items(args.data, args.limit)
    side = halves([n for n, _, _ in items])
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for name, gray, lab in items:
        for r in score_image(gray, lab, organs, predictor):
            rows.append({"image": name, "half": side[name], **r})
    elapsed = time.perf_counter() - t0
    multi = [r for r in rows if r["multipart"]]
    rows = [r for r in rows if not r["multipart"]]
    methods = tuple(m for m in METHODS if any(m in r for r in rows))
    for half in ("tune", "report"):
        rs = [r for r in rows if r["half"] == half]
        print(f"\n== {half} half: {len({r['image'] for r in rs})} patients, {len(rs)} masks ==")
        print(table(rs, methods))
        rho = spearman([r["qc_score"] for r in rs], [r["chosen"] for r in rs])
        print(f"Spearman(QC score of the chosen mask, its Dice) = {rho:.3f}")
        pairs = [(v["qc"], v["dice"]) for r in rs for k, v in r["cands"].items() if k in SELECTABLE]
        rho_all = spearman([q for q, _ in pairs], [d for _, d in pairs])
        print(f"Spearman(QC score, Dice) over every selectable candidate ({len(pairs)}) = {rho_all:.3f}")
        rho_gc = spearman([r["grabcut_qc"] for r in rs], [r["grabcut"] for r in rs])
        print(f"Spearman(masks.classical's QC score of its mask, its Dice) = {rho_gc:.3f}")
        worst = sorted(rs, key=lambda r: r["chosen"] - r["box_fill"])[:5]
        print("most below box fill: " + "; ".join(
            f"{r['organ']} {r['image']} {r['chosen']:.3f} vs {r['box_fill']:.3f} ({r['chosen_name']})"
            for r in worst))
    for half in ("tune", "report"):
        rs = [r for r in multi if r["half"] == half]
        if rs:
            print(f"\n== multi-part boxes, {half} half (not in the tables above) ==")
            print(table(rs, methods))
    wins = defaultdict(int)
    for r in rows:
        wins[r["chosen_name"]] += 1
    print(f"\nchosen candidates: {dict(sorted(wins.items()))}")
    print(f"{len(items)} images, {len(rows)} masks (+{len(multi)} multi-part) in {elapsed:.1f} s (CPU)")
    if args.fit and predictor is not None:
        tune = [r for r in rows if r["half"] == "tune"]
        print(f"QC weights refitted on the tune half: {fit_weights(tune)}")
        cv, below = lopo_cv(tune)
        print(f"tune half, leave-one-patient-out (weights refitted without each patient): chosen {cv:.4f}, "
              f"{below} organ(s) below box fill")
    if args.fit:
        tune = [r for r in rows if r["half"] == "tune"]
        print(f"masks.classical QC weights refitted on the tune half: {fit_classical(tune)}")
        cv, below = classical_lopo(tune)
        print(f"masks.classical, tune half, leave-one-patient-out: chosen {cv:.4f}, {below} organ(s) below box fill")
    if args.dump:
        args.dump.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
