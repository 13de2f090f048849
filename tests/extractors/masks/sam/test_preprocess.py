"""MedSAM preprocessing: CT window / MR percentile to uint8, channels, resize + pad + normalise."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.masks.sam.frame import frame_for
from extractors.masks.sam.preprocess import SAM_PIXEL_MEAN, SAM_PIXEL_STD, medsam_uint8, model_input, to_rgb


def test_ct_window_soft_tissue() -> None:
    hu = np.array([[-1000, -160, 40, 240, 3000]], dtype=np.int16)
    np.testing.assert_array_equal(medsam_uint8(hu, "CT"), [[0, 0, 128, 255, 255]])
    np.testing.assert_array_equal(medsam_uint8(hu, "CT", window=(-600, 1500))[0, :2], [60, 202])


def test_mr_percentile_clip_keeps_background_zero() -> None:
    mr = np.zeros((10, 100), dtype=np.float32)
    mr[:, 10:] = np.linspace(1, 1000, 90)[None, :]
    mr[0, 99] = 1e6  # an outlier beyond the 99.5th percentile
    out = medsam_uint8(mr, "MR")
    assert out.dtype == np.uint8 and out[:, :10].max() == 0
    assert out[0, 99] == 255 and out[1, 98] >= 250 and out[1, 10] == 0
    assert 100 < out[1, 55] < 160  # mid-range stays mid-range once the outlier is clipped


def test_uint8_passes_through() -> None:
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert medsam_uint8(img, "CT") is img


def test_to_rgb() -> None:
    g = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert to_rgb(g).shape == (2, 3, 3) and (to_rgb(g)[..., 2] == g).all()
    assert to_rgb(np.zeros((2, 3, 4), np.uint8)).shape == (2, 3, 3)
    with pytest.raises(ValueError):
        to_rgb(np.zeros((2, 3), np.uint16))


def test_model_input_minmax_and_padding() -> None:
    img = to_rgb((np.arange(300 * 400) % 251).astype(np.uint8).reshape(300, 400))
    f = frame_for(300, 400, 256)
    x = model_input(img, f, "minmax")
    assert x.shape == (3, 256, 256) and x.dtype == np.float32
    assert x[:, :192].min() == 0.0 and x[:, :192].max() == 1.0
    assert (x[:, 192:] == 0).all()


def test_model_input_sam_pixel_normalisation() -> None:
    img = np.full((64, 32, 3), 200, np.uint8)
    x = model_input(img, frame_for(64, 32, 128), "sam_pixel")
    np.testing.assert_allclose(x[:, 0, 0], (200 - SAM_PIXEL_MEAN) / SAM_PIXEL_STD, rtol=1e-6)
    assert (x[:, :, 64:] == 0).all()


@pytest.mark.sam
def test_device_inputs_equal_numpy_inputs() -> None:
    torch = pytest.importorskip("torch")
    from extractors.masks.sam.frame import frame_for
    from extractors.masks.sam.preprocess import model_input, model_inputs_on_device, to_rgb

    rng = np.random.default_rng(3)
    images = [to_rgb((rng.random(shape) * 255).astype(np.uint8)) for shape in ((90, 60), (64, 64), (40, 100))]
    frames = [frame_for(*img.shape[:2], 64) for img in images]
    for norm in ("minmax", "sam_pixel"):
        ref = np.stack([model_input(img, f, norm) for img, f in zip(images, frames, strict=True)])
        got = model_inputs_on_device(images, frames, norm, "cpu").numpy()
        np.testing.assert_allclose(got, ref, atol=1e-5)
    assert torch.is_tensor(model_inputs_on_device(images[:1], frames[:1], "minmax", "cpu"))


def test_medsam_uint8_keeps_8bit_ct() -> None:
    """8-bit pixels marked CT are already windowed: returned as they are, not windowed again."""
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(medsam_uint8(ramp, "CT"), ramp)
