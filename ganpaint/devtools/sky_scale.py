"""What a sky figure means in grey levels: ``python -m ganpaint.devtools.sky_scale [--size 128]
[--scenes 300] [--json PATH]``.

``evaluate-gan``'s ``sky_noise_ratio`` (and ``sky_line_ratio``) divide the generated sky's
high-pass texture by the rendered sky's. The rendered sky is a smooth gradient rounded to
uint8, so the divisor is small, and the figures say little about what an eye would see. This
measures them on known disturbances: rendered scenes (seeds from 7,000,000, the world's exact
labels on both sides, so only the pixels differ) against themselves with, in turn, Gaussian
noise of a given standard deviation, and lines of period 2 or 4 rows (or columns) a given
number of levels brighter, each added to every pixel before rounding to uint8 again. The
figures are the same functions ``evaluate-gan`` calls (``models.realism.sky_noise`` and
``sky_lines``, patches 1/8 of the side).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools.report_cli import report
from ganpaint.models.realism import sky_lines, sky_noise

SCENE_SEED = 7_000_000
NOISE_SEED = 0
GAUSSIAN_LEVELS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
LINE_LEVELS: tuple[float, ...] = (1.0, 2.0, 4.0)
LINES: tuple[tuple[str, int], ...] = (("rows", 4), ("rows", 2), ("columns", 4))


def disturb(images: np.ndarray, kind: str, level: float, period: int = 4,
            seed: int = NOISE_SEED) -> np.ndarray:  # fmt: skip
    """uint8 (N, H, W, 3) ``images`` with a disturbance added, rounded back to uint8:
    ``gaussian`` (standard deviation ``level`` grey levels, the same on the three channels'
    draws independently), ``rows`` or ``columns`` (every ``period``-th row or column
    ``level`` levels brighter)."""
    x = images.astype(np.float32)
    if kind == "gaussian":
        x += np.random.default_rng(seed).normal(0.0, level, x.shape).astype(np.float32)
    elif kind == "rows":
        x[:, ::period] += level
    elif kind == "columns":
        x[:, :, ::period] += level
    else:
        raise ValueError(f"no disturbance {kind!r} (gaussian, rows, columns)")
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def figures(images: np.ndarray, labels: np.ndarray, sky: int) -> list[dict[str, Any]]:
    """One row per disturbance: its name, the disturbed sky's mean |high-pass| residual in
    grey levels, ``sky_noise_ratio`` and ``sky_line_ratio`` against the undisturbed scenes."""
    real = torch.from_numpy(np.ascontiguousarray(images))
    lab = torch.from_numpy(np.ascontiguousarray(labels)).long()
    patch = max(8, images.shape[1] // 8)
    cases: list[tuple[str, str, float, int]] = [("none", "gaussian", 0.0, 4)]
    cases += [(f"gaussian sd {v:g}", "gaussian", v, 4) for v in GAUSSIAN_LEVELS]
    cases += [(f"{kind} every {p}, +{v:g}", kind, v, p) for kind, p in LINES for v in LINE_LEVELS]
    rows = []
    for name, kind, level, period in cases:
        fake = torch.from_numpy(disturb(images, kind, level, period))
        noise = sky_noise(fake, lab, real, lab, sky)
        lines = sky_lines(fake, lab, real, lab, sky, patch)
        rows.append({"disturbance": name, "residual_levels": noise["generated"],
                     "rendered_levels": noise["rendered"], "sky_noise_ratio": noise["ratio"],
                     "sky_line_ratio": lines["ratio"]})  # fmt: skip
    return rows


def measure(size: int = 128, scenes: int = 300) -> dict[str, Any]:
    """Render ``scenes`` scenes at ``size`` px and measure every disturbance on them."""
    from ganpaint.scenes import CONCEPTS
    from ganpaint.train.data import render_scenes

    images, labels = render_scenes(scenes, size, SCENE_SEED)
    rows = figures(images, labels, CONCEPTS.index("sky"))
    return {"size": size, "scenes": len(images), "scene_seed": SCENE_SEED, "rows": rows}


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['scenes']} rendered scenes at {r['size']} px (seeds from {r['scene_seed']}), "
        f"rendered sky's residual {r['rows'][0]['rendered_levels']} levels",
        f"{'disturbance':24s} {'residual':>9s} {'sky_noise_ratio':>16s} {'sky_line_ratio':>15s}",
    ]
    for row in r["rows"]:
        lines.append(f"{row['disturbance']:24s} {row['residual_levels']!s:>9s} "
                     f"{row['sky_noise_ratio']!s:>16s} {row['sky_line_ratio']!s:>15s}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.sky_scale",
                                description=__doc__.split("\n\n")[1])  # fmt: skip
    p.add_argument("--size", type=int, default=128, help="picture side in pixels (default 128)")
    p.add_argument("--scenes", type=int, default=300)
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)

    def run() -> dict[str, Any]:
        if args.scenes < 1 or args.size < 32:
            raise GanpaintError("--scenes must be at least 1 and --size at least 32")
        return measure(args.size, args.scenes)

    return report("sky_scale", run, format_report, args.json)


if __name__ == "__main__":
    sys.exit(main())
