"""The GAN discriminator: residual-free ProGAN/StyleGAN-style, with equalized learning rate.

From RGB (1x1 conv) at full resolution, then per stage a 3x3 conv, 2x average pooling and a
3x3 conv to the next width, down to 4x4; there a minibatch standard-deviation channel, a
3x3 conv and two dense layers give one logit per image. Weights are N(0, 1) and scaled at
run time (He gain for leaky ReLU 0.2), which is what makes Adam's step size the same for
every layer.

``spectral=True`` adds :class:`SpectralBranch`: the spectra of the picture's row and column
profiles, read by one dense layer into the head. A generator with nearest upsampling draws
stripes that run the whole width or height of flat regions (a vertical colour gradient, as in
sky, becomes a staircase that its 3x3 convs turn into lines of period 2 and 4 px), and the
stages above see them only through the first 3x3 conv: average pooling cancels a period-2
pattern outright. A row profile (the mean over x of each row) keeps such a line at full
strength, so its spectrum shows it as a peak. The branch joins through a gain that starts
at 0, so it can be added to a trained discriminator without disturbing it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

_LRELU_GAIN = math.sqrt(2.0)


class EqConv2d(nn.Module):
    """Conv with N(0, 1) weights scaled by gain / sqrt(fan_in) at run time, plus a bias."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, gain: float = _LRELU_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.scale = gain / math.sqrt(in_ch * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqLinear(nn.Module):
    """Dense layer with run-time weight scaling (equalized learning rate)."""

    def __init__(self, in_features: int, out_features: int, gain: float = _LRELU_GAIN):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one channel: the mean standard deviation over groups of ``group`` samples."""
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.float().reshape(g, -1, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()
    y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


class SpectralBranch(nn.Module):
    """Image (N, 3, R, R) -> (N, width): log magnitudes of the spectra (DC left out) of the
    gray picture's row profile and column profile, through one dense layer, times ``gain``
    (0 at the start)."""

    def __init__(self, resolution: int, width: int):
        super().__init__()
        self.bins = resolution // 2
        self.fc = EqLinear(2 * self.bins, width)
        self.gain = nn.Parameter(torch.zeros(1))  # one value; (1,) suits every Adam kernel

    def spectra(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2, R/2): log(1 + |rfft|) of the row profile (the mean over x of each row) and
        of the column profile, frequencies 1 .. R/2 cycles per picture."""
        gray = x.float().mean(dim=1)  # FFTs in float32, whatever the autocast
        profiles = torch.stack([gray.mean(dim=2), gray.mean(dim=1)], dim=1)
        return torch.log1p(torch.fft.rfft(profiles, dim=-1).abs()[..., 1 : self.bins + 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.fc(self.spectra(x).flatten(1)), 0.2) * self.gain


class Discriminator(nn.Module):
    """Image (N, 3, R, R) in [-1, 1] -> logit (N,). ``widths[i]`` is the width at R / 2**i."""

    def __init__(
        self,
        resolution: int,
        widths: Sequence[int],
        mbstd_group: int = 4,
        spectral: bool = False,
        projected: nn.Module | None = None,
        highpass: nn.Module | None = None,
    ):
        super().__init__()
        widths = [int(w) for w in widths]
        if 4 * 2 ** (len(widths) - 1) != resolution:
            raise ValueError(f"{len(widths)} discriminator widths do not fit {resolution} px")
        self.resolution = resolution
        self.widths = tuple(widths)
        self.mbstd_group = mbstd_group
        self.from_rgb = EqConv2d(3, widths[0], 1)
        self.blocks = nn.ModuleList()
        for i in range(len(widths) - 1):
            self.blocks.append(
                nn.ModuleList(
                    [EqConv2d(widths[i], widths[i], 3), EqConv2d(widths[i], widths[i + 1], 3)]
                )
            )
        last = widths[-1]
        self.final_conv = EqConv2d(last + 1, last, 3)
        self.dense = EqLinear(last * 16, last)
        self.out = EqLinear(last, 1, gain=1.0)
        # Registered last, so a trained discriminator's parameters keep their order (and
        # their optimiser moments their indices) when the branch is added to it.
        self.spectral = SpectralBranch(resolution, last) if spectral else None
        # The projected heads (:mod:`ganpaint.train.projected`) come after it, for the same
        # reason; they are not part of ``forward`` (nor of R1), see :meth:`project`.
        self.projected = projected
        # The high-pass head (:mod:`ganpaint.train.highpass`) last, for the same reason; not
        # part of ``forward`` either, see :meth:`texture`.
        self.highpass = highpass

    def project(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The projected heads' logit maps for pictures ``x`` (none without the heads)."""
        return [] if self.projected is None else self.projected(x)

    def texture(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The high-pass head's logit map for pictures ``x`` (none without the head)."""
        return [] if self.highpass is None else [self.highpass(x)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        picture = x
        x = F.leaky_relu(self.from_rgb(x), 0.2)
        for conv0, conv1 in self.blocks:
            x = F.leaky_relu(conv0(x), 0.2)
            x = F.avg_pool2d(x, 2)
            x = F.leaky_relu(conv1(x), 0.2)
        x = minibatch_stddev(x, self.mbstd_group)
        x = F.leaky_relu(self.final_conv(x), 0.2)
        x = F.leaky_relu(self.dense(x.flatten(1)), 0.2)
        if self.spectral is not None:
            x = x + self.spectral(picture).to(x.dtype)
        return self.out(x).squeeze(1)
