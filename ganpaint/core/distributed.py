"""Work over processes started by ``torchrun`` (gloo on CPU, nccl on GPU): dissection shards
its samples, GAN training averages its gradients.

:func:`init_from_env` joins the process group when ``WORLD_SIZE`` > 1 and otherwise returns a
one-process :class:`Dist`, whose collectives are no-ops, so the dissection code is the same
either way. Each rank takes a contiguous block of sample indices (:func:`shard`); counts are
summed with ``all_reduce``; statistics travel as their ``state_dict`` through
:meth:`Dist.all_gather_state`, which sends a JSON header (names, dtypes, shapes, numbers) and
the raw tensor bytes as padded uint8 tensors, so nothing is ever pickled.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist

State = dict[str, torch.Tensor | int | float]

_DTYPES = {
    str(d): d
    for d in (
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.int8,
        torch.uint8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.bool,
    )
}


def shard(total: int, rank: int, world: int) -> range:
    """The contiguous block of ``range(total)`` that ``rank`` of ``world`` handles."""
    lo = total * rank // world
    hi = total * (rank + 1) // world
    return range(lo, hi)


@dataclass
class Dist:
    """This process's place in the run; collectives do nothing when ``world == 1``."""

    rank: int = 0
    world: int = 1
    comm_device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum_(self, t: torch.Tensor) -> torch.Tensor:
        """Sum ``t`` over ranks in place (exact for integer tensors); returns ``t``."""
        if not self.active:
            return t
        buf = t.to(self.comm_device)
        tdist.all_reduce(buf, op=tdist.ReduceOp.SUM)
        if buf is not t:
            t.copy_(buf.to(t.device))
        return t

    def broadcast_(self, t: torch.Tensor, src: int = 0) -> torch.Tensor:
        """Overwrite ``t`` with rank ``src``'s values (same shape and dtype on every rank)."""
        if not self.active:
            return t
        buf = t.to(self.comm_device)
        tdist.broadcast(buf, src)
        if buf is not t:
            t.copy_(buf.to(t.device))
        return t

    def barrier(self) -> None:
        if self.active:
            tdist.barrier()

    def _all_gather_bytes(self, data: torch.Tensor) -> list[torch.Tensor]:
        """All ranks' uint8 vectors (of any lengths), in rank order."""
        n = torch.tensor([data.numel()], dtype=torch.int64, device=self.comm_device)
        sizes = [torch.zeros_like(n) for _ in range(self.world)]
        tdist.all_gather(sizes, n)
        longest = max(int(s.item()) for s in sizes)
        padded = torch.zeros(max(longest, 1), dtype=torch.uint8, device=self.comm_device)
        padded[: data.numel()] = data.to(self.comm_device)
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        tdist.all_gather(parts, padded)
        return [p[: int(s.item())].cpu() for p, s in zip(parts, sizes, strict=True)]

    def all_gather_state(self, state: State) -> list[State]:
        """Every rank's ``state`` (tensors and numbers only), in rank order, on the CPU."""
        if not self.active:
            return [state]
        header, blobs = [], []
        offset = 0
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                raw = _tensor_bytes(value)
                header.append([key, str(value.dtype), list(value.shape), offset, raw.numel()])
                blobs.append(raw)
                offset += raw.numel()
            elif isinstance(value, bool | int | float):
                header.append([key, type(value).__name__, value])
            else:
                raise TypeError(f"state entry {key!r} is neither a tensor nor a number")
        head = torch.frombuffer(bytearray(json.dumps(header).encode("utf-8")), dtype=torch.uint8)
        body = torch.cat(blobs) if blobs else torch.zeros(0, dtype=torch.uint8)
        heads = self._all_gather_bytes(head)
        bodies = self._all_gather_bytes(body)
        return [_decode_state(h, b) for h, b in zip(heads, bodies, strict=True)]

    def close(self, clean: bool = False) -> None:
        """Leave the process group. After a clean run (``clean``) every rank first waits for
        the others: a rank that tore gloo down while a peer was still sending aborted now and
        then ("terminate called without an active exception", seen in CI)."""
        if self.owns_group and tdist.is_initialized():
            if clean and self.active:
                tdist.barrier()
            tdist.destroy_process_group()
            self.owns_group = False


def _tensor_bytes(t: torch.Tensor) -> torch.Tensor:
    t = t.detach().cpu().contiguous()
    if t.numel() == 0:
        return torch.zeros(0, dtype=torch.uint8)
    return t.reshape(-1).view(torch.uint8)


def _decode_state(head: torch.Tensor, body: torch.Tensor) -> State:
    out: State = {}
    for entry in json.loads(bytes(head.numpy()).decode("utf-8")):
        if len(entry) == 3:
            key, kind, value = entry
            out[key] = {"bool": bool, "int": int, "float": float}[kind](value)
            continue
        key, dtype_name, shape, offset, size = entry
        dtype = _DTYPES[dtype_name]
        raw = body[offset : offset + size].clone()
        out[key] = raw.view(dtype).reshape(shape) if size else torch.zeros(shape, dtype=dtype)
    return out


def init_from_env(device: torch.device | str = "cpu") -> Dist:
    """Join the torchrun process group named by the environment (RANK, WORLD_SIZE, ...).

    Uses nccl when computing on CUDA, gloo otherwise; on CUDA each rank takes the GPU named
    by LOCAL_RANK. Without WORLD_SIZE > 1 this is a single process and nothing is joined.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = torch.device(device)
    if world <= 1:
        return Dist(0, 1, torch.device("cpu"))
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        backend, comm = "nccl", torch.device("cuda", local)
    else:
        backend, comm = "gloo", torch.device("cpu")
    owns = False
    if not tdist.is_initialized():
        tdist.init_process_group(backend=backend)
        owns = True
    return Dist(tdist.get_rank(), tdist.get_world_size(), comm, owns)


def local_device(device: torch.device | str, dist: Dist) -> torch.device:
    """The compute device for this rank: ``cuda`` becomes this rank's own GPU."""
    device = torch.device(device)
    if device.type == "cuda" and dist.active and device.index is None:
        return dist.comm_device
    return device
