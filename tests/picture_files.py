"""Picture files made by code for the tests (no blobs in git): ordinary images in every mode
and hostile ones (truncated, lying headers, not images). ``write_picture_corpus`` writes them
all into a folder and returns {name: path}."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def scene_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth, varied RGB uint8 picture (gradients and a few blocks), ``height x width``."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack(
        [
            x * 255 // max(width - 1, 1),
            y * 255 // max(height - 1, 1),
            (x + y) * 127 // (width + height),
        ],
        axis=-1,
    ).astype(np.uint8)
    for _ in range(4):
        x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
        image[y0 : y0 + height // 4, x0 : x0 + width // 4] = rng.integers(0, 256, 3)
    return image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png_raw(
    path: Path, width: int, height: int, depth: int, colour: int, rows: bytes
) -> None:
    """A PNG written byte by byte (Pillow cannot write 16-bit RGB or lying headers)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def write_rgb16_png(path: Path, pixels: np.ndarray) -> None:
    """``pixels``: H x W x 3 uint16, stored as a 16-bit-per-channel RGB PNG."""
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)
    write_png_raw(path, pixels.shape[1], pixels.shape[0], 16, 2, rows)


def write_picture_corpus(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def put(name: str) -> Path:
        out[name] = folder / name
        return out[name]

    base = scene_like(90, 60)
    Image.fromarray(base).save(put("wide.png"))
    Image.fromarray(base).save(put("photo.jpg"), quality=92)
    full = put("photo.jpg").read_bytes()
    put("truncated.jpg").write_bytes(full[: len(full) // 2])
    png = put("wide.png").read_bytes()
    put("truncated.png").write_bytes(png[: len(png) // 2])
    # A 100000 x 100000 header over a few bytes of data: a decompression bomb's door.
    write_png_raw(put("bomb.png"), 100_000, 100_000, 8, 2, b"\0" * 64)
    Image.fromarray(base).convert("CMYK").save(put("cmyk.jpg"))
    grey16 = (np.linspace(0, 65535, 60 * 90).reshape(60, 90)).astype(np.uint16)
    Image.fromarray(grey16).save(put("grey16.png"))
    rgb16 = np.zeros((60, 60, 3), np.uint16)
    rgb16[..., 0], rgb16[..., 1], rgb16[..., 2] = 65535, 32896, 2570  # 255, 128, 10 in 8 bits
    write_rgb16_png(put("rgb16.png"), rgb16)
    palette = Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    palette.info["transparency"] = int(np.asarray(palette)[0, 0])
    palette.save(put("palette_transparent.png"), transparency=palette.info["transparency"])
    frames = [Image.fromarray(scene_like(40, 40, seed)) for seed in range(3)]
    frames[0].save(put("animated.gif"), save_all=True, append_images=frames[1:], duration=100)
    Image.fromarray(base[:, :, 0]).save(put("grey.png"))
    rgba = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
    rgba[:, :30, 3] = 0
    Image.fromarray(rgba).save(put("alpha.png"))
    put("notes.png").write_text("this is a text file with an image's name\n")
    put("empty.png").write_bytes(b"")
    put("folder.png").mkdir(exist_ok=True)
    return out
