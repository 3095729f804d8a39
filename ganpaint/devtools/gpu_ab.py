"""``gpu_window ab``: two windows from one carried state, arm A as the run is and arm B with
one change (:data:`AB_VARIANTS`), each in a fresh process (``gpu_window run``); the arm with
the lower distance to the issue's targets wins, and its files and state go on
(:func:`run_ab`)."""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

from ganpaint.core.errors import GanpaintError
from ganpaint.devtools.gpu_files import TEXT_ARCHIVE, TOOL_FILES, copy_over
from ganpaint.train.configs import HIGHPASS_WEIGHT, PROJECTED_WEIGHT

# An A/B window's arm wins by the lower sum of its distances to the targets.
FD_RATIO_TARGET = 3.0
SKY_NOISE_TARGET = 1.5
AB_VARIANTS = {
    "d_spectral": ["--d-spectral"],
    "ema_20k": ["--ema-half-life-images", "20000"],
    "ema_40k": ["--ema-half-life-images", "40000"],
    "d_projected": ["--d-projected", str(PROJECTED_WEIGHT)],
    "d_highpass": ["--d-highpass", str(HIGHPASS_WEIGHT)],
    "batch64": ["--batch", "64"],
}
"""What arm B adds, as options of ``run``."""


def ab_scores(arms: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each finished arm's ``fd_ratio / 3.0 + sky_noise_ratio / 1.5``; the sky term only
    when every finished arm has it (a model with no sky found has none)."""

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    done = {k: a for k, a in arms.items() if a.get("exit") == 0 and number(a.get("fd_ratio"))}
    with_sky = all(number(a.get("sky_noise_ratio")) for a in done.values())
    return {
        k: a["fd_ratio"] / FD_RATIO_TARGET
        + (a["sky_noise_ratio"] / SKY_NOISE_TARGET if with_sky else 0.0)
        for k, a in done.items()
    }


def run_ab(variant: str, run_args: list[str], out: Path, gpu_dir: Path) -> dict[str, Any]:
    """Two windows from the same carried state, one after the other in fresh processes with
    the same ``run_args`` (``run``'s options): arm A as they are, arm B with ``variant``
    added. The arm with the lower :func:`ab_scores` wins (A on a tie); its files go to
    ``out`` as a window's would, with ``ab.json`` (both arms' figures and the choice) added
    to its ``window.tar.gz`` and, while a slot is left of :data:`TOOL_FILES`, the other arm's
    ``samples-other.png``; its state replaces ``gpu_dir``'s, so later
    windows on this machine go on from it."""
    if variant not in AB_VARIANTS:
        raise GanpaintError(f"unknown A/B variant {variant!r} (known: {', '.join(AB_VARIANTS)})")
    if not (gpu_dir / "segmenter.safetensors").is_file():
        raise GanpaintError(
            f"{gpu_dir}: no segmenter.safetensors; each arm would train its own and their "
            "figures could not be compared: run one window first (it trains the segmenter)"
        )
    root = gpu_dir.with_name(gpu_dir.name + "-ab")
    shutil.rmtree(root, ignore_errors=True)
    arms = _run_arms(root, gpu_dir, run_args, AB_VARIANTS[variant])
    scores = ab_scores(arms)
    if not scores:
        raise GanpaintError(f"neither arm finished with figures: {json.dumps(arms)}")
    for arm, score in scores.items():
        arms[arm]["score"] = round(score, 4)
    winner = min(scores, key=lambda a: (scores[a], a))
    other = "b" if winner == "a" else "a"
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for f in sorted((root / f"out-{winner}").iterdir()):
        shutil.copyfile(f, out / f.name)
        names.append(f.name)
    result = {"variant": variant, "winner": winner, "arms": arms, "rule": AB_RULE}
    record = json.dumps(result, indent=1)
    if (out / TEXT_ARCHIVE).is_file():
        add_to_archive(out / TEXT_ARCHIVE, "ab.json", record.encode())
    else:  # no archive to carry it (a failed pack): a file of its own
        (out / "ab.json").write_text(record)
        names.append("ab.json")
    other_samples = root / other / "window" / "samples.png"
    if other_samples.is_file() and len(names) < TOOL_FILES:
        shutil.copyfile(other_samples, out / "samples-other.png")
        names.append("samples-other.png")
    elif other_samples.is_file():
        print(f"[ab] samples-other.png left out: {len(names)} files already", flush=True)
    if len(names) > TOOL_FILES:  # the arm's own pack keeps within TOOL_FILES
        raise GanpaintError(f"the A/B window would return {len(names)} files, over {TOOL_FILES}")
    copy_over(root / winner / "state", gpu_dir / "state")
    copy_over(root / winner / "segmenter.safetensors", gpu_dir / "segmenter.safetensors")
    result["window_files"] = names
    return result


def _run_arms(root: Path, gpu_dir: Path, run_args: list[str], extra: list[str]) -> dict:
    """Arm A with ``run_args``, then arm B with ``extra`` added and evaluated on as many
    samples as A was: a short window caps its evaluation by the time left, which differs a
    little between arms, and FD estimates on unequal numbers of samples differ. An arm
    evaluated on fewer samples still (B short of time) is said so."""
    arms = {"a": _ab_arm(root, "a", gpu_dir, run_args, [])}
    same_n = ["--eval-samples", str(arms["a"]["eval_n"])] if arms["a"].get("eval_n") else []
    arms["b"] = _ab_arm(root, "b", gpu_dir, run_args + same_n, extra)
    if arms["a"].get("eval_n") != arms["b"].get("eval_n"):
        print(f"[ab] the arms were evaluated on different numbers of samples: "
              f"{arms['a'].get('eval_n')} and {arms['b'].get('eval_n')}", flush=True)  # fmt: skip
    return arms


def add_to_archive(archive: Path, name: str, data: bytes) -> None:
    """Rewrite the gzip tar ``archive`` with one more member ``name`` (replacing one of that
    name); the archive holds small text files, so it is rewritten in memory."""
    import io

    members = []
    with tarfile.open(archive, "r:gz") as tar:
        for m in tar.getmembers():
            f = tar.extractfile(m) if m.isfile() and m.name != name else None
            if f is not None:
                members.append((m, f.read()))
    tmp = archive.with_name(archive.name + ".partial")
    with tarfile.open(tmp, "w:gz") as tar:
        for m, content in [*members, (tarfile.TarInfo(name), data)]:
            m.size = len(content)
            tar.addfile(m, io.BytesIO(content))
    tmp.replace(archive)


def _ab_arm(root: Path, arm: str, gpu_dir: Path, run_args: list[str], extra: list[str]) -> dict:
    """Run one arm's window in a fresh process on a copy of ``gpu_dir``; its figures."""
    import subprocess

    arm_dir, arm_out = root / arm, root / f"out-{arm}"
    arm_dir.mkdir(parents=True)
    copy_over(gpu_dir / "state", arm_dir / "state")
    copy_over(gpu_dir / "segmenter.safetensors", arm_dir / "segmenter.safetensors")
    cmd = [sys.executable, "-m", "ganpaint.devtools.gpu_window", "run", *run_args,
           "--out", str(arm_out), "--gpu-dir", str(arm_dir), *extra]  # fmt: skip
    print(f"[ab] arm {arm}: {' '.join(cmd[3:])}", flush=True)
    code = subprocess.run(cmd, check=False).returncode
    path = arm_dir / "window" / "summary.json"
    summary = json.loads(path.read_text()) if path.is_file() else {}
    keys = ("fd_ratio", "precision", "recall", "sky_noise_ratio", "sky_line_ratio", "images_seen",
            "gan_img_s", "eval_n")  # fmt: skip
    figures = {k: summary.get(k) for k in keys}
    return {"exit": code, "options": extra, **figures}


AB_RULE = (
    "lower fd_ratio / 3.0 + sky_noise_ratio / 1.5 wins (the sky term only if both arms have "
    "it); A on a tie"
)
