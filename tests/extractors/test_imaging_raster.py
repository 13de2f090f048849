"""read_raster: 8/16-bit grayscale, RGB kept, gray-as-RGB collapsed, truncated/corrupt/missing refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from extractors.imaging.raster import read_raster
from schemas.errors import BadInput


def write(path: Path, arr: np.ndarray, params: list[int] | None = None) -> Path:
    assert cv2.imwrite(str(path), arr, params or [])
    return path


def test_png_8_and_16_bit_grayscale(tmp_path: Path) -> None:
    g8 = np.random.default_rng(0).integers(0, 256, (20, 30), dtype=np.uint8)
    g16 = np.random.default_rng(1).integers(0, 65536, (20, 30), dtype=np.uint16)
    a = read_raster(write(tmp_path / "a.png", g8))
    b = read_raster(write(tmp_path / "b.png", g16))
    assert np.array_equal(a.pixels, g8) and a.bits_stored == 8 and a.photometric == "MONOCHROME2"
    assert np.array_equal(b.pixels, g16) and b.bits_stored == 16 and b.pixels.dtype == np.uint16
    assert a.modality is None and a.pixel_spacing is None and a.meta == {}


def test_rgb_is_kept_in_rgb_order(tmp_path: Path) -> None:
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 0] = 200  # red
    rgb[..., 2] = 30
    img = read_raster(write(tmp_path / "c.png", rgb[..., ::-1]))  # cv2 writes BGR
    assert img.pixels.shape == (10, 12, 3) and img.photometric == "RGB"
    assert np.array_equal(img.pixels, rgb)
    rgba = np.dstack([rgb[..., ::-1], np.full((10, 12), 255, np.uint8)])
    assert np.array_equal(read_raster(write(tmp_path / "d.png", rgba)).pixels, rgb)


def test_grayscale_saved_as_rgb_and_jpeg(tmp_path: Path) -> None:
    g = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (16, 1))
    img = read_raster(write(tmp_path / "e.png", np.dstack([g, g, g])))
    assert img.pixels.shape == (16, 32) and np.array_equal(img.pixels, g)
    jpg = read_raster(write(tmp_path / "f.jpg", g, [cv2.IMWRITE_JPEG_QUALITY, 95]))
    assert jpg.pixels.shape == (16, 32) and np.abs(jpg.pixels.astype(int) - g).max() <= 4


def test_real_nih_png(shared_datasets: Path) -> None:
    img = read_raster(shared_datasets / "images" / "00000001_000.png")
    assert img.pixels.shape == (512, 512) and img.pixels.dtype == np.uint8


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_is_unreadable(tmp_path: Path, suffix: str) -> None:
    g = np.random.default_rng(2).integers(0, 256, (64, 64), dtype=np.uint8)
    path = write(tmp_path / f"t{suffix}", g)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput) as err:
        read_raster(path)
    assert err.value.kind == "unreadable"


def test_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        read_raster(tmp_path / "none.png")
    assert err.value.kind == "missing_file"
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10 + b"IEND")
    with pytest.raises(BadInput) as err:
        read_raster(tmp_path / "x.png")
    assert err.value.kind == "unreadable"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(BadInput):
        read_raster(tmp_path / "empty.jpg")
