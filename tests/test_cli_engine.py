"""``ganpaint info`` and ``ganpaint render`` on a random-weight generator made here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.cli import main
from ganpaint.engine import EditDocument, Stroke
from ganpaint.models import ProGANGenerator, save_generator


@pytest.fixture()
def model_file(tmp_path):
    torch.manual_seed(3)
    path = tmp_path / "random.safetensors"
    save_generator(ProGANGenerator([32, 32, 16, 16, 8], z_dim=32), path)  # 64 px
    return path


def test_info(model_file, capsys):
    assert main(["info", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "64x64 px" in out and "layer4" in out and "32 x 8 x 8" in out


def test_render_plain_and_with_project(model_file, tmp_path):
    plain_png, edited_png = tmp_path / "plain.png", tmp_path / "edited.png"
    assert main(["render", "--model", str(model_file), "--seed", "4", "-o", str(plain_png)]) == 0
    doc = EditDocument("random", "layer4", seed=4)
    for units, action, box in (((0, 1, 2, 3), "draw", (0, 16)), ((4, 5), "remove", (8, 20))):
        mask = np.zeros((64, 64), np.uint8)
        mask[box[0] : box[1], box[0] : box[1]] = 255
        doc.add_stroke(Stroke("tree", action, units, 1.0, 0.99, "layer4", mask))
    project = tmp_path / "two.ganpaint"
    doc.save(project)
    args = ["render", "--model", str(model_file), "--project", str(project), "-o", str(edited_png)]
    assert main(args) == 0
    plain = np.asarray(Image.open(plain_png)).astype(int)
    edited = np.asarray(Image.open(edited_png)).astype(int)
    assert plain.shape == edited.shape == (64, 64, 3)
    changed = np.abs(plain - edited).sum(-1) > 0
    assert changed.any()
    # masks reach layer4 cells 0..2 (8 px each); 3x3 convs at layer4..8 and the upsampling widen
    # that by a few cells at most: the far half of the image must be untouched.
    ys, xs = np.nonzero(changed)
    assert ys.max() < 48 and xs.max() < 48
    assert not changed[48:, :].any() and not changed[:, 48:].any()
    # before and after, for slides: the two renders above in one PNG, or one GIF
    side, flip = tmp_path / "pair.png", tmp_path / "pair.gif"
    assert main([*args[:-2], "--before-after", "side", "--scale", "2", "-o", str(side)]) == 0
    pair = np.asarray(Image.open(side)).astype(int)
    assert pair.shape == (128, 260, 4) and (pair[:, 128:132, 3] == 0).all()
    assert np.array_equal(pair[::2, :128:2, :3], plain)
    assert np.array_equal(pair[::2, 132::2, :3], edited)
    assert main([*args[:-2], "--before-after", "gif", "-o", str(flip)]) == 0
    with Image.open(flip) as gif:
        assert gif.n_frames == 2 and gif.size == (64, 64)
    # stroke by stroke: the scene, the first stroke, both; the GIF's colours are a palette's
    steps = tmp_path / "steps.gif"
    assert main([*args[:-2], "--steps", "--scale", "2", "-o", str(steps)]) == 0
    with Image.open(steps) as gif:
        assert gif.n_frames == 3 and gif.size == (128, 128)
        shown = []
        for i in range(3):
            gif.seek(i)
            shown.append(np.asarray(gif.convert("RGB"))[::2, ::2].astype(int))
            assert gif.info["duration"] == (1000, 500, 2000)[i]

    def far(a, b):
        return np.abs(a - b).mean()

    assert far(shown[0], plain) < far(shown[0], edited)
    assert far(shown[2], edited) < far(shown[2], plain)
    for frame in shown[1:]:  # where no stroke reached, every frame is the same
        assert np.array_equal(frame[48:], shown[0][48:])
        assert np.array_equal(frame[:, 48:], shown[0][:, 48:])
    assert not np.array_equal(shown[0], shown[1]) and not np.array_equal(shown[1], shown[2])


def test_render_steps_refuses_a_scene_with_no_strokes_and_a_png(model_file, tmp_path, capsys):
    doc = EditDocument("random", "layer4", seed=4)
    doc.save(tmp_path / "empty.ganpaint")
    base = ["render", "--model", str(model_file), "--steps"]
    out = tmp_path / "s.gif"
    assert main([*base, "--project", str(tmp_path / "empty.ganpaint"), "-o", str(out)]) == 2
    assert "at least one visible stroke" in capsys.readouterr().err and not out.exists()
    assert main([*base, "-o", str(tmp_path / "s.png")]) == 2
    assert "name the file *.gif" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one kind of slide at a time
        main([*base, "--before-after", "gif", "-o", str(out)])
    assert "not allowed with" in capsys.readouterr().err


def test_render_bad_arguments(model_file, tmp_path, capsys):
    assert main(["render", "--model", str(model_file), "--seed", "-1", "-o", "x.png"]) == 2
    assert "--seed" in capsys.readouterr().err
    bad = tmp_path / "bad.ganpaint"
    bad.write_text("{}")
    assert main(["render", "--model", str(model_file), "--project", str(bad), "-o", "x.png"]) == 2
    assert "not a GANPaint project" in capsys.readouterr().err
    assert main(["render", "--model", str(tmp_path / "nope.pth"), "-o", "x.png"]) == 2
    capsys.readouterr()
    for form, name in ((None, "x.jpg"), ("gif", "x.png"), ("side", "x.gif")):
        extra = ["--before-after", form] if form else []
        out = tmp_path / name
        assert main(["render", "--model", str(model_file), *extra, "-o", str(out)]) == 2
        assert "name the file" in capsys.readouterr().err and not out.exists()


def test_convert_official_checkpoint_to_bundle(tmp_path):
    from ganpaint.models import load_bundle
    from tests.helpers import official_state_dict

    pth = tmp_path / "churchoutdoor_lsun.pth"
    torch.save(official_state_dict([16, 16, 8], z_dim=16, old_names=True), pth)
    out = tmp_path / "church"
    assert main(["convert", str(pth), "-o", str(out)]) == 0
    bundle = load_bundle(out)
    assert bundle.name == "churchoutdoor_lsun" and bundle.edit_layers == ["layer4"]
    assert main(["convert", str(pth), "-o", str(out)]) == 2  # never overwrites


def test_samples_sheet_and_bad_counts(model_file, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["samples", "--model", str(model_file), "--count", "4", "-o", str(out)]) == 0
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (128, 128 + 8 + 128, 3)  # 2 x 2 generated | gap | 2 x 2 rendered
    args = ["samples", "--model", str(model_file), "-o", str(out)]
    for bad, why in (
        (["--count", "-3"], "--count must be a square number"),  # was a traceback (isqrt)
        (["--count", "5"], "--count must be a square number"),
        (["--start-seed", "-1"], "--start-seed must be in 0..4294967232"),  # 64 samples
        (["--count", "4", "--start-seed", "4294967295"], "--start-seed must be in 0..4294967292"),
    ):
        assert main(args + bad) == 2
        assert why in capsys.readouterr().err
    for where in (tmp_path / "sheet", tmp_path / "no" / "sheet.png"):  # was a traceback
        assert main(["samples", "--model", str(model_file), "--count", "1", "-o", str(where)]) == 2
        assert f"cannot write {where}" in capsys.readouterr().err
