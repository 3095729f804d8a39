"""Where a generator's excess sky texture lies in frequency:
``python -m ganpaint.devtools.sky_spectrum BUNDLE [--samples 48] [--patch 32] [--json PATH]``.

``evaluate-gan``'s ``sky_noise_ratio`` says how much more high-pass texture generated sky has
than rendered sky; this says what the texture is. Generated pictures (z seeds from 100,000)
and rendered scenes (seeds from 7,000,000) at the generator's resolution are segmented by the
bundle's segmenter; the high-pass residual (the gray picture minus its 5 x 5 box mean, as
for the sky noise) is cut into ``--patch`` squares that lie wholly inside sky eroded by 3 px,
and their power spectra are averaged. Printed: the power of generated over rendered sky, and
for frequency sets, the share of each side's power there and the generated / rendered power
ratio: ``fx = 0`` (patterns constant along x: horizontal lines across the patch), ``fy = 0``
(vertical lines), the period-2 and period-4 rows and columns; then the strongest bins.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools.report_cli import report
from ganpaint.models.realism import compare_spectra, sky_patch_spectrum

GEN_SEED = 100_000
SCENE_SEED = 7_000_000


def measure(bundle: str | Path, samples: int = 48, patch: int = 32) -> dict[str, Any]:
    """Generate, render, segment and compare (see the module docstring)."""
    from ganpaint.models import load_bundle
    from ganpaint.models.segmenter import segment_features
    from ganpaint.train.data import render_scenes
    from ganpaint.train.quality import generate_images

    b = load_bundle(bundle)
    seg = b.load_segmenter()
    if seg is None:
        raise GanpaintError(f"{bundle}: no segmenter, so no sky to measure in")
    names = list(seg.concepts) if seg.concepts is not None else []
    if "sky" not in names:
        raise GanpaintError(f"{bundle}: its segmenter has no 'sky' class")
    res = b.generator.resolution
    fake = generate_images(b.generator, range(GEN_SEED, GEN_SEED + samples), torch.device("cpu"), 8)
    real_np, _ = render_scenes(samples, res, SCENE_SEED)
    real = torch.from_numpy(np.ascontiguousarray(real_np))
    spectra = {}
    for key, images in (("generated", fake), ("rendered", real)):
        labels, _ = segment_features(seg, images, 8)
        spectra[key] = sky_patch_spectrum(images, labels, names.index("sky"), patch)
    out = compare_spectra(spectra["generated"][0], spectra["rendered"][0])
    out.update(bundle=str(bundle), resolution=res, samples=samples, patch=patch,
               patches={k: v[1] for k, v in spectra.items()})  # fmt: skip
    return out


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['bundle']}: {r['samples']} generated and rendered pictures at {r['resolution']} "
        f"px; sky patches {r['patches']['generated']} / {r['patches']['rendered']}",
        f"high-pass power in sky, generated / rendered: {r['power_ratio']}",
        f"{'frequencies':30s} {'gen share':>10s} {'ren share':>10s} {'gen/ren':>9s}",
    ]
    for name, v in r["bands"].items():
        lines.append(f"{name:30s} {v['generated_share']!s:>10s} {v['rendered_share']!s:>10s} "
                     f"{v['ratio']!s:>9s}")  # fmt: skip
    lines.append("strongest bins (cycles per pixel): " + "; ".join(
        f"fy {s['fy']:+.3f} fx {s['fx']:+.3f}: {s['generated']} vs {s['rendered']}"
        for s in r["strongest"]))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.sky_spectrum",
                                description=__doc__.split("\n\n")[1])  # fmt: skip
    p.add_argument("bundle")
    p.add_argument("--samples", type=int, default=48)
    p.add_argument("--patch", type=int, default=32, help="patch side in pixels (default 32)")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    args = p.parse_args(argv)

    def run() -> dict[str, Any]:
        if args.samples < 1 or args.patch < 8:
            raise GanpaintError("--samples must be at least 1 and --patch at least 8")
        return measure(args.bundle, args.samples, args.patch)

    return report("sky_spectrum", run, format_report, args.json)


if __name__ == "__main__":
    sys.exit(main())
