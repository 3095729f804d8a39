"""The GAN trainer's training images and the order it draws them in (a mixin of
:class:`~ganpaint.train.gan.GANTrainer`).

The images live on the training device as uint8. The order is epoch-wise: a permutation of
the whole set from the trainer's own generator (``data_rng``, the same on every rank), cut
into global batches; each rank takes its slice; random horizontal flips follow.

The images may still be rendering (:meth:`DataOrder.set_streamed_data`, a
:class:`~ganpaint.train.stream.SceneStream`): the order is the same as for a finished set,
and before each step the trainer waits until the scenes of the next batch are rendered
(:meth:`DataOrder.wait_for_batch`), so the batches, and everything trained from them, do
not depend on how fast the scenes come. On a GPU, rendered scenes are copied to the device
only when a batch needs one that is not there yet (each copy waits for the GPU's queue).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.train.data import random_flip

if TYPE_CHECKING:
    from ganpaint.core.distributed import Dist
    from ganpaint.train.configs import GANConfig
    from ganpaint.train.stream import SceneStream

# Scenes copied to the device at a time (bounds the host-side gather).
COPY_CHUNK = 1024


class DataOrder:
    """Training images and data order for :class:`GANTrainer` (which sets ``cfg``,
    ``device``, ``dist``, ``rank_batch``, ``events``, ``step`` and ``data_rng``)."""

    cfg: GANConfig
    device: torch.device
    dist: Dist
    rank_batch: int
    events: list[str]
    step: int
    data_rng: torch.Generator

    def _init_data(self) -> None:
        self.data: torch.Tensor | None = None
        self.perm: torch.Tensor | None = None
        self._perm_cpu: np.ndarray | None = None
        self.pos = 0
        self._order_n: int | None = None
        self._stream: tuple[SceneStream, str] | None = None
        self._on_device: np.ndarray | None = None
        self.data_wait_s = 0.0

    def set_data(self, images: np.ndarray | torch.Tensor) -> None:
        """Training images, uint8 (N, R, R, 3); kept on the training device."""
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images))
        self._check_images(images)
        self._stream = None
        self._use(images.to(self.device))

    def set_streamed_data(self, stream: SceneStream, name: str, copy: bool | None = None) -> None:
        """The set ``name`` of ``stream`` (started), used as its scenes are rendered.
        ``copy``: keep a copy on the device (default: unless the device is the CPU, where
        the shared memory the workers write into serves as it is)."""
        images = torch.from_numpy(stream.images(name))
        self._check_images(images)
        self._stream = (stream, name)
        if not (self.device.type != "cpu" if copy is None else copy):
            data = images
        else:
            data = torch.empty(images.shape, dtype=torch.uint8, device=self.device)
            self._on_device = np.zeros(len(images), bool)
        self._use(data)

    def _check_images(self, images: torch.Tensor) -> None:
        r = self.cfg.resolution
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != (r, r, 3) or len(images) < 1:
            raise GanpaintError(
                f"training images must be uint8 (N, {r}, {r}, 3), got {images.dtype} "
                f"{tuple(images.shape)}"
            )

    def _use(self, data: torch.Tensor) -> None:
        self.data = data
        if self._order_n != len(data):  # no resumed order, or another data set
            if self._order_n is not None:
                self.events.append(
                    f"step {self.step}: {len(data)} training scenes where the state had "
                    f"{self._order_n}; the data order starts a new epoch"
                )
            self._set_perm(None, 0)
        elif self.perm is not None:
            self._set_perm(self.perm, self.pos)

    def _set_perm(self, perm: torch.Tensor | None, pos: int) -> None:
        self.pos = int(pos)
        self.perm = None if perm is None else perm.to(self.device)
        self._perm_cpu = None if perm is None else perm.to("cpu").numpy()

    @property
    def streaming(self) -> bool:
        """Whether scenes of the training set are still to come (or to copy)."""
        return self._stream is not None

    @property
    def data_n(self) -> int | None:
        """How many training images the data order refers to."""
        return len(self.data) if self.data is not None else self._order_n

    def restore_data_order(self, perm: torch.Tensor | None, pos: int, n: int | None) -> None:
        """The epoch permutation and position of a resumed run (applied by set_data when
        the data set has the same size)."""
        self.perm, self.pos, self._order_n = perm, int(pos), n

    def _epoch(self) -> None:
        """A new epoch permutation when the next batch would run past this one."""
        n, b = len(self.data), self.cfg.batch
        if n >= b and (self.perm is None or self.pos + b > n):
            self._set_perm(torch.randperm(n, generator=self.data_rng), 0)

    def wait_for_batch(self, timeout: float | None = None) -> bool:
        """Wait until the next batch's scenes are rendered and on the device; False when
        ``timeout`` seconds passed first. Immediate once the whole set is there."""
        if self._stream is None:
            return True
        assert self.data is not None
        stream, name = self._stream
        n, b = len(self.data), self.cfg.batch
        self._epoch()
        need = np.arange(n) if n < b else self._perm_cpu[self.pos : self.pos + b]
        if not stream.ready[name][need].all():
            start = time.perf_counter()
            ok = stream.wait(name, need, timeout)
            self.data_wait_s += time.perf_counter() - start
            if not ok:
                return False
        if self._on_device is not None and not self._on_device[need].all():
            self._copy_ready(stream, name)
        if stream.complete(name) and (self._on_device is None or self._on_device.all()):
            self._stream = self._on_device = None  # from here on nothing to wait for
        return True

    def _copy_ready(self, stream: SceneStream, name: str) -> None:
        """Copy every rendered scene not yet on the device to it."""
        assert self.data is not None and self._on_device is not None
        new = np.flatnonzero(stream.ready[name] & ~self._on_device)
        images = stream.images(name)
        for i in range(0, len(new), COPY_CHUNK):
            idx = new[i : i + COPY_CHUNK]
            chunk = torch.from_numpy(images[idx]).to(self.device)
            self.data[torch.from_numpy(idx).to(self.device)] = chunk
        self._on_device[new] = True

    def _next_batch(self) -> torch.Tensor:
        """This rank's slice of the next global batch of the shared data order."""
        assert self.data is not None, "set_data() first"
        self.wait_for_batch()
        b, n = self.cfg.batch, len(self.data)
        if n < b:
            idx = torch.randint(n, (b,), generator=self.data_rng).to(self.device)
        else:
            self._epoch()
            idx = self.perm[self.pos : self.pos + b]
            self.pos += b
        lo = self.dist.rank * self.rank_batch
        idx = idx[lo : lo + self.rank_batch]
        x = self.data[idx].permute(0, 3, 1, 2).float().mul_(1.0 / 127.5).sub_(1.0)
        x = random_flip(x)
        if self.cfg.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x
