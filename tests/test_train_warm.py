"""Warm start (``ganpaint.train.warm``) and keeping a window's bundle (``gpu_window keep``):
a run whose state is lost goes on from a committed bundle's generator and card, with a fresh
discriminator that trains alone first; ``keep`` copies a bundle into the models' folder
whole or not at all."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools import gpu_files
from ganpaint.main import main as ganpaint_main
from ganpaint.models.bundle import load_bundle, write_bundle_json
from ganpaint.train.export import save_generator_half
from ganpaint.train.gan import GANTrainer
from ganpaint.train.warm import WarmStart
from tests.test_train import MICRO

CARD_WINDOWS = [{"steps": [0, 40], "images": [0, 160], "hardware": "an earlier machine"}]


def _data(n: int = 24) -> np.ndarray:
    rng = np.random.RandomState(0)
    return rng.randint(0, 255, (n, MICRO.resolution, MICRO.resolution, 3), dtype=np.uint8)


def _trained(tmp_path, steps: int = 4) -> GANTrainer:
    t = GANTrainer(MICRO, tmp_path / "source", device="cpu", resume=False)
    t.set_data(_data())
    t.train(max_steps=steps, write_checkpoint=False, export=False)
    return t


def _bundle(tmp_path, trainer: GANTrainer, card: dict | None = None):
    folder = tmp_path / "bundle"
    folder.mkdir()
    save_generator_half(trainer.export_generator(), folder / "generator.safetensors")
    save_file({"w": torch.ones(3)}, str(folder / "segmenter.safetensors"))
    gen = trainer.G_ema
    meta = {"name": "micro", "architecture": "progan", "widths": list(gen.widths),
            "z_dim": gen.z_dim, "resolution": gen.resolution, "edit_layers": ["layer4"],
            "default_layer": "layer4"}  # fmt: skip
    if card is not None:
        meta["training"] = card
    write_bundle_json(folder, meta)
    return folder


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_a_warm_start_takes_the_generator_and_card_and_a_fresh_discriminator(tmp_path):
    source = _trained(tmp_path)
    card = {"steps": 40, "images_seen": 160, "windows": CARD_WINDOWS, "events": ["old event"]}
    bundle = _bundle(tmp_path, source, card)
    fresh = GANTrainer(MICRO, tmp_path / "fresh", device="cpu", resume=False)
    t = GANTrainer(MICRO, tmp_path / "warm", device="cpu", resume=WarmStart(bundle, 8))
    exported = _weights(source.export_generator())
    for module in (t.G, t.G_ema):  # the float16 file, read back in float32
        for k, v in module.state_dict().items():
            assert torch.equal(v, exported[k].half().float()), k
    assert _same(_weights(t.D), _weights(fresh.D))  # a fresh discriminator, not the source's
    assert not _same(_weights(t.D), _weights(source.D))
    assert (t.step, t.images_seen, t.windows) == (40, 160, CARD_WINDOWS)
    assert t.events[0] == "old event" and "warm start from bundle" in t.events[1]
    assert t.g_frozen_until == 40 + 2  # 8 images at batch 4
    assert not t.opt_G.state and not t.opt_D.state


def test_g_is_held_still_while_the_fresh_discriminator_learns(tmp_path):
    bundle = _bundle(tmp_path, _trained(tmp_path), {"steps": 4, "images_seen": 16})
    t = GANTrainer(MICRO, tmp_path / "warm", device="cpu", resume=WarmStart(bundle, 12))
    t.set_data(_data())
    g0, ema0, d0 = _weights(t.G), _weights(t.G_ema), _weights(t.D)
    t.train(max_steps=5, write_checkpoint=True, export=False)  # 1 step, D only
    # A state written during the warm-up resumes it: G stays still to its end.
    resumed = GANTrainer(MICRO, tmp_path / "warm", device="cpu")
    assert (resumed.step, resumed.g_frozen_until) == (5, 7)
    t.train(max_steps=7, write_checkpoint=False, export=False)  # 2 more: all D-only
    assert _same(_weights(t.G), g0) and _same(_weights(t.G_ema), ema0)
    assert not _same(_weights(t.D), d0)
    rows = [json.loads(line) for line in t.metrics_path.read_text().splitlines()]
    assert all(r["loss_g"] is None for r in rows) and rows[-1]["loss_d"] is not None
    t.train(max_steps=9, write_checkpoint=True, export=False)  # then G moves again
    assert not _same(_weights(t.G), g0) and not _same(_weights(t.G_ema), ema0)
    assert (t.step, t.images_seen) == (9, 36)
    # The state written after a warm start resumes as any other: the event is in it.
    again = GANTrainer(MICRO, tmp_path / "warm", device="cpu")
    assert again.step == 9 and any("warm start" in e for e in again.events)


def test_an_option_left_out_takes_the_default_warm_up_and_zero_stays_zero(tmp_path):
    from ganpaint.train.warm import DEFAULT_D_WARMUP_IMAGES

    assert WarmStart.of(tmp_path).d_warmup_images == DEFAULT_D_WARMUP_IMAGES
    assert WarmStart.of(tmp_path, None).d_warmup_images == DEFAULT_D_WARMUP_IMAGES
    assert WarmStart.of(tmp_path, 0).d_warmup_images == 0
    assert WarmStart.of(str(tmp_path), 64) == WarmStart(tmp_path, 64)
    with pytest.raises(GanpaintError, match="warm-up"):
        WarmStart.of(tmp_path, -1)


def test_a_bare_generator_file_gives_its_own_counts(tmp_path):
    source = _trained(tmp_path)
    path = tmp_path / "g.safetensors"
    source.export(path)  # this project's file: step and images in its metadata
    t = GANTrainer(MICRO, tmp_path / "a", device="cpu", resume=WarmStart(path, 0))
    assert (t.step, t.images_seen, t.g_frozen_until) == (4, 16, 4)
    plain = tmp_path / "official.safetensors"  # no counts: starts at 0
    save_file({k: v.contiguous() for k, v in source.G_ema.state_dict().items()}, str(plain))
    t = GANTrainer(MICRO, tmp_path / "b", device="cpu", resume=WarmStart(plain, 0))
    assert (t.step, t.images_seen) == (0, 0)
    assert _same(_weights(t.G), _weights(source.G_ema))


def test_a_warm_start_refuses_another_shape_or_a_broken_bundle(tmp_path):
    bundle = _bundle(tmp_path, _trained(tmp_path), {"steps": 4})
    wider = MICRO.replace(g_widths=(32, 16, 8, 8))
    with pytest.raises(GanpaintError, match=r"widths \[16, 16, 8, 8\].*widths \[32, 16, 8, 8\]"):
        GANTrainer(wider, tmp_path / "w", device="cpu", resume=WarmStart(bundle))
    (bundle / "generator.safetensors").write_bytes(b"not weights")
    with pytest.raises(GanpaintError, match="generator.safetensors"):
        GANTrainer(MICRO, tmp_path / "x", device="cpu", resume=WarmStart(bundle))
    with pytest.raises(GanpaintError, match="warm-up"):
        WarmStart(bundle, -1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--d-warmup-images", "8"], "goes with --warm-start"),
        (["--warm-start", "B", "--resume", "S"], "contradict"),
        (["--warm-start", "B"], "already holds a training state"),
    ],
)
def test_train_gan_names_impossible_warm_start_options(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    (out / "state").mkdir(parents=True)
    (out / "state" / "state.json").write_text("{}")
    code = ganpaint_main(["train-gan", "--config", "tiny", "--out", str(out), *argv])
    assert code != 0 and message in capsys.readouterr().err


def _kept_bundle(tmp_path):
    gpu = tmp_path / ".gpu"
    gpu.mkdir()
    _bundle(tmp_path, _trained(tmp_path), {"steps": 4, "images_seen": 16, "windows": []})
    (tmp_path / "bundle").rename(gpu / "bundle")
    return gpu


def test_keep_copies_the_bundle_whole_and_names_what_stops_it(tmp_path, monkeypatch):
    gpu = _kept_bundle(tmp_path)
    models = tmp_path / "models"
    (models / "other").mkdir(parents=True)
    (models / "other" / "weights").write_bytes(b"x" * 1000)
    target = models / "scenes256"
    got = gpu_files.keep(gpu, target)
    assert sorted(got["files"]) == sorted(gpu_files.KEPT_FILES) and got["images_seen"] == 16
    gen = "generator.safetensors"
    assert (target / gen).read_bytes() == (gpu / "bundle" / gen).read_bytes()
    kept = load_bundle(target)  # hashes checked, the card kept
    assert kept.meta["training"]["images_seen"] == 16 and not kept.problems
    with safe_open(str(target / "segmenter.safetensors"), framework="pt") as f:
        assert f.get_tensor("w").dtype == torch.float16  # as a window carries it
    (target / "dissection.json").write_text("{}")  # made for the generator kept before
    with pytest.raises(GanpaintError, match="dissection.json"):
        gpu_files.keep(gpu, target)
    gpu_files.keep(gpu, target, drop_others=True)
    assert not (target / "dissection.json").exists()
    monkeypatch.setattr(gpu_files, "MODELS_MAX_BYTES", got["models_bytes"] - 1)
    with pytest.raises(GanpaintError, match="over the 0 MB"):
        gpu_files.keep(gpu, target)
    assert sorted(p.name for p in target.iterdir()) == sorted(gpu_files.KEPT_FILES)
    (gpu / "bundle" / "generator.safetensors").write_bytes(b"damaged")
    monkeypatch.setattr(gpu_files, "MODELS_MAX_BYTES", 10**9)
    with pytest.raises(GanpaintError, match="generator.safetensors"):
        gpu_files.keep(gpu, target)
    assert not target.with_name("scenes256.partial").exists()


def test_a_window_warm_starts_only_where_no_state_is_left(tmp_path):
    gpu = _kept_bundle(tmp_path)
    bundle = gpu / "bundle"
    fresh = tmp_path / "fresh"
    assert gpu_files.warm_start_for(fresh, bundle) == bundle
    assert (fresh / "segmenter.safetensors").is_file()  # the bundle's, to measure alike
    (fresh / "state").mkdir()
    (fresh / "state" / "state.json").write_text("{}")
    assert gpu_files.warm_start_for(fresh, bundle) is None  # an exact resume comes first
    with pytest.raises(GanpaintError, match="no such bundle"):
        gpu_files.warm_start_for(tmp_path / "other", tmp_path / "missing")


def test_a_warm_started_window_keeps_the_recipe_on_the_bundles_card(tmp_path, monkeypatch):
    import ganpaint.train.pipeline as pipeline
    from ganpaint.devtools import gpu_window

    recipe = {"d_spectral": True, "ema_half_life_images": 20_000, "d_projected": 0.25}
    bundle = _bundle(tmp_path, _trained(tmp_path), {"steps": 4, "config": recipe})
    seen = []
    monkeypatch.setattr(
        pipeline, "run_pipeline", lambda cfg, *a, **k: seen.append((cfg, k)) or {"bundle": None}
    )
    gpu_window.run_window("tiny", 10, tmp_path / "o1", tmp_path / "g1", warm_start=bundle)
    cfg, kwargs = seen[-1]
    assert (cfg.d_spectral, cfg.ema_half_life_images, cfg.d_projected) == (True, 20_000, 0.25)
    assert kwargs["carry"].warm_start.bundle == bundle
    assert kwargs["carry"].segmenter == tmp_path / "g1" / "segmenter.safetensors"
    gpu_window.run_window("tiny", 10, tmp_path / "o2", tmp_path / "g2", warm_start=bundle,
                          ema_half_life_images=40_000, d_projected=1.0)  # fmt: skip
    cfg = seen[-1][0]  # options given win over the card's
    assert (cfg.ema_half_life_images, cfg.d_projected) == (40_000, 1.0)


def test_keep_thins_the_same_windows_state_which_then_resumes_exactly(tmp_path, monkeypatch):
    import shutil

    from safetensors.torch import load_file

    import ganpaint.train.state as state_mod

    # scenes256's storage: float16 weights, so the state's EMA equals the exported file's
    half = {"weights": "float16", "moments": "bfloat16"}
    monkeypatch.setattr(state_mod, "precision_plan", lambda trainer: half)
    gpu = tmp_path / ".gpu"
    t = GANTrainer(MICRO, tmp_path / "run", device="cpu", resume=False)
    t.set_data(_data())
    t.train(max_steps=3, write_checkpoint=False, export=False)
    t.save_checkpoint(gpu / "state")
    shutil.copytree(gpu / "state", tmp_path / "whole")
    _bundle(tmp_path, t, {"steps": 3, "images_seen": 12})
    (tmp_path / "bundle").rename(gpu / "bundle")
    target = tmp_path / "models" / "run"
    got = gpu_files.keep(gpu, target)
    assert got["state"].startswith("thinned")
    meta = json.loads((gpu / "state" / "state.json").read_text())
    assert meta["g_ema_file"]["path"] == (target / "generator.safetensors").as_posix()
    stored = {k for f in meta["files"] for k in load_file(str(gpu / "state" / f))}
    assert stored and not any(k.startswith("G_ema.") for k in stored)
    thin_bytes = sum(p.stat().st_size for p in (gpu / "state").iterdir())
    assert thin_bytes < sum(p.stat().st_size for p in (tmp_path / "whole").iterdir())
    a = GANTrainer(MICRO, tmp_path / "a", device="cpu", resume=gpu / "state")
    b = GANTrainer(MICRO, tmp_path / "b", device="cpu", resume=tmp_path / "whole")
    for name in ("G", "G_ema", "D"):
        assert _same(_weights(getattr(a, name)), _weights(getattr(b, name))), name
    assert gpu_files.keep(gpu, target)["state"] == "already thinned"
    # A malformed or missing reference, and another window's bundle kept over it: the
    # thinned state says what it misses.
    json_path = gpu / "state" / "state.json"
    good = json_path.read_text()
    for ref, message in (
        (["x"], "is not a path and a sha256"),
        ({"path": str(tmp_path / "gone.safetensors")}, "which is not here"),
    ):
        json_path.write_text(json.dumps({**json.loads(good), "g_ema_file": ref}))
        with pytest.raises(GanpaintError, match=message):
            state_mod.read_state(gpu / "state")
    json_path.write_text(good)
    save_file({"x": torch.zeros(1)}, str(target / "generator.safetensors"))
    with pytest.raises(GanpaintError, match="has changed since"):
        GANTrainer(MICRO, tmp_path / "c", device="cpu", resume=gpu / "state")
    # A state of another window is left whole.
    t.train(max_steps=4, write_checkpoint=False, export=False)
    t.save_checkpoint(tmp_path / "later")
    assert state_mod.thin_state(tmp_path / "later", gpu / "bundle" / "generator.safetensors") == (
        f"left whole: its EMA generator differs from {gpu / 'bundle' / 'generator.safetensors'}'s"
    )
