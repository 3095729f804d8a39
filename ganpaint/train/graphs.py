"""The ``graphs`` speed option: the GAN's training steps replayed from CUDA graphs.

On an H100 or H200 a ``scenes256`` step at batch 32 takes about as long as the host needs to
issue its few thousand small kernels (docs/TRAINING.md, "Is a step bound by its
operations?"). A CUDA graph records the kernels of one step once and then launches them all
with one call. :class:`StepGraphs` keeps two: one for the *plain* steps (a discriminator
step without R1 and a generator step) and one for the steps with R1 (one in ``r1_every``),
in one process. The steps before G moves (a warm start's D warm-up) and every step under
torchrun stay eager.

The life of each graph (:class:`StepGraph`):

1. **Warm-up.** The first :data:`WARMUP_STEPS` steps of its kind run eagerly on a side
   stream, as CUDA asks before a capture (cuDNN's autotuning and the optimisers' lazy state
   happen here). They are real training steps.
2. **Capture.** The next step of its kind is recorded with the step's inputs (the real batch
   and both latents, drawn outside the graph) in fixed buffers, then replayed.
3. **Checks.** That step and the next of its kind (:data:`CHECKS`, the second with fresh
   inputs) are also computed eagerly from the same weights and inputs, and the weights the
   two ways reach are compared. Where they differ by more than :data:`TOLERANCE` (relative to the
   step's update), that graph is dropped for the rest of the run, an event on the card says
   why, and the eager result stands. A graph never trains unchecked. A warm-up or capture
   that raises drops the graph the same way, and the step runs eagerly.
4. **Replay.** Each later step of its kind copies its inputs into the buffers and replays.

:meth:`StepGraphs.reset` drops both (the trainer calls it when it restores a snapshot,
which replaces the optimisers' state, or changes precision or learning rate): the next
steps warm up and capture again. The step is the trainer's own
(:meth:`GANTrainer.step_body`); this module adds no arithmetic, so a graphed run trains the
same weights as an eager one within float rounding. ``backend`` is what records and
replays: :class:`CudaGraphs` on CUDA; the tests use a stand-in that replays by calling the
step again, so the buffers, checks and resets run on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import torch

if TYPE_CHECKING:
    from ganpaint.train.gan import GANTrainer

WARMUP_STEPS = 3
"""Steps of each kind run eagerly on a side stream before its capture."""

CHECKS = 2
"""Graphed steps also computed eagerly and compared (the capture step and the next)."""

TOLERANCE = 0.02
"""How far the graph's weight update may be from the eager one: the L2 norm of the
difference over the L2 norm of the eager update, over all of G's and D's weights. The same
kernels on the same inputs differ only by rounding and cuDNN's nondeterministic sums, far
below it (not yet measured on a GPU); a replay that runs no kernel gives exactly 1 (the
stand-in test), and one that reads stale inputs about as much."""

Body = Callable[[], dict[str, torch.Tensor]]


class Recorded(Protocol):
    """A recorded step: :meth:`replay` runs it again on the buffers it was recorded with."""

    def replay(self) -> None: ...


class GraphBackend(Protocol):
    """How steps are warmed up, recorded and replayed."""

    def warm(self, body: Body) -> dict[str, torch.Tensor]: ...

    def capture(self, body: Body) -> tuple[Recorded, dict[str, torch.Tensor]]: ...


class CudaGraphs:
    """The CUDA backend: warm-up on a side stream, capture with ``torch.cuda.graph``."""

    def warm(self, body: Body) -> dict[str, torch.Tensor]:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = body()
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()  # the outputs were made on the side stream
        return out

    def capture(self, body: Body) -> tuple[Recorded, dict[str, torch.Tensor]]:
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize()
        with torch.cuda.graph(graph):
            out = body()
        return graph, out  # recorded, not run: the caller replays


class StepGraph:
    """One kind of step (plain, or with R1) of one :class:`~ganpaint.train.gan.GANTrainer`
    from a CUDA graph (see the module docstring)."""

    def __init__(self, trainer: GANTrainer, backend: GraphBackend, r1: bool):
        self.trainer, self.backend, self.r1 = trainer, backend, r1
        self.disabled: str | None = None
        self.replays = 0
        self._inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.reset()

    @property
    def name(self) -> str:
        return "R1 steps" if self.r1 else "plain steps"

    def reset(self) -> None:
        """Drop the graph; the next steps of this kind warm up and capture again."""
        self._recorded: Recorded | None = None
        self._out: dict[str, torch.Tensor] = {}
        self._warm_left = WARMUP_STEPS
        self._checks_left = CHECKS

    @property
    def active(self) -> bool:
        """Whether these steps still go through the graph (not dropped by a check)."""
        return self.disabled is None

    def step(self, reals: torch.Tensor, z_d: torch.Tensor, z_g: torch.Tensor) -> dict[str, Any]:
        """One step on these inputs; returns the step's outputs (device scalars, valid until
        the next step of this kind)."""
        if self._inputs is None:
            self._inputs = (reals.clone(), z_d.clone(), z_g.clone())
        for buffer, value in zip(self._inputs, (reals, z_d, z_g), strict=True):
            buffer.copy_(value)
        try:
            if self._warm_left > 0:
                self._warm_left -= 1
                return self.backend.warm(self._body)
            if self._recorded is None:
                self._recorded, self._out = self.backend.capture(self._body)
            if self._checks_left > 0:
                self._checks_left -= 1
                return self._checked_step()
            self._recorded.replay()
        except Exception as exc:  # noqa: BLE001 - a capture that fails must not end the run
            # A failed capture or warm-up ran none of the step's kernels (or, warming up,
            # failed before its optimiser steps, which come last): the step runs eagerly.
            self._drop(f"{type(exc).__name__}: {exc}")
            self.trainer.D.requires_grad_(True)  # the generator step may have stopped early
            return self.trainer.step_body(reals, z_d, z_g, r1=self.r1)
        self.replays += 1
        return self._out

    def _body(self) -> dict[str, torch.Tensor]:
        reals, z_d, z_g = self._inputs  # type: ignore[misc]
        return self.trainer.step_body(reals, z_d, z_g, r1=self.r1, autocast_cache=False)

    def _checked_step(self) -> dict[str, Any]:
        """Replay, keep what it reached, go back, run the step eagerly and compare: the
        eager result stands either way."""
        assert self._recorded is not None
        state = self._state()
        before = [t.clone() for t in state]
        self._recorded.replay()
        replayed = [t.clone() for t in self._weights()]
        for t, saved in zip(state, before, strict=True):
            t.copy_(saved)
        out = self.trainer.step_body(*self._inputs, r1=self.r1)  # type: ignore[misc]
        start = before[: len(replayed)]
        eager = self._weights()
        diff = _norm([g - e for g, e in zip(replayed, eager, strict=True)])
        update = _norm([e - s for e, s in zip(eager, start, strict=True)])
        relative = diff / max(update, 1e-12)
        if not relative <= TOLERANCE:  # NaN too
            self._drop(f"its weights differed from the eager step's by {relative:.3g} "
                       f"of the update (at most {TOLERANCE})")  # fmt: skip
        return out

    def _weights(self) -> list[torch.Tensor]:
        t = self.trainer
        return [p.detach() for m in (t.G, t.D) for p in m.parameters()]

    def _state(self) -> list[torch.Tensor]:
        """Every tensor a step changes: the weights first (as :meth:`_weights`), then D's
        buffers (the spectral norms' vectors) and both optimisers' moments and counts."""
        t = self.trainer
        out = self._weights() + [b for b in t.D.buffers() if b.is_floating_point()]
        for opt in (t.opt_G, t.opt_D):
            for per_param in opt.state.values():
                out += [v for v in per_param.values() if isinstance(v, torch.Tensor)]
        return out

    def _drop(self, why: str) -> None:
        t = self.trainer
        self.disabled = why
        self.reset()
        event = f"step {t.step}: CUDA graphs of the {self.name} turned off, {why}; they run eagerly"
        t.events.append(event)
        t.log(f"[gan] WARNING {event}")


class StepGraphs:
    """The trainer's two graphs, one for the plain steps and one for the R1 steps; each
    warms up, records, is checked and may be dropped on its own."""

    def __init__(self, trainer: GANTrainer, backend: GraphBackend | None = None):
        self.backend: GraphBackend = backend if backend is not None else CudaGraphs()
        self.plain = StepGraph(trainer, self.backend, r1=False)
        self.with_r1 = StepGraph(trainer, self.backend, r1=True)

    def _kind(self, r1: bool) -> StepGraph:
        return self.with_r1 if r1 else self.plain

    def takes(self, r1: bool, train_g: bool) -> bool:
        """Whether a graph runs this step: G trained and its kind not dropped (the trainer
        makes graphs in one process only)."""
        return train_g and self._kind(r1).active

    def step(
        self, reals: torch.Tensor, z_d: torch.Tensor, z_g: torch.Tensor, r1: bool
    ) -> dict[str, Any]:
        """One step of its kind (:meth:`StepGraph.step`)."""
        return self._kind(r1).step(reals, z_d, z_g)

    def reset(self) -> None:
        """Drop both graphs (a restored snapshot, new rates or precision): record again."""
        self.plain.reset()
        self.with_r1.reset()

    @property
    def active(self) -> bool:
        """Whether the plain steps, 15 in 16, still go through their graph."""
        return self.plain.active

    @property
    def replays(self) -> int:
        return self.plain.replays + self.with_r1.replays


def _norm(tensors: list[torch.Tensor]) -> float:
    """The L2 norm of all the tensors together, in float64."""
    if not tensors:
        return 0.0
    return float(torch.stack([x.double().square().sum() for x in tensors]).sum().sqrt())
