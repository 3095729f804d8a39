"""What recipe a GPU window trains with: each recipe option as the window gives it, else
as the run it goes on from had it (its state's config, or a kept bundle's training card),
so that a run keeps its recipe from window to window (``gpu_window run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def recipe_changes(
    saved: dict[str, Any],
    d_spectral: bool,
    ema_half_life_images: int | None,
    d_projected: float | None,
    batch: int | str | None = None,
    d_highpass: float | None = None,
) -> dict[str, Any]:
    """The recipe fields a window changes in its config: each as given, else as the run it
    goes on from had it (``saved``: its config); the spectral branch once there stays."""
    out: dict[str, Any] = {}
    if d_spectral or saved.get("d_spectral"):
        out["d_spectral"] = True
    if ema_half_life_images is None and saved.get("ema_half_life_images") is not None:
        ema_half_life_images = int(saved["ema_half_life_images"])
    if ema_half_life_images is not None:
        out["ema_half_life_images"] = ema_half_life_images
    # the weights of the discriminator's heads: 0 or absent in ``saved`` means none
    for field, weight in (("d_projected", d_projected), ("d_highpass", d_highpass)):
        if weight is None and saved.get(field):
            weight = float(saved[field])
        if weight is not None:
            out[field] = weight
    if batch is None and saved.get("batch") is not None:
        batch = saved["batch"]
    if batch is not None:
        out["batch"] = int(batch)
    return out


def card_of(bundle: Path) -> dict[str, Any]:
    """The training card of a bundle folder (empty for a bare generator file)."""
    from ganpaint.models.bundle import read_bundle_json

    if not bundle.is_dir():
        return {}
    card = read_bundle_json(bundle).get("training")
    return card if isinstance(card, dict) else {}


def run_batch(gpu_dir: Path, config: str, warm_start: Path | None) -> int:
    """The batch the run a window goes on from trains with: its state's in ``gpu_dir``,
    else the kept bundle's card's (a warm start), else the config's."""
    from ganpaint.train.configs import get_config
    from ganpaint.train.state import read_state_meta

    saved: dict[str, Any] = {}
    if (gpu_dir / "state" / "state.json").is_file():
        saved = read_state_meta(gpu_dir / "state").get("config") or {}
    elif warm_start is not None:
        saved = card_of(warm_start).get("config") or {}
    return int(saved.get("batch") or get_config(config).batch)
