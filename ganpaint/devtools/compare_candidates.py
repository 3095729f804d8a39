"""Training candidates side by side: equal wall time each, then ``evaluate_gan``.

Each candidate is a named change to a base config (batch, R1, EMA, learning rate, ...). All
train on the same rendered scenes for the same number of seconds on this machine (or, with
``--steps``, the same number of steps; with ``--images``, the same number of images, so
per image rather than per second, which differs from equal steps only where a candidate
changes the batch); each EMA
generator is then compared with the same rendered sets by a segmenter (by default the bundled
``scenes128`` one, both sets resized to its 128 px). Prints a Markdown table (images/s, images
seen, FD ratio, sky noise ratio, largest share gap) for ``docs/TRAINING.md``::

    python -m ganpaint.devtools.compare_candidates --base tiny --seconds 60 --device cpu
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError
from ganpaint.train.configs import HIGHPASS_WEIGHT, PROJECTED_WEIGHT

CANDIDATES: dict[str, dict[str, Any]] = {
    "baseline": {},
    "batch x2": {"batch_factor": 2},
    "lazy R1 (every 16)": {"r1_every": 16},
    "R1 every 4": {"r1_every": 4},
    "R1 gamma x4": {"r1_gamma_factor": 4},
    "R1 gamma x0.25": {"r1_gamma_factor": 0.25},
    "EMA half-life x4": {"ema_factor": 4},
    "projected D": {"d_projected": 1.0},
    "projected D x0.25": {"d_projected": PROJECTED_WEIGHT},
    "projected D x0.25 batch x2": {"d_projected": PROJECTED_WEIGHT, "batch_factor": 2},
    "D x2 at full res": {"d_front_factor": 2},
    "high-pass x0.25": {"d_highpass": HIGHPASS_WEIGHT},
    "projected D x0.25 + high-pass x0.25": {
        "d_projected": PROJECTED_WEIGHT,
        "d_highpass": HIGHPASS_WEIGHT,
    },
}
"""``D x2 at full res`` doubles the discriminator's widths at the picture's resolution and
half of it (its first two): the only layers that see a line pattern of period 2 or 4 px
before average pooling cancels it (docs/TRAINING.md, "Where the stripes are").
``projected D x0.25 batch x2`` is the running ``scenes256`` recipe with twice the batch: at
equal steps it stands for equal GPU seconds where a step's time is set by the host issuing
kernels rather than by the arithmetic (docs/TRAINING.md, "Is a step bound by its
operations?"), at equal images for equal data."""


def candidate_config(base: Any, change: dict[str, Any]) -> Any:
    """``base`` with a candidate's change applied (factors scale the base's value)."""
    change = dict(change)
    if "batch_factor" in change:
        change["batch"] = base.batch * change.pop("batch_factor")
    if "r1_gamma_factor" in change:
        change["r1_gamma"] = base.r1_gamma * change.pop("r1_gamma_factor")
    if "ema_factor" in change:
        change["ema_half_life_images"] = base.ema_half_life_images * change.pop("ema_factor")
    if "d_front_factor" in change:
        factor = change.pop("d_front_factor")
        widths = list(base.d_widths)
        widths[:2] = [w * factor for w in widths[:2]]
        change["d_widths"] = tuple(widths)
    return base.replace(**change)


def check_candidates(
    base: Any, names: list[str], steps: int | None = None, images: int | None = None
) -> None:
    """Refuse, before anything is trained, a name that is not a candidate and a candidate
    that changes nothing in ``base`` (``lazy R1 (every 16)`` on a config that already
    applies R1 every 16 steps would train the baseline again under another name). With
    ``steps``, also one that changes nothing in that many steps: the EMA's half-life ramps
    up with the images seen (``ema_rampup``), so a longer half-life only tells once the
    ramp has passed the shorter one; with ``images``, likewise at each one's own steps."""
    for name in names:
        if name not in CANDIDATES:
            raise GanpaintError(f"unknown candidate {name!r} (known: {', '.join(CANDIDATES)})")
        if name == "baseline":
            continue
        cfg = candidate_config(base, CANDIDATES[name])
        if cfg == base:
            raise GanpaintError(
                f"candidate {name!r} changes nothing in {base.name}: it is the baseline there"
            )
        if images is not None:
            same = _ramped(cfg, steps_for(cfg, images)) == _ramped(base, steps_for(base, images))
            length = f"{images} images"
        else:
            same = steps is not None and _ramped(cfg, steps) == _ramped(base, steps)
            length = f"{steps} steps"
        if same:
            raise GanpaintError(
                f"candidate {name!r} changes nothing in {length} of {base.name}: the EMA's "
                f"ramp-up ({base.ema_rampup} x the images seen) stays under both half-lives; "
                "train longer"
            )


def _ramped(cfg: Any, steps: int) -> Any:
    """``cfg`` with the EMA half-life it reaches after ``steps`` steps (its ramp-up)."""
    return cfg.replace(ema_half_life_images=cfg.ema_half_life_at(steps * cfg.batch))


def compare(
    base_name: str,
    seconds: float,
    names: list[str],
    device: str | None,
    eval_n: int,
    segmenter_path: str,
    size: int,
    samples_dir: str | None = None,
    steps: int | None = None,
    seeds: list[int] | None = None,
    images: int | None = None,
) -> list[dict[str, Any]]:
    """Train and evaluate each named candidate; one result row each. With ``samples_dir``,
    each candidate's EMA samples at the fixed seeds go there as an 8x8 grid (to judge by eye).
    With ``steps``, each trains that many steps whatever the time (``seconds`` is ignored);
    with ``images``, each trains the steps its own batch needs to see that many images (at
    least; the last batch is whole).
    With ``seeds``, each candidate trains once per training seed (the config's ``seed``: the
    networks' first weights, the latents and the data order), one row each: on short runs
    two seeds of one config can differ as much as two candidates do."""
    from ganpaint.models.segmenter import load_segmenter
    from ganpaint.train.configs import get_config
    from ganpaint.train.data import EVAL_SEED, GAN_TRAIN_SEED, render_scenes
    from ganpaint.train.gan import GANTrainer
    from ganpaint.train.quality import evaluate_gan

    base = get_config(base_name)
    if steps is not None and images is not None:
        raise GanpaintError("give equal steps or equal images, not both")
    check_candidates(base, names, steps, images)
    segmenter = load_segmenter(segmenter_path)
    data, _ = render_scenes(base.dataset_size, base.resolution, GAN_TRAIN_SEED)
    real = render_scenes(eval_n, base.resolution, EVAL_SEED)
    real_b = render_scenes(eval_n, base.resolution, EVAL_SEED + eval_n)
    rows = []
    for name, seed in [(n, s) for n in names for s in (seeds or [base.seed])]:
        cfg = candidate_config(base, CANDIDATES[name]).replace(seed=seed)
        label = name if seeds is None else f"{name}, seed {seed}"
        with tempfile.TemporaryDirectory() as tmp:
            trainer = GANTrainer(cfg, tmp, device=device, resume=False)
            trainer.set_data(data)
            n_steps = steps if images is None else steps_for(cfg, images)
            deadline = None if n_steps else time.perf_counter() + seconds
            s = trainer.train(
                deadline=deadline, max_steps=n_steps or 10**9, sample_every=0,
                write_checkpoint=False, export=False,
            )  # fmt: skip
        if samples_dir:
            save_grid(trainer, Path(samples_dir) / f"{slug(label)}.png")
        ev = evaluate_gan(trainer.G_ema, segmenter, n=eval_n, device=device, real=real,
                          real_b=real_b, size=size)  # fmt: skip
        rows.append({
            "candidate": label, "seed": seed, "img_s": s["img_s"], "images": s["images_seen"],
            "fd_ratio": ev["fd_ratio"], "precision": ev["precision"], "recall": ev["recall"],
            "sky_noise_ratio": ev["sky_noise_ratio"],
            "max_share_gap_points": ev["max_share_gap_points"], "device": s["device"],
        })  # fmt: skip
    return rows


def steps_for(cfg: Any, images: int) -> int:
    """The steps ``cfg``'s batch needs to see at least ``images`` images."""
    return -(-int(images) // cfg.batch)


def slug(name: str) -> str:
    """A file name for a candidate's name ("projected D x0.25" -> "projected-D-x0.25")."""
    return "-".join(name.replace("/", " ").replace(",", " ").split())


def save_grid(trainer: Any, path: Path) -> None:
    from PIL import Image

    from ganpaint.core.images import image_grid

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_grid(trainer.sample_images(), cols=8)).save(path)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| candidate | images/s | images seen | FD ratio | precision | recall | sky noise ratio "
        "| max share gap (pts) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['candidate']} | {r['img_s']:.1f} | {r['images']} | {r['fd_ratio']} | "
            f"{r.get('precision')} | {r.get('recall')} | {r['sky_noise_ratio']} | "
            f"{r['max_share_gap_points']} |"
        )
    return "\n".join(lines)


def _seeds(text: str | None) -> list[int] | None:
    """``--seeds``: None when not given, [] when it is not a comma list of seeds >= 0."""
    if text is None:
        return None
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        return []
    return seeds if seeds and min(seeds) >= 0 else []


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.compare_candidates")
    p.add_argument("--base", default="tiny", help="base config (default tiny)")
    p.add_argument("--seconds", type=float, default=60.0, help="training seconds each")
    p.add_argument("--steps", type=int, default=None,
                   help="train this many steps each instead (equal images where the "
                   "batches are equal)")  # fmt: skip
    p.add_argument("--images", type=int, default=None,
                   help="train each candidate until it has seen this many images (equal "
                   "data whatever its batch)")  # fmt: skip
    p.add_argument("--seeds", default=None, metavar="S,S,...",
                   help="train each candidate once per training seed (default: the "
                   "config's own)")  # fmt: skip
    p.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated names")
    p.add_argument("--device", default=None)
    p.add_argument("--eval-samples", type=int, default=200)
    p.add_argument("--segmenter", default="models/scenes128/segmenter.safetensors")
    p.add_argument("--size", type=int, default=128, help="resolution of the comparison")
    p.add_argument("--json", action="store_true")
    p.add_argument("--samples", default=None, metavar="DIR",
                   help="save each candidate's 8x8 sample grid here as NAME.png")  # fmt: skip
    args = p.parse_args(argv)
    for option, value in (("--steps", args.steps), ("--images", args.images)):
        if value is not None and value < 1:
            print(f"compare_candidates: {option} {value} must be at least 1", file=sys.stderr)
            return 2
    seeds = _seeds(args.seeds)
    if seeds == []:
        print(f"compare_candidates: --seeds {args.seeds!r} is not a list of seeds >= 0",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        rows = compare(
            args.base, args.seconds, args.candidates.split(","), args.device,
            args.eval_samples, args.segmenter, args.size, args.samples, args.steps, seeds,
            args.images,
        )  # fmt: skip
    except GanpaintError as exc:
        print(f"compare_candidates: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=1) if args.json else markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
