"""Headless rendering of edit documents.

:class:`Renderer` owns a generator on one device. For a snapshot it takes the features of the
first edited layer for the snapshot's z from a small cache (computed once per seed), applies
the strokes layer by layer, runs the rest of the generator, and returns a
:class:`RenderResult` holding a uint8 HxWx3 image and the milliseconds taken. ``render``
never raises: a failure comes back as ``RenderResult.error`` (STYLE.md, "errors are results").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganpaint.engine.document import DocumentSnapshot, Stroke
from ganpaint.engine.intervention import UnitEdit, apply_edit, resample_mask
from ganpaint.engine.levels import UnitLevels
from ganpaint.engine.seeds import z_from_seed
from ganpaint.models.progan import ProGANGenerator


def pick_device(preferred: str | None = None) -> torch.device:
    """``preferred`` if given, else CUDA, then Apple MPS, then CPU."""
    if preferred:
        dev = torch.device(preferred)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was asked for but no CUDA device is available")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("MPS was asked for but is not available")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3), clamped and rounded."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


@dataclass(frozen=True)
class RenderResult:
    revision: int
    seed: int
    image: np.ndarray | None  # uint8 (H, W, 3)
    ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _LRU(OrderedDict):
    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity

    def get_or(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        while len(self) > self.capacity:
            self.popitem(last=False)
        return value


class Renderer:
    """Renders snapshots of an :class:`EditDocument` with ``generator`` on ``device``."""

    def __init__(
        self,
        generator: ProGANGenerator,
        device: str | torch.device | None = None,
        dissection: dict | None = None,
        cache_size: int = 16,
    ):
        self.device = pick_device(str(device) if device is not None else None)
        self.generator = generator.to(self.device).eval().requires_grad_(False)
        self.dissection = dissection
        self._features = _LRU(cache_size)  # (seed, layer) -> (1, C, h, w)
        self._masks = _LRU(512)  # (stroke, layer) -> (h, w) mask
        self._levels: dict[str, UnitLevels] = {}
        self._order = {n: i for i, n in enumerate(generator.block_names())}

    # -- pieces ----------------------------------------------------------------------------

    def z(self, seed: int) -> torch.Tensor:
        return z_from_seed(seed, self.generator.z_dim)[None].to(self.device)

    def features(self, seed: int, layer: str) -> torch.Tensor:
        """Unedited output of ``layer`` for ``seed`` (1, C, h, w), cached; do not modify."""
        if layer not in self._order:
            raise KeyError(f"the generator has no layer {layer!r}")

        def make() -> torch.Tensor:
            with torch.inference_mode():
                return self.generator.run(self.z(seed), until=layer)

        return self._features.get_or((int(seed), layer), make)

    def levels(self, layer: str) -> UnitLevels:
        """Per-unit insert levels of ``layer``: from the dissection, else estimated once."""
        if layer not in self._levels:
            lv = UnitLevels.from_dissection(self.dissection or {}, layer)
            if lv is None:
                lv = UnitLevels.estimate(self.generator, layer, device=self.device)
            self._levels[layer] = lv
        return self._levels[layer]

    def unit_edit(self, stroke: Stroke) -> UnitEdit:
        layer = stroke.layer
        if layer not in self.generator.layer_names:
            raise ValueError(f"stroke layer {layer!r} is not a layer of this generator")
        channels = self.generator.layer_channels(layer)
        bad = [u for u in stroke.units if u >= channels]
        if bad:
            raise ValueError(f"stroke units {bad[:5]} exceed the {channels} units of {layer}")
        units = torch.tensor(stroke.units, dtype=torch.long)
        if stroke.action == "draw":
            values = self.levels(layer).at(stroke.quantile)[units]
        else:
            values = torch.zeros(len(stroke.units))
        side = self.generator.layer_resolution(layer)
        mask = self._masks.get_or(
            (stroke, layer), lambda: resample_mask(stroke.mask, (side, side)).to(self.device)
        )
        return UnitEdit(units.to(self.device), values.to(self.device), stroke.strength, mask)

    # -- rendering --------------------------------------------------------------------------

    def render_tensor(self, seed: int, strokes: Sequence[Stroke], base_layer: str) -> torch.Tensor:
        """The edited image (1, 3, H, W) in [-1, 1] for ``seed`` with ``strokes`` applied."""
        by_layer: dict[str, list[UnitEdit]] = {}
        for s in strokes:
            if s.units and s.strength > 0:
                by_layer.setdefault(s.layer, []).append(self.unit_edit(s))
        layers = sorted(by_layer, key=self._order.__getitem__) or [base_layer]
        with torch.inference_mode():
            h = self.features(seed, layers[0]).clone()
            previous = layers[0]
            for layer in layers:
                if layer != previous:
                    h = self.generator.run(h, after=previous, until=layer)
                    previous = layer
                for edit in by_layer.get(layer, ()):
                    apply_edit(h, edit)
            return self.generator.run(h, after=previous)

    def render(self, snapshot: DocumentSnapshot) -> RenderResult:
        """Render a snapshot to uint8; errors are returned, never raised."""
        start = time.perf_counter()
        try:
            image = to_uint8(self.render_tensor(snapshot.seed, snapshot.strokes, snapshot.layer))[0]
            return RenderResult(snapshot.revision, snapshot.seed, image, _ms(start))
        except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
            return RenderResult(snapshot.revision, snapshot.seed, None, _ms(start), _describe(exc))

    def render_full(self, seed: int) -> np.ndarray:
        """Unedited image by a plain full forward (no cache), uint8 (H, W, 3)."""
        with torch.inference_mode():
            return to_uint8(self.generator(self.z(seed)))[0]

    def clear_cache(self) -> None:
        self._features.clear()
        self._masks.clear()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text.lower():
        return f"out of memory while rendering: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
