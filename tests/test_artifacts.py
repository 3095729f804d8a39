"""``ganpaint artifacts``: a unit planted to draw stripes is found first; the measures, the
stored set and the renderer's zeroing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganpaint.dissect.artifacts import generate
from ganpaint.models import save_generator
from ganpaint.models.progan import seeded_generator, without_units
from ganpaint.models.realism import flat_mask, flat_noise

PLANTED = 5


def striped_generator():
    """A 32 px generator whose images are one flat colour plus faint smooth variation,
    except layer7's unit PLANTED: a horizontal difference on the nearest-upsampled map, so
    it fires on every other column (the stripes of an upsampling artifact)."""
    gen = seeded_generator([8, 8, 8, 8], z_dim=16, seed=3)
    with torch.no_grad():
        w7 = gen.layer7.conv.weight  # (8, 8, 3, 3), input upsampled 2x (nearest)
        w7[PLANTED] = 0
        w7[PLANTED, :, 1, 1] = 4.0
        w7[PLANTED, :, 1, 2] = -4.0
        w8 = gen.layer8.conv.weight
        w8.zero_()
        for c in range(8):
            w8[c, c, 1, 1] = 1.0 / gen.layer8.wscale.scale  # layer8 passes layer7 through
        out = gen.output_32x32
        out.conv.weight.mul_(0.02)
        out.conv.weight[:, PLANTED] = 0.25
        out.wscale.b.copy_(torch.tensor([0.3, 0.5, 0.7]))
    return gen


def test_flat_mask_sees_through_stripes():
    img = torch.full((1, 32, 32, 3), 120, dtype=torch.uint8)
    img[:, :, ::2] = 160  # period-2 stripes on a flat colour: still flat, and noisy
    assert bool(flat_mask(img).all())
    assert flat_noise(img) > 5
    ramp = torch.arange(32, dtype=torch.uint8).mul(8).view(1, 1, 32, 1).expand(1, 32, 32, 3)
    assert not bool(flat_mask(ramp.contiguous()).any())  # a steep gradient is not flat


@pytest.mark.slow
def test_planted_artifact_unit_found_first(tmp_path, capsys):
    from ganpaint.main import main

    gen = striped_generator()
    path = tmp_path / "striped.safetensors"
    save_generator(gen, path)
    args = ["artifacts", str(path), "--layers", "layer5,layer7", "--seeds", "4", "--candidates",
            "3", "--max-units", "2", "--measure-seeds", "8", "--heldout", "6", "--heldout-from",
            "500", "--evaluate", "--json"]  # fmt: skip
    assert main(args) == 0
    assert torch.is_grad_enabled()  # the command's no_grad does not leak into the caller
    result = json.loads(capsys.readouterr().out)
    assert result["measure"] == "flat-colour"
    first = result["screen"][0]
    assert (first["layer"], first["unit"]) == ("layer7", PLANTED)
    assert PLANTED in result["units"]["layer7"]
    assert result["flat_noise_after"] < 0.5 * result["flat_noise_before"]
    assert result["heldout_seeds"] == [500, 506]  # a fresh held-out range where asked


def test_relative_change_bounds_rare_concepts_and_skips_the_rarest():
    from ganpaint.dissect.artifacts import relative_change

    base = np.array([0.60, 0.3869, 0.01, 0.003, 0.0001])
    assert relative_change(base, base) == 0.0
    # the 1 % concept halves: 0.5 points only, but 50 % of its share
    assert relative_change(np.array([0.605, 0.3869, 0.005, 0.003, 0.0001]), base) == pytest.approx(
        50
    )
    # a concept under 0.2 % of the pixels is too noisy to bound: it may vanish
    assert relative_change(np.array([0.60, 0.3869, 0.01, 0.003, 0.0]), base) == 0.0


def tinted_generator():
    """A 32 px generator whose colour hardly varies, except through layer7's unit PLANTED,
    which copies an input channel and tints the picture red as much as it fires."""
    gen = seeded_generator([8, 8, 8, 8], z_dim=16, seed=3)
    with torch.no_grad():
        w7 = gen.layer7.conv.weight
        w7[PLANTED] = 0
        w7[PLANTED, 0, 1, 1] = 3.0 / gen.layer7.wscale.scale
        gen.layer8.conv.weight.zero_()
        for c in range(8):  # layer8 passes layer7 through
            gen.layer8.conv.weight[c, c, 1, 1] = 1.0 / gen.layer8.wscale.scale
        out = gen.output_32x32
        out.conv.weight.mul_(0.005)
        out.conv.weight[:, PLANTED, 0, 0] = torch.tensor([0.4, -0.4, -0.4]) / out.wscale.scale
    return gen.eval()


def _tint_features(images: torch.Tensor) -> torch.Tensor:
    """Per image: mean red minus mean green, and mean brightness."""
    x = images.float()
    return torch.stack([x[..., 0].mean((1, 2)) - x[..., 1].mean((1, 2)), x.mean((1, 2, 3))], 1)


def test_top_activation_screen_puts_the_planted_unit_first(monkeypatch):
    """GAN Dissection's screen: the images where the planted unit fires most are the most
    tinted, so their features lie furthest from the untinted "rendered" ones."""
    from types import SimpleNamespace

    from ganpaint.dissect import artifacts

    monkeypatch.setattr(artifacts, "image_features", lambda seg, im: _tint_features(im))
    gen = tinted_generator()
    clean = generate(without_units(gen, {"layer7": [PLANTED]}), range(40))
    measure = SimpleNamespace(segmenter=object(), real_feats=_tint_features(clean).numpy())
    ranked = artifacts.screen_top_activations(gen, ["layer7", "layer5"], range(60), measure, 8)
    assert set(ranked) == {"layer5", "layer7"} and len(ranked["layer7"]) == 8
    assert ranked["layer7"][0][0] == PLANTED
    fds = [d for _, d in ranked["layer7"]]
    assert fds == sorted(fds, reverse=True)
    with pytest.raises(ValueError, match="needs a segmenter"):
        artifacts.screen_top_activations(gen, ["layer7"], range(4), SimpleNamespace(
            segmenter=None, real_feats=None), 2)  # fmt: skip


def test_an_impossible_heldout_start_is_refused(capsys):
    from ganpaint.main import main

    assert main(["artifacts", "--heldout-from", "-3", "--evaluate"]) == 2
    assert "--heldout-from" in capsys.readouterr().err


def test_zeroing_in_weights_equals_zeroed_features():
    gen = seeded_generator([8, 8, 8], z_dim=16, seed=1)
    z = torch.randn(3, 16)
    h = gen.run(z, until="layer4")
    h[:, [1, 6]] = 0
    expected = gen.run(h, after="layer4")
    assert torch.equal(without_units(gen, {"layer4": [1, 6]})(z), expected)
    assert not torch.equal(gen(z), expected)  # the original is left as it was


def test_renderer_zeroes_a_set_in_every_frame():
    from ganpaint.engine.document import DocumentSnapshot
    from ganpaint.engine.renderer import Renderer

    gen = seeded_generator([8, 8, 8], z_dim=16, seed=1)
    r = Renderer(gen, "cpu")
    snap = DocumentSnapshot(revision=1, model_id="m", layer="layer4", seed=7, strokes=())
    before = r.render(snap).image
    r.set_zeroed({"layer4": [2, 3]})
    after = r.render(snap).image
    cleaned = without_units(gen, {"layer4": [2, 3]})
    with torch.no_grad():
        want = ((cleaned(r.z(7).float()).clamp(-1, 1) + 1) * 127.5).round()
    want = want.to(torch.uint8)[0].permute(1, 2, 0).numpy()
    assert np.abs(after.astype(int) - want.astype(int)).max() <= 1
    assert not np.array_equal(before, after)
    assert np.array_equal(r.render_full(7, original=True), before)
    r.set_zeroed(None)
    assert np.array_equal(r.render(snap).image, before)


def test_write_needs_evaluate(tmp_path):
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.artifacts_run import artifacts_for_bundle

    with pytest.raises(GanpaintError, match="--write needs --evaluate"):
        artifacts_for_bundle(tmp_path / "none", write=True)


def _with_set(helps):
    def change(doc):
        doc["layers"]["layer4"]["artifact_units"] = [3, 1]
        doc["artifacts"] = {"measure": "segmenter", "helps": helps}

    return change


def test_render_zeroes_the_set_the_app_starts_with(bundle_copy, tmp_path, capsys):
    """``ganpaint render`` shows what the app shows: a measured set zeroed by default; a
    hand-written one only with --clean; --no-clean the network as it is."""
    from PIL import Image

    from ganpaint.main import main

    def render(model, *extra):
        out = tmp_path / f"{len(list(tmp_path.glob('*.png')))}.png"
        assert main(["render", "--model", str(model), "--seed", "3", "-o", str(out), *extra]) == 0
        return np.asarray(Image.open(out)), capsys.readouterr().out

    measured, by_hand = bundle_copy("on", _with_set(True)), bundle_copy("off", _with_set(None))
    default, said = render(measured)
    assert "artifacts cleaned" in said
    assert np.array_equal(default, render(measured, "--clean")[0])
    raw, said = render(measured, "--no-clean")
    assert "cleaned" not in said and not np.array_equal(default, raw)
    assert np.array_equal(render(by_hand)[0], raw)  # not measured: off unless asked
    assert np.array_equal(render(by_hand, "--clean")[0], default)


@pytest.mark.slow
def test_evaluate_measures_the_network_the_app_paints_with(bundle_copy, demo_bundle, capsys):
    """``ganpaint evaluate`` zeroes a measured set by default, as the app does; --no-clean
    measures the network as it is; --clean on a model with no set is refused."""
    from ganpaint.main import main

    def evaluate(model, *extra):
        argv = ["evaluate", str(model), "--samples", "6", "--segment-fn",
                "ganpaint.dissect.synthetic:sign_segment", "--quiet", *extra]  # fmt: skip
        code = main(argv)
        return code, capsys.readouterr()

    measured = bundle_copy("on", _with_set(True))
    code, default = evaluate(measured, "--json")
    assert code == 0 and default.out == evaluate(measured, "--json", "--clean")[1].out
    raw = evaluate(measured, "--json", "--no-clean")[1].out
    assert raw == evaluate(demo_bundle, "--json")[1].out != default.out
    assert "artifacts cleaned: 2 units zeroed" in evaluate(measured)[1].out
    code, refused = evaluate(demo_bundle, "--clean")
    assert code == 2 and "no artifact set" in refused.err


def test_render_clean_without_a_set_is_refused(demo_bundle, tmp_path, capsys):
    from ganpaint.main import main

    assert (
        main(["render", "--model", str(demo_bundle), "--clean", "-o", str(tmp_path / "x.png")]) == 2
    )
    assert "no artifact set" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_artifact_units_read_back_and_refused_when_malformed(bundle_copy):
    from ganpaint.models import load_bundle
    from ganpaint.models.dissection import Dissection, DissectionError

    bundle = load_bundle(bundle_copy("set", _with_set(True)))
    doc = bundle.dissection
    assert doc.artifact_units() == {"layer4": (3, 1)}
    assert doc.artifacts["helps"] is True
    raw = doc.to_dict()
    assert Dissection.from_dict(raw).to_dict() == raw
    raw["layers"]["layer4"]["artifact_units"] = "3,1"
    with pytest.raises(DissectionError, match=r"layers\.layer4\.artifact_units"):
        Dissection.from_dict(raw)


def test_store_set_writes_the_units_and_the_figures(demo_bundle, tmp_path):
    import shutil

    from ganpaint.dissect.artifacts_run import helps, store_set
    from ganpaint.models import load_bundle

    folder = tmp_path / "b"
    shutil.copytree(demo_bundle, folder)
    figures = {"fd_ratio_before": 2.0, "fd_ratio_after": 1.5, "sky_noise_before": 5.0,
               "sky_noise_after": 3.9, "max_share_shift": 0.4}  # fmt: skip
    assert helps(figures)
    assert not helps(figures | {"max_share_shift": 1.2})
    assert not helps(figures | {"sky_noise_after": 5.1})
    assert helps(figures | {"max_relative_change": 12.0})
    assert not helps(figures | {"max_relative_change": 27.0})  # a concept lost a quarter
    layers_before = load_bundle(folder).edit_layers
    assert "layer7" not in layers_before
    result = {"units": {"layer6": [2], "layer7": [1]}, "measure": "segmenter", "helps": True,
              "measure_seeds": [1, 9]} | figures  # fmt: skip
    store_set(load_bundle(folder), result)
    opened = load_bundle(folder)
    doc = opened.dissection  # hashes refreshed: it verifies
    assert doc.artifact_units() == {"layer6": (2,), "layer7": (1,)}
    assert doc.artifacts["sky_noise_after"] == 3.9
    assert list(doc.artifacts["measure_seeds"]) == [1, 9]
    assert doc.layer("layer4").levels  # the rest of the dissection is kept
    # layer7's section holds only the set: no labels to paint with, no new edit layer
    assert opened.edit_layers == layers_before


def test_clean_artifacts_action(make_window, bundle_copy, frame_waiter, qtbot):
    on = make_window(model=bundle_copy("on", _with_set(True)))
    action = on.actions["view.clean"]
    assert action.isEnabled() and action.isChecked()
    assert on.frames.zeroed == (("layer4", (3, 1)),)
    qtbot.waitUntil(lambda: on.worker._renderer.zeroed == (("layer4", (1, 3)),), timeout=10_000)
    action.trigger()  # off: frames render with nothing zeroed
    assert on.frames.zeroed == ()
    qtbot.waitUntil(lambda: on.worker._renderer.zeroed == (), timeout=10_000)
    off = make_window(model=bundle_copy("off", _with_set(False)))
    assert off.actions["view.clean"].isEnabled()
    assert not off.actions["view.clean"].isChecked()  # not measured to help: offered, off
    assert off.frames.zeroed == ()


@pytest.mark.slow
def test_report_shows_each_artifact_unit_before_and_after(bundle_copy, tmp_path):
    from PIL import Image

    from ganpaint.dissect.report import write_report
    from ganpaint.models import load_bundle

    bundle = load_bundle(bundle_copy("report", _with_set(True)))
    index = write_report(bundle.generator, bundle.dissection, tmp_path / "r", max_units=1,
                         per_unit=1, fallback_samples=8)  # fmt: skip
    text = index.read_text()
    assert "Artifact units" in text and "layer4 unit 3" in text and "the whole set" in text
    strip = np.asarray(Image.open(tmp_path / "r" / "img" / "artifacts-0.png"))
    res = bundle.generator.resolution
    assert strip.shape == (3 * res, 4 * res, 3)
    assert strip[2 * res :].any()  # zeroing unit 3 changed the images


@pytest.mark.slow
def test_bench_with_a_set_zeroed_agrees_with_the_zeroed_naive_path(tmp_path, capsys):
    from ganpaint.main import main

    gen = seeded_generator([32, 32, 16], z_dim=32, seed=2)
    path = tmp_path / "tiny.safetensors"
    save_generator(gen, path)
    args = ["bench", "--model", str(path), "--device", "cpu", "--frames", "3",
            "--dissect-samples", "0", "--layer", "layer4"]  # fmt: skip
    assert main([*args, "--zero", "layer4:1,2/layer5:0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["zeroed"] == {"layer4": [1, 2], "layer5": [0]}
    assert out["incremental"]["max_diff_levels"] <= 1
    assert out["image_diff"]["max"] <= 1  # the naive path zeroes the same units
    assert main([*args, "--zero", "layer4:99"]) == 2
    assert "units 0..31" in capsys.readouterr().err
    assert main([*args, "--zero", "stored"]) == 2  # a bare checkpoint has no set


def test_describe_the_set():
    from ganpaint.app.state.artifacts import describe

    assert describe((("layer4", (1, 2, 3)), ("layer6", (5,)))) == (
        "zero the units found drawing artifacts: 3 at layer4, 1 at layer6"
    )
    assert "ganpaint artifacts --write" in describe(())


def test_compare_badge_and_inspector_say_what_clean_artifacts_changed(
    make_window, bundle_copy, frame_waiter, qtbot
):
    """With the set zeroed, the compare frame is the original network's (artifacts in) and
    its badge says so; a zeroed unit's heatmap is where it fires before the zeroing, and the
    inspector says it is switched off."""
    w = make_window(model=bundle_copy("on", _with_set(True)))
    assert w.actions["view.clean"].isChecked() and w.document.layer == "layer4"
    renderer = w.worker._renderer
    qtbot.waitUntil(lambda: renderer.zeroed == (("layer4", (1, 3)),), timeout=10_000)
    seed = w.document.seed
    original, cleaned = renderer.render_full(seed, original=True), renderer.render_full(seed)
    assert not np.array_equal(original, cleaned)  # the set changes this picture
    qtbot.waitUntil(lambda: w.frames.plain_image is not None, timeout=10_000)
    assert np.array_equal(w.frames.plain_image, original)  # compare: not cleaned
    qtbot.waitUntil(lambda: np.array_equal(w.frames.image, cleaned), timeout=10_000)
    assert w.canvas.plain_label == "Unedited, artifacts not cleaned"

    def heat_of(unit):
        with qtbot.waitSignal(w.worker.heatReady, timeout=10_000) as sig:
            w.model_view.select_unit(unit)
        return sig.args[0]

    res = heat_of(3)  # zeroed: its map before the zeroing, and a note
    assert res.original and res.heat.max() > 0
    want = renderer.features(seed, "layer4", original=True)[0, 3].float().numpy()
    np.testing.assert_allclose(res.heat, want)
    assert float(renderer.features(seed, "layer4")[0, 3].abs().max()) == 0.0
    assert w.inspector.switched_off.isVisibleTo(w.inspector)
    assert "uncleaned" in w.inspector.peak.text()
    res = heat_of(0)  # not zeroed: as the frame has it, no note
    assert not res.original and not w.inspector.switched_off.isVisibleTo(w.inspector)

    heat_of(3)
    with qtbot.waitSignal(w.worker.heatReady, timeout=10_000) as sig:
        w.actions["view.clean"].trigger()  # off: the unit fires again, the note goes
    assert not sig.args[0].original
    qtbot.waitUntil(lambda: not w.inspector.switched_off.isVisibleTo(w.inspector))
    assert w.canvas.plain_label == "Unedited"
    frame_waiter(w)
    assert np.array_equal(w.frames.image, w.frames.plain_image)  # nothing zeroed, no strokes


def test_compare_label_rule():
    from ganpaint.app.state.artifacts import compare_label, switched_off

    zeroed = (("layer4", (1, 3)),)
    assert compare_label(False, ()) == "Unedited"
    assert compare_label(False, zeroed) == "Unedited, artifacts not cleaned"
    assert compare_label(True, zeroed) == "Your picture"  # the picture itself, as read
    assert switched_off(zeroed, "layer4", 3) and not switched_off(zeroed, "layer6", 3)
    assert not switched_off(zeroed, "layer4", 2) and not switched_off((), "layer4", 3)
