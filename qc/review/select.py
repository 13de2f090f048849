"""Pick regions for annotator review with a SQL filter, and fetch their masks and images.

The filter is a DuckDB WHERE clause over `r` (regions), `i` (images) and `m` (qc/mask_stats when the
audits have run), e.g. `r.predicted_iou < 0.7 OR list_contains(r.qc_flags, 'low_iou')`. Regions that
an annotator already superseded are never selected again.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from qc.audits.masks import decode
from qc.corpus import connect, query, sql_literal
from schemas.errors import ConfigError

SELECT_SQL = """
SELECT r.*, i.height, i.width, i.source_path, i.source AS image_source, i.split, i.modality
FROM regions r JOIN images i USING (image_id) {join_stats}
WHERE ({where})
  AND r.region_id NOT IN (SELECT supersedes FROM regions WHERE supersedes IS NOT NULL)
ORDER BY r.image_id, r.region_id
"""


def select_regions(corpus_dir: Path, where: str) -> list[dict[str, Any]]:
    """Regions matching `where`, each with its image's height, width, source_path, source (as
    image_source), split and modality."""
    import duckdb

    con = connect(Path(corpus_dir))
    stats = Path(corpus_dir) / "qc" / "mask_stats.parquet"
    join_stats = ""
    if stats.is_file():
        con.execute(f"CREATE VIEW mask_stats AS SELECT * FROM read_parquet({sql_literal(stats.as_posix())})")
        join_stats = ("LEFT JOIN (SELECT region_id, area_fraction, components, box_iou, box_consistent, "
                      "inside_parent FROM mask_stats) m USING (region_id)")
    try:
        return query(con, SELECT_SQL.format(where=where or "TRUE", join_stats=join_stats)).to_pylist()
    except duckdb.Error as err:
        raise ConfigError("--select", f"not a valid filter over r (regions), i (images), m: {err}") from err


def region_mask(region: dict[str, Any]) -> np.ndarray:
    """The region's mask; a box-only region becomes its filled box."""
    if region["rle_counts"] is not None:
        return decode(region["rle_counts"], region["mask_height"], region["mask_width"])
    mask = np.zeros((region["height"], region["width"]), dtype=np.uint8)
    x, y = round(region["box_x"]), round(region["box_y"])
    mask[y : y + round(region["box_h"]), x : x + round(region["box_w"])] = 1
    return mask


def image_pngs(corpus_dir: Path, image_ids: set[str]) -> dict[str, bytes]:
    """The written PNGs of these images, read from the WebDataset shards."""
    found: dict[str, bytes] = {}
    for tar_path in sorted((Path(corpus_dir) / "shards").glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar:
                key, _, ext = member.name.rpartition(".")
                if ext == "png" and key in image_ids:
                    found[key] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return found


def write_images(corpus_dir: Path, regions: list[dict[str, Any]], out: Path) -> dict[str, str]:
    """Copy the selected regions' images to out/images/; image_id -> relative path."""
    pngs = image_pngs(corpus_dir, {r["image_id"] for r in regions})
    (out / "images").mkdir(parents=True, exist_ok=True)
    paths = {}
    for image_id, data in sorted(pngs.items()):
        rel = f"images/{image_id}.png"
        (out / rel).write_bytes(data)
        paths[image_id] = rel
    return paths
