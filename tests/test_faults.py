"""Faults: a device running out of memory while rendering, and saves interrupted at any
point (an error at each step of the atomic write, and SIGKILL at random moments)."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

import ganpaint.engine.renderer as renderer_module
from ganpaint.core.errors import ProjectFileError
from ganpaint.core.files import atomic_write_text
from ganpaint.engine import EditDocument, Renderer, Stroke
from ganpaint.models.dissection import Dissection
from ganpaint.robust.soak import tiny_generator

# -- out of memory while rendering -----------------------------------------------------------


def _doc(seed: int = 4) -> EditDocument:
    doc = EditDocument("tiny", "layer4", seed=seed)
    m = np.zeros((32, 32), np.uint8)
    m[4:20, 6:28] = 255
    doc.add_stroke(Stroke("tree", "draw", (1, 2, 3), 1.0, 0.99, "layer4", m))
    doc.add_stroke(Stroke("sky", "remove", (5,), 0.7, 0.99, "layer6", m[::-1].copy()))
    return doc


def _levels(gen) -> Dissection:
    """A dissection with unit levels for every layer: spares each renderer the estimate."""
    return Dissection.from_dict(
        {
            "format": "ganpaint-dissection",
            "version": 1,
            "layers": {
                name: {"quantiles": [0.5, 0.99], "levels": [[0.2, 1.5]] * gen.layer_channels(name)}
                for name in gen.layer_names
            },
        }
    )


def _oom(*args, **kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@contextlib.contextmanager
def _fault(renderer: Renderer, where: str, error=_oom):
    """Make one piece of the render path raise ``error``."""
    if where == "features":  # the cached head of the network
        real = renderer.net.run

        def run(x, after=None, until=None):
            if after is None:
                error()
            return real(x, after=after, until=until)

        with mock.patch.object(renderer.net, "run", run):
            yield
    elif where == "tail":  # the rest of the network after the edit
        real = renderer.net.run

        def run(x, after=None, until=None):
            if after is not None:
                error()
            return real(x, after=after, until=until)

        with mock.patch.object(renderer.net, "run", run):
            yield
    elif where == "compose":  # folding strokes into the affine map
        import ganpaint.engine.compose as compose_module

        with mock.patch.object(compose_module, "fold_edit", error):
            yield
    elif where == "mask":  # resampling a stroke's mask to the layer
        with mock.patch.object(renderer_module, "resample_mask", error):
            yield
    elif where == "levels":  # estimating unit levels on first use
        with mock.patch.object(renderer_module.UnitLevels, "estimate", error):
            yield
    else:
        raise ValueError(where)


@pytest.mark.parametrize("where", ["features", "tail", "compose", "mask", "levels"])
def test_out_of_memory_is_a_recognisable_result(where):
    gen = tiny_generator()
    levels = None if where == "levels" else _levels(gen)
    doc = _doc()
    expected = Renderer(gen, "cpu", levels).render(doc.snapshot())
    assert expected.ok
    renderer = Renderer(gen, "cpu", levels)  # stands for the GPU renderer that runs out
    with _fault(renderer, where):
        result = renderer.render(doc.snapshot())
    assert not result.ok and result.image is None
    assert result.error.startswith("out of memory"), result.error
    assert result.revision == doc.snapshot().revision
    # the fallback the app makes: a new renderer on the CPU renders the same snapshot
    fallback = Renderer(gen, device="cpu", dissection=levels)
    again = fallback.render(doc.snapshot())
    assert again.ok and np.array_equal(again.image, expected.image)
    # and the renderer that failed is not poisoned: no half-made cache entry survives
    healed = renderer.render(doc.snapshot())
    assert healed.ok and np.array_equal(healed.image, expected.image)


@pytest.mark.parametrize(
    "message",
    [
        "CUDA out of memory. Tried to allocate 20.00 MiB",
        "MPS backend out of memory (MPS allocated: 1.2 GB)",
        "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory",
    ],
)
def test_out_of_memory_messages_of_other_backends(message):
    """Older torch and other backends raise RuntimeError; the text says out of memory."""

    def fail(*args, **kwargs):
        raise RuntimeError(message)

    gen = tiny_generator()
    renderer = Renderer(gen, "cpu", _levels(gen))
    with _fault(renderer, "tail", fail):
        result = renderer.render(_doc().snapshot())
    assert not result.ok
    if "out of memory" in message:
        assert result.error.startswith("out of memory"), result.error
    else:
        assert result.error.startswith("RuntimeError"), result.error


def test_oom_leaves_the_callers_generator_alone():
    gen = tiny_generator()
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    renderer = Renderer(gen, "cpu", _levels(gen))
    with _fault(renderer, "tail"):
        assert not renderer.render(_doc().snapshot()).ok
    assert next(gen.parameters()).device.type == "cpu"
    for k, v in gen.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_render_never_raises_under_repeated_faults():
    gen = tiny_generator()
    renderer = Renderer(gen, "cpu", _levels(gen))
    doc = _doc()
    rng = random.Random(0)
    sites = ["features", "tail", "compose", "mask", None]
    for i in range(40):
        doc.set_seed(rng.randrange(6))
        site = rng.choice(sites)
        if site is None:
            assert renderer.render(doc.snapshot()).ok
        else:
            with _fault(renderer, site):
                r = renderer.render(doc.snapshot())
            # a cached piece may let the render succeed without reaching the fault
            assert r.ok or r.error.startswith("out of memory"), (i, site, r.error)


# -- interrupted saves -----------------------------------------------------------------------


def _project(seed: int, strokes: int, side: int = 64) -> EditDocument:
    rng = np.random.default_rng(seed)
    doc = EditDocument("tiny", "layer4", seed=seed)
    for i in range(strokes):
        mask = rng.integers(0, 256, size=(side, side), dtype=np.uint8)  # incompressible
        doc.add_stroke(Stroke("tree", "draw", (i % 8,), 1.0, 0.99, "layer4", mask))
    return doc


def _same(a: EditDocument, b: EditDocument) -> bool:
    return (a.seed, a.model_id, a.layer, len(a.strokes)) == (
        b.seed,
        b.model_id,
        b.layer,
        len(b.strokes),
    ) and all(
        np.array_equal(x.mask, y.mask) and x.units == y.units
        for x, y in zip(a.strokes, b.strokes, strict=True)
    )


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


class _StepFile:
    """The file object ``os.fdopen`` returns during a save, with its writes as steps."""

    def __init__(self, f, steps: _Steps):
        self.f, self.steps = f, steps

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def fileno(self):
        return self.f.fileno()

    def write(self, text):
        half = len(text) // 2
        self.f.write(text[:half])  # a part reaches the file before the failure
        self.steps.step("write")
        return self.f.write(text[half:])

    def flush(self):
        self.steps.step("flush")
        return self.f.flush()


class _Steps:
    """Wraps the calls an atomic save makes; raises ``error`` at call number ``fail_at``."""

    NAMES = ("open", "fdopen", "fchmod", "write", "flush", "fsync", "replace")

    def __init__(self, fail_at: int | None, error: BaseException):
        self.fail_at, self.error, self.calls = fail_at, error, []

    def step(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_at is not None and len(self.calls) - 1 == self.fail_at:
            raise self.error

    def _wrap(self, name: str, real):
        def call(*args, **kwargs):
            self.step(name)
            out = real(*args, **kwargs)
            return _StepFile(out, self) if name == "fdopen" else out

        return call

    @contextlib.contextmanager
    def active(self):
        names = [n for n in ("open", "fdopen", "fchmod", "fsync", "replace") if hasattr(os, n)]
        with contextlib.ExitStack() as stack:
            for name in names:
                stack.enter_context(
                    mock.patch.object(os, name, self._wrap(name, getattr(os, name)))
                )
            yield self


def _count_steps(doc: EditDocument, path: Path) -> list[str]:
    probe = _Steps(None, OSError())
    with probe.active():
        doc.save(path)
    return probe.calls


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
    ids=["ENOSPC", "KeyboardInterrupt"],
)
def test_save_failing_at_each_step_keeps_old_or_new(tmp_path, error):
    path = tmp_path / "p.ganpaint"
    old, new = _project(1, 3), _project(2, 5)
    old.save(path)
    steps = _count_steps(new, path)  # over an existing file, as below
    assert {"open", "write", "flush", "fsync", "replace"} <= set(steps), steps
    for k, name in enumerate(steps):
        old.save(path)
        new.modified = True
        replaced = "replace" in steps[:k]  # failing after the rename: the new file is in place
        if replaced and isinstance(error, OSError):
            with _Steps(k, error).active():  # syncing the folder is best effort
                new.save(path)
            assert not new.modified
        else:
            with _Steps(k, error).active(), pytest.raises(type(error)):
                new.save(path)
            assert new.modified, f"a failed save at step {k} ({name}) marked the document saved"
        on_disk = EditDocument.load(path)
        assert _same(on_disk, new if replaced else old), f"failure at step {k} ({name})"
        assert not _temps(tmp_path), f"temporary file left after a failure at {name}"
    new.save(path)  # and a later save works
    assert _same(EditDocument.load(path), new)


def test_failed_folder_fsync_after_rename_still_saves(tmp_path):
    path = tmp_path / "p.ganpaint"
    doc = _project(3, 2)
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second is the folder's, after the rename
            raise OSError(errno.EINVAL, "fsync of a folder not supported")
        return real_fsync(fd)

    with mock.patch.object(os, "fsync", fsync):
        doc.save(path)
    assert _same(EditDocument.load(path), doc)
    assert not doc.modified


def _kill_loop(path: Path, a: EditDocument, b: EditDocument) -> None:
    """In a forked child: save a and b in turn, forever."""
    try:
        while True:
            a.save(path)
            b.save(path)
    finally:
        os._exit(0)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_save_killed_at_random_moments_leaves_old_or_new(tmp_path):
    path = tmp_path / "p.ganpaint"
    a, b = _project(10, 40), _project(11, 60)  # about 0.7 and 1 MB: writes take a while
    a.save(path)
    rng = random.Random(0)
    kills = 0
    mid_write = 0  # kills that left a temporary file: the save was between open and rename
    # At least 10 kills however slow the machine; up to 40 while there is time.
    deadline = time.monotonic() + 25
    while kills < 40 and (kills < 10 or time.monotonic() < deadline):
        pid = os.fork()
        if pid == 0:
            _kill_loop(path, a, b)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        on_disk = EditDocument.load(path)
        assert _same(on_disk, a) or _same(on_disk, b), f"kill {kills}: neither old nor new"
        mid_write = len(_temps(tmp_path))
    assert kills >= 10
    # leftovers of killed saves (hidden .p.ganpaint.*.tmp files) never break a later save
    leftovers = _temps(tmp_path)
    assert all(p.name.startswith(".p.ganpaint.") for p in leftovers)
    c = _project(12, 1)
    c.save(path)
    assert _same(EditDocument.load(path), c)
    print(f"{kills} kills, {mid_write} of them mid-write")


def test_stale_temporary_files_do_not_break_saves(tmp_path):
    path = tmp_path / "p.ganpaint"
    for i in range(20):
        (tmp_path / f".p.ganpaint.{i:012x}.tmp").write_text("{half a proj")
    doc = _project(5, 2)
    doc.save(path)
    assert _same(EditDocument.load(path), doc)
    # a stale temporary file is never mistaken for the project
    with pytest.raises(ProjectFileError):
        EditDocument.load(tmp_path / ".p.ganpaint.000000000000.tmp")


def test_readers_during_saves_see_old_or_new(tmp_path):
    path = tmp_path / "p.ganpaint"
    a, b = _project(20, 10), _project(21, 14)
    a.save(path)
    stop = threading.Event()
    problems: list[str] = []
    loads = 0

    def reader():
        nonlocal loads
        while not stop.is_set():
            try:
                doc = EditDocument.load(path)
            except ProjectFileError as exc:
                problems.append(str(exc))
                continue
            loads += 1
            if not (_same(doc, a) or _same(doc, b)):
                problems.append("neither old nor new")

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(40):
            b.save(path)
            a.save(path)
    finally:
        stop.set()
        t.join(30)
    assert not problems, problems[:3]
    assert loads > 0


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_keeps_permissions(tmp_path):
    """A save used to leave every file private (0600, from mkstemp); now a new file gets
    0666 less the umask and an existing file keeps its mode."""
    path = tmp_path / "p.ganpaint"
    doc = _project(6, 1)
    old_umask = os.umask(0o027)
    try:
        doc.save(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    os.chmod(path, 0o604)
    doc.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604
    atomic_write_text(tmp_path / "bundle.json", "{}")
    assert stat.S_IMODE((tmp_path / "bundle.json").stat().st_mode) == 0o666 & ~old_umask


def test_save_into_missing_folder_raises_and_leaves_nothing(tmp_path):
    doc = _project(7, 1)
    with pytest.raises(OSError):
        doc.save(tmp_path / "nope" / "p.ganpaint")
    assert not list(tmp_path.iterdir())
    assert doc.modified


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="POSIX file semantics")
