"""Brush-speed rendering: recompute only the window of each layer that an edit changes.

Every block of the generator after the edit layer is local: pixel norm and leaky ReLU work
per pixel, a 3x3 convolution reaches one cell each way, nearest upsampling doubles the grid
and toRGB is 1x1. So when a new document revision changes a few cells of the edited
features, only a bounded window of each later layer changes. :class:`IncrementalTail` keeps
the current frame's activations and, for the next frame, carries the changed window through
the later blocks (grown by each convolution's reach, doubled at each upsampling, clipped at
the borders), recomputes each block only on that window plus its halo, writes it back and
returns the frame with the changed rectangle.

Exactness: a block's window is computed from a crop of its input that holds every neighbour
the full convolution reads; where the crop meets the image border it is zero-padded exactly
as the full convolution pads (after pixel norm and upsampling), and the crop convolution
runs with ``padding=0``. The numbers are the full render's up to the summation order a
convolution kernel picks for a smaller input (float64: equal; float32: within a level).

What is stored: the edited output of each edited layer (and its unedited output for edited
layers after the first, to find where their edit changed), the output of every later block
whose successor needs neighbours, and the uint8 frame. The last layer before toRGB (1x1, no
halo) is not stored: toRGB takes its window straight from the recomputed crop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganpaint.models.progan import ProGANGenerator, block_flops

# (y0, y1, x0, x1), half-open, in one layer's grid.
Window = tuple[int, int, int, int]
Affine = tuple[torch.Tensor, torch.Tensor]


def changed_window(old: torch.Tensor, new: torch.Tensor) -> Window | None:
    """Bounding box of the cells (any channel) where ``new`` differs from ``old`` (1, C, h, w)."""
    cells = (old != new).any(dim=1)[0]
    rows = cells.any(dim=1).nonzero()
    if rows.numel() == 0:
        return None
    cols = cells.any(dim=0).nonzero()
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def union(a: Window | None, b: Window | None) -> Window | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def window_area(w: Window) -> int:
    return (w[1] - w[0]) * (w[3] - w[2])


@dataclass(frozen=True)
class BlockGeometry:
    name: str
    upsample: bool
    reach: int  # cells a convolution reads on each side (1 for 3x3, 0 for 1x1)
    side: int  # output side
    flops: float  # of the whole block

    def grow(self, w: Window) -> Window:
        """The output window that an input change inside ``w`` can reach."""
        y0, y1, x0, x1 = (2 * v for v in w) if self.upsample else w
        r, s = self.reach, self.side
        return max(0, y0 - r), min(s, y1 + r), max(0, x0 - r), min(s, x1 + r)

    @property
    def needs_context(self) -> bool:
        """Whether the block reads input cells outside its output window."""
        return self.upsample or self.reach > 0


def tail_geometry(gen: ProGANGenerator, net: torch.nn.Module, first: str) -> list[BlockGeometry]:
    """The blocks strictly after ``first``, in order, as the window arithmetic sees them."""
    names = gen.block_names()
    flops = block_flops(gen.widths, gen.z_dim)
    out = []
    for name in names[names.index(first) + 1 :]:
        block = getattr(net, name)
        reach = int(block.conv.padding[0])
        side = gen.layer_resolution(name)
        out.append(BlockGeometry(name, bool(block.upsample), reach, side, flops[name]))
    return out


def run_window(block: torch.nn.Module, geo: BlockGeometry, x: torch.Tensor, w: Window):
    """``block``'s output on window ``w`` from its full input ``x``, with exact borders."""
    y0, y1, x0, x1 = w
    r, s = geo.reach, geo.side
    ny0, ny1, nx0, nx1 = max(0, y0 - r), min(s, y1 + r), max(0, x0 - r), min(s, x1 + r)
    pad = (nx0 - (x0 - r), (x1 + r) - nx1, ny0 - (y0 - r), (y1 + r) - ny1)
    if geo.upsample:
        sy0, sx0 = ny0 // 2, nx0 // 2
        crop = block.norm(x[:, :, sy0 : (ny1 + 1) // 2, sx0 : (nx1 + 1) // 2])
        crop = F.interpolate(crop, scale_factor=2, mode="nearest")
        crop = crop[:, :, ny0 - 2 * sy0 : ny1 - 2 * sy0, nx0 - 2 * sx0 : nx1 - 2 * sx0]
    else:
        crop = block.norm(x[:, :, ny0:ny1, nx0:nx1])
    if any(pad):
        crop = F.pad(crop, pad)
    y = block.wscale(F.conv2d(crop, block.conv.weight, block.conv.bias))
    if block.activation:
        y = F.leaky_relu(y, 0.2, inplace=True)
    if block.offset is not None:  # a picture's residual (engine.picture)
        y = y + block.offset[:, :, y0:y1, x0:x1].to(y.dtype)
    return y


def images_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3) on the same device."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous()


@dataclass
class TailUpdate:
    image: torch.Tensor  # uint8 (H, W, 3): the tail's frame, updated in place; copy to keep
    window: Window | None  # the image rectangle that changed (None: nothing changed)
    work: float  # FLOP fraction of the tail recomputed (1.0 for a full run)


class IncrementalTail:
    """The activations of one frame after the edit layer ``first``, updated window by window.

    ``edits`` maps each edited layer (``first`` and any later one) to its folded (A, B).
    """

    def __init__(self, gen: ProGANGenerator, net: torch.nn.Module, first: str, key: object):
        self.net, self.first, self.key = net, first, key
        self.blocks = tail_geometry(gen, net, first)
        self._total = sum(b.flops for b in self.blocks)
        self.out: dict[str, torch.Tensor] = {}  # edited output of ``first`` and later blocks
        self.raw: dict[str, torch.Tensor] = {}  # unedited output of later edited layers
        self.image: torch.Tensor | None = None

    # -- the full run ---------------------------------------------------------------------

    def reset(self, h: torch.Tensor, edits: dict[str, Affine]) -> TailUpdate:
        """A full run from the edit layer's unedited features ``h``, keeping what the next
        update needs."""
        self.out.clear()
        self.raw.clear()
        x = _edited(h, edits[self.first])
        self.out[self.first] = x
        previous = self.first
        for i, geo in enumerate(self.blocks):
            x = self.net.run(x, after=previous, until=geo.name)
            previous = geo.name
            if geo.name in edits:
                self.raw[geo.name] = x
                x = _edited(x, edits[geo.name])
            if self._stored(i):
                self.out[geo.name] = x
        self.image = images_to_uint8(x)[0]
        side = self.blocks[-1].side
        return TailUpdate(self.image, (0, side, 0, side), 1.0)

    def _stored(self, i: int) -> bool:
        nxt = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
        return nxt is not None and (nxt.needs_context or self.blocks[i].name in self.raw)

    # -- the incremental run --------------------------------------------------------------

    def plan(self, window: Window | None) -> list[Window | None]:
        """The window each later block recomputes for a change of ``window`` at ``first``
        (later edited layers may add to it)."""
        plan: list[Window | None] = []
        for geo in self.blocks:
            window = None if window is None else geo.grow(window)
            plan.append(window)
        return plan

    def work(self, plan: Sequence[Window | None]) -> float:
        """FLOP fraction of the tail that ``plan`` recomputes, halos included."""
        done = sum(
            geo.flops * _input_area(geo, w) / geo.side**2
            for geo, w in zip(self.blocks, plan, strict=True)
            if w is not None
        )
        return done / self._total if self._total else 0.0

    def first_change(self, h: torch.Tensor, edits: dict[str, Affine]):
        """(new edited features of ``first``, the window where they differ from the frame's)."""
        x = _edited(h, edits[self.first])
        return x, changed_window(self.out[self.first], x)

    def update(
        self, x: torch.Tensor, window: Window | None, edits: dict[str, Affine]
    ) -> TailUpdate:
        """Bring the frame to the edited features ``x`` of ``first`` that differ from the
        frame's inside ``window`` (from :meth:`first_change`)."""
        self.out[self.first] = x
        plan = self.plan(window)
        work = self.work(plan)
        crop = None
        for i, geo in enumerate(self.blocks):
            window = None if window is None else geo.grow(window)
            if window is not None:
                block = getattr(self.net, geo.name)
                if geo.needs_context or crop is None:
                    source = self.out[self.blocks[i - 1].name if i else self.first]
                    crop = run_window(block, geo, source, window)
                else:  # toRGB: the previous crop is exactly its input
                    crop = block(crop)
            if geo.name in edits:
                window, crop = self._edit_layer(geo.name, window, crop, edits[geo.name])
            if window is not None and geo.name in self.out:
                _write(self.out[geo.name], window, crop)
                crop = None  # the next block reads the stored layer
        if window is not None:
            y0, y1, x0, x1 = window
            self.image[y0:y1, x0:x1] = images_to_uint8(crop)[0]
        return TailUpdate(self.image, window, work)

    def _edit_layer(self, name: str, window, crop, edit: Affine):
        """A later edited layer: new unedited window written back, the edit applied anew
        everywhere, the window grown to wherever the edited output changed."""
        raw = self.raw[name]
        if window is not None:
            _write(raw, window, crop)
        edited = _edited(raw, edit)
        window = union(window, changed_window(self.out[name], edited))
        self.out[name] = edited
        if window is None:
            return None, None
        y0, y1, x0, x1 = window
        return window, edited[:, :, y0:y1, x0:x1]


def _edited(h: torch.Tensor, edit: Affine) -> torch.Tensor:
    a, b = edit
    return torch.addcmul(b.to(h.dtype), a.to(h.dtype), h)


def _write(target: torch.Tensor, w: Window, crop: torch.Tensor) -> None:
    target[:, :, w[0] : w[1], w[2] : w[3]] = crop


def _input_area(geo: BlockGeometry, w: Window) -> int:
    r, s = geo.reach, geo.side
    return (min(s, w[1] + r) - max(0, w[0] - r)) * (min(s, w[3] + r) - max(0, w[2] - r))
