"""Scenes rendered by worker processes while training goes on: a :class:`SceneStream` renders
named sets of seeds (GAN training, evaluation, held-out ...) in a given order into memory
shared with its workers, and says which scenes are there; a consumer waits for the scenes it
needs (never takes others), so what it computes does not depend on the machine's speed.

The workers are forked once, before the caller touches CUDA, and write straight into an
anonymous shared mapping (no ``/dev/shm`` needed, nothing pickled back); each finished
chunk is announced on a pipe. A worker's exception is raised in the parent as a
:class:`GanpaintError` by :meth:`SceneStream.poll`, and a worker that dies without a word
(killed, out of memory) is noticed by its process sentinel, so a consumer never waits for
scenes that will not come. :meth:`SceneStream.close` (also on leaving a ``with`` block)
stops the workers; they ignore Ctrl-C (the parent stops them) and leave by themselves when
the parent is gone.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import os
import signal
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.train.data import (
    EVAL_SEED,
    GAN_TRAIN_SEED,
    HELDOUT_SEED,
    SEGMENTER_TRAIN_SEED,
    scenes_module,
)
from ganpaint.train.runlog import Log
from ganpaint.train.warm import WarmStart

if TYPE_CHECKING:
    from ganpaint.train.configs import GANConfig

# Scenes per task: small enough that the first batch is there within a few scene times,
# large enough that announcing them costs nothing.
CHUNK = 8


@dataclass(frozen=True)
class SceneSet:
    """Seeds ``start_seed .. start_seed + n - 1`` under ``name``; ``order`` lists scene
    indices in the order to render them (default ``0 .. n - 1``); ``labels=False`` keeps
    only the images."""

    name: str
    n: int
    start_seed: int
    order: np.ndarray | None = None
    labels: bool = True


def streaming_supported() -> bool:
    """Whether workers can be forked (they inherit the shared memory that way)."""
    return "fork" in mp.get_all_start_methods()


def planned_order(n: int, batch: int, seed: int, resume: Any = None) -> np.ndarray:
    """The order in which :class:`~ganpaint.train.gan.GANTrainer` will first draw the
    scenes of a training set of ``n``: its first epoch permutation (from ``seed``), or for a
    resumed state folder the rest of its epoch, then the others. Rendering in this order
    keeps the scenes a step needs ahead of it; a wrong guess only means waiting longer."""
    if n < batch:
        return np.arange(n)
    rng = torch.Generator().manual_seed(int(seed))
    if resume:
        from ganpaint.train.state import read_state

        meta, tensors = read_state(resume)
        data = meta.get("data") or {}
        if "rng.data" in tensors:
            rng.set_state(tensors["rng.data"].to(torch.uint8))
        perm, pos = tensors.get("data.perm"), int(data.get("pos", 0))
        if data.get("n") == n and perm is not None and pos + batch <= n:
            return np.concatenate([perm[pos:].numpy(), perm[:pos].numpy()]).astype(np.int64)
    return torch.randperm(n, generator=rng).numpy().astype(np.int64)


def gan_scene_set(cfg: GANConfig, n: int, resume: Path | None, labels: bool) -> SceneSet:
    """The GAN training set (``n`` scenes from :data:`GAN_TRAIN_SEED`) in the order the
    trainer will draw it (:func:`planned_order`; ``resume``: the state folder it resumes)."""
    order = planned_order(n, cfg.batch, cfg.seed, resume)
    return SceneSet("gan", n, GAN_TRAIN_SEED, order, labels)


def pipeline_sets(
    cfg: GANConfig, plan: dict[str, Any], segmenter_mode: str, resume: Path | None
) -> list[SceneSet]:
    """The training pipeline's scene sets in the order to render them: the segmenter's
    first in sequential mode (it trains before the GAN), then the GAN's in the order it
    draws them, then evaluation's; held-out scenes in concurrent mode last (only a fallback
    segmenter trained here needs them, and the GAN scenes' labels)."""
    heldout = SceneSet("heldout", plan["heldout_scenes"], HELDOUT_SEED)
    n_eval = plan["eval_samples"]
    sets = []
    if segmenter_mode == "sequential":
        sets += [heldout, SceneSet("segmenter", plan["seg_train_scenes"], SEGMENTER_TRAIN_SEED)]
    concurrent = segmenter_mode == "concurrent"
    sets.append(gan_scene_set(cfg, plan["gan_scenes"], resume, labels=concurrent))
    sets += [SceneSet("eval_a", n_eval, EVAL_SEED), SceneSet("eval_b", n_eval, EVAL_SEED + n_eval)]
    return sets + [heldout] if concurrent else sets


def resume_folder(out_dir: str | Path, resume: bool | str | Path | WarmStart) -> Path | None:
    """The state folder a :class:`GANTrainer` given ``resume`` will resume from, if any
    (none for a warm start, which starts a fresh data order)."""
    if isinstance(resume, WarmStart):
        return None
    if isinstance(resume, (str, Path)):
        return Path(resume)
    own = Path(out_dir) / "state"
    return own if resume and (own / "state.json").is_file() else None


def spare_cores(cores: int | None = None) -> int:
    """Rendering processes beside training: every core but the one the training loop uses."""
    return max(1, (cores or os.cpu_count() or 1) - 1)


class SceneStream:
    """Render ``sets`` at ``size`` px on ``workers`` processes (see the module docstring)."""

    def __init__(self, sets: list[SceneSet], size: int, workers: int, log: Log | None = None):
        names = [s.name for s in sets]
        if len(set(names)) != len(names):
            raise ValueError(f"scene set names must differ: {names}")
        self.size = int(size)
        self.workers = max(1, int(workers))
        self.log = log
        self.sets = {s.name: s for s in sets}
        per_image, per_label = self.size * self.size * 3, self.size * self.size
        total = sum(s.n * (per_image + (per_label if s.labels else 0)) for s in sets)
        self._memory = mmap.mmap(-1, max(total, 1))  # anonymous and shared: forked workers see it
        self._images: dict[str, np.ndarray] = {}
        self._labels: dict[str, np.ndarray | None] = {}
        self.ready: dict[str, np.ndarray] = {}
        self._tasks: list[tuple[str, np.ndarray]] = []
        offset = 0
        for s in sets:
            shape = (s.n, self.size, self.size)
            self._images[s.name] = np.frombuffer(
                self._memory, np.uint8, s.n * per_image, offset
            ).reshape(*shape, 3)
            offset += s.n * per_image
            self._labels[s.name] = None
            if s.labels:
                self._labels[s.name] = np.frombuffer(
                    self._memory, np.uint8, s.n * per_label, offset
                ).reshape(shape)
                offset += s.n * per_label
            self.ready[s.name] = np.zeros(s.n, bool)
            order = np.arange(s.n) if s.order is None else np.asarray(s.order, np.int64)
            if sorted(order.tolist()) != list(range(s.n)):
                raise ValueError(f"scene set {s.name}: order is not a permutation of 0..{s.n - 1}")
            self._tasks += [(s.name, order[i : i + CHUNK]) for i in range(0, s.n, CHUNK)]
        self._left = {s.name: s.n for s in sets}
        self._procs: list[mp.process.BaseProcess] = []
        self._conns: list[Connection] = []
        self._dropped: set[str] = set()
        self._started = self._closed = False
        self.t0 = 0.0
        self.finished_s: dict[str, float] = {}

    # -- arrays ----------------------------------------------------------------------------

    def images(self, name: str) -> np.ndarray:
        """uint8 (N, H, W, 3) of the set; a scene is valid once ``ready[name]`` says so."""
        return self._images[name]

    def labels(self, name: str) -> np.ndarray | None:
        """uint8 (N, H, W) labels of the set (None when it keeps none)."""
        return self._labels[name]

    def _arrays(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        return self._images[name], self._labels[name]

    def complete(self, name: str) -> bool:
        return self._left[name] == 0

    # -- workers ---------------------------------------------------------------------------

    def start(self) -> SceneStream:
        """Fork the workers (before CUDA is touched in this process) and begin."""
        if self._started:
            return self
        self._started = True
        self.t0 = time.perf_counter()
        ctx = mp.get_context("fork")
        # The task queue, shared: queue[next:end] are the tasks still to take, in order.
        self._queue = ctx.Array("q", range(len(self._tasks)), lock=False)
        self._next, self._end = ctx.Value("q", 0), ctx.Value("q", len(self._tasks), lock=False)
        parent = os.getpid()
        for _ in range(min(self.workers, max(len(self._tasks), 1))):
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=self._work, args=(send, parent), daemon=True)
            proc.start()
            send.close()
            self._procs.append(proc)
            self._conns.append(recv)
        return self

    def _work(self, conn: Connection, parent: int) -> None:
        """A worker: take the next task, render it into the shared memory, announce it."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        try:
            render = scenes_module().render_scene
            while os.getppid() == parent:
                with self._next.get_lock():
                    i = self._next.value
                    if i >= self._end.value:
                        break
                    self._next.value = i + 1
                    k = self._queue[i]
                name, idx = self._tasks[k]
                seed0, images, labels = self.sets[name].start_seed, *self._arrays(name)
                for i in idx.tolist():
                    rgb, lab = render(seed0 + i, self.size)
                    images[i] = rgb
                    if labels is not None:
                        labels[i] = lab
                conn.send(k)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        finally:
            conn.close()

    def keep_only(self, names: list[str]) -> None:
        """From now on render only the sets ``names``, in this order (their scenes not yet
        begun go first); scenes of other sets not yet begun are dropped."""
        if not self._started or self._closed:
            return
        with self._next.get_lock():
            i, end = self._next.value, self._end.value
            rest = [self._queue[j] for j in range(i, end)]
            keep = [k for name in names for k in rest if self._tasks[k][0] == name]
            for j, k in enumerate(keep):
                self._queue[i + j] = k
            self._end.value = i + len(keep)
        self._dropped |= set(self.sets) - set(names)

    def _missing(self) -> bool:
        """Whether scenes are still to come that nobody dropped."""
        return any(n for name, n in self._left.items() if name not in self._dropped)

    def poll(self, timeout: float = 0.0) -> int:
        """Take in what the workers announced within ``timeout`` seconds; returns how many
        tasks finished. Raises :class:`GanpaintError` when a worker failed or died."""
        if not self._started or self._closed:
            return 0
        done = 0
        # Sentinels of live workers only: an exited one's is always ready (no busy wait).
        sentinels = {p.sentinel for p in self._procs if p.exitcode is None}
        if not self._conns and not sentinels and self._missing():
            self.close()
            raise GanpaintError("the scene rendering processes ended before every scene was there")
        for ready in wait([*self._conns, *sentinels], max(timeout, 0.0)):
            if ready not in sentinels:
                done += self._drain(ready)
        for proc in self._procs:
            if proc.exitcode not in (None, 0) and self._missing():
                self.close()
                raise GanpaintError(
                    f"a scene rendering process died (exit code {proc.exitcode}) before "
                    "every scene was rendered"
                )
        return done

    def _drain(self, conn: Connection) -> int:
        done = 0
        try:
            while conn.poll():
                msg = conn.recv()
                if isinstance(msg, tuple):
                    self.close()
                    if self.log is not None:  # where it failed, for the run's log
                        self.log(f"a scene rendering worker failed:\n{msg[2].rstrip()}")
                    raise GanpaintError(f"rendering scenes failed in a worker: {msg[1]}")
                name, idx = self._tasks[msg]
                self.ready[name][idx] = True
                self._left[name] -= len(idx)
                if not self._left[name]:
                    self._finished(name)
                done += 1
        except EOFError:
            self._conns.remove(conn)
        return done

    def _finished(self, name: str) -> None:
        seconds = time.perf_counter() - self.t0
        self.finished_s[name] = seconds
        if self.log is not None:
            n = self.sets[name].n
            self.log(
                f"rendered the {n} {name} scenes at {self.size} px on {len(self._procs)} "
                f"processes, {seconds:.1f}s after they began"
            )

    def wait(self, name: str, indices: np.ndarray | None = None, timeout: float | None = None):
        """Wait until the set's scenes ``indices`` (default: all) are rendered; False when
        ``timeout`` seconds passed first. Raises when rendering failed."""
        ready, end = self.ready[name], None
        while not (self.complete(name) if indices is None else ready[indices].all()):
            if self._closed or name in self._dropped:
                raise GanpaintError(f"the {name} scenes are not rendered and rendering stopped")
            if end is None and timeout is not None:  # the clock is read only when waiting
                end = time.perf_counter() + timeout
            left = None if end is None else end - time.perf_counter()
            if left is not None and left <= 0:
                return False
            self.poll(0.5 if left is None else min(left, 0.5))
        return True

    def close(self) -> None:
        """Stop the workers (those still rendering are terminated); the arrays stay."""
        if self._closed:
            return
        self._closed = True
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(2.0)
        for conn in self._conns:
            conn.close()
        self._conns = []

    def __enter__(self) -> SceneStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
