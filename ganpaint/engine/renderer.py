"""Headless rendering of edit documents, on the path the app uses and the bench measures.

:class:`Renderer` owns a working copy of the generator on one device. For a snapshot it takes
the features of the first edited layer for the snapshot's z from a small cache (computed once
per seed), folds each layer's strokes into one affine map ``h' = A h + B`` (``compose.py``;
the committed strokes' map is cached so a live preview stroke costs one fold), runs the rest
of the generator and converts to uint8 on the device. On CUDA the default precision is half
and the tail of the network (affine, remaining layers, uint8 conversion) replays as one
captured CUDA graph per edit layer. ``render`` never raises: a failure comes back as
``RenderResult.error``, so a bad model or an out-of-memory becomes a message, not a crash.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganpaint.core.devices import pick_device
from ganpaint.core.seeds import z_from_seed
from ganpaint.core.threads import render_threads  # noqa: F401 - part of this module's API
from ganpaint.engine.compose import compose_edits, fold_edit, identity_affine
from ganpaint.engine.document import DocumentSnapshot, Stroke
from ganpaint.engine.intervention import UnitEdit, resample_mask
from ganpaint.engine.levels import UnitLevels
from ganpaint.models.dissection import Dissection
from ganpaint.models.progan import ProGANGenerator, fused_for_inference

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def default_precision(device: torch.device) -> str:
    """Half on CUDA (pixel norm runs in float32 inside), float32 elsewhere."""
    return "fp16" if device.type == "cuda" else "fp32"


def images_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3) on the same device."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 numpy (N, H, W, 3), clamped and rounded."""
    return images_to_uint8(images).cpu().numpy()


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
        self.put(key, value)
        return value

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class _TailGraph:
    """A captured CUDA graph for one edit layer: (h, A, B) -> uint8 image, fixed buffers."""

    def __init__(self, net: ProGANGenerator, layer: str, h: torch.Tensor, a: torch.Tensor):
        self.h = torch.zeros_like(h)
        self.a = torch.ones_like(a)
        self.b = torch.zeros_like(a)
        side_stream = torch.cuda.Stream()
        side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side_stream), torch.inference_mode():
            for _ in range(2):  # warm up kernels and the allocator before capture
                self._body(net, layer)
        torch.cuda.current_stream().wait_stream(side_stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.inference_mode():
            self.out = self._body(net, layer)

    def _body(self, net: ProGANGenerator, layer: str) -> torch.Tensor:
        x = torch.addcmul(self.b, self.a, self.h)
        return images_to_uint8(net.run(x, after=layer))

    def run(self, h: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        self.h.copy_(h)
        self.a.copy_(a)
        self.b.copy_(b)
        self.graph.replay()
        return self.out


class Renderer:
    """Renders snapshots of an :class:`EditDocument` with ``generator`` on ``device``.

    ``precision``: ``"fp32"``, ``"fp16"`` or ``"bf16"`` (default: fp16 on CUDA, else fp32).
    ``cuda_graphs``: replay the network tail as a CUDA graph (CUDA only; default on).
    ``channels_last``: memory layout of the features (default: on for the CPU).
    """

    def __init__(
        self,
        generator: ProGANGenerator,
        device: str | torch.device | None = None,
        dissection: Dissection | None = None,
        cache_size: int = 16,
        precision: str | None = None,
        cuda_graphs: bool = True,
        channels_last: bool | None = None,
    ):
        self.device = pick_device(str(device) if device is not None else None)
        self.precision = precision or default_precision(self.device)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}")
        self.dtype = PRECISIONS[self.precision]
        self.generator = generator
        # A private copy: the caller's module stays where it is (the app may fall back to CPU).
        # On the CPU, folding each block's scale and bias into its convolution and the
        # channels_last layout measured 1.3x faster together (``ganpaint bench``); the CUDA
        # path keeps the layout and graph that were measured on the GPU.
        on_cpu = self.device.type == "cpu"
        net = fused_for_inference(generator) if on_cpu else copy.deepcopy(generator)
        net = net.to(self.device, self.dtype).eval().requires_grad_(False)
        if channels_last is None:
            channels_last = on_cpu
        self.channels_last = channels_last
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net = net
        self.dissection = dissection
        self.use_graphs = cuda_graphs and self.device.type == "cuda"
        self._features = _LRU(cache_size)  # (seed, layer) -> (1, C, h, w)
        self._masks = _LRU(512)  # (stroke, layer) -> (h, w) mask
        self._affines = _LRU(16)  # (layer, strokes) -> (A, B)
        self._graphs: dict[str, _TailGraph] = {}
        self._levels: dict[str, UnitLevels] = {}
        self._order = {n: i for i, n in enumerate(generator.block_names())}

    # -- pieces ----------------------------------------------------------------------------

    def z(self, seed: int) -> torch.Tensor:
        return z_from_seed(seed, self.generator.z_dim)[None].to(self.device, self.dtype)

    def features(self, seed: int, layer: str) -> torch.Tensor:
        """Unedited output of ``layer`` for ``seed`` (1, C, h, w), cached; do not modify."""
        if layer not in self._order:
            raise KeyError(f"the generator has no layer {layer!r}")

        def make() -> torch.Tensor:
            with torch.inference_mode():
                h = self.net.run(self.z(seed), until=layer)
                return h.contiguous(memory_format=torch.channels_last) if self.channels_last else h

        return self._features.get_or((int(seed), layer), make)

    def levels(self, layer: str) -> UnitLevels:
        """Per-unit insert levels of ``layer``: from the dissection, else estimated once."""
        if layer not in self._levels:
            lv = UnitLevels.from_dissection(self.dissection, layer)
            if lv is None:
                lv = UnitLevels.estimate(self.net, layer, device=self.device)
            self._levels[layer] = lv
        return self._levels[layer]

    def unit_edit(self, stroke: Stroke) -> UnitEdit:
        """``stroke`` lowered to its layer: unit indices, target values and resampled mask."""
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

    def unit_edit_uncached(self, stroke: Stroke) -> UnitEdit:
        """Like :meth:`unit_edit` with the mask pooled anew (the naive path)."""
        edit = self.unit_edit(stroke)
        side = self.generator.layer_resolution(stroke.layer)
        mask = resample_mask(stroke.mask, (side, side)).to(self.device)
        return UnitEdit(edit.units, edit.values, edit.strength, mask)

    def affine(self, layer: str, strokes: tuple[Stroke, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B) of ``strokes`` (all at ``layer``), reusing the map of all but the last."""
        key = (layer, strokes)
        if key in self._affines:
            self._affines.move_to_end(key)
            return self._affines[key]
        channels = self.generator.layer_channels(layer)
        side = self.generator.layer_resolution(layer)
        prefix = (layer, strokes[:-1])
        if strokes and prefix in self._affines:
            self._affines.move_to_end(prefix)  # the committed strokes' map outlives a drag
            a, b = (t.clone() for t in self._affines[prefix])
            fold_edit(a, b, self.unit_edit(strokes[-1]))
        else:
            edits = [self.unit_edit(s) for s in strokes]
            a, b = compose_edits(edits, channels, side, self.device)
        self._affines.put(key, (a, b))
        return a, b

    # -- rendering --------------------------------------------------------------------------

    def _groups(self, strokes: Sequence[Stroke], base_layer: str) -> list[tuple[str, tuple]]:
        by_layer: dict[str, list[Stroke]] = {}
        for s in strokes:
            if s.units and s.strength > 0:
                by_layer.setdefault(s.layer, []).append(s)
        if not by_layer:
            if base_layer not in self.generator.layer_names:
                raise ValueError(f"layer {base_layer!r} is not a layer of this generator")
            return [(base_layer, ())]
        layers = sorted(by_layer, key=self._order.__getitem__)
        return [(layer, tuple(by_layer[layer])) for layer in layers]

    def render_uint8(self, seed: int, strokes: Sequence[Stroke], base_layer: str) -> torch.Tensor:
        """The edited image as uint8 (H, W, 3) on the device."""
        groups = self._groups(strokes, base_layer)
        with torch.inference_mode():
            first = groups[0][0]
            h = self.features(seed, first)
            if len(groups) == 1:
                a, b = self.affine(first, groups[0][1]) if groups[0][1] else self._identity(first)
                if self.use_graphs:
                    return self._graph(first, h, a).run(h, a, b)[0]
                x = torch.addcmul(b.to(h.dtype), a.to(h.dtype), h)
                return images_to_uint8(self.net.run(x, after=first))[0]
            previous = first
            for layer, layer_strokes in groups:
                if layer != previous:
                    h = self.net.run(h, after=previous, until=layer)
                    previous = layer
                a, b = self.affine(layer, layer_strokes)
                h = torch.addcmul(b.to(h.dtype), a.to(h.dtype), h)
            return images_to_uint8(self.net.run(h, after=previous))[0]

    def render_tensor(self, seed: int, strokes: Sequence[Stroke], base_layer: str) -> torch.Tensor:
        """The edited image (1, 3, H, W) as floats in [0, 255] steps mapped back to [-1, 1]."""
        img = self.render_uint8(seed, strokes, base_layer)
        return img.permute(2, 0, 1)[None].float() / 127.5 - 1.0

    def render(self, snapshot: DocumentSnapshot) -> RenderResult:
        """Render a snapshot to uint8 on the host; errors are returned, never raised."""
        start = time.perf_counter()
        try:
            image = self.render_uint8(snapshot.seed, snapshot.strokes, snapshot.layer)
            image = image.cpu().numpy()
            return RenderResult(snapshot.revision, snapshot.seed, image, _ms(start))
        except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
            return RenderResult(snapshot.revision, snapshot.seed, None, _ms(start), _describe(exc))

    def render_full(self, seed: int) -> np.ndarray:
        """Unedited image by a plain full forward of the working network, uint8 (H, W, 3)."""
        with torch.inference_mode():
            return to_uint8(self.net(self.z(seed)))[0]

    def clear_cache(self) -> None:
        self._features.clear()
        self._masks.clear()
        self._affines.clear()
        self._graphs.clear()

    def _identity(self, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
        key = (layer, ())
        if key not in self._affines:
            side = self.generator.layer_resolution(layer)
            channels = self.generator.layer_channels(layer)
            self._affines.put(key, identity_affine(channels, side, self.device))
        return self._affines[key]

    def _graph(self, layer: str, h: torch.Tensor, a: torch.Tensor) -> _TailGraph:
        if layer not in self._graphs:
            self._graphs[layer] = _TailGraph(self.net, layer, h, a.to(h.dtype))
        return self._graphs[layer]


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text.lower():
        return f"out of memory while rendering: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
