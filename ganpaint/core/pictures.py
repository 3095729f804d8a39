"""Reading a user's picture file into the model's square resolution.

:func:`load_picture` accepts any image Pillow decodes (PNG, JPEG, GIF, BMP, TIFF, WebP, ...)
in any mode, fits it to ``size x size`` RGB uint8 (centre square crop, then resize) and
returns it with the sentences that tell the user what was done to it. Files it cannot use
raise :class:`~ganpaint.core.errors.PictureError` naming the file and the problem: missing,
empty, a folder, not an image, truncated or damaged, or larger than :data:`MAX_PIXELS`
(checked from the header, before anything is decoded, so a decompression bomb costs nothing).
:func:`fit_image` fits an image already in memory (one pasted from the clipboard) the same way.

Choices: an animated image gives its first frame and says so (a clear, useful result rather
than a refusal); transparent areas are laid on white (what an image viewer shows); 16-bit
images are scaled to 8 bits (65535 -> 255), never clipped; EXIF orientation is applied, as
photo viewers do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ganpaint.core.errors import PictureError

MAX_PIXELS = 64_000_000  # 8000 x 8000; a 24 Mpx camera photo fits with room to spare

_GREY = {"1": "black-and-white", "L": "greyscale", "LA": "greyscale", "La": "greyscale"}
_WIDE = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass(frozen=True)
class LoadedPicture:
    """A picture fitted to the model: ``pixels`` (size x size x 3 uint8), the file's own
    ``source_size`` (width, height) and ``notes``, one sentence per change made to it."""

    pixels: np.ndarray
    source_size: tuple[int, int]
    notes: tuple[str, ...]


def load_picture(path: str | Path, size: int) -> LoadedPicture:
    """Read the image file ``path`` as ``size x size`` RGB uint8; raise PictureError with a
    message naming the file when it cannot be used."""
    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # e.g. "Corrupt EXIF data": harmless
            with Image.open(path) as image:
                return _fit(path.name, image, size)
    except PictureError:
        raise
    except UnidentifiedImageError:
        raise PictureError(
            f"{path.name} is not a picture this app can read (PNG, JPEG, GIF, BMP, TIFF, WebP)"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PictureError(
            f"{path.name} declares far more than {MAX_PIXELS // 1_000_000} megapixels and is "
            "refused as unsafe to decode (a decompression bomb, or a damaged header)"
        ) from None
    except MemoryError:
        raise PictureError(f"{path.name} needs more memory to decode than is free") from None
    except Exception as exc:  # noqa: BLE001 - Pillow's decoders raise many types on bad bytes
        raise PictureError(
            f"{path.name} is truncated or damaged and cannot be read ({exc})"
        ) from None


def fit_image(image: Image.Image, size: int, name: str) -> LoadedPicture:
    """Fit an image already in memory (a picture pasted from the clipboard) as
    :func:`load_picture` fits a file; ``name`` stands for it in the messages."""
    try:
        return _fit(name, image, size)
    except PictureError:
        raise
    except Exception as exc:  # noqa: BLE001 - as for a file: a message, never a traceback
        raise PictureError(f"{name} cannot be used ({exc})") from None


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise PictureError(f"{path.name} is a folder, not a picture file")
    try:
        length = path.stat().st_size
    except FileNotFoundError:
        raise PictureError(f"{path} does not exist") from None
    except OSError as exc:
        raise PictureError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if length == 0:
        raise PictureError(f"{path.name} is empty (0 bytes)")


def _fit(name: str, image: Image.Image, size: int) -> LoadedPicture:
    width, height = image.size
    if width < 1 or height < 1:
        raise PictureError(f"{name} declares no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise PictureError(
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"pictures over {MAX_PIXELS // 1_000_000} megapixels are refused to keep memory "
            "safe - shrink it first"
        )
    notes: list[str] = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        notes.append(f"It is animated: the first of its {frames} frames is used.")
    wide = _is_16_bit(image)
    if image.format == "JPEG":
        # Decode a large JPEG at 1/2..1/8 scale straight away: far faster, same result at size.
        image.draft("RGB", (max(size, width // 8), max(size, height // 8)))
    image.load()
    image, shown = _upright(image, (width, height), notes)
    rgb = _to_rgb(image, notes, wide)
    return LoadedPicture(_square(rgb, size, shown, notes), (width, height), tuple(notes))


def _is_16_bit(image: Image.Image) -> bool:
    """True for 16 bits per sample; Pillow reads 16-bit RGB PNGs as 8-bit RGB, and only the
    raw mode in the (not yet decoded) tile says so."""
    if image.mode in _WIDE and image.mode != "I":
        return True
    raw = [tile[3] for tile in getattr(image, "tile", ()) if len(tile) > 3]
    return image.mode == "I" and image.format == "PNG" or any(";16" in str(r) for r in raw)


def _upright(
    image: Image.Image, shown: tuple[int, int], notes: list[str]
) -> tuple[Image.Image, tuple[int, int]]:
    orientation = image.getexif().get(0x0112, 1)
    if orientation not in range(2, 9):
        return image, shown
    notes.append("It was turned upright as its camera orientation tag asks.")
    if orientation >= 5:  # the tags that turn by 90 degrees swap width and height
        shown = (shown[1], shown[0])
    return ImageOps.exif_transpose(image), shown


def _to_rgb(image: Image.Image, notes: list[str], wide: bool) -> Image.Image:
    mode = image.mode
    if mode in _WIDE or mode == "F":
        notes.append(_depth_note(mode, wide))
        return Image.fromarray(_scale_to_8_bit(image, wide)).convert("RGB")
    if wide:
        notes.append("Its 16 bits per channel were reduced to 8.")
    if mode == "P":
        had_alpha = "transparency" in image.info
        image = image.convert("RGBA" if had_alpha else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:  # some pixel is not opaque
            notes.append("Its transparent areas were filled with white.")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        image, mode = rgba, "RGBA"
    if mode in _GREY:
        notes.append(f"It is {_GREY[mode]}; it was made RGB (grey stays grey).")
    elif mode not in ("RGB", "RGBA", "RGBX"):
        notes.append(f"It was converted from {mode} colour to RGB.")
    return image.convert("RGB")


def _depth_note(mode: str, wide: bool) -> str:
    if mode == "F":
        return "Its floating-point greyscale values were scaled to 0-255."
    bits = 16 if wide or mode != "I" else 32
    return f"It is {bits}-bit greyscale; it was scaled to 8 bits and made RGB."


def _scale_to_8_bit(image: Image.Image, wide: bool) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # a signalling NaN in a float TIFF warns on the cast
        values = np.asarray(image).astype(np.float64)
    if image.mode == "F" or not wide:
        # 32-bit integers or floats have no fixed white: stretch the range present; NaN and
        # infinities (a damaged float TIFF) count as the darkest value.
        finite = np.isfinite(values)
        low = float(values[finite].min()) if finite.any() else 0.0
        high = float(values[finite].max()) if finite.any() else 0.0
        values = (np.where(finite, values, low) - low) / max(high - low, 1e-12) * 65535.0
    return np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)


def _square(image: Image.Image, size: int, shown: tuple[int, int], notes: list[str]) -> np.ndarray:
    """Centre square, resized to ``size``; the notes speak of the file's own dimensions
    ``shown`` (a JPEG may have been decoded smaller already)."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    true_side = min(shown)
    if shown[0] != shown[1]:
        notes.append(
            f"It was cropped to its centre square ({shown[0]}x{shown[1]} -> "
            f"{true_side}x{true_side})."
        )
    if true_side > size:
        notes.append(f"It was reduced from {true_side}x{true_side} to {size}x{size} pixels.")
    elif true_side < size:
        notes.append(
            f"It was enlarged from {true_side}x{true_side} to {size}x{size} (it may look soft)."
        )
    box = (left, top, left + side, top + side)
    fitted = image.resize((size, size), Image.Resampling.LANCZOS, box=box)
    return np.array(np.asarray(fitted, dtype=np.uint8)[:, :, :3], order="C")  # writable
