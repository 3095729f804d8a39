"""The discriminator's high-pass head: a small discriminator that reads only the picture's
fine texture, at full resolution, for the stripes a generator with nearest upsampling draws.

Why a separate head (docs/TRAINING.md, "Where the stripes are"): the rendered sky is a smooth
gradient whose high-pass residual is a quarter of a grey level, and the generators' stripes
are one to three levels (``python -m ganpaint.devtools.sky_scale``). The pixel discriminator
can answer a change that small only with a steep gradient at its input, which its R1 penalty
holds down; the projected heads read the picture resized to 128 px, which at 256 px smooths a
period-2 stripe away. This head takes no R1; like the projected heads it has spectral
normalisation, and a fixed input gain sets how steep it may be.

The picture's residual (picture minus its 5 x 5 box mean, per channel, as ``evaluate-gan``'s
sky noise measures it) is multiplied by :data:`GAIN`, so one grey level (2/255 in [-1, 1]
units) becomes about 0.25, and folded 4 x 4 into channels (``pixel_unshuffle``: 48 channels
at a quarter of the side, nothing averaged away, so a line of period 2 or 4 px is a pattern
across channels at every position); then 1x1, 3x3 and 1x1 convolutions with spectral
normalisation give one logit per position. Its logistic loss is added to D's and G's with
the weight ``GANConfig.d_highpass``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.train.projected import spectral_head

GAIN = 32.0
"""Input gain: the residual in [-1, 1] units times this (one grey level -> 0.25)."""
FOLD = 4
"""Each FOLD x FOLD block of the residual becomes one position of 3 * FOLD**2 channels."""
BOX = 5


def residual(x: torch.Tensor) -> torch.Tensor:
    """Picture (N, 3, H, W) minus its ``BOX`` x ``BOX`` box mean (borders replicated), in
    float32 whatever the autocast."""
    x = x.float()
    pad = BOX // 2
    return x - F.avg_pool2d(F.pad(x, (pad,) * 4, mode="replicate"), BOX, stride=1)


class HighpassHead(nn.Module):
    """Picture (N, 3, R, R) in [-1, 1] -> logits (N, R / FOLD, R / FOLD) of its residual."""

    def __init__(self, seed: int = 0):
        super().__init__()
        # Its own seed: adding the head leaves the caller's random stream, and so the rest
        # of the discriminator, as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.head = spectral_head(3 * FOLD * FOLD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % FOLD or x.shape[-2] % FOLD:
            raise ValueError(f"the high-pass head needs a side divisible by {FOLD}")
        folded = F.pixel_unshuffle(residual(x) * GAIN, FOLD)
        # float32, as the projected heads: spectral normalisation's power iteration
        with torch.autocast(x.device.type, enabled=False):
            return self.head(folded).squeeze(1)
