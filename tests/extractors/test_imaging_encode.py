"""encode_png is deterministic and lossless; phash finds near duplicates; sha256 is the usual one."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from extractors.imaging.encode import decode_png, encode_png, phash, sha256_hex


@pytest.mark.parametrize("shape,dtype", [((30, 40), np.uint8), ((30, 40), np.uint16), ((30, 40, 3), np.uint8)])
def test_same_array_same_bytes_and_lossless(shape: tuple[int, ...], dtype: type) -> None:
    arr = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    a, b = encode_png(arr), encode_png(arr.copy())
    assert a == b and a.startswith(b"\x89PNG")
    assert b"tIME" not in a and b"tEXt" not in a
    assert np.array_equal(decode_png(a), arr)


def test_rgb_order_is_kept() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 255
    bgr = cv2.imdecode(np.frombuffer(encode_png(rgb), np.uint8), cv2.IMREAD_COLOR)
    assert bgr[0, 0].tolist() == [0, 0, 255]  # red, as OpenCV (BGR) reads it


def test_rejects_floats() -> None:
    with pytest.raises(ValueError):
        encode_png(np.zeros((3, 3), np.float32))


def test_phash_near_duplicates() -> None:
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.integers(0, 256, (128, 128), dtype=np.uint8), (0, 0), 4)
    noisy = np.clip(base.astype(int) + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8)
    other = cv2.GaussianBlur(rng.integers(0, 256, (128, 128), dtype=np.uint8), (0, 0), 4)
    h0, h1, h2 = phash(base), phash(noisy), phash(other)
    assert len(h0) == 16
    dist = lambda a, b: bin(int(a, 16) ^ int(b, 16)).count("1")  # noqa: E731
    assert dist(h0, h1) <= 6 < dist(h0, h2)
    assert phash(np.dstack([base] * 3)) == h0


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
