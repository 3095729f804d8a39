"""core.pictures.load_picture: every mode fitted to the model's size with the user told what
was done; hostile files refused with a PictureError naming the file and the problem."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganpaint.core.errors import GanpaintError, PictureError
from ganpaint.core.pictures import LoadedPicture, load_picture
from tests.picture_files import scene_like, write_picture_corpus, write_png_raw


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_picture_corpus(tmp_path_factory.mktemp("pictures"))


def _joined(loaded: LoadedPicture) -> str:
    return " ".join(loaded.notes)


def test_a_square_rgb_png_of_the_right_size_is_taken_as_it_is(tmp_path):
    pixels = scene_like(32, 32)
    Image.fromarray(pixels).save(tmp_path / "exact.png")
    loaded = load_picture(tmp_path / "exact.png", 32)
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (32, 32, 3)
    assert np.array_equal(loaded.pixels, pixels)
    assert loaded.notes == () and loaded.source_size == (32, 32)


def test_a_wide_picture_is_cropped_to_its_centre_and_resized_with_notes(corpus):
    loaded = load_picture(corpus["wide.png"], 32)
    assert loaded.pixels.shape == (32, 32, 3) and loaded.source_size == (90, 60)
    assert "cropped to its centre square (90x60 -> 60x60)" in _joined(loaded)
    assert "reduced from 60x60 to 32x32" in _joined(loaded)
    # The centre: the left 15 columns of the file (a red gradient from 0) are gone.
    expected = np.asarray(
        Image.open(corpus["wide.png"]).crop((15, 0, 75, 60)).resize((32, 32), Image.LANCZOS)
    )
    assert np.abs(loaded.pixels.astype(int) - expected).max() <= 1


def test_a_small_picture_is_enlarged_and_the_user_told_it_may_look_soft(tmp_path):
    Image.fromarray(scene_like(16, 16)).save(tmp_path / "small.png")
    loaded = load_picture(tmp_path / "small.png", 64)
    assert loaded.pixels.shape == (64, 64, 3)
    assert "enlarged from 16x16 to 64x64" in _joined(loaded)


def test_cmyk_jpeg_is_converted_to_matching_rgb(corpus):
    loaded = load_picture(corpus["cmyk.jpg"], 60)
    reference = load_picture(corpus["photo.jpg"], 60)
    assert "converted from CMYK" in _joined(loaded)
    # Same scene through two JPEG encoders: close, not inverted or channel-swapped.
    assert np.abs(loaded.pixels.astype(int) - reference.pixels).mean() < 12


def test_16_bit_greyscale_png_is_scaled_not_clipped(corpus):
    loaded = load_picture(corpus["grey16.png"], 60)
    assert "16-bit greyscale" in _joined(loaded)
    # A ramp 0..65535: clipping would make nearly all of it white; scaling keeps the ramp.
    assert loaded.pixels.min() <= 20 and loaded.pixels.max() >= 235
    assert 100 < loaded.pixels.mean() < 155
    assert np.array_equal(loaded.pixels[..., 0], loaded.pixels[..., 2])


def test_16_bit_rgb_png_keeps_its_colour_and_says_so(corpus):
    loaded = load_picture(corpus["rgb16.png"], 32)
    assert "16 bits per channel were reduced to 8" in _joined(loaded)
    assert np.abs(loaded.pixels.astype(int) - [255, 128, 10]).max() <= 1


def test_palette_png_with_transparency_is_expanded_on_white(corpus):
    loaded = load_picture(corpus["palette_transparent.png"], 60)
    assert "transparent areas were filled with white" in _joined(loaded)
    assert loaded.pixels.shape == (60, 60, 3)
    assert (loaded.pixels == 255).all(axis=-1).any()


def test_alpha_is_laid_on_white_and_greyscale_made_rgb(corpus):
    alpha = load_picture(corpus["alpha.png"], 60)
    # The file's left 30 columns are transparent; the centre crop starts at column 15.
    assert (alpha.pixels[:, :10] == 255).all()
    assert "transparent" in _joined(alpha)
    Image.fromarray(scene_like(60, 60)).convert("RGBA").save(corpus["alpha.png"].parent / "o.png")
    assert load_picture(corpus["alpha.png"].parent / "o.png", 60).notes == ()  # all opaque
    grey = load_picture(corpus["grey.png"], 60)
    assert "greyscale" in _joined(grey)
    assert np.array_equal(grey.pixels[..., 0], grey.pixels[..., 1])


def test_float_images_are_stretched_and_non_finite_values_are_dark(tmp_path):
    values = np.linspace(-3.0, 5.0, 64, dtype=np.float32).reshape(8, 8)
    values[0, 0], values[0, 1] = np.nan, np.inf
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    loaded = load_picture(tmp_path / "f.tif", 8)
    assert "floating-point" in _joined(loaded)
    assert loaded.pixels[0, 0, 0] == 0 and loaded.pixels[0, 1, 0] == 0
    assert loaded.pixels[-1, -1, 0] == 255 and loaded.pixels[4, 0, 0] > 100


def test_animated_gif_gives_its_first_frame_and_says_so(corpus):
    loaded = load_picture(corpus["animated.gif"], 40)
    assert "first of its 3 frames" in _joined(loaded)
    first = np.asarray(Image.open(corpus["animated.gif"]).convert("RGB"))
    assert np.array_equal(loaded.pixels, first)


def test_exif_orientation_turns_a_photo_upright(tmp_path):
    pixels = scene_like(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: turn 90 degrees clockwise to view
    Image.fromarray(pixels).save(tmp_path / "side.jpg", exif=exif, quality=95)
    loaded = load_picture(tmp_path / "side.jpg", 20)
    assert "turned upright" in _joined(loaded)
    assert "20x40 -> 20x20" in _joined(loaded)  # upright it is tall


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("truncated.png", "truncated or damaged"),
        ("truncated.jpg", "truncated or damaged"),
        ("bomb.png", "megapixels and is refused"),
        ("notes.png", "not a picture this app can read"),
        ("empty.png", "is empty"),
        ("folder.png", "is a folder"),
    ],
)
def test_hostile_files_raise_a_picture_error_naming_the_file(corpus, name, words):
    with pytest.raises(PictureError) as caught:
        load_picture(corpus[name], 32)
    assert isinstance(caught.value, GanpaintError)
    assert name in str(caught.value) and words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_header_over_the_limit_is_refused_before_decoding(tmp_path):
    # 9000 x 9000 is under Pillow's own bomb limit but over ours; its data is 64 bytes, so a
    # decode would fail as truncated: the size message proves the header was judged first.
    write_png_raw(tmp_path / "big.png", 9000, 9000, 8, 2, b"\0" * 64)
    with pytest.raises(PictureError, match=r"big.png is 9000x9000 pixels \(81 megapixels\)"):
        load_picture(tmp_path / "big.png", 32)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(PictureError, match="does not exist"):
        load_picture(tmp_path / "gone.png", 32)


def test_random_and_mutated_bytes_give_picture_errors_never_a_crash(corpus, tmp_path):
    rng = np.random.default_rng(0)
    sources = [corpus[n].read_bytes() for n in ("wide.png", "photo.jpg", "animated.gif")]
    for trial in range(60):
        data = bytearray(sources[trial % len(sources)])
        for _ in range(1 + trial % 8):
            data[rng.integers(0, len(data))] = rng.integers(0, 256)
        path = tmp_path / f"mutant{trial}.bin"
        path.write_bytes(bytes(data[: rng.integers(8, len(data) + 1)]))
        try:
            loaded = load_picture(path, 16)
        except PictureError:
            continue
        assert loaded.pixels.shape == (16, 16, 3) and loaded.pixels.dtype == np.uint8
