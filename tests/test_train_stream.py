"""Scenes rendered beside training (:mod:`ganpaint.train.stream`): every set rendered as
``render_scene`` renders it, failures and dead workers reported instead of waited for, the
workers gone on every exit path, and a GAN trained on a stream (waiting for its batches)
equal to one trained on a finished set, resumed or not, whatever the order the scenes come
in. The stand-in scene world of test_train renders fast; ``slowed`` makes it slow enough
that the trainer really waits."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time

import numpy as np
import pytest
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.train.state import read_state
from ganpaint.train.stream import SceneSet, SceneStream, planned_order
from tests.test_train import (
    MICRO,
    _fake_dataset,
    _fake_scene,
    _small_segmenter,
    _weights,
    fake_scenes,  # noqa: F401 - a fixture
)

# Every test here renders the stand-in scene world (a fresh module per test).
pytestmark = pytest.mark.usefixtures("fake_scenes")


def _world():
    """The stand-in ``ganpaint.scenes`` of this test."""
    return sys.modules["ganpaint.scenes"]


@pytest.fixture
def slowed():
    """``slowed(seconds)``: each stand-in scene takes that long to render."""

    def install(seconds: float) -> None:
        def render(seed: int, size: int):
            time.sleep(seconds)
            return _fake_scene(seed, size)

        _world().render_scene = render

    return install


@pytest.fixture
def new_children():
    """``new_children()``: the processes this test started that are still alive (other
    tests' may linger; they are not this one's business)."""
    before = set(mp.active_children())
    return lambda: [p for p in mp.active_children() if p not in before]


def test_stream_renders_every_set_as_render_scene_does(new_children):
    order = np.random.RandomState(0).permutation(30)
    sets = [SceneSet("a", 30, 100, order), SceneSet("b", 5, 7, labels=False)]
    with SceneStream(sets, 16, workers=2) as stream:
        assert stream.wait("a", timeout=30) and stream.wait("b", timeout=30)
        rgb, labels = _fake_dataset(30, 16, 100)
        assert np.array_equal(stream.images("a"), rgb)
        assert np.array_equal(stream.labels("a"), labels)
        assert np.array_equal(stream.images("b"), _fake_dataset(5, 16, 7)[0])
        assert stream.labels("b") is None and stream.ready["a"].all()
        assert set(stream.finished_s) == {"a", "b"}
    assert not new_children()
    with pytest.raises(ValueError, match="not a permutation"):
        SceneStream([SceneSet("c", 3, 0, np.array([0, 0, 1]))], 16, 1)


def _raise_at_13(seed: int) -> None:
    if seed == 13:
        raise ValueError("no scene 13")


def _die_at_5(seed: int) -> None:
    if seed == 5:
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize(
    ("trouble", "message"),
    [(_raise_at_13, "rendering scenes failed in a worker: .*no scene 13"), (_die_at_5, "died")],
    ids=["error", "killed"],
)
def test_stream_reports_a_failing_or_dead_worker(trouble, message, new_children):
    """A worker's exception is raised in the parent; a worker killed without a word is
    noticed; neither is waited for, and the other workers are stopped."""

    def render(seed: int, size: int):
        trouble(seed)
        return _fake_scene(seed, size)

    _world().render_scene = render
    stream = SceneStream([SceneSet("a", 40, 0)], 16, workers=2).start()
    with pytest.raises(GanpaintError, match=message):
        stream.wait("a", timeout=30)
    assert not new_children()


def test_keep_only_renders_what_is_still_needed(slowed, new_children):
    slowed(0.02)
    stream = SceneStream([SceneSet("gan", 400, 0), SceneSet("eval", 8, 10**6)], 16, 1).start()
    try:
        assert not stream.wait("gan", np.arange(300, 400), timeout=0.05)
        stream.keep_only(["eval"])  # the eval scenes come next, the GAN's rest never
        assert stream.wait("eval", timeout=30)
        assert np.array_equal(stream.images("eval"), _fake_dataset(8, 16, 10**6)[0])
        assert not stream.complete("gan")
        with pytest.raises(GanpaintError, match="gan scenes are not rendered"):
            stream.wait("gan", timeout=30)
    finally:
        stream.close()
    assert not new_children()


def _streamed_trainer(cfg, out, resume, order=None, copy=None):
    from ganpaint.train.gan import GANTrainer

    trainer = GANTrainer(cfg, out, device="cpu", resume=resume)
    if order is None:
        order = planned_order(cfg.dataset_size, cfg.batch, cfg.seed, resume or None)
    stream = SceneStream([SceneSet("gan", cfg.dataset_size, 0, order)], 32, 1).start()
    trainer.set_streamed_data(stream, "gan", copy=copy)
    return trainer, stream


@pytest.mark.slow
def test_streamed_training_equals_a_finished_set_and_resumes_exactly(tmp_path, slowed):
    """8 steps on a finished set = 4 + 4 resumed in another folder, both halves on scenes
    still rendering (1 worker, slow scenes: the trainer waits for its batches), the second
    in the worst order (the scenes it needs last come first) and copied to a tensor of its
    own as on a GPU (the first half trains on the shared memory itself, as on a CPU)."""
    from ganpaint.train.gan import GANTrainer

    cfg = MICRO.replace(max_steps=8, dataset_size=24, sample_every=0)
    data, _ = _fake_dataset(24, 32, 0)
    whole = GANTrainer(cfg, tmp_path / "whole", device="cpu", resume=False)
    whole.set_data(data)
    whole.train(max_steps=8, export=False)

    slowed(0.02)
    first, stream = _streamed_trainer(cfg, tmp_path / "a", False)
    first.train(max_steps=4, export=False)
    stream.close()
    assert first.data_wait_s > 0  # it did wait for scenes
    torch.manual_seed(1234)
    state = tmp_path / "a" / "state"
    assert planned_order(24, cfg.batch, cfg.seed, state)[:4].tolist() == (
        first.perm[first.pos : first.pos + 4].tolist()
    )
    worst = planned_order(24, cfg.batch, cfg.seed, state)[::-1].copy()
    # The second half copies rendered scenes to its own tensor, as on a GPU.
    second, stream = _streamed_trainer(cfg, tmp_path / "b", state, order=worst, copy=True)
    assert second.data.data_ptr() != stream.images("gan").ctypes.data
    summary = second.train(max_steps=8, export=False)
    stream.close()
    assert second.data_wait_s > 0 and summary["data_wait_s"] > 0
    assert second.images_seen == whole.images_seen == 8 * cfg.batch and not second.events
    a, b = _weights(whole), _weights(second)
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), k
    meta, _ = read_state(tmp_path / "b" / "state")
    assert [w["steps"] for w in meta["windows"]] == [[0, 4], [4, 8]]
    assert meta["windows"][-1]["data_wait_s"] > 0


def test_planned_order_is_the_order_a_resumed_trainer_draws(tmp_path):
    """Mid-epoch the rest of the epoch comes first; at an epoch's end the next epoch's
    permutation (from the saved data generator) is rendered in its own order."""
    from ganpaint.train.gan import GANTrainer

    cfg = MICRO.replace(dataset_size=24, sample_every=0)
    fresh = planned_order(24, cfg.batch, cfg.seed)
    for steps in (2, 6):  # 24 scenes, batch 4: step 6 ends the first epoch
        t = GANTrainer(cfg, tmp_path / str(steps), device="cpu", resume=False)
        t.set_data(_fake_dataset(24, 32)[0])
        t.train(max_steps=steps, export=False)
        if steps == 2:
            assert fresh.tolist() == t.perm.tolist()
        order = planned_order(24, cfg.batch, cfg.seed, t.checkpoint_path)
        resumed = GANTrainer(cfg, tmp_path / "r", device="cpu", resume=t.checkpoint_path)
        resumed.set_data(_fake_dataset(24, 32)[0])
        resumed._epoch()
        rest = resumed.perm[resumed.pos :].tolist()
        assert len(rest) == (16 if steps == 2 else 24) and order.tolist()[: len(rest)] == rest
        assert sorted(order.tolist()) == list(range(24))


@pytest.mark.slow
def test_training_waits_no_longer_than_its_deadline(tmp_path, slowed):
    """Scenes that come too late: the loop stops on its deadline (less the time kept for
    the end) instead of waiting for them, or training on anything else."""
    slowed(20.0)  # the first batch would take a minute
    trainer, stream = _streamed_trainer(MICRO, tmp_path, False)
    try:
        summary = trainer.train(deadline=time.perf_counter() + 5.0, export=False)
    finally:
        stream.close()
    assert summary["stop_reason"] == "time budget" and trainer.step == 0
    assert 0 < trainer.data_wait_s < 5.0


@pytest.mark.slow
def test_train_gan_stops_its_render_workers_on_every_exit(tmp_path, slowed, new_children):
    """A normal end, Ctrl-C and an error while scenes are still rendering: no worker is
    left."""
    from ganpaint.train.run_gan import train_gan

    slowed(0.01)
    cfg = MICRO.replace(dataset_size=200)
    s = train_gan(cfg, tmp_path / "ok", device="cpu", max_steps=2, progress=False, workers=1)
    assert s["steps"] == 2 and not new_children()
    for error in (KeyboardInterrupt, RuntimeError):

        def stop(error=error):
            raise error("stop here")

        with pytest.raises(error):
            train_gan(cfg, tmp_path / "x", device="cpu", progress=False, workers=1, stop_check=stop)
        assert not new_children()


def test_pipeline_stops_its_render_workers_on_ctrl_c(tmp_path, slowed, monkeypatch, new_children):
    """Ctrl-C while the GAN trains and scenes still render: the workers end with the run."""
    from ganpaint.train import pipeline
    from ganpaint.train.gan import GANTrainer

    def interrupted(self, **kwargs):
        assert self.streaming and new_children()  # scenes are still rendering
        raise KeyboardInterrupt

    slowed(0.05)
    monkeypatch.setattr(GANTrainer, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_pipeline(
            MICRO.replace(dataset_size=200), tmp_path / "p", 60.0, device="cpu",
            work=tmp_path / "w", workers=2, eval_samples=8,
            carry=pipeline.Carry(segmenter=_segmenter_file(tmp_path)),
        )  # fmt: skip
    assert not new_children()


def _segmenter_file(tmp_path):
    from ganpaint.models.segmenter import save_segmenter

    path = tmp_path / "segmenter.safetensors"
    save_segmenter(_small_segmenter(), path)
    return path


def test_train_gan_reports_a_render_failure(tmp_path, new_children):
    from ganpaint.train.run_gan import train_gan

    def broken(seed: int, size: int):
        raise OSError("the renderer is broken")

    _world().render_scene = broken
    with pytest.raises(GanpaintError, match="the renderer is broken"):
        train_gan(MICRO, tmp_path, device="cpu", max_steps=2, progress=False, workers=1)
    assert not new_children()


def _first_window_at_home(tmp_path, monkeypatch) -> tuple[list[str], object]:
    """Window 1 of the stand-in world (fresh, with a segmenter on the machine) and its files
    unpacked at home: the window's options and the home ``.gpu``."""
    from ganpaint.devtools import gpu_window
    from ganpaint.train import configs

    monkeypatch.setitem(configs.CONFIGS, "micro", MICRO.replace(dataset_size=40))
    # The window's budget counts from its process's start: here, from this test's.
    monkeypatch.setattr("ganpaint.train.runlog.process_age_s", lambda: 0.0)
    remote, home = tmp_path / "remote" / ".gpu", tmp_path / "home" / ".gpu"
    remote.mkdir(parents=True)
    _segmenter_file(tmp_path).rename(remote / "segmenter.safetensors")
    argv = ["run", "--config", "micro", "--seconds", "60", "--device", "cpu", "--workers", "2"]
    argv += ["--eval-samples", "8"]
    assert gpu_window.main([*argv, "--gpu-dir", str(remote), "--out", str(tmp_path / "o1")]) == 0
    assert gpu_window.main(["unpack", str(tmp_path / "o1"), "--gpu-dir", str(home)]) == 0
    assert read_state(home / "state")[0]["step"] == 4  # MICRO.max_steps
    return argv, home


@pytest.mark.slow
def test_gpu_window_fresh_then_resumed_from_its_unpacked_files(tmp_path, monkeypatch, new_children):
    """The whole window path with the stand-in world: window 1 (fresh), unpack at home,
    window 2 resumed from there (another .gpu folder, as on a fresh machine)."""
    from ganpaint.devtools import gpu_window
    from ganpaint.models import load_bundle

    argv, home = _first_window_at_home(tmp_path, monkeypatch)
    out2 = tmp_path / "o2"
    argv2 = [*argv, "--gpu-dir", str(home), "--out", str(out2), "--max-steps", "6"]
    assert gpu_window.main(argv2) == 0
    assert len(list(out2.iterdir())) <= gpu_window.TOOL_FILES
    gpu_window.unpack(out2, home)
    meta, _ = read_state(home / "state")
    assert meta["step"] == 6 and meta["data"]["n"] == 40
    assert [w["steps"] for w in meta["windows"]] == [[0, 4], [4, 6]]
    card = load_bundle(home / "bundle").meta["training"]
    assert [w["images"] for w in card["windows"]] == [[0, 16], [16, 24]]
    assert "fd" in card["windows"][-1]["evaluation"] and not card.get("errors")
    assert {"precision", "recall"} <= set(card["windows"][-1]["evaluation"])
    assert not new_children()


@pytest.mark.slow
def test_a_lost_gpu_folder_goes_on_from_the_kept_bundle(tmp_path, monkeypatch, new_children):
    """A window's bundle kept as a bundled model; the next session's ``.gpu`` is gone (as on
    2026-11-28), so its window warm-starts from the kept bundle: the card's windows go on,
    the event says what was fresh, and the window is measured with the kept segmenter."""
    from ganpaint.devtools import gpu_window
    from ganpaint.models import load_bundle

    argv, home = _first_window_at_home(tmp_path, monkeypatch)
    kept = tmp_path / "repo" / "models" / "micro"
    assert gpu_window.main(["keep", str(kept), "--gpu-dir", str(home)]) == 0
    lost = tmp_path / "next" / ".gpu"
    argv2 = [*argv, "--gpu-dir", str(lost), "--out", str(tmp_path / "o2"), "--max-steps", "7"]
    argv2 += ["--warm-start", str(kept), "--d-warmup-images", "8"]
    assert gpu_window.main(argv2) == 0
    gpu_window.unpack(tmp_path / "o2", lost)
    meta, _ = read_state(lost / "state")
    assert meta["step"] == 7 and [w["steps"] for w in meta["windows"]] == [[0, 4], [4, 7]]
    assert any("warm start from micro" in e and "held still for 2 steps" in e
               for e in meta["events"])  # fmt: skip
    card = load_bundle(lost / "bundle").meta["training"]
    assert card["segmenter"]["mode"].startswith("reused")  # the kept bundle's, not trained
    assert (lost / "bundle" / "segmenter.safetensors").is_file()
    assert [w["images"] for w in card["windows"]] == [[0, 16], [16, 28]]
    assert not new_children()
