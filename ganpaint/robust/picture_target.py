"""The fuzz target for picture files (File > Open Image…, ``ganpaint invert IMAGE``):
well-formed images in many formats and modes made in memory, then truncated, byte-mutated or
given a header that declares a huge size; ``core.pictures.load_picture`` must return a usable
picture or raise :class:`PictureError`, never anything else."""

from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np

from ganpaint.core.errors import PictureError
from ganpaint.robust.cases import Case, InvariantError, Target
from ganpaint.robust.mutate import mutate_bytes

SIZE = 16  # the model resolution the pictures are fitted to


def seed_images() -> dict[str, bytes]:
    """Small valid images, one per format and mode the loader converts."""
    from PIL import Image

    gen = np.random.default_rng(0)
    rgb = Image.fromarray(gen.integers(0, 256, (12, 20, 3), dtype=np.uint8))
    out: dict[str, bytes] = {}

    def save(name: str, image, fmt: str, **kw) -> None:
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        out[name] = buf.getvalue()

    save("rgb.png", rgb, "PNG")
    save("photo.jpg", rgb, "JPEG")
    save("cmyk.jpg", rgb.convert("CMYK"), "JPEG")
    save("grey16.png", Image.fromarray(gen.integers(0, 65536, (9, 9), dtype=np.uint16)), "PNG")
    save("palette.png", rgb.convert("P"), "PNG", transparency=0)
    save("rgba.webp", rgb.convert("RGBA"), "WEBP")
    save("grey.bmp", rgb.convert("L"), "BMP")
    save("float.tif", rgb.convert("F"), "TIFF")
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    save("anim.gif", frames[0], "GIF", save_all=True, append_images=frames[1:])
    return out


def _huge_png_header(data: bytes, rng: random.Random) -> bytes:
    """The PNG with its IHDR width and height replaced (CRC kept valid)."""
    width, height = rng.choice(((100_000, 100_000), (2**31 - 1, 1), (0, 5), (9000, 9000)))
    ihdr = data[12:29]
    body = ihdr[4:]
    body = struct.pack(">II", width, height) + body[8:]
    chunk = ihdr[:4] + body
    return data[:12] + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[33:]


class PictureTarget(Target):
    """Cases are picture files; a loaded one must be SIZE x SIZE x 3 uint8 with its notes."""

    name = "picture"
    refusals = (PictureError,)
    FILE = "case.img"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.seeds = seed_images()

    def make(self, rng: random.Random, index: int) -> Case:
        name = rng.choice(sorted(self.seeds))
        data = self.seeds[name]
        r = rng.random()
        if r < 0.1:
            return Case(index, "valid", name, {self.FILE: data})
        if r < 0.35:
            cut = rng.randrange(0, len(data))
            return Case(index, "truncated", f"{name}[:{cut}]", {self.FILE: data[:cut]})
        if r < 0.45 and name.endswith(".png"):
            return Case(index, "huge-header", name, {self.FILE: _huge_png_header(data, rng)})
        return Case(index, "bytes", name, {self.FILE: mutate_bytes(rng, data)})

    def run(self, case: Case) -> None:
        from ganpaint.core.pictures import load_picture

        self.write(self.workdir, case)
        loaded = load_picture(self.workdir / self.FILE, SIZE)
        px = loaded.pixels
        if px.dtype != np.uint8 or px.shape != (SIZE, SIZE, 3):
            raise InvariantError(f"loaded picture is {px.shape} {px.dtype}")
        w, h = loaded.source_size
        if not (w > 0 and h > 0 and all(isinstance(n, str) and n for n in loaded.notes)):
            raise InvariantError(f"bad size {loaded.source_size} or notes {loaded.notes}")
