"""The resumable state of a GAN run as a folder that can travel to another machine: the
models, the EMA generator, the optimisers, the RNG states and the data order, sharded into
safetensors files of at most 16 MiB each and 40 MiB together, plus ``state.json``.

Layout::

    STATE/state.json              step, images seen, windows, events, precision, shard list
    STATE/tensors-00000.safetensors ...   the tensors, by name (``G.layer1.conv.weight``,
                                  ``opt_G.3.exp_avg_sq``, ``data.perm``, ``rng.cpu``)

Precision: everything is float32 while the whole state fits the budget in float32 (the tiny,
64 px and 128 px configs). A larger run keeps the weights of G, D and the EMA generator in
float16 and Adam's second moments in bfloat16 (their range, not their last bits, matters),
and rounds the live tensors to the same values at the moment it saves, so the run that saved
and the run that resumes go on from bit-identical tensors. Adam's first moment is not stored
when beta1 is 0 (this project's setting): each step overwrites it with the step's gradient.

The folder is written beside the old one and renamed into place, so a run killed while
saving leaves the previous state intact.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from ganpaint.core.errors import GanpaintError
from ganpaint.core.files import atomic_write_text, swap_in_folder
from ganpaint.train.optim import plain
from ganpaint.train.parallel import gather_rng, rank_seed, set_rng

if TYPE_CHECKING:
    from ganpaint.train.gan import GANTrainer

STATE_FORMAT = "ganpaint-gan-state"
STATE_VERSION = 1
STATE_JSON = "state.json"
MAX_SHARD_BYTES = 16 * 1024 * 1024
MAX_STATE_BYTES = 40 * 1024 * 1024
# A state up to this size is stored in float32; the rest of the budget is kept for the data
# order, the RNG, state.json and the safetensors headers.
FLOAT32_LIMIT_BYTES = MAX_STATE_BYTES - 512 * 1024
# Architecture fields that must match for a state to be resumed.
ARCH_FIELDS = ("resolution", "g_widths", "z_dim", "d_widths")
RECIPE_FIELDS = ("batch", "lr", "r1_gamma", "r1_every", "ema_half_life_images", "d_projected",
                 "d_highpass")  # fmt: skip
"""Config fields a run may change between windows (``gpu_window run --batch``, an A/B's
winner); a change is an event on the card, so the windows' figures can be read with it."""
_WEIGHTS = ("G", "G_ema", "D")
_OPTIMISERS = ("opt_G", "opt_D")


def _modules(trainer: GANTrainer) -> dict[str, torch.nn.Module]:
    return {"G": trainer.G, "G_ema": trainer.G_ema, "D": trainer.D}


def _optimisers(trainer: GANTrainer) -> dict[str, torch.optim.Optimizer]:
    return {"opt_G": trainer.opt_G, "opt_D": trainer.opt_D}


def _moment_keys(opt: torch.optim.Optimizer) -> tuple[str, ...]:
    beta1 = opt.param_groups[0]["betas"][0]
    return ("exp_avg_sq",) if beta1 == 0 else ("exp_avg", "exp_avg_sq")


def live_tensors(trainer: GANTrainer) -> dict[str, torch.Tensor]:
    """Every float tensor of the state that lives on the training device, by name."""
    out: dict[str, torch.Tensor] = {}
    for prefix, module in _modules(trainer).items():
        for key, value in module.state_dict().items():
            out[f"{prefix}.{key}"] = value
    for prefix, opt in _optimisers(trainer).items():
        for i, p in enumerate(opt.param_groups[0]["params"]):
            st = opt.state.get(p, {})
            for key in _moment_keys(opt):
                if key in st:
                    out[f"{prefix}.{i}.{key}"] = st[key]
    return out


def _counts(trainer: GANTrainer) -> tuple[int, int]:
    """Numbers of weight values and of stored moment values (as after the first step)."""
    n_weights = sum(p.numel() for m in _modules(trainer).values() for p in m.state_dict().values())
    n_moments = sum(
        len(_moment_keys(opt)) * sum(p.numel() for p in opt.param_groups[0]["params"])
        for opt in _optimisers(trainer).values()
    )
    return n_weights, n_moments


def precision_plan(trainer: GANTrainer) -> dict[str, str]:
    """Storage dtype per tensor group: all float32 when that fits the budget, else float16
    weights and bfloat16 moments (decided by size alone, so every save of a run agrees)."""
    n_weights, n_moments = _counts(trainer)
    if 4 * (n_weights + n_moments) <= FLOAT32_LIMIT_BYTES:
        return {"weights": "float32", "moments": "float32"}
    return {"weights": "float16", "moments": "bfloat16"}


def state_bytes_estimate(trainer: GANTrainer) -> int:
    """Bytes the state's tensors take under :func:`precision_plan`."""
    plan = precision_plan(trainer)
    size = {"float32": 4, "float16": 2, "bfloat16": 2}
    n_weights, n_moments = _counts(trainer)
    return n_weights * size[plan["weights"]] + n_moments * size[plan["moments"]]


@torch.no_grad()
def _stored(name: str, tensor: torch.Tensor, plan: dict[str, str]) -> torch.Tensor:
    """The CPU tensor to store; with reduced precision the live tensor is rounded to the
    stored value too (a float16 overflow keeps that tensor in float32)."""
    if not tensor.is_floating_point():
        return tensor.detach().to("cpu").clone()
    group = "weights" if name.split(".", 1)[0] in _WEIGHTS else "moments"
    dtype = getattr(torch, plan[group])
    low = tensor.detach().to(dtype)
    if dtype != torch.float32 and bool(torch.isfinite(low).all()):
        tensor.copy_(low)
        return low.to("cpu").clone()
    return tensor.detach().float().to("cpu").clone()


def _shards(tensors: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Tensors split, in order, into groups of at most ``MAX_SHARD_BYTES`` (less headers)."""
    limit = MAX_SHARD_BYTES - 64 * 1024
    shards: list[dict[str, torch.Tensor]] = [{}]
    used = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if nbytes > limit:
            raise GanpaintError(f"state tensor {name} is {nbytes} bytes, over one 16 MiB shard")
        if used + nbytes > limit and shards[-1]:
            shards.append({})
            used = 0
        shards[-1][name] = t.contiguous()
        used += nbytes
    return shards


def _rng_tensors(trainer: GANTrainer) -> dict[str, torch.Tensor]:
    out = gather_rng(trainer.dist, trainer.device)
    out["rng.data"] = trainer.data_rng.get_state()
    if trainer.perm is not None:
        out["data.perm"] = trainer.perm.detach().to("cpu", torch.int32)
    return out


def _optimiser_json(opt: torch.optim.Optimizer) -> dict[str, Any]:
    group = opt.param_groups[0]
    hyper = {k: plain(v) for k, v in group.items() if k != "params"}
    keep = {k: v for k, v in hyper.items() if isinstance(v, (int, float, bool, list)) or v is None}
    steps = {}
    for i, p in enumerate(group["params"]):
        st = opt.state.get(p, {})
        if "step" in st:
            steps[str(i)] = float(st["step"])
    return {"group": keep, "steps": steps, "moments": list(_moment_keys(opt))}


def save_state(trainer: GANTrainer, folder: str | Path) -> Path:
    """Write the trainer's state to ``folder`` (see the module docstring). Returns it.
    Under torchrun every rank calls this (the RNG states are gathered and the live tensors
    rounded everywhere); rank 0 writes."""
    folder = Path(folder)
    plan = precision_plan(trainer)
    tensors = {n: _stored(n, t, plan) for n, t in live_tensors(trainer).items()}
    tensors.update(_rng_tensors(trainer))
    if trainer.dist.is_main:
        _write(trainer, folder, tensors, plan)
    trainer.dist.barrier()
    return folder


def _write(
    trainer: GANTrainer, folder: Path, tensors: dict[str, torch.Tensor], plan: dict[str, str]
) -> None:
    meta = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "config": trainer.cfg.to_dict(),
        "step": trainer.step,
        "images_seen": trainer.images_seen,
        "g_frozen_until": trainer.g_frozen_until,
        "train_seconds": trainer.train_seconds,
        "use_bf16": trainer.use_bf16,
        "events": list(trainer.events),
        "windows": list(trainer.windows),
        "data": {"n": trainer.data_n, "pos": trainer.pos},
        "processes": trainer.dist.world,
        "precision": plan,
        "optimisers": {k: _optimiser_json(o) for k, o in _optimisers(trainer).items()},
    }
    if trainer.D.projected is not None:  # which classifier's features the heads learned
        meta["projected_source"] = dict(trainer.D.projected.source)
    _write_folder(folder, tensors, meta)


def _write_folder(folder: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write ``tensors`` as shards and ``meta`` (its ``files`` set to them) as state.json
    into a folder beside ``folder``, check the size budget, and swap it into place."""
    shards = _shards(tensors)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    meta["files"] = []
    for i, shard in enumerate(shards):
        name = f"tensors-{i:05d}.safetensors"
        save_file(shard, str(tmp / name))
        meta["files"].append(name)
    atomic_write_text(tmp / STATE_JSON, json.dumps(meta, indent=1))
    total = sum(p.stat().st_size for p in tmp.iterdir())
    if total > MAX_STATE_BYTES:
        raise GanpaintError(f"the training state is {total} bytes, over the 40 MiB limit")
    swap_in_folder(tmp, folder)


def window_record(summary: dict[str, Any], start_step: int, start_images: int) -> dict[str, Any]:
    """One training window for the card: hardware, steps and images, wall time, figures."""
    return {
        "hardware": summary["device"],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "steps": [start_step, summary["steps"]],
        "images": [start_images, summary["images_seen"]],
        "wall_s": summary["wall_s"],
        "img_s": summary["img_s"],
        "data_wait_s": summary.get("data_wait_s", 0.0),
        "bf16": summary["bf16"],
        "speed": summary.get("speed", "base"),
        "stop_reason": summary["stop_reason"],
        "figures": summary["last_metrics"],
    }


WINDOW_FIGURES = (
    "n", "fd", "fd_floor", "fd_ratio", "precision", "recall", "sky_noise_ratio",
    "sky_line_ratio", "max_share_gap_points",
)  # fmt: skip


def note_window_figures(windows: list[dict[str, Any]], evaluation: dict[str, Any]) -> None:
    """Add ``evaluate_gan``'s headline figures to the last window (when it has them)."""
    if windows and evaluation.get("fd") is not None:
        windows[-1]["evaluation"] = {k: evaluation.get(k) for k in WINDOW_FIGURES}


def set_windows(folder: str | Path, windows: list[dict[str, Any]]) -> None:
    """Rewrite the ``windows`` of a written state folder (figures measured after saving)."""
    path = Path(folder) / STATE_JSON
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["windows"] = windows
    atomic_write_text(path, json.dumps(meta, indent=1))


def read_state_meta(folder: str | Path) -> dict[str, Any]:
    """``state.json`` of a state folder, without its tensors; a clear error for anything
    else."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GanpaintError(f"{folder}: no {STATE_JSON}; not a training state folder") from None
    except (OSError, ValueError) as exc:
        raise GanpaintError(f"{folder / STATE_JSON}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise GanpaintError(f"{folder}: not a ganpaint GAN training state")
    return meta


def read_state(folder: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``state.json`` and all tensors of a state folder; a clear error for anything else."""
    folder = Path(folder)
    meta = read_state_meta(folder)
    tensors: dict[str, torch.Tensor] = {}
    for name in meta.get("files", []):
        try:
            tensors.update(load_file(str(folder / str(name))))
        except Exception as exc:  # noqa: BLE001 - any failure to read is the file's fault
            raise GanpaintError(f"{folder / str(name)}: cannot read ({exc})") from None
    if EMA_FILE in meta:
        tensors.update(_ema_from_file(folder, meta[EMA_FILE]))
    return meta, tensors


EMA_FILE = "g_ema_file"
"""state.json's key for a thinned state: its EMA generator is a bundle's generator file."""


def _ema_from_file(folder: Path, ref: Any) -> dict[str, torch.Tensor]:
    """The ``G_ema.*`` tensors of a thinned state, from the file it names (a path relative
    to the working folder, the repository's root, as :func:`thin_state` wrote it)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("path"), str):
        raise GanpaintError(f"{folder / STATE_JSON}: {EMA_FILE} is not a path and a sha256")
    path = Path(ref["path"])
    if not path.is_file():
        raise GanpaintError(
            f"{folder}: its EMA generator is kept in {path}, which is not here; run from the "
            "repository's root, with the bundle the state was thinned against"
        )
    from ganpaint.models.bundle import sha256_file

    if sha256_file(path) != ref.get("sha256"):
        raise GanpaintError(
            f"{folder}: its EMA generator is kept in {path}, which has changed since (another "
            "window's bundle was kept?); resume from that window's state, or warm-start"
        )
    return {f"G_ema.{k}": v for k, v in load_file(str(path)).items()}


def thin_state(folder: str | Path, generator: str | Path) -> str:
    """Rewrite the state ``folder`` without its EMA generator when ``generator`` (a kept
    bundle's file, committed, so it travels with the repository) holds exactly the same
    values; ``state.json`` then names the file and its sha256. Returns what was done, in
    words: a state of another window, or one stored in float32, is left as it is."""
    folder, generator = Path(folder), Path(generator)
    meta, tensors = read_state(folder)
    if EMA_FILE in meta:
        return "already thinned"
    ema = {k[len("G_ema.") :]: v for k, v in tensors.items() if k.startswith("G_ema.")}
    kept = load_file(str(generator))
    same = set(kept) == set(ema) and all(
        kept[k].shape == ema[k].shape and torch.equal(kept[k].float(), ema[k].float()) for k in ema
    )
    if not same:
        return f"left whole: its EMA generator differs from {generator}'s"
    from ganpaint.models.bundle import sha256_file

    meta[EMA_FILE] = {"path": generator.as_posix(), "sha256": sha256_file(generator)}
    _write_folder(folder, {k: v for k, v in tensors.items() if not k.startswith("G_ema.")}, meta)
    return f"thinned: its EMA generator is {generator}"


# The discriminator's optional parts, in the order they are registered (after the rest):
# config field, state-dict prefix, what the card's event calls it.
GROWN_PARTS = (
    ("d_spectral", "spectral.", "the discriminator's spectral branch added (gain 0)"),
    ("d_projected", "projected.", "the discriminator's projected heads added (fresh)"),
    ("d_highpass", "highpass.", "the discriminator's high-pass head added (fresh)"),
)
GROWN_WEIGHTS = ("d_projected", "d_highpass")
"""Recipe fields whose change from 0 is a part grown (its own event), not a recipe change."""


def check_architecture(meta: dict[str, Any], trainer: GANTrainer, where: Path) -> list[int]:
    """Refuse a state of another architecture; return the indices in :data:`GROWN_PARTS` of
    the discriminator's optional parts this config adds to a state trained without them
    (they start fresh). A part the state has is never dropped, and a part is added only
    after the last one the state has (their parameters come last, in that order, so the
    saved optimiser moments keep their indices)."""
    saved = meta.get("config", {})
    for key in ARCH_FIELDS:
        mine, theirs = plain(getattr(trainer.cfg, key)), plain(saved.get(key))
        if mine != theirs:
            raise GanpaintError(
                f"{where}: was trained with {key}={theirs}, this config has {mine}; "
                "use another output folder or --no-resume"
            )
    grows = []
    for i, (field, _, _) in enumerate(GROWN_PARTS):
        theirs, mine = bool(saved.get(field)), bool(getattr(trainer.cfg, field))
        if theirs and not mine:
            raise GanpaintError(
                f"{where}: its discriminator has {field} and this config's has not; "
                f"resume it with {field}"
            )
        if mine and not theirs:
            grows.append(i)
        elif theirs and grows:
            added = GROWN_PARTS[grows[0]][0]
            raise GanpaintError(
                f"{where}: has {field} but not {added}; {added} cannot be added to it now"
            )
    return grows


@torch.no_grad()
def load_state(trainer: GANTrainer, folder: str | Path) -> None:
    """Restore everything :func:`save_state` wrote into ``trainer``."""
    folder = Path(folder)
    meta, tensors = read_state(folder)
    grows = check_architecture(meta, trainer, folder)
    fresh = tuple(GROWN_PARTS[i][1] for i in grows)
    try:
        for prefix, module in _modules(trainer).items():
            own = module.state_dict()
            for key, value in own.items():
                if fresh and prefix == "D" and key.startswith(fresh):
                    continue  # added now: keeps its fresh initialisation
                value.copy_(tensors[f"{prefix}.{key}"])
        for prefix, opt in _optimisers(trainer).items():
            _load_optimiser(opt, prefix, meta["optimisers"][prefix], tensors)
    except KeyError as exc:
        raise GanpaintError(f"{folder}: the state lacks {exc}") from None
    trainer.step = int(meta["step"])
    trainer.images_seen = int(meta["images_seen"])
    trainer.g_frozen_until = int(meta.get("g_frozen_until", 0))  # a warm start's D warm-up
    trainer.train_seconds = float(meta.get("train_seconds", 0.0))
    trainer.events = [str(e) for e in meta.get("events", [])]
    for i in grows:
        trainer.events.append(f"step {trainer.step}: {GROWN_PARTS[i][2]}")
    trainer.events += recipe_events(meta.get("config", {}), trainer)
    _note_projected_source(trainer, meta.get("projected_source"))
    trainer.windows = list(meta.get("windows", []))
    trainer.use_bf16 = trainer.use_bf16 and bool(meta.get("use_bf16", True))
    _load_rng(trainer, meta, tensors)


def recipe_events(saved: dict[str, Any], trainer: GANTrainer) -> list[str]:
    """``"step N: batch 32 -> 64"`` for each of :data:`RECIPE_FIELDS` this config changes
    from the state's (``saved``: its config); heads added are their own event."""
    out = []
    for key in RECIPE_FIELDS:
        old, new = saved.get(key), getattr(trainer.cfg, key)
        if old is None or plain(old) == plain(new) or (key in GROWN_WEIGHTS and not old):
            continue
        out.append(f"step {trainer.step}: {key} {plain(old)} -> {plain(new)}")
    return out


def _note_projected_source(trainer: GANTrainer, saved: Any) -> None:
    """An event on the card when the heads go on over another classifier than the one
    they were trained on (the bundled classifier was retrained in between)."""
    heads = trainer.D.projected
    if heads is None or not isinstance(saved, dict):
        return
    old, new = saved.get("classifier_sha256"), heads.source["classifier_sha256"]
    if old and old != new:
        trainer.events.append(
            f"step {trainer.step}: the projected heads now read another classifier "
            f"(sha256 {str(old)[:12]} -> {new[:12]})"
        )


def _load_optimiser(
    opt: torch.optim.Optimizer, prefix: str, info: dict[str, Any], tensors: dict
) -> None:
    group = opt.param_groups[0]
    for key, value in info["group"].items():
        if key in ("lr", "betas", "eps", "weight_decay"):
            group[key] = tuple(value) if isinstance(value, list) else value
    for i, p in enumerate(group["params"]):
        if str(i) not in info["steps"]:
            continue
        st = opt.state[p]
        step = info["steps"][str(i)]
        st["step"] = torch.tensor(step, dtype=torch.float32, device=_step_device(opt, p))
        for key in ("exp_avg", "exp_avg_sq"):
            name = f"{prefix}.{i}.{key}"
            if name in tensors:
                if tuple(tensors[name].shape) != tuple(p.shape):
                    raise GanpaintError(
                        f"{name}: shape {tuple(tensors[name].shape)}, its parameter's is "
                        f"{tuple(p.shape)}"
                    )
                # in the parameter's memory format (channels-last training keeps both so)
                st[key] = torch.empty_like(p, dtype=torch.float32).copy_(tensors[name])
            else:  # beta1 == 0: the next step overwrites it with its gradient
                st[key] = torch.zeros_like(p, memory_format=torch.preserve_format)


def _step_device(opt: torch.optim.Optimizer, p: torch.Tensor) -> torch.device:
    # Fused and capturable Adam keep the step on the parameter's device.
    group = opt.param_groups[0]
    on_device = group.get("fused") or group.get("capturable")
    return p.device if on_device else torch.device("cpu")


def _load_rng(trainer: GANTrainer, meta: dict[str, Any], tensors: dict) -> None:
    if "rng.data" in tensors:
        trainer.data_rng.set_state(tensors["rng.data"].to(torch.uint8))
    if int(meta.get("processes", 1)) != trainer.dist.world or not set_rng(
        tensors, trainer.dist, trainer.device
    ):
        # Another number of processes: the batch splits differently, so the run goes on
        # from the same weights and data order with fresh per-rank latents.
        torch.manual_seed(rank_seed(trainer.cfg.seed + trainer.step, trainer.dist))
        trainer.events.append(
            f"step {trainer.step}: resumed on {trainer.dist.world} processes from a state "
            f"of {meta.get('processes', 1)}; latents and flips reseeded"
        )
    data = meta.get("data", {})
    trainer.restore_data_order(tensors.get("data.perm"), int(data.get("pos", 0)), data.get("n"))
