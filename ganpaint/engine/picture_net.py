"""How a picture document (``engine/picture.py``) is drawn: its generator and the composite.

:func:`picture_generator` builds the picture's network from the model's (a modified copy, as
``Renderer.set_zeroed`` swaps in one), and :func:`composite` keeps the picture outside the
brush's reach: the generated pixels inside the soft stroke mask (:func:`soft_mask`), the
picture's pixels, bit for bit, wherever that mask is 0.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.engine.picture import FEATHER, PictureBase

# -- the picture's generator ----------------------------------------------------------------


def picture_generator(net: torch.nn.Module, picture: PictureBase) -> torch.nn.Module:
    """A copy of ``net`` (a ProGAN generator, fused or not) that draws ``picture``: each
    adapted block's convolution weights times ``1 + d`` and each residual set as its block's
    ``offset``. ``net`` is left as it was; ValueError when the picture does not fit it."""
    out = copy.deepcopy(net)
    names = set(out.block_names())
    param = next(out.parameters())
    with torch.no_grad():
        for name, d in picture.adaptation.items():
            if name not in names:
                raise ValueError(f"the picture adapts {name!r}, not a block of this generator")
            weight = getattr(out, name).conv.weight
            dt = torch.from_numpy(d.astype(np.float32)).to(weight.device)
            if dt.shape == weight.shape[:1]:
                dt = dt.view(-1, 1, 1, 1)
            elif dt.shape != weight.shape:
                raise ValueError(f"the picture's adaptation of {name} has shape {tuple(d.shape)}")
            weight.copy_((weight.float() * (1.0 + dt)).to(weight.dtype))
        for name, r in picture.residuals.items():
            if name not in names:
                raise ValueError(f"the picture has a residual at {name!r}, not a layer here")
            side, width = out.layer_resolution(name), out.layer_channels(name)
            if r.shape != (width, side, side):
                raise ValueError(f"the picture's residual at {name} has shape {tuple(r.shape)}")
            offset = torch.from_numpy(r.astype(np.float32))[None]
            getattr(out, name).offset = offset.to(param.device, param.dtype)
    return out


def picture_z(picture: PictureBase) -> torch.Tensor:
    """The picture's latent as a (1, z_dim) float32 tensor."""
    return torch.from_numpy(picture.z.copy())[None]


# -- the composite ---------------------------------------------------------------------------


def editing(strokes: Sequence[Any]) -> list[Any]:
    """The strokes that change the generator's output (units and a strength above 0)."""
    return [s for s in strokes if s.units and s.strength > 0]


def soft_mask(strokes: Sequence[Any], size: int, feather: int = FEATHER) -> torch.Tensor:
    """(size, size) float32 in [0, 1]: where the generated pixels replace the picture's. The
    union of the strokes' coverage, dilated by ``feather`` pixels, then box-blurred over
    ``2 * feather + 1``: exactly 0 farther than ``2 * feather`` from every painted pixel."""
    m = torch.zeros(1, 1, size, size)
    for s in editing(strokes):
        cover = torch.from_numpy(np.asarray(s.mask, dtype=np.float32) / 255.0)[None, None]
        if cover.shape[-2:] != (size, size):
            cover = F.interpolate(cover, size=(size, size), mode="area")
        m = torch.maximum(m, cover)
    if feather > 0 and bool(m.any()):
        k = 2 * feather + 1
        m = F.max_pool2d(m, k, stride=1, padding=feather)
        m = F.avg_pool2d(m, k, stride=1, padding=feather, count_include_pad=False)
    return m[0, 0].clamp_(0.0, 1.0)


def reach_mask(strokes: Sequence[Any], size: int, feather: int = FEATHER) -> np.ndarray:
    """bool (size, size): the brush's reach, the pixels the composite may change."""
    return soft_mask(strokes, size, feather).numpy() > 0


def composite(
    picture: np.ndarray, generated: np.ndarray, strokes: Sequence[Any], feather: int = FEATHER
) -> np.ndarray:
    """uint8 (R, R, 3): ``generated`` inside the strokes' soft mask, ``picture`` outside (an
    empty mask gives the picture itself, bit for bit)."""
    m = soft_mask(strokes, picture.shape[0], feather).numpy()[..., None]
    if not m.any():
        return picture.copy()
    out = picture.astype(np.float32) * (1.0 - m) + generated.astype(np.float32) * m
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
