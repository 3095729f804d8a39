"""Pictures in the generator: the inversion on a tiny generator, picture documents in
projects (round trip, malformed fields, version 1), rendering them (composite, raw, the
incremental path with a residual, zeroed units), the encoder and the commands."""

from __future__ import annotations

import json
import os
import shutil
import stat

import numpy as np
import pytest
import torch

from ganpaint.core.errors import GanpaintError, InversionCancelled, ProjectFileError
from ganpaint.core.seeds import z_from_seed
from ganpaint.engine.document import EditDocument, Stroke
from ganpaint.engine.picture import PictureBase
from ganpaint.engine.picture_net import composite, reach_mask, soft_mask
from ganpaint.engine.renderer import Renderer
from ganpaint.invert.evaluate import psnr
from ganpaint.invert.inversion import InvertConfig, config_with, invert_picture
from ganpaint.main import main
from ganpaint.models import load_bundle


@pytest.fixture(scope="module")
def bundle(demo_bundle):
    return load_bundle(demo_bundle)


@pytest.fixture(scope="module")
def sample(bundle):
    """A picture the generator itself drew (seed 7), uint8."""
    with torch.no_grad():
        image = bundle.generator(z_from_seed(7, bundle.generator.z_dim)[None])
    return ((image[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


@pytest.fixture(scope="module")
def picture(bundle, sample) -> PictureBase:
    torch.manual_seed(0)
    return invert_picture(bundle, sample, steps=30)


def _stroke(layer: str, units=(0, 1, 2), size: int = 64, box=(8, 24, 8, 24)) -> Stroke:
    mask = np.zeros((size, size), np.uint8)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = 255
    return Stroke("tree", "draw", units, 1.0, 0.99, layer, mask)


def test_inverting_a_sample_of_the_generator_reaches_a_high_psnr(bundle, sample, picture):
    doc = EditDocument(bundle.name, "layer4", picture=picture)
    raw = Renderer(bundle.generator, "cpu").render(doc.snapshot(), raw=True)
    assert raw.ok and psnr(raw.image, sample) > 30.0
    start = invert_picture(bundle, sample, steps=1)
    first = Renderer(bundle.generator, "cpu").render(
        EditDocument(bundle.name, "layer4", picture=start).snapshot(), raw=True
    )
    assert psnr(raw.image, sample) > psnr(first.image, sample) + 3.0  # the steps did work
    assert picture.residuals["layer4"].dtype == np.float16
    later = {f"layer{i}" for i in range(5, 11)} | {"output_64x64"}
    assert set(picture.adaptation) == later


def test_progress_and_cancellation(bundle, sample):
    calls = []
    with pytest.raises(InversionCancelled):
        invert_picture(
            bundle,
            sample,
            steps=20,
            progress=lambda done, total: calls.append((done, total)),
            cancelled=lambda: len(calls) >= 3,
        )
    assert calls == [(1, 20), (2, 20), (3, 20)]
    with pytest.raises(GanpaintError, match="64x64x3 uint8"):
        invert_picture(bundle, sample[:32], steps=1)
    with pytest.raises(GanpaintError, match="at least 1"):
        invert_picture(bundle, sample, steps=0)


def test_empty_composite_is_the_picture_and_edits_stay_in_reach(bundle, picture):
    renderer = Renderer(bundle.generator, "cpu", bundle.dissection)
    doc = EditDocument(bundle.name, "layer4", picture=picture)
    assert np.array_equal(renderer.render(doc.snapshot()).image, picture.pixels)
    doc.add_stroke(_stroke("layer4", units=()))  # paints no unit: changes nothing
    assert np.array_equal(renderer.render(doc.snapshot()).image, picture.pixels)
    stroke = _stroke("layer4")
    doc.add_stroke(stroke)
    edited = renderer.render(doc.snapshot()).image
    raw = renderer.render(doc.snapshot(), raw=True).image
    outside = ~reach_mask([stroke], 64, picture.feather)
    assert np.array_equal(edited[outside], picture.pixels[outside])
    assert not np.array_equal(edited, picture.pixels)
    inside = soft_mask([stroke], 64, picture.feather).numpy() == 1.0
    assert np.array_equal(edited[inside], raw[inside])
    assert outside.sum() < 64 * 64 and reach_mask([stroke], 64, 0).sum() == 16 * 16
    assert np.array_equal(composite(picture.pixels, raw, []), picture.pixels)


def test_incremental_render_of_a_picture_matches_the_full_one(bundle, picture):
    strokes = [_stroke("layer6", box=(4, 12, 40, 52)), _stroke("layer6", box=(30, 44, 2, 20))]
    inc = Renderer(bundle.generator, "cpu", bundle.dissection, precision="fp64")
    full = Renderer(bundle.generator, "cpu", bundle.dissection, precision="fp64", incremental=False)
    doc = EditDocument(bundle.name, "layer6", picture=picture)
    for stroke in [None, *strokes]:
        if stroke is not None:
            doc.add_stroke(stroke)
        a = inc.render(doc.snapshot(), raw=True)
        b = full.render(doc.snapshot(), raw=True)
        assert a.ok and b.ok and np.array_equal(a.image, b.image)
    assert inc._tail is not None  # the incremental path did run


def test_zeroed_units_and_switching_back_to_scenes(bundle, picture):
    renderer = Renderer(bundle.generator, "cpu", bundle.dissection)
    plain = EditDocument(bundle.name, "layer4", seed=3)
    scene = renderer.render(plain.snapshot()).image
    doc = EditDocument(bundle.name, "layer4", picture=picture)
    raw = renderer.render(doc.snapshot(), raw=True).image
    renderer.set_zeroed({"layer4": range(8)})
    zeroed = renderer.render(doc.snapshot(), raw=True).image
    assert not np.array_equal(raw, zeroed)
    h = renderer.features(0, "layer4")
    assert float(h[0, :8].abs().max()) == 0.0  # the residual is zeroed with its units
    renderer.set_zeroed(None)
    assert np.array_equal(renderer.render(doc.snapshot(), raw=True).image, raw)
    assert np.array_equal(renderer.render(plain.snapshot()).image, scene)


def test_project_round_trip_is_identical(bundle, picture, tmp_path):
    doc = EditDocument(bundle.name, "layer4", picture=picture)
    doc.add_stroke(_stroke("layer4"))
    path = tmp_path / "p.ganpaint"
    doc.save(path)
    again = EditDocument.load(path)
    assert again.to_dict() == doc.to_dict()
    a = Renderer(bundle.generator, "cpu", bundle.dissection).render(doc.snapshot())
    b = Renderer(bundle.generator, "cpu", bundle.dissection).render(again.snapshot())
    assert np.array_equal(a.image, b.image)
    assert path.stat().st_size < 200_000
    plain = EditDocument(bundle.name, "layer4", seed=5)
    old = plain.to_dict()
    old["version"] = 1
    assert EditDocument.from_dict(old).picture is None  # version-1 files still open
    old["picture"] = picture.to_dict()
    with pytest.raises(ProjectFileError, match="version 2"):
        EditDocument.from_dict(old)


def _broken(field: str, value):
    def change(d):
        target = d["picture"]
        *path, last = field.split(".")
        for key in path:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return change


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pixels", KeyError, "picture.pixels"),
        ("pixels.shape", [64, 64], "picture.pixels"),
        ("pixels.dtype", "float16", "picture.pixels: 'dtype'"),
        ("pixels.data", "!!", "picture.pixels: 'data'"),
        ("pixels.shape", [64, 64, 4], "picture.pixels"),
        ("z.encoding", "raw", "picture.z: unknown encoding"),
        ("z.shape", [1 << 30], "picture.z: shape"),
        ("residuals", [], "picture.residuals"),
        ("residuals.layer4.shape", [32, 8, 4], "picture.residuals.layer4"),
        ("adaptation.layer5", 3, "picture.adaptation.layer5"),
        ("feather", -1, "picture.feather"),
        ("feather", True, "picture.feather"),
        ("info", "x", "picture.info"),
    ],
)
def test_malformed_picture_fields_are_named(bundle, picture, field, value, message):
    d = EditDocument(bundle.name, "layer4", picture=picture).to_dict()
    _broken(field, value)(d)
    with pytest.raises(ProjectFileError, match=message.replace(".", r"\.")):
        EditDocument.from_dict(d)


def test_non_finite_values_are_refused(picture):
    import base64
    import zlib

    z = picture.z.copy()
    z[0] = np.nan
    bad = picture.to_dict()
    bad["z"]["data"] = base64.b64encode(zlib.compress(z.tobytes())).decode()
    with pytest.raises(ProjectFileError, match="picture.z: holds values that are not finite"):
        PictureBase.from_dict(bad)


def test_a_picture_that_does_not_fit_the_model_is_a_render_error(bundle, picture):
    small = PictureBase(picture.pixels[:32, :32], picture.z)
    doc = EditDocument(bundle.name, "layer4", picture=small)
    result = Renderer(bundle.generator, "cpu").render(doc.snapshot())
    assert not result.ok and "32 px" in result.error
    odd = PictureBase(picture.pixels, picture.z, {"layer9": np.zeros((2, 2, 2))})
    result = Renderer(bundle.generator, "cpu").render(
        EditDocument("m", "layer4", picture=odd).snapshot()
    )
    assert not result.ok and "layer9" in result.error


def test_render_project_and_raw_on_the_command_line(bundle, demo_bundle, picture, tmp_path):
    from PIL import Image

    doc = EditDocument(bundle.name, "layer4", picture=picture)
    project = tmp_path / "pic.ganpaint"
    doc.save(project)
    out, raw_out = tmp_path / "out.png", tmp_path / "raw.png"
    base = ["render", "--model", str(demo_bundle), "--project", str(project)]
    assert main([*base, "-o", str(out)]) == 0
    assert main([*base, "--raw", "-o", str(raw_out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), picture.pixels)
    raw = Renderer(bundle.generator, "cpu").render(doc.snapshot(), raw=True).image
    assert np.array_equal(np.asarray(Image.open(raw_out)), raw)


def test_config_overrides():
    assert config_with(["steps=5", "adapt=channel", "lr_z=1"]) == InvertConfig(
        steps=5, adapt="channel", lr_z=1.0
    )
    for bad in ["nope=1", "steps", "steps=x", "extra=1"]:
        with pytest.raises(GanpaintError, match="--set"):
            config_with([bad])


def test_encoder_trains_into_the_bundle_and_starts_the_inversion(demo_bundle, sample, tmp_path):
    from ganpaint.invert.train_encoder import EncoderConfig, train_encoder

    folder = tmp_path / "b"
    shutil.copytree(demo_bundle, folder)
    card = train_encoder(folder, EncoderConfig(steps=2, batch=4, samples=8))
    meta = json.loads((folder / "bundle.json").read_text())
    assert meta["encoder"]["layer"] == "layer4" and "encoder.safetensors" in meta["files"]
    assert card["training"]["seeds"] == [40_000_000, 40_000_007]
    # written atomically, with the usual permissions (not mkstemp's private 0o600)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((folder / "encoder.safetensors").stat().st_mode) == 0o666 & ~umask
    assert not list(folder.glob(".*.tmp"))
    b = load_bundle(folder)  # the hash is checked
    enc = b.load_encoder()
    z, h = enc.predict(torch.zeros(1, 3, 64, 64))
    assert z.shape == (1, 32) and h.shape == (1, 32, 8, 8)
    pic = invert_picture(b, sample, steps=2)
    assert pic.residuals["layer4"].shape == (32, 8, 8)
    (folder / "encoder.safetensors").write_bytes(b"junk")
    damaged = load_bundle(folder)  # still opens and paints; only the encoder is unusable
    with pytest.raises(GanpaintError, match="encoder.safetensors: does not match its sha256"):
        damaged.load_encoder()


def test_invert_command_writes_a_project_or_nothing(demo_bundle, sample, tmp_path, capsys):
    from PIL import Image

    big = np.asarray(Image.fromarray(sample).resize((96, 80)))  # not square, not 64 px
    image = tmp_path / "photo.png"
    Image.fromarray(big).save(image)
    project = tmp_path / "photo.ganpaint"
    args = ["invert", str(image), "-o", str(project), "--model", str(demo_bundle)]
    assert main([*args, "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and len(out.splitlines()) >= 2  # the notes, then what was written
    doc = EditDocument.load(project)
    assert doc.picture is not None and doc.picture.pixels.shape == (64, 64, 3)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    nothing = tmp_path / "junk.ganpaint"
    assert main(["invert", str(tmp_path / "junk.png"), "-o", str(nothing)]) == 2
    assert not nothing.exists()
    assert main(["invert", str(image)]) == 2


def test_a_picture_is_encoded_once_and_a_read_one_not_again(bundle, picture, tmp_path, monkeypatch):
    """Saves reuse the picture's encoded arrays: the second save, and any save of a picture
    read from a file, encode nothing; changing a returned dict leaves the kept records."""
    import ganpaint.engine.picture as picture_module

    fresh = PictureBase(picture.pixels, picture.z, picture.residuals, picture.adaptation)
    packed = []
    real_pack = picture_module._pack
    monkeypatch.setattr(picture_module, "_pack", lambda a: packed.append(a) or real_pack(a))
    assert not fresh.is_encoded
    first = fresh.to_dict()
    count = len(packed)
    assert fresh.is_encoded and count == 2 + len(fresh.residuals) + len(fresh.adaptation)
    first["pixels"]["data"] = "!!"  # the caller's dict, not the picture's records
    assert fresh.to_dict()["pixels"]["data"] != "!!" and len(packed) == count

    path = tmp_path / "pic.ganpaint"
    EditDocument(bundle.name, "layer4", picture=fresh).save(path)
    loaded = EditDocument.load(path)
    assert loaded.picture.is_encoded  # the records it was read from
    monkeypatch.setattr(picture_module, "_pack", None)  # any encoding now fails
    loaded.save(tmp_path / "again.ganpaint")
    again = EditDocument.load(tmp_path / "again.ganpaint").picture
    assert (tmp_path / "again.ganpaint").read_bytes() == path.read_bytes()
    for name in ("pixels", "z"):
        assert np.array_equal(getattr(again, name), getattr(picture, name))
    for name in ("residuals", "adaptation"):
        for k, v in getattr(picture, name).items():
            assert np.array_equal(getattr(again, name)[k], v)
