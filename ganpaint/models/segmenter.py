"""The scene segmenter: a small U-Net that labels every pixel of an image with one of the
scene world's concepts (``ganpaint.scenes.CONCEPTS``).

Dissection runs it on 10,000+ generated images on a laptop CPU, so it is built for speed:
one cheap full-resolution stage, most work at 1/4 and below, a light additive (FPN-like)
decoder, batch norm + ReLU (folded by the CPU kernels). Images go in as (N, 3, H, W) in
[-1, 1], logits come out as (N, K, H, W); H and W need not be multiples of 16 (inputs are
padded). :meth:`Segmenter.features` gives a pooled feature vector per image, used for a
Fréchet distance between image sets.

Weights are stored as safetensors with the architecture in the file's metadata
(:func:`save_segmenter` / :func:`load_segmenter`); a bad file raises
:class:`~ganpaint.core.errors.CheckpointError` before anything in it is trusted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.core.errors import CheckpointError
from ganpaint.models.checkpoint import check_safetensors_header, load_checked_state

SEGMENTER_FORMAT = "ganpaint-segmenter"
SEGMENTER_VERSION = 1
DEFAULT_ENCODER = (16, 32, 64, 128, 256)
DEFAULT_DECODER = (16, 32, 64, 96)
MAX_WIDTH = 2048
# The shipped segmenter has ~1.4 M weights; refuse configs that would allocate absurd models.
MAX_PARAMETERS = 50_000_000


def _conv_bn(in_ch: int, out_ch: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class Segmenter(nn.Module):
    """Small U-Net: (N, 3, H, W) in [-1, 1] -> logits (N, num_classes, H, W).

    ``encoder[i]`` is the width at 1/2**i of the input size (``encoder[0]`` at full size);
    ``decoder[i]`` the decoder width at that scale for i < len(decoder).
    """

    def __init__(
        self,
        num_classes: int = 11,
        encoder: Sequence[int] = DEFAULT_ENCODER,
        decoder: Sequence[int] = DEFAULT_DECODER,
        concepts: Sequence[str] | None = None,
    ):
        super().__init__()
        encoder = [int(c) for c in encoder]
        decoder = [int(c) for c in decoder]
        if not 2 <= len(encoder) <= 7 or len(decoder) != len(encoder) - 1:
            raise ValueError("segmenter needs 2..7 encoder widths and one decoder width fewer")
        if min(encoder + decoder) < 1 or not 1 <= int(num_classes) <= 1000:
            raise ValueError("segmenter widths and class count must be positive")
        self.num_classes = int(num_classes)
        self.encoder_widths = tuple(encoder)
        self.decoder_widths = tuple(decoder)
        self.concepts = tuple(str(c) for c in concepts) if concepts is not None else None
        self.stem = _conv_bn(3, encoder[0])
        self.down = nn.ModuleList()
        for i in range(1, len(encoder)):
            self.down.append(
                nn.Sequential(
                    _conv_bn(encoder[i - 1], encoder[i], stride=2),
                    _conv_bn(encoder[i], encoder[i]),
                )
            )
        # Decoder: at scale i, upsample the coarser decoder map, add a 1x1 projection of the
        # encoder's skip, then one 3x3 conv.
        top = len(encoder) - 1
        self.top = _conv_bn(encoder[top], decoder[top - 1], kernel=1)
        self.lateral = nn.ModuleList()
        self.fuse = nn.ModuleList()
        self.reduce = nn.ModuleList()
        for i in range(top - 1, -1, -1):
            coarser = decoder[i + 1] if i + 1 < len(decoder) else decoder[top - 1]
            self.reduce.append(
                nn.Identity() if coarser == decoder[i] else nn.Conv2d(coarser, decoder[i], 1)
            )
            self.lateral.append(nn.Conv2d(encoder[i], decoder[i], 1, bias=False))
            self.fuse.append(_conv_bn(decoder[i], decoder[i]))
        self.head = nn.Conv2d(decoder[0], self.num_classes, 1)

    @property
    def stride(self) -> int:
        return 2 ** (len(self.encoder_widths) - 1)

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture (stored in the weights file)."""
        cfg: dict[str, Any] = {
            "architecture": "unet-small",
            "num_classes": self.num_classes,
            "encoder": list(self.encoder_widths),
            "decoder": list(self.decoder_widths),
        }
        if self.concepts is not None:
            cfg["concepts"] = list(self.concepts)
        return cfg

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        h, w = x.shape[-2:]
        s = self.stride
        ph, pw = (-h) % s, (-w) % s
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return x, h, w

    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.stem(x)]
        for block in self.down:
            feats.append(block(feats[-1]))
        return feats

    def _decode(self, feats: list[torch.Tensor], h: int, w: int) -> torch.Tensor:
        y = self.top(feats[-1])
        for j, i in enumerate(range(len(feats) - 2, -1, -1)):
            y = self.reduce[j](y)
            y = F.interpolate(y, size=feats[i].shape[-2:], mode="nearest")
            y = self.fuse[j](y + self.lateral[j](feats[i]))
        logits = self.head(y)
        return logits[..., :h, :w]

    @staticmethod
    def _pooled(feats: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([feats[-1].mean(dim=(2, 3)), feats[-2].mean(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, h, w = self._pad(x)
        return self._decode(self._encode(x), h, w)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image feature vector (N, encoder[-1] + encoder[-2]): globally averaged deep
        encoder activations, for comparing image distributions (Fréchet distance). The
        encoder alone runs: no decoder."""
        x, _, _ = self._pad(x)
        return self._pooled(self._encode(x))

    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward(x)`` and ``features(x)`` from one run of the encoder."""
        x, h, w = self._pad(x)
        feats = self._encode(x)
        return self._decode(feats, h, w), self._pooled(feats)


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def images_to_input(images: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (N, H, W, 3) or float (N, 3, H, W) in [-1, 1] -> float (N, 3, H, W) on ``device``."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if images.dtype == torch.uint8:
        if images.dim() != 4 or images.shape[-1] != 3:
            raise ValueError(f"uint8 images must be (N, H, W, 3), got {tuple(images.shape)}")
        x = images.to(device).permute(0, 3, 1, 2).float()
        return x.mul_(1.0 / 127.5).sub_(1.0)
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"float images must be (N, 3, H, W), got {tuple(images.shape)}")
    return images.to(device=device, dtype=torch.float32)


def _channels_last(model: Segmenter) -> None:
    # Much faster convolutions on CPU (oneDNN) and for half precision on GPUs; the weights'
    # values are unchanged.
    weight = model.stem[0].weight
    if not weight.is_contiguous(memory_format=torch.channels_last):
        model.to(memory_format=torch.channels_last)


@torch.no_grad()
def segment(
    model: Segmenter, images: np.ndarray | torch.Tensor, batch_size: int = 32
) -> torch.Tensor:
    """Label map (N, H, W) int64 for images given as uint8 (N, H, W, 3) or float
    (N, 3, H, W) in [-1, 1]; runs in eval mode on the model's device, in batches."""
    if len(images) == 0:
        return torch.zeros((0, 0, 0), dtype=torch.long)
    with _evaluating(model, images) as device:
        return torch.cat(
            [
                model(_batch(images, i, batch_size, device)).argmax(dim=1)
                for i in range(0, len(images), batch_size)
            ]
        )


@torch.no_grad()
def segment_features(
    model: Segmenter, images: np.ndarray | torch.Tensor, batch_size: int = 32
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (N, H, W) int64 and :meth:`Segmenter.features` (N, D) float32, the encoder run
    once per image for both (:meth:`Segmenter.logits_and_features`)."""
    labels, feats = [], []
    with _evaluating(model, images) as device:
        for i in range(0, len(images), batch_size):
            logits, pooled = model.logits_and_features(_batch(images, i, batch_size, device))
            labels.append(logits.argmax(dim=1))
            feats.append(pooled.float())
    return torch.cat(labels), torch.cat(feats)


@torch.no_grad()
def image_features(
    model: Segmenter, images: np.ndarray | torch.Tensor, batch_size: int = 32
) -> torch.Tensor:
    """:meth:`Segmenter.features` (N, D) float32 alone: the encoder without the decoder,
    for a Fréchet or nearest-neighbour distance that needs no labels."""
    with _evaluating(model, images) as device:
        return torch.cat(
            [
                model.features(_batch(images, i, batch_size, device)).float()
                for i in range(0, len(images), batch_size)
            ]
        )


@contextmanager
def _evaluating(model: Segmenter, images: np.ndarray | torch.Tensor):
    """The model in eval mode and channels-last while the block runs (its mode restored
    after); yields its device. No images is an error, not an empty result."""
    if len(images) == 0:
        raise ValueError("no images to segment")
    was_training = model.training
    model.eval()
    _channels_last(model)
    try:
        yield _model_device(model)
    finally:
        model.train(was_training)


def _batch(images: np.ndarray | torch.Tensor, i: int, size: int, device: torch.device):
    x = images_to_input(images[i : i + size], device)
    return x.contiguous(memory_format=torch.channels_last)


# -- file I/O ----------------------------------------------------------------------------


def save_segmenter(model: Segmenter, path: str | Path, metadata: dict | None = None) -> None:
    """Write the weights (float32) and the architecture config as safetensors."""
    from safetensors.torch import save_file

    state = {
        k: v.detach().to("cpu", torch.float32).contiguous()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    meta = {
        "format": SEGMENTER_FORMAT,
        "version": str(SEGMENTER_VERSION),
        "config": json.dumps(model.config()),
    }
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    save_file(state, str(path), metadata=meta)


def _config_from_metadata(path: Path, meta: Any) -> dict[str, Any]:
    """The segmenter's architecture from the file's metadata, each field checked."""
    cfg = _config_json(path, meta)
    out: dict[str, Any] = {
        "encoder": _widths_field(path, cfg, "encoder"),
        "decoder": _widths_field(path, cfg, "decoder"),
    }
    k = cfg.get("num_classes")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise CheckpointError(f"{path}: segmenter config 'num_classes' is invalid ({k!r})")
    out["num_classes"] = k
    _check_parameter_count(path, out["encoder"], out["decoder"], k)
    concepts = cfg.get("concepts")
    if concepts is not None:
        if not isinstance(concepts, list) or not all(isinstance(c, str) for c in concepts):
            raise CheckpointError(f"{path}: segmenter config 'concepts' must be a list of names")
        if len(concepts) != k:
            raise CheckpointError(f"{path}: {len(concepts)} concept names for {k} classes")
        out["concepts"] = concepts
    return out


def _config_json(path: Path, meta: Any) -> dict[str, Any]:
    """The ``config`` object of a ganpaint segmenter's metadata of a supported version."""
    if not isinstance(meta, dict) or meta.get("format") != SEGMENTER_FORMAT:
        raise CheckpointError(f"{path}: not a ganpaint segmenter (metadata format is missing)")
    version = meta.get("version", "1")
    if not isinstance(version, str) or not version.isdigit():
        raise CheckpointError(f"{path}: segmenter version {version!r} is not a number")
    if int(version) > SEGMENTER_VERSION:
        raise CheckpointError(f"{path}: segmenter version {version} is newer than this program")
    text = meta.get("config")
    if not isinstance(text, str):
        raise CheckpointError(f"{path}: segmenter config is missing from the metadata")
    try:
        cfg = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path}: segmenter config in the metadata is not JSON") from None
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{path}: segmenter config must be an object")
    return cfg


def _widths_field(path: Path, cfg: dict[str, Any], name: str) -> list[int]:
    v = cfg.get(name)
    if not isinstance(v, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= MAX_WIDTH for x in v
    ):
        raise CheckpointError(f"{path}: segmenter config {name!r} must be a list of widths")
    return v


def _check_parameter_count(path: Path, enc: list[int], dec: list[int], k: int) -> None:
    """Refuse a config whose network would be too large to build (estimated from widths)."""
    if 2 <= len(enc) <= 7 and len(dec) == len(enc) - 1:
        weights = 27 * enc[0] + sum(9 * (a + b) * b for a, b in zip(enc, enc[1:], strict=False))
        weights += sum(9 * d * d + (e + 2 * d) * d for e, d in zip(enc, dec, strict=False))
        weights += dec[0] * k
        if weights > MAX_PARAMETERS:
            raise CheckpointError(f"{path}: segmenter config declares ~{weights} weights")


def load_segmenter(path: str | Path) -> Segmenter:
    """Open a segmenter written by :func:`save_segmenter` (eval mode, CPU, float32)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such segmenter file")
    header = check_safetensors_header(path)
    cfg = _config_from_metadata(path, header.get("__metadata__"))
    try:
        model = Segmenter(
            num_classes=cfg["num_classes"],
            encoder=cfg["encoder"],
            decoder=cfg["decoder"],
            concepts=cfg.get("concepts"),
        )
    except ValueError as exc:
        raise CheckpointError(f"{path}: segmenter config is inconsistent ({exc})") from None
    return load_checked_state(path, model, "segmenter")
