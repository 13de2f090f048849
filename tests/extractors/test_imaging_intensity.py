"""to_uint8: DICOM windows, CT presets on known HU, MR percentiles, identity and min–max."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.imaging.intensity import CT_PRESETS, apply_window, to_uint8
from schemas.errors import ConfigError


def test_soft_tissue_preset_on_known_hu() -> None:
    hu = np.array([-1000, -160, 40, 240, 3000], np.float64)
    out, desc = to_uint8(hu, modality="CT", preset="soft_tissue")
    assert out.dtype == np.uint8
    assert out[0] == 0 and out[1] == 0 and out[3] == 255 and out[4] == 255
    assert out[2] in (127, 128)
    assert desc == "preset:soft_tissue:40/400"


@pytest.mark.parametrize("name", sorted(CT_PRESETS))
def test_every_preset_maps_its_bounds(name: str) -> None:
    c, w = CT_PRESETS[name]
    out, desc = to_uint8(np.array([c - w / 2, c, c + w / 2]), modality="CT", preset=name)
    assert out[0] == 0 and out[2] == 255 and abs(int(out[1]) - 128) <= 1
    assert desc == f"preset:{name}:{c:g}/{w:g}"


def test_usual_preset_values() -> None:
    assert CT_PRESETS["soft_tissue"] == (40, 400)
    assert CT_PRESETS["lung"] == (-600, 1500)
    assert CT_PRESETS["bone"] == (400, 1800)
    assert CT_PRESETS["brain"] == (40, 80)


def test_explicit_window_wins_and_is_monotonic() -> None:
    x = np.linspace(-2000, 2000, 101)
    out, desc = to_uint8(x, modality="CT", window=(-600.0, 1500.0), preset="bone")
    assert desc == "window:-600/1500"
    assert np.all(np.diff(out.astype(int)) >= 0)
    assert out[0] == 0 and out[-1] == 255
    assert np.array_equal(apply_window(x, -600, 1500), out)


def test_mr_percentiles_ignore_background() -> None:
    rng = np.random.default_rng(0)
    vol = np.zeros((4, 50, 50))
    vol[:, 10:40, 10:40] = rng.normal(500, 50, (4, 30, 30))
    vol[0, 20, 20] = 1e6  # one hot voxel must not flatten the rest
    out, desc = to_uint8(vol, modality="MR")
    assert desc == "percentile:0.5-99.5" and out.shape == vol.shape
    assert out[0, 0, 0] == 0 and out[0, 20, 20] == 255
    inside = out[:, 10:40, 10:40]
    assert 100 < inside.mean() < 160 and inside.std() > 20
    assert to_uint8(np.zeros((3, 3)), modality="MR")[0].max() == 0


def test_identity_and_minmax() -> None:
    u8 = np.array([[3, 200]], np.uint8)
    out, desc = to_uint8(u8, modality="CR")
    assert desc == "identity" and np.array_equal(out, u8)
    u16 = np.array([[100, 1100, 2100]], np.uint16)
    out, desc = to_uint8(u16, modality="DX")
    assert desc == "minmax" and out.tolist() == [[0, 128, 255]]
    flat, _ = to_uint8(np.full((2, 2), 7, np.int16), modality=None)
    assert flat.max() == 0


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        to_uint8(np.zeros(3), modality="CT", preset="kidney")


def test_an_8bit_mr_raster_is_not_stretched_again() -> None:
    """An 8-bit MR PNG/JPEG is already rendered: the percentile stretch is for raw MR intensities only."""
    rng = np.random.default_rng(1)
    u8 = rng.integers(1, 256, (40, 40)).astype(np.uint8)
    out, desc = to_uint8(u8, modality="MR")
    assert desc == "identity" and np.array_equal(out, u8)
    raw, raw_desc = to_uint8(u8.astype(np.uint16) * 10, modality="MR")
    assert raw_desc == "percentile:0.5-99.5" and raw.max() == 255
