"""Two looks inside a GAN training state, on this machine's device:
``python -m ganpaint.devtools.state_probe STATE --config scenes256 [--bundle B] [--samples N]``.

* ``--what d``: the discriminator's mean logit (its std, and the share above 0) on ``N``
  training scenes (seeds from ``GAN_TRAIN_SEED``), ``N`` scenes it never saw (the seeds right
  after the training set) and ``N`` samples of the live generator, in batches of the
  config's size. A discriminator that memorised its training set rates unseen scenes lower
  than its own.
* ``--what ema``: ``evaluate_gan`` (``N`` samples, ``N + N`` rendered scenes from
  ``EVAL_SEED``, the segmenter of ``--bundle``) on the exported EMA generator, on the live
  one and on their weights' midpoint, against the same rendered sets; with ``--live-from
  LAYER,...`` also on the EMA generator with the live one's weights from each such block
  on (``layer11``: the EMA's ``layer1``..``layer10``, the live ``layer11`` to the output).

Both run float32, without autocast. The state is read, never written.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from ganpaint.core.errors import GanpaintError


def _trainer(state: str, config: str, device: str | None):
    """The state resumed into a trainer with the recipe it was trained with (projected
    heads, spectral branch, EMA half-life, batch), which ``config`` alone need not have."""
    from ganpaint.devtools.window_recipe import recipe_changes
    from ganpaint.train.configs import get_config
    from ganpaint.train.gan import GANTrainer
    from ganpaint.train.state import read_state_meta

    saved = read_state_meta(state).get("config") or {}
    cfg = get_config(config).replace(**recipe_changes(saved, False, None, None))
    out = tempfile.mkdtemp(prefix="ganpaint-state-probe-")
    t = GANTrainer(cfg, out, device=device, resume=state)
    t.G.eval(), t.D.eval(), t.G_ema.eval()
    return t


def d_logits(state: str, config: str, n: int, device: str | None = None) -> dict[str, Any]:
    """D's logits on training scenes, unseen scenes and samples (see the module docstring)."""
    import torch

    from ganpaint.train.data import GAN_TRAIN_SEED, render_scenes

    t = _trainer(state, config, device)
    r, b = t.cfg.resolution, t.cfg.batch
    seen = t.data_n or t.cfg.dataset_size

    def stats(logits: torch.Tensor) -> dict[str, float]:
        return {"mean": round(float(logits.mean()), 4), "std": round(float(logits.std()), 4),
                "positive": round(float((logits > 0).float().mean()), 4)}  # fmt: skip

    def on_scenes(start: int) -> dict[str, float]:
        images = torch.from_numpy(render_scenes(n, r, start)[0])
        x = images.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        return stats(torch.cat([t.D(x[i : i + b].to(t.device)).float().flatten().cpu()
                                for i in range(0, n, b)]))  # fmt: skip

    with torch.no_grad():
        out = {"training": on_scenes(GAN_TRAIN_SEED), "unseen": on_scenes(GAN_TRAIN_SEED + seen)}
        gen = torch.Generator().manual_seed(0)
        fakes = [t.D(t.G(torch.randn(min(b, n - i), t.cfg.z_dim, generator=gen).to(t.device)))
                 .float().flatten().cpu() for i in range(0, n, b)]  # fmt: skip
        out["samples"] = stats(torch.cat(fakes))
    return {"step": t.step, "n": n, "unseen_from_seed": GAN_TRAIN_SEED + seen, **out}


def ema_vs_live(
    state: str,
    config: str,
    bundle: str,
    n: int,
    device: str | None = None,
    live_from: Sequence[str] = (),
) -> dict[str, Any]:
    """``evaluate_gan``'s headline figures for the EMA, the midpoint, the live G and the
    EMA with the live weights from each block of ``live_from`` on."""
    from ganpaint.models.bundle import load_bundle
    from ganpaint.train.data import EVAL_SEED, render_scenes
    from ganpaint.train.quality import evaluate_gan

    t = _trainer(state, config, device)
    blocks = t.G_ema.block_names()
    for first in live_from:
        if first not in blocks:
            raise GanpaintError(f"--live-from {first}: no such block ({', '.join(blocks)})")
    seg = load_bundle(bundle).load_segmenter()
    if seg is None:
        raise GanpaintError(f"{bundle}: no segmenter to evaluate with")
    r = t.cfg.resolution
    real, real_b = render_scenes(n, r, EVAL_SEED), render_scenes(n, r, EVAL_SEED + n)
    ema, live = t.G_ema.state_dict(), t.G.state_dict()
    mid = copy.deepcopy(t.G_ema)
    mid.load_state_dict({k: 0.5 * ema[k].float() + 0.5 * live[k].float() for k in ema})
    gens = [("ema", t.G_ema), ("midpoint", mid), ("live", t.G)]
    for first in live_from:
        tail = set(blocks[blocks.index(first) :])
        hybrid = copy.deepcopy(t.G_ema)
        hybrid.load_state_dict({k: (live if k.split(".")[0] in tail else ema)[k] for k in ema})
        gens.append((f"live from {first}", hybrid.eval()))
    rows = {}
    for name, gen in gens:
        e = evaluate_gan(gen, seg, n, real=real, real_b=real_b, device=t.device)
        rows[name] = {k: e[k] for k in ("fd", "fd_ratio", "sky_noise_ratio", "sky_line_ratio",
                                         "max_share_gap_points")}  # fmt: skip
    return {"step": t.step, "n": n, **rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpaint.devtools.state_probe",
                                description=__doc__.split("\n\n")[0])  # fmt: skip
    p.add_argument("state", help="a training state folder (e.g. .gpu/state)")
    p.add_argument("--what", choices=("d", "ema"), required=True)
    p.add_argument("--config", default="scenes256")
    p.add_argument("--bundle", default=None, help="whose segmenter --what ema uses")
    p.add_argument("--samples", type=int, default=256)
    p.add_argument(
        "--live-from",
        default="",
        help="--what ema: also the EMA with the live "
        "weights from each of these blocks on (comma-separated, e.g. layer11)",
    )
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    try:
        if args.samples < 2:
            raise GanpaintError("--samples must be at least 2")
        if args.what == "d":
            result = d_logits(args.state, args.config, args.samples, args.device)
        elif args.bundle is None:
            raise GanpaintError("--what ema needs --bundle (its segmenter)")
        else:
            live_from = [b for b in args.live_from.split(",") if b]
            result = ema_vs_live(args.state, args.config, args.bundle, args.samples, args.device,
                                 live_from)  # fmt: skip
    except (GanpaintError, OSError) as exc:
        print(f"state_probe: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
