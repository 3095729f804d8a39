"""Headless rendering of edit documents, on the path the app uses and the bench measures.

:class:`Renderer` owns a working copy of the generator on one device. For a snapshot it takes
the features of the first edited layer for the snapshot's z from a small cache (computed once
per seed), folds each layer's strokes into one affine map ``h' = A h + B`` (``compose.py``;
a :class:`~ganpaint.engine.compose.FoldChain` per layer folds on from the last prefix the
previous stroke list shares, so a preview, undo or recent toggle costs a few folds), runs
the rest of the generator and converts to uint8 on the device. On the CPU the rest runs
incrementally (``incremental.py``): only the window a change reaches is recomputed, and the
result names the rectangle that changed. On CUDA the default precision is half and the tail
of the network (affine, remaining layers, uint8 conversion) replays as one captured CUDA
graph per edit layer. A snapshot with a picture (``engine/picture.py``) is drawn by the
picture's copy of the network (``engine/picture_net.py``, swapped in as ``set_zeroed`` swaps
one) on every path, then composited: the picture outside the strokes' soft mask. ``render``
never raises: a failure comes back as
``RenderResult.error``, so a bad model or an out-of-memory becomes a message, not a crash.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganpaint.core.devices import pick_device
from ganpaint.core.seeds import z_from_seed
from ganpaint.engine.compose import FoldChain, identity_affine
from ganpaint.engine.document import DocumentSnapshot, Stroke
from ganpaint.engine.incremental import IncrementalTail, TailUpdate, images_to_uint8
from ganpaint.engine.intervention import UnitEdit, resample_mask
from ganpaint.engine.levels import UnitLevels
from ganpaint.engine.picture import PictureBase
from ganpaint.engine.picture_net import composite, picture_generator, picture_z
from ganpaint.models.dissection import Dissection
from ganpaint.models.progan import ProGANGenerator, fused_for_inference, without_units

# fp64 serves exactness checks (the incremental path against the full one), not the app.
PRECISIONS = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "fp64": torch.float64,
}
# Above this fraction of the tail's FLOP (halos included) a frame is rendered in full. Chosen
# from the crossover ``ganpaint bench --json`` measures (``incremental.crossover``: k x k cell
# changes timed against a full frame in the same run) on the 2-core CPU, fp32, one thread:
# scenes128 at layer6 0.98, random ProGAN-256 widths at layer4 0.94; rounded down so a frame
# near the crossover takes the full path, which also resets any float drift.
FULL_ABOVE = 0.9


def default_precision(device: torch.device) -> str:
    """Half on CUDA (pixel norm runs in float32 inside), float32 elsewhere."""
    return "fp16" if device.type == "cuda" else "fp32"


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 numpy (N, H, W, 3), clamped and rounded."""
    return images_to_uint8(images).cpu().numpy()


@dataclass(frozen=True)
class RenderResult:
    """One frame. ``since`` is the revision of the renderer's previous frame when only the
    image rectangle ``dirty`` (x, y, width, height) differs from it; ``None`` for a full
    frame. ``work`` is the fraction of the network tail's FLOP that the frame recomputed."""

    revision: int
    seed: int
    image: np.ndarray | None  # uint8 (H, W, 3)
    ms: float
    error: str | None = None
    dirty: tuple[int, int, int, int] | None = None
    since: int | None = None
    work: float = 1.0

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
    ``incremental``: keep the frame's activations and recompute only what a new revision
    changes (``incremental.py``; default: on for the CPU, where it was measured faster; the
    CUDA path keeps its captured graphs, unmeasured against it). ``full_above``: the work
    fraction above which a frame is rendered in full instead (default :data:`FULL_ABOVE`).
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
        incremental: bool | None = None,
        full_above: float = FULL_ABOVE,
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
        self._model = net  # the model's network (no picture, no unit zeroed)
        self._original = net  # ``net`` with no unit zeroed (set_zeroed swaps ``net``)
        self.picture: PictureBase | None = None  # the picture ``_original`` draws, if any
        self.zeroed: tuple[tuple[str, tuple[int, ...]], ...] = ()
        self.dissection = dissection
        self.use_graphs = cuda_graphs and self.device.type == "cuda"
        self._features = _LRU(cache_size)  # (seed, layer) -> (1, C, h, w)
        self._masks = _LRU(512)  # (stroke, layer) -> (h, w) mask
        self._chains: dict[str, FoldChain] = {}  # layer -> its strokes' folded map
        self._identities: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.incremental = on_cpu if incremental is None else bool(incremental)
        self.full_above = float(full_above)
        self._tail: IncrementalTail | None = None
        self._tail_revision: int | None = None
        self._graphs: dict[str, _TailGraph] = {}
        self._levels: dict[str, UnitLevels] = {}
        self._order = {n: i for i, n in enumerate(generator.block_names())}

    # -- pieces ----------------------------------------------------------------------------

    def z(self, seed: int) -> torch.Tensor:
        if self.picture is not None:  # a picture document: its own latent, whatever the seed
            return picture_z(self.picture).to(self.device, self.dtype)
        return z_from_seed(seed, self.generator.z_dim)[None].to(self.device, self.dtype)

    def features(self, seed: int, layer: str, original: bool = False) -> torch.Tensor:
        """Unedited output of ``layer`` for ``seed`` (1, C, h, w), cached; do not modify.
        ``original``: of the network with no unit zeroed (not cached: the inspector asks
        for it once per unit, to show where a zeroed unit would fire)."""
        if layer not in self._order:
            raise KeyError(f"the generator has no layer {layer!r}")
        if original and self.net is not self._original:
            with torch.inference_mode():
                return self._original.run(self.z(seed), until=layer)

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
        """(A, B) of ``strokes`` (all at ``layer``), folded on from the layer's previous list
        (:class:`~ganpaint.engine.compose.FoldChain`); shared tensors, do not modify."""
        if layer not in self._chains:
            channels = self.generator.layer_channels(layer)
            side = self.generator.layer_resolution(layer)
            self._chains[layer] = FoldChain(self.unit_edit, channels, side, self.device)
        return self._chains[layer].get(tuple(strokes))

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

    def render_frame(self, seed: int, strokes: Sequence[Stroke], base_layer: str) -> TailUpdate:
        """The edited image by the incremental path: only the window the change reaches is
        recomputed, unless the seed or the edited layers changed or the window's work is
        above ``full_above`` (then a full run, which the next frame builds on)."""
        groups = self._groups(strokes, base_layer)
        with torch.inference_mode():
            edits = {
                layer: self.affine(layer, group) if group else self._identity(layer)
                for layer, group in groups
            }
            first = groups[0][0]
            h = self.features(seed, first)
            key = (int(seed), tuple(edits))
            tail = self._tail
            if tail is None or tail.key != key:
                self._tail = None  # a failed run leaves no half-updated frame behind
                tail = IncrementalTail(self.generator, self.net, first, key)
                update = tail.reset(h, edits)
                self._tail = tail
                return update
            self._tail = None
            x, window = tail.first_change(h, edits)
            if tail.work(tail.plan(window)) > self.full_above:
                update = tail.reset(h, edits)
            else:
                update = tail.update(x, window, edits)
            self._tail = tail
            return update

    def render(
        self, snapshot: DocumentSnapshot, incremental: bool | None = None, raw: bool = False
    ) -> RenderResult:
        """Render a snapshot to uint8 on the host; errors are returned, never raised.

        ``incremental=False`` renders in full and leaves the incremental frame alone (for
        one-off frames such as the unedited compare image). A picture snapshot is composited
        with its picture (a full frame, no ``dirty``); ``raw``: the picture's generator
        output without the composite (the reconstruction, edited by the strokes)."""
        start = time.perf_counter()
        seed, revision = snapshot.seed, snapshot.revision
        picture = getattr(snapshot, "picture", None)
        try:
            self.set_picture(picture)
            if picture is not None:
                image = self._render_picture(snapshot, incremental, raw)
                return RenderResult(revision, seed, image, _ms(start))
            if not (self.incremental and incremental is not False):
                image = self.render_uint8(seed, snapshot.strokes, snapshot.layer).cpu().numpy()
                return RenderResult(revision, seed, image, _ms(start))
            since = self._tail_revision if self._tail is not None else None
            self._tail_revision = None
            update = self.render_frame(seed, snapshot.strokes, snapshot.layer)
            self._tail_revision = revision
            image = update.image.cpu().numpy().copy()  # the tail updates its frame in place
            if update.work >= 1.0 or since is None:  # a full frame
                return RenderResult(revision, seed, image, _ms(start), work=update.work)
            dirty = (0, 0, 0, 0) if update.window is None else _rect(update.window)
            return RenderResult(revision, seed, image, _ms(start), None, dirty, since, update.work)
        except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
            return RenderResult(revision, seed, None, _ms(start), _describe(exc))

    def _render_picture(
        self, snapshot: DocumentSnapshot, incremental: bool | None, raw: bool
    ) -> np.ndarray:
        """A picture snapshot's frame: the generator (incrementally where allowed), then the
        composite unless ``raw``. Always a full frame: a stroke's soft mask can change pixels
        that the generator's window did not."""
        if self.incremental and incremental is not False:
            self._tail_revision = None
            update = self.render_frame(snapshot.seed, snapshot.strokes, snapshot.layer)
            self._tail_revision = snapshot.revision
            image = update.image.cpu().numpy().copy()
        else:
            image = self.render_uint8(snapshot.seed, snapshot.strokes, snapshot.layer)
            image = image.cpu().numpy()
        if raw:
            return image
        picture = snapshot.picture
        return composite(picture.pixels, image, snapshot.strokes, picture.feather)

    def set_picture(self, picture: PictureBase | None) -> None:
        """Draw ``picture`` (None: the model's scenes) from now on: the picture's copy of the
        network replaces the working one on every path (zeroed units stay zeroed); the caches
        restart. ValueError when the picture does not fit this generator."""
        if picture is self.picture:
            return
        if picture is not None and picture.resolution != self.generator.resolution:
            raise ValueError(
                f"the picture is {picture.resolution} px, the model draws "
                f"{self.generator.resolution} px"
            )
        base = self._model if picture is None else picture_generator(self._model, picture)
        self._original = base
        self.picture = picture
        zeroed, self.zeroed = self.zeroed, ()
        self.net = base
        self.clear_cache()
        self.set_zeroed(dict(zeroed))

    def state_bytes(self) -> int:
        """Memory held by the incremental frame's activations and image (0 when none)."""
        tail = self._tail
        if tail is None:
            return 0
        tensors = [*tail.out.values(), *tail.raw.values(), tail.image]
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)

    def render_full(self, seed: int, original: bool = False) -> np.ndarray:
        """Unedited image by a plain full forward of the working network, uint8 (H, W, 3);
        ``original``: of the network with no unit zeroed (the compare image). With a picture
        set: its reconstruction (the compare image of a picture is the picture itself)."""
        with torch.inference_mode():
            return to_uint8((self._original if original else self.net)(self.z(seed)))[0]

    def set_zeroed(self, units: Mapping[str, Iterable[int]] | None) -> None:
        """Zero these units (layer -> unit indices) in every render from now on; None or
        empty: none. The zeroing is in the weights (``models.progan.zero_units_``), so
        full, incremental and CUDA-graph frames cost what they did; the caches restart."""
        key = tuple(
            sorted((k, tuple(sorted({int(u) for u in v}))) for k, v in (units or {}).items())
        )
        key = tuple(p for p in key if p[1])
        if key == self.zeroed:
            return
        self.net = without_units(self._original, dict(key)) if key else self._original
        self.zeroed = key
        self.clear_cache()

    def clear_cache(self) -> None:
        self._features.clear()
        self._masks.clear()
        self._chains.clear()
        self._identities.clear()
        self._graphs.clear()
        self._tail = None

    def _identity(self, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
        if layer not in self._identities:
            side = self.generator.layer_resolution(layer)
            channels = self.generator.layer_channels(layer)
            self._identities[layer] = identity_affine(channels, side, self.device)
        return self._identities[layer]

    def _graph(self, layer: str, h: torch.Tensor, a: torch.Tensor) -> _TailGraph:
        if layer not in self._graphs:
            self._graphs[layer] = _TailGraph(self.net, layer, h, a.to(h.dtype))
        return self._graphs[layer]


def _rect(w: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A window (y0, y1, x0, x1) as an image rectangle (x, y, width, height)."""
    return w[2], w[0], w[3] - w[2], w[1] - w[0]


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text.lower():
        return f"out of memory while rendering: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
