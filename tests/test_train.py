"""Training: GAN steps, checkpoints and resume, the segmenter and its file format, quality
measures and the one-shot pipeline, all on tiny models and a stand-in scene world (so the
tests do not depend on the real renderer's speed); time budgets run on a fake clock (so they
do not depend on the machine's load)."""

from __future__ import annotations

import json
import sys
import time
import types

import numpy as np
import pytest
import torch

import ganpaint
from ganpaint.core.errors import CheckpointError, GanpaintError
from ganpaint.models import load_bundle, load_generator
from ganpaint.models.segmenter import (
    Segmenter,
    load_segmenter,
    save_segmenter,
    segment,
    segment_features,
)
from ganpaint.train.configs import CONFIGS, GANConfig, get_config
from ganpaint.train.discriminator import Discriminator, minibatch_stddev
from ganpaint.train.state import read_state

CONCEPTS = (
    "sky", "cloud", "mountain", "grass", "tree", "path", "brick", "roof", "dome", "door", "window",
)  # fmt: skip
_PALETTE = np.array(
    [
        [110, 170, 240], [235, 235, 240], [120, 100, 150], [90, 170, 60], [30, 90, 40],
        [200, 170, 110], [170, 70, 50], [200, 110, 40], [60, 180, 190], [90, 50, 20],
        [240, 220, 90],
    ],
    np.float32,
)  # fmt: skip

# Small enough to train a few steps in well under a second on 2 CPU cores; 32 px with
# 4 stages, so layer4 and layer6 exist for the bundle.
MICRO = get_config("tiny").replace(
    name="micro",
    g_widths=(16, 16, 8, 8),
    d_widths=(8, 8, 16, 16),
    z_dim=16,
    batch=4,
    r1_every=2,
    dataset_size=24,
    max_steps=4,
    sample_every=2,
)
SEG_ARCH = {"encoder": (8, 8, 16, 16), "decoder": (8, 8, 16)}


def _fake_scene(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    labels = np.zeros((size, size), np.uint8)
    horizon = int(size * rng.uniform(0.4, 0.6))
    labels[horizon:] = 3
    w = max(size // 4, 2)
    x0 = rng.randint(0, size - w)
    y0 = max(horizon - w, 0)
    labels[y0:horizon, x0 : x0 + w] = 6
    labels[y0 + 1 : y0 + 3, x0 + 1 : x0 + 3] = 10
    rgb = _PALETTE[labels] + rng.normal(0, 6, (size, size, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8), labels


def _fake_dataset(n: int, size: int, start_seed: int = 0, workers=None):
    rgb = np.empty((n, size, size, 3), np.uint8)
    labels = np.empty((n, size, size), np.uint8)
    for i in range(n):
        rgb[i], labels[i] = _fake_scene(start_seed + i, size)
    return rgb, labels


@pytest.fixture
def fake_scenes(monkeypatch):
    """Replace ganpaint.scenes with a fast stand-in of the same API."""
    mod = types.ModuleType("ganpaint.scenes")
    mod.CONCEPTS = CONCEPTS
    mod.render_scene = _fake_scene
    mod.render_dataset = _fake_dataset
    monkeypatch.setitem(sys.modules, "ganpaint.scenes", mod)
    monkeypatch.setattr(ganpaint, "scenes", mod, raising=False)
    return mod


class ClockRanAway(BaseException):
    """The fake clock went far past any budget: budget logic that never stops (a
    BaseException, so the pipeline's per-stage ``except Exception`` cannot swallow it)."""


class TickingClock:
    """A stand-in for ``time.perf_counter``: every reading moves it on by ``tick`` seconds
    and :meth:`advance` adds the time a fake piece of work takes. The code under test then
    sees the same times on an idle and on a loaded machine, so a budget check in these
    tests fails only when the budget logic does."""

    def __init__(self, tick: float, limit_s: float):
        self.start = self.now = 1000.0
        self.tick, self.limit_s = tick, limit_s

    def __call__(self) -> float:
        self.advance(self.tick)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if self.now - self.start > self.limit_s:
            raise ClockRanAway(f"{self.now - self.start:.1f} fake seconds")

    def elapsed(self) -> float:
        return self.now - self.start


@pytest.fixture
def fake_clock(monkeypatch):
    """``fake_clock(tick, limit_s)`` installs a :class:`TickingClock` as time.perf_counter."""

    def install(tick: float, limit_s: float) -> TickingClock:
        clock = TickingClock(tick, limit_s)
        monkeypatch.setattr(time, "perf_counter", clock)
        return clock

    return install


def _small_segmenter() -> Segmenter:
    torch.manual_seed(0)
    return Segmenter(len(CONCEPTS), concepts=CONCEPTS, **SEG_ARCH)


def test_render_scenes_respects_its_time_limit(fake_scenes, monkeypatch, fake_clock):
    from ganpaint.train.data import render_scenes

    clock = fake_clock(tick=1e-4, limit_s=5.0)

    def slow(n, size, start_seed=0, workers=None):
        clock.advance(0.002 * n)  # 2 ms a scene: 2000 scenes would take 4 s
        return _fake_dataset(n, size, start_seed)

    monkeypatch.setattr(fake_scenes, "render_dataset", slow)
    rgb, labels = render_scenes(2000, 8, 0, workers=1, time_limit_s=0.5, min_n=10)
    assert clock.elapsed() <= 0.5
    assert 10 <= len(rgb) < 2000 and len(labels) == len(rgb)
    expected, _ = _fake_dataset(3, 8, 0)
    assert np.array_equal(rgb[:3], expected)


# -- configs and networks ------------------------------------------------------------------


def test_named_configs_are_consistent():
    assert {"scenes128", "scenes64", "tiny"} <= set(CONFIGS)
    s128 = get_config("scenes128")
    assert s128.resolution == 128 and s128.g_widths == (256, 256, 256, 128, 64, 32)
    assert s128.batch == 64 and s128.dataset_size == 30_000 and s128.lr == 0.002
    assert s128.betas == (0.0, 0.99)
    assert GANConfig.from_dict(json.loads(json.dumps(s128.to_dict()))) == s128
    with pytest.raises(GanpaintError, match="unknown training config"):
        get_config("nope")
    with pytest.raises(ValueError):
        s128.replace(g_widths=(8, 8))


def test_discriminator_shapes_and_stddev():
    d = Discriminator(32, (8, 8, 16, 16))
    assert d(torch.randn(6, 3, 32, 32)).shape == (6,)
    y = minibatch_stddev(torch.randn(6, 4, 4, 4), group=4)  # 6 is not a multiple of 4
    assert y.shape == (6, 5, 4, 4)


# -- GAN training --------------------------------------------------------------------------


def test_gan_trains_checkpoints_and_resumes(tmp_path, fake_scenes):
    from ganpaint.train.gan import GANTrainer
    from ganpaint.train.run_gan import train_gan

    out = tmp_path / "run"
    s1 = train_gan(MICRO, out, device="cpu", max_steps=3, progress=False)
    assert s1["steps"] == 3 and s1["images_seen"] == 3 * MICRO.batch
    assert s1["stop_reason"] == "max_steps"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(np.isfinite(r["loss_d"]) and np.isfinite(r["loss_g"]) for r in rows)
    assert any(r["r1"] is not None for r in rows)
    assert (out / "samples_000002.png").is_file() and (out / "samples_000003.png").is_file()

    meta, state = read_state(out / "state")
    assert meta["step"] == 3 and meta["images_seen"] == 12
    assert meta["precision"] == {"weights": "float32", "moments": "float32"}
    assert [w["images"] for w in meta["windows"]] == [[0, 12]]

    # Resuming restores models, EMA and optimizer moments, and continues the step count.
    t = GANTrainer(MICRO, out, device="cpu", resume=True)
    assert t.step == 3 and t.resumed_from_step == 3
    for k, v in t.G_ema.state_dict().items():
        assert torch.equal(state[f"G_ema.{k}"], v)
    for k, v in t.D.state_dict().items():
        assert torch.equal(state[f"D.{k}"], v)
    moments = t.opt_G.state_dict()["state"][0]["exp_avg_sq"]
    assert torch.equal(state["opt_G.0.exp_avg_sq"], moments)

    s2 = train_gan(MICRO, out, device="cpu", max_steps=5, progress=False)
    assert s2["steps"] == 5 and s2["steps_this_run"] == 2 and s2["resumed_from_step"] == 3
    assert [w["images"] for w in s2["windows"]] == [[0, 12], [12, 20]]
    meta, state = read_state(out / "state")
    assert meta["step"] == 5

    gen = load_generator(out / "generator_ema.safetensors")
    assert gen.resolution == 32 and gen.widths == MICRO.g_widths
    z = torch.randn(2, MICRO.z_dim)
    ref = GANTrainer(MICRO, tmp_path / "other", device="cpu", resume=False).G_ema
    ref.load_state_dict({k: state[f"G_ema.{k}"] for k in ref.state_dict()})
    assert torch.allclose(gen(z), ref(z), atol=1e-6)


def _weights(trainer):
    return {
        f"{name}.{k}": v.clone()
        for name, m in (("G", trainer.G), ("G_ema", trainer.G_ema), ("D", trainer.D))
        for k, v in m.state_dict().items()
    }


@pytest.mark.parametrize("reduced", [False, True], ids=["fp32", "fp16-state"])
def test_resume_continues_exactly(tmp_path, fake_scenes, monkeypatch, reduced):
    """A run that saves at N/2 and goes on equals N/2 + N/2 resumed in another folder
    (another machine): the same images seen and the same weights, EMA and moments. The
    data order (N/2 is mid-epoch) and the RNG (z, flips) carry over. A state too large for
    float32 rounds the live tensors as it saves, which this checks with a tiny budget."""
    from ganpaint.train import state as state_mod
    from ganpaint.train.gan import GANTrainer

    if reduced:
        monkeypatch.setattr(state_mod, "FLOAT32_LIMIT_BYTES", 1024)
    cfg = MICRO.replace(max_steps=8, dataset_size=24, sample_every=0)
    data, _ = _fake_dataset(24, 32, 0)

    whole = GANTrainer(cfg, tmp_path / "whole", device="cpu", resume=False)
    whole.set_data(data)
    whole.train(max_steps=4, export=False)
    whole.train(max_steps=8, export=False)

    first = GANTrainer(cfg, tmp_path / "a", device="cpu", resume=False)
    first.set_data(data)
    first.train(max_steps=4, export=False)
    torch.manual_seed(1234)  # the state, not this process, decides what comes next
    second = GANTrainer(cfg, tmp_path / "b", device="cpu", resume=tmp_path / "a" / "state")
    second.set_data(data)
    assert second.step == 4 and second.pos == first.pos
    second.train(max_steps=8, export=False)

    assert second.images_seen == whole.images_seen == 8 * cfg.batch
    assert not second.events
    other = GANTrainer(cfg, tmp_path / "c", device="cpu", resume=tmp_path / "a" / "state")
    other.set_data(data[:20])  # another data set: the order cannot carry over, and says so
    assert other.pos == 0 and "20 training scenes where the state had 24" in other.events[-1]
    a, b = _weights(whole), _weights(second)
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6), k
    meta, _ = read_state(tmp_path / "b" / "state")
    assert [w["steps"] for w in meta["windows"]] == [[0, 4], [4, 8]]
    expect = "float16" if reduced else "float32"
    assert meta["precision"]["weights"] == expect


def test_resume_refuses_a_broken_state(tmp_path, fake_scenes):
    from ganpaint.train.gan import GANTrainer

    with pytest.raises(GanpaintError, match="not a training state"):
        GANTrainer(MICRO, tmp_path / "x", device="cpu", resume=tmp_path)
    train_gan_out = tmp_path / "run"
    GANTrainer(MICRO, train_gan_out, device="cpu").save_checkpoint()
    shard = next((train_gan_out / "state").glob("tensors-*.safetensors"))
    shard.write_bytes(b"garbage")
    with pytest.raises(GanpaintError, match="cannot read"):
        GANTrainer(MICRO, tmp_path / "y", device="cpu", resume=train_gan_out / "state")


def test_state_of_the_256_config_fits_its_budget(tmp_path):
    """The 256 px config's state stays within 40 MiB (weights float16, moments bfloat16),
    and within 30 MiB so that it travels to a GPU window with the segmenter and the
    repository (64 MiB in all)."""
    from ganpaint.train.gan import GANTrainer
    from ganpaint.train.state import MAX_STATE_BYTES, precision_plan, state_bytes_estimate

    t = GANTrainer("scenes256", tmp_path, device="cpu", resume=False)
    assert precision_plan(t) == {"weights": "float16", "moments": "bfloat16"}
    # Room for the data order (int32 per training scene), the RNG and state.json.
    room = 4 * t.cfg.dataset_size + 64 * 1024
    assert state_bytes_estimate(t) < min(MAX_STATE_BYTES - room, 30 * 2**20)


def test_gan_resume_refuses_another_architecture(tmp_path, fake_scenes):
    from ganpaint.train.gan import GANTrainer
    from ganpaint.train.run_gan import train_gan

    train_gan(MICRO, tmp_path, device="cpu", max_steps=1, progress=False)
    with pytest.raises(GanpaintError, match="g_widths"):
        GANTrainer(MICRO.replace(g_widths=(16, 16, 16, 8)), tmp_path, device="cpu")


def test_gan_stops_on_its_time_budget(tmp_path, fake_scenes, fake_clock):
    from ganpaint.train.run_gan import train_gan

    fake_clock(tick=0.05, limit_s=10.0)
    s = train_gan(MICRO, tmp_path, device="cpu", max_steps=10**6, time_budget_s=3.0, progress=False)
    assert s["stop_reason"] == "time budget" and s["steps"] >= 1
    # The loop keeps time for the final sample, checkpoint and export writes.
    assert s["total_s"] <= 3.0
    assert (tmp_path / "generator_ema.safetensors").is_file()


# -- the segmenter -------------------------------------------------------------------------


def test_segmenter_shapes_features_and_segment():
    seg = _small_segmenter().eval()
    x = torch.rand(3, 3, 30, 44) * 2 - 1  # not multiples of 8: padded inside
    assert seg(x).shape == (3, len(CONCEPTS), 30, 44)
    assert seg.features(x).shape == (3, 32)
    imgs = (torch.rand(5, 24, 24, 3) * 255).to(torch.uint8)
    labels = segment(seg, imgs.numpy(), batch_size=2)
    assert labels.shape == (5, 24, 24) and labels.dtype == torch.long
    lab2, feats = segment_features(seg, imgs, batch_size=4)
    assert torch.equal(lab2, labels) and feats.shape == (5, 32)


def test_segment_features_runs_the_encoder_once_and_image_features_no_decoder():
    """Labels and features from one encoder pass, equal to the two separate calls; the
    features alone never run the decoder; the model's training mode comes back."""
    from ganpaint.models.segmenter import image_features

    seg = _small_segmenter().train()
    imgs = (torch.rand(5, 24, 24, 3) * 255).to(torch.uint8)
    calls = {"stem": 0, "head": 0}
    seg.stem.register_forward_hook(lambda *a: calls.__setitem__("stem", calls["stem"] + 1))
    seg.head.register_forward_hook(lambda *a: calls.__setitem__("head", calls["head"] + 1))
    labels, feats = segment_features(seg, imgs, batch_size=4)
    assert calls == {"stem": 2, "head": 2} and seg.training
    alone = image_features(seg, imgs, batch_size=4)
    assert calls == {"stem": 4, "head": 2} and seg.training
    assert torch.equal(alone, feats)
    seg.eval()
    with torch.no_grad():
        x = (imgs.permute(0, 3, 1, 2).float() / 127.5 - 1).contiguous(
            memory_format=torch.channels_last
        )
        assert torch.equal(labels, seg(x).argmax(1))
        assert torch.allclose(feats, seg.features(x), atol=1e-6)
    with pytest.raises(ValueError, match="no images"):
        image_features(seg, imgs[:0])


def test_default_segmenter_size():
    n = sum(p.numel() for p in Segmenter(11).parameters())
    assert 1_000_000 <= n <= 3_000_000


def test_segmenter_file_round_trip_is_exact(tmp_path):
    seg = _small_segmenter()
    seg.train()
    seg(torch.randn(4, 3, 32, 32))  # move the batch-norm statistics away from defaults
    seg.eval()
    path = tmp_path / "seg.safetensors"
    save_segmenter(seg, path)
    back = load_segmenter(path)
    assert back.config() == seg.config() and back.concepts == CONCEPTS
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(back(x), seg(x))


def test_load_segmenter_rejects_bad_files(tmp_path):
    from safetensors.torch import save_file

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 3)
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_segmenter(junk)
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_segmenter(junk)
    with pytest.raises(CheckpointError, match="no such"):
        load_segmenter(tmp_path / "missing.safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="not a ganpaint segmenter"):
        load_segmenter(plain)
    meta = {"format": "ganpaint-segmenter", "config": "{not json"}
    save_file({"w": torch.zeros(2)}, str(plain), metadata=meta)
    with pytest.raises(CheckpointError, match="not JSON"):
        load_segmenter(plain)
    huge = {"encoder": [2048] * 7, "decoder": [2048] * 6, "num_classes": 11}
    meta["config"] = json.dumps(huge)
    save_file({"w": torch.zeros(2)}, str(plain), metadata=meta)
    with pytest.raises(CheckpointError, match="declares"):
        load_segmenter(plain)
    cfg = _small_segmenter().config()
    meta["config"] = json.dumps(cfg)
    save_file({"w": torch.zeros(2)}, str(plain), metadata=meta)
    with pytest.raises(CheckpointError, match="missing segmenter weight"):
        load_segmenter(plain)
    good = tmp_path / "good.safetensors"
    save_segmenter(_small_segmenter(), good)
    data = bytearray(good.read_bytes())
    good.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    with pytest.raises(CheckpointError):
        load_segmenter(good)


def test_train_segmenter_few_steps(tmp_path, fake_scenes):
    from ganpaint.train.segmenter import train_segmenter

    out = tmp_path / "seg.safetensors"
    result = train_segmenter(
        size=32, steps=3, n_train=16, n_heldout=6, batch=4, out_path=out, device="cpu",
        progress=False, **SEG_ARCH,
    )  # fmt: skip
    m = result.metrics
    assert m["steps"] == 3 and m["heldout_scenes"] == 6
    assert 0.0 <= m["miou"] <= 1.0 and set(m["iou"]) == set(CONCEPTS)
    back = load_segmenter(out)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(back(x), result.model.eval()(x))


def test_augment_keeps_shapes_and_range():
    from ganpaint.train.segmenter import augment, class_weights, gaussian_blur

    x = torch.rand(4, 3, 32, 32) * 2 - 1
    y = torch.randint(0, 11, (4, 32, 32))
    xa, ya = augment(x, y)
    assert xa.shape == x.shape and ya.shape == y.shape
    assert float(xa.min()) >= -1 and float(xa.max()) <= 1
    same = gaussian_blur(x, torch.zeros(4))
    assert torch.allclose(same, x, atol=1e-5)
    w = class_weights(y.to(torch.uint8), 11)
    assert w.shape == (11,) and bool(torch.isfinite(w).all())


# -- quality -------------------------------------------------------------------------------


def test_frechet_distance():
    from ganpaint.models.realism import frechet_distance

    rng = np.random.RandomState(0)
    a = rng.normal(size=(400, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + np.array([2.0, 0, 0, 0])
    assert frechet_distance(a, shifted) == pytest.approx(4.0, rel=1e-6)


def test_precision_recall_counts_who_falls_in_whose_ball():
    from ganpaint.models.realism import precision_recall

    rng = np.random.RandomState(0)
    real = np.concatenate([rng.normal(0, 0.1, (20, 3)), rng.normal(0, 0.1, (20, 3)) + 10])
    assert precision_recall(real, real) == (1.0, 1.0)
    # a generator that draws one of the two clusters: all it draws is real, half the world
    assert precision_recall(real[:20], real) == (1.0, 0.5)
    assert precision_recall(real + 100, real) == (0.0, 0.0)
    # 3 of 4 generated rows inside a real ball: at 0.05 from a real row, and one far off
    fake = np.concatenate([real[:3] + 0.05, [[5.0, 5.0, 5.0]]])
    assert precision_recall(fake, real)[0] == 0.75
    with pytest.raises(ValueError, match="more than k=3 rows"):
        precision_recall(real[:3], real)
    # sets larger than the 1024-row blocks agree with all pairwise distances at once
    f, r = rng.normal(size=(1500, 4)), 1.3 * rng.normal(size=(1100, 4))
    ft, rt = torch.from_numpy(f), torch.from_numpy(r)

    def share_inside(x, ref):
        radius = torch.cdist(ref, ref).kthvalue(4, dim=1).values
        return float((torch.cdist(x, ref) <= radius[None]).any(1).double().mean())

    p, rec = precision_recall(f, r)
    assert p == pytest.approx(share_inside(ft, rt), abs=2e-3) and 0.2 < p < 1
    assert rec == pytest.approx(share_inside(rt, ft), abs=2e-3) and 0.2 < rec < 1


def test_evaluate_gan_on_tiny_models(fake_scenes):
    from ganpaint.models.progan import ProGANGenerator
    from ganpaint.train.quality import evaluate_gan, format_report

    torch.manual_seed(0)
    gen = ProGANGenerator(MICRO.g_widths, z_dim=MICRO.z_dim).eval()
    result = evaluate_gan(gen, _small_segmenter().eval(), n=8, device="cpu")
    assert result["n"] == 8 and np.isfinite(result["fd"]) and np.isfinite(result["fd_real_floor"])
    shares = result["pixel_share"]
    assert set(shares) == set(CONCEPTS)
    for key in ("generated", "real_segmented", "real_true"):
        assert sum(s[key] for s in shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert shares["grass"]["real_true"] > 0.2  # the stand-in's ground is grass
    assert result["fd_floor"] == result["fd_real_floor"] >= 0
    if result["fd_floor"] > 0:
        assert result["fd_ratio"] == pytest.approx(result["fd"] / result["fd_floor"], rel=1e-2)
    assert result["sky_noise_ratio"] is None or result["sky_noise_ratio"] > 0
    assert set(result["share_gap_points"]) == set(CONCEPTS)
    assert "Fréchet" in format_report(result) and "sky noise" in format_report(result)
    for key in ("precision", "recall", "precision_floor", "recall_floor"):
        assert 0 <= result[key] <= 1
    assert result["pr_k"] == 3 and "precision / recall (k=3" in format_report(result)
    few = evaluate_gan(gen, _small_segmenter().eval(), n=3, device="cpu")  # balls need 4
    assert few["precision"] is few["recall_floor"] is None and np.isfinite(few["fd"])
    lines = result["sky_lines"]  # 32 px pictures: 8 px patches
    assert lines["patch"] == 8 and result["sky_line_ratio"] == lines["ratio"]
    assert "sky stripes" in format_report(result)


def test_evaluate_gan_compares_at_another_size(fake_scenes, capsys):
    from ganpaint.cli import main
    from ganpaint.models.progan import ProGANGenerator
    from ganpaint.train.quality import evaluate_gan, format_report

    torch.manual_seed(0)
    gen = ProGANGenerator(MICRO.g_widths, z_dim=MICRO.z_dim).eval()
    result = evaluate_gan(gen, _small_segmenter().eval(), n=8, device="cpu", size=16)
    assert result["resolution"] == 32 and result["compared_at"] == 16
    assert np.isfinite(result["fd"]) and result["sky_lines"]["patch"] == 8
    assert "at 32 px, compared at 16 px (" in format_report(result)
    assert main(["evaluate-gan", "/nonexistent", "--size", "8"]) == 2
    assert "--size must be in 16..1024, got 8" in capsys.readouterr().err


def test_sky_noise_sees_stripes_and_ignores_sky_edges():
    from ganpaint.models.realism import eroded_mask, highpass_residual, sky_noise

    labels = torch.zeros(2, 32, 32, dtype=torch.uint8)
    labels[:, 20:] = 3  # sky above row 20, grass below
    mask = eroded_mask(labels, 0)
    # Eroded by 3 px: away from the image border and from the horizon.
    assert mask[0, 3:17, 3:29].all() and not mask[0, :3].any() and not mask[0, 17:].any()
    flat = torch.full((2, 32, 32, 3), 150, dtype=torch.uint8)
    flat[:, 20:] = torch.randint(0, 255, (2, 12, 32, 3), dtype=torch.uint8)  # busy grass
    assert float(highpass_residual(flat)[mask].abs().max()) == 0.0
    striped = flat.clone()
    striped[:, ::2, :, :] = 160  # horizontal stripes through the sky
    rendered = flat.clone()
    rendered[:, :20] += torch.randint(0, 2, (2, 20, 32, 3), dtype=torch.uint8)  # faint grain
    out = sky_noise(striped, labels, rendered, labels, sky=0)
    assert out["generated"] == pytest.approx(4.0) and 0 < out["rendered"] < 1.0
    assert out["ratio"] == pytest.approx(out["generated"] / out["rendered"], rel=1e-3)
    assert sky_noise(flat, labels, flat, labels, sky=5)["ratio"] is None  # no such sky


# -- the pipeline and the command line -------------------------------------------------------


def test_pipeline_writes_a_bundle_within_budget(tmp_path, fake_scenes, fake_clock):
    from ganpaint.train.pipeline import run_pipeline

    fake_clock(tick=0.05, limit_s=80.0)
    out = tmp_path / "pipe"
    budget = 40.0
    summary = run_pipeline(
        MICRO.replace(max_steps=6), out, time_budget_s=budget, device="cpu",
        work=tmp_path / "work", workers=1, eval_samples=8, gan_scenes=24,
    )  # fmt: skip
    assert summary["bundle"] and summary["bundle_verified"], summary
    assert summary["pipeline_s"] <= budget
    assert not summary["errors"], summary["errors"]
    assert 0 <= summary["precision"] <= 1 and 0 <= summary["recall"] <= 1
    bundle = load_bundle(out / "bundle")  # checks every sha256
    meta = bundle.meta
    assert meta["name"] == "micro" and meta["architecture"] == "progan"
    assert meta["edit_layers"] == ["layer4", "layer6"] and meta["default_layer"] == "layer4"
    assert meta["concepts"] == list(CONCEPTS)
    assert set(meta["files"]) == {"generator.safetensors", "segmenter.safetensors"}
    card = meta["training"]
    assert card["steps"] == 6 and card["images_seen"] == 6 * MICRO.batch
    assert card["stop_reason"] == "max_steps"
    assert "miou" in card["segmenter"] and "fd" in card["evaluation"]
    assert card["windows"] and card["windows"][-1]["images"][1] == card["images_seen"]
    assert bundle.generator.widths == MICRO.g_widths
    assert isinstance(bundle.load_segmenter(), Segmenter)
    from safetensors import safe_open

    with safe_open(str(out / "bundle" / "generator.safetensors"), "pt") as f:
        assert f.get_tensor("layer1.conv.weight").dtype == torch.float16
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8 and all(p.stat().st_size < 16 * 2**20 for p in files)
    assert {p.name for p in files} >= {"samples.png", "metrics.jsonl", "pipeline.log"}


def test_pipeline_stops_the_gan_on_its_budget(tmp_path, fake_scenes, fake_clock):
    """With steps to spare the GAN stops on the budget, leaving time for the segmenter,
    evaluation and export, and the whole pipeline ends inside the budget."""
    from ganpaint.train.pipeline import run_pipeline

    fake_clock(tick=0.25, limit_s=80.0)
    budget = 40.0
    summary = run_pipeline(
        MICRO.replace(max_steps=10**6), tmp_path / "pipe", time_budget_s=budget, device="cpu",
        work=tmp_path / "work", workers=1, eval_samples=8, gan_scenes=24,
    )  # fmt: skip
    assert summary["bundle_verified"] and not summary["errors"], summary
    assert summary["pipeline_s"] <= budget
    card = load_bundle(tmp_path / "pipe" / "bundle").meta["training"]
    assert card["stop_reason"] == "time budget" and card["steps"] >= 1
    assert "miou" in card["segmenter"] and "fd" in card["evaluation"]
    assert card["windows"] and card["windows"][-1]["images"][1] == card["images_seen"]


def test_cli_has_training_commands(capsys):
    from ganpaint.cli import build_parser

    parser = build_parser()
    for cmd in ("train-gan", "train-segmenter", "evaluate-gan", "train-pipeline"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([cmd, "--help"])
        assert exc.value.code == 0
        assert "usage" in capsys.readouterr().out


def test_cli_train_gan_unknown_config_is_a_user_error(capsys):
    from ganpaint.cli import main

    assert main(["train-gan", "--config", "nope", "--out", "/nonexistent"]) == 2
    assert "unknown training config" in capsys.readouterr().err


@pytest.mark.slow
def test_pipeline_falls_back_when_the_segmenter_job_fails(
    tmp_path, fake_scenes, monkeypatch, fake_clock
):
    import ganpaint.train.pipeline as pipeline

    fake_clock(tick=0.05, limit_s=80.0)

    start_job = pipeline.SegmenterJob.__init__

    def broken_job(self, work, args, log):
        start_job(self, work, ["--no-such-option"], log)  # the job exits at once

    monkeypatch.setattr(pipeline.SegmenterJob, "__init__", broken_job)
    summary = pipeline.run_pipeline(
        MICRO.replace(max_steps=3), tmp_path / "pipe", time_budget_s=40.0, device="cpu",
        work=tmp_path / "work", workers=1, eval_samples=8, gan_scenes=24,
        segmenter_mode="concurrent",
    )  # fmt: skip
    assert summary["bundle_verified"] and summary["pipeline_s"] <= 40.0
    assert any("segmenter job failed" in e for e in summary["errors"])
    card = load_bundle(tmp_path / "pipe" / "bundle").meta["training"]
    assert card["segmenter"]["mode"].startswith("fallback")


def test_cli_train_pipeline_passes_every_flag(tmp_path, monkeypatch, capsys):
    """``ganpaint train-pipeline`` (formerly ``python -m ganpaint.train.pipeline``) hands
    each flag to run_pipeline, counts the budget from process start and exits 1 without a
    bundle."""
    import ganpaint.train.pipeline as pipeline
    from ganpaint.cli import main

    calls = []

    def fake_run(*args, **kwargs):
        calls.append((args, kwargs))
        return {"bundle": None}

    monkeypatch.setattr(pipeline, "run_pipeline", fake_run)
    argv = ["train-pipeline", "--config", "tiny", "--out", str(tmp_path), "--time-budget", "9"]
    argv += ["--device", "cpu", "--work", "W", "--segmenter-mode", "sequential"]
    argv += ["--workers", "3", "--eval-samples", "16", "--gan-scenes", "40"]
    assert main(argv) == 1
    (args, kwargs) = calls[0]
    assert args == ("tiny", str(tmp_path), 9.0)
    assert kwargs == {
        "device": "cpu",
        "work": "W",
        "segmenter_mode": "sequential",
        "workers": 3,
        "eval_samples": 16,
        "gan_scenes": 40,
        "from_process_start": True,
    }
    assert main(["train-pipeline", "--out", str(tmp_path), "--time-budget", "0"]) == 2
    assert "--time-budget must be positive" in capsys.readouterr().err


def test_segmenter_job_entry_writes_model_and_metrics(tmp_path, fake_scenes):
    """The job the pipeline starts (``python -m ganpaint.train.segmenter_job``), run here."""
    from ganpaint.train.segmenter_job import main

    out, result = tmp_path / "seg.safetensors", tmp_path / "seg.json"
    argv = ["--size", "32", "--steps", "2", "--n-train", "8", "--n-heldout", "4"]
    argv += ["--out", str(out), "--result", str(result), "--device", "cpu", "--workers", "1"]
    argv += ["--encoder", "8,16,32,32", "--decoder", "8,16,32"]
    assert main(argv) == 0
    metrics = json.loads(result.read_text(encoding="utf-8"))
    assert metrics["steps"] == 2 and "miou" in metrics and out.is_file()


def test_cli_resume_in_another_folder_equals_one_run(tmp_path, fake_scenes, capsys):
    """The acceptance test of resumable training: the tiny config, 8 steps in one run vs
    4 + 4 with ``--resume`` into another folder: same images seen, same weights."""
    from ganpaint.main import main

    def run(out, steps, *extra):
        args = ["train-gan", "--config", "tiny", "--device", "cpu", "--workers", "1"]
        assert main([*args, "--out", str(out), "--max-steps", str(steps), *extra]) == 0

    run(tmp_path / "one", 8)
    run(tmp_path / "half", 4)
    run(tmp_path / "other", 8, "--resume", str(tmp_path / "half" / "state"))
    one, one_t = read_state(tmp_path / "one" / "state")
    two, two_t = read_state(tmp_path / "other" / "state")
    assert one["images_seen"] == two["images_seen"] == 8 * get_config("tiny").batch
    assert [w["steps"] for w in two["windows"]] == [[0, 4], [4, 8]]
    weights = [k for k in one_t if k.split(".")[0] in ("G", "G_ema", "D")]
    assert weights and set(weights) <= set(two_t)
    for k in weights:
        assert torch.allclose(one_t[k], two_t[k], rtol=1e-5, atol=1e-6), k
    g1 = load_generator(tmp_path / "one" / "generator_ema.safetensors")
    g2 = load_generator(tmp_path / "other" / "generator_ema.safetensors")
    z = torch.randn(2, g1.z_dim)
    assert torch.allclose(g1(z), g2(z), atol=1e-5)
    assert (
        main(
            [
                "train-gan",
                "--config",
                "tiny",
                "--out",
                str(tmp_path / "x"),
                "--resume",
                str(tmp_path / "nothing"),
            ]
        )
        == 2
    )
    assert "not a training state folder" in capsys.readouterr().err


def test_resized_keeps_label_values_and_flat_colours():
    from ganpaint.train.quality import resized

    images = np.zeros((2, 8, 8, 3), np.uint8)
    images[:, :, :4] = 200
    labels = np.zeros((2, 8, 8), np.uint8)
    labels[:, :, :4] = 3
    big, lab = resized(images, labels, 32)
    assert big.shape == (2, 32, 32, 3) and lab.shape == (2, 32, 32)
    assert set(lab.unique().tolist()) == {0, 3} and (lab[:, :, :16] == 3).all()
    assert (big[:, :, :12] == 200).all() and (big[:, :, 20:] == 0).all()
