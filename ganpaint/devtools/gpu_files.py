"""The GPU window's files at home and what a run keeps between sessions: the file protocol a
window's ``$OUT`` follows, ``unpack`` (the returned files back into ``.gpu/``), ``keep``
(``.gpu/bundle`` committed as a bundled model, the one thing a later session is sure to
have) and the warm start a window takes from such a bundle when ``.gpu/`` is gone."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from ganpaint.core.errors import GanpaintError
from ganpaint.core.files import swap_in_folder

MAX_FILES = 8
"""Files a device call brings back from ``$OUT``."""
LOG_SLOTS = 1
"""Of those, what the call itself writes there: every plan tees its output to ``log.txt``."""
TOOL_FILES = MAX_FILES - LOG_SLOTS
"""What a window (or an A/B window) may put into ``$OUT`` itself."""
MAX_FILE_BYTES = 16 * 1024 * 1024
STATE_PREFIX = "state-"
TEXT_ARCHIVE = "window.tar.gz"


def copy_over(src: Path, dst: Path) -> None:
    """``dst`` becomes a copy of ``src`` (a file or folder); nothing happens without ``src``."""
    if not src.exists():
        return
    if dst.is_dir():
        shutil.rmtree(dst)
    elif dst.exists():
        dst.unlink()
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)


def half_copy(src: Path, dst: Path) -> None:
    """Copy a safetensors file with its floating-point tensors in float16 and its metadata
    kept: the carried segmenter then takes half the bytes of the 64 MiB a window may be sent
    (the repository, the state and the segmenter travel together). Loading casts back to
    float32, and rounding to float16 again in a later window changes nothing."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iter)
    half = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(half, str(dst), metadata=meta)


def _no_archive(files: Path) -> str:
    """Why ``files`` cannot be unpacked without its archive."""
    shards = sorted(p.name for p in files.glob(STATE_PREFIX + "tensors-*.safetensors"))
    if not shards:
        return f"{files}: no {TEXT_ARCHIVE}; not a GPU window's files"
    return (
        f"{files}: no {TEXT_ARCHIVE} beside {', '.join(shards)}: the window's state.json and "
        f"bundle.json are in it. A device call returns at most {MAX_FILES} files; see the "
        "reply's files_left_out, and fetch the archive from the machine while it is warm. "
        ".gpu/ is left as it was"
    )


def unpack(files: Path, gpu_dir: Path) -> dict[str, str]:
    """Rebuild ``.gpu/state``, ``.gpu/segmenter.safetensors``, ``.gpu/bundle`` and
    ``.gpu/last`` (summary, metrics, log, samples) from a window's returned files."""
    archive = files / TEXT_ARCHIVE
    if not archive.is_file():
        raise GanpaintError(_no_archive(files))
    staging = gpu_dir / "unpack.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "state").mkdir(parents=True)
    (staging / "bundle").mkdir()
    (staging / "last").mkdir()
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(staging / "last", filter="data")
    shutil.move(staging / "last" / "state.json", staging / "state" / "state.json")
    for p in files.glob(STATE_PREFIX + "tensors-*.safetensors"):
        shutil.copyfile(p, staging / "state" / p.name[len(STATE_PREFIX) :])
    for name in ("generator.safetensors", "segmenter.safetensors"):
        if (files / name).is_file():
            shutil.copyfile(files / name, staging / "bundle" / name)
    if (staging / "last" / "bundle.json").is_file():
        shutil.move(staging / "last" / "bundle.json", staging / "bundle" / "bundle.json")
    for name in ("samples.png", "samples-other.png", "ab.json"):
        copy_over(files / name, staging / "last" / name)
    if (staging / "bundle" / "segmenter.safetensors").is_file():
        half_copy(staging / "bundle" / "segmenter.safetensors", staging / "seg")
    out = {}
    for name, target in (("state", "state"), ("bundle", "bundle"), ("last", "last")):
        shutil.rmtree(gpu_dir / target, ignore_errors=True)
        shutil.move(staging / name, gpu_dir / target)
        out[name] = str(gpu_dir / target)
    if (staging / "seg").is_file():
        shutil.move(staging / "seg", gpu_dir / "segmenter.safetensors")
        out["segmenter"] = str(gpu_dir / "segmenter.safetensors")
    shutil.rmtree(staging, ignore_errors=True)
    return out


MODELS_MAX_BYTES = 40_000_000
"""The house rule for ``models/``: the bundled models take at most 40 MB together."""
KEPT_FILES = ("bundle.json", "generator.safetensors", "segmenter.safetensors")


def keep(gpu_dir: Path, target: Path, drop_others: bool = False) -> dict[str, object]:
    """Copy the window's bundle (``gpu_dir/bundle``: generator, segmenter, bundle.json with
    the training card) to ``target``, a folder of the bundled models, so that the next
    session, whose checkout may lack ``.gpu/``, can warm-start from it once it is committed.
    The segmenter is kept in float16, as windows carry it (:func:`half_copy`; bundle.json's
    hashes are rewritten for it), so a window warm-started from the kept bundle measures
    with exactly the numbers kept; the size check counts the files before that halving.
    Refused when the bundle does not open with its hashes, when ``target`` holds other files
    (a dissection of an older generator would be stale; ``drop_others`` removes them) or
    when the models' folder would pass 40 MB. ``target`` is replaced whole, never half.

    When ``gpu_dir/state`` is the same window's state (its EMA generator equal, value for
    value, to the kept generator), it is thinned: the EMA generator is dropped from it and
    read from the kept file instead (:func:`~ganpaint.train.state.thin_state`), so that the
    state (8.1 MB less for ``scenes256``) still fits beside the grown repository in what a
    window is sent, and a later session that still has ``.gpu/`` resumes it exactly."""
    from ganpaint.models.bundle import load_bundle, write_bundle_json

    src = gpu_dir / "bundle"
    bundle = load_bundle(src)  # a GanpaintError naming the file when it is not whole
    others = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
    others = [name for name in others if name not in KEPT_FILES]
    if others and not drop_others:
        raise GanpaintError(
            f"{target} also holds {', '.join(others)}, made for the generator it has now; "
            "pass --drop-others to replace the folder whole (then dissect it again)"
        )
    root = target.parent
    elsewhere = sum(p.stat().st_size for p in root.rglob("*")
                    if p.is_file() and target not in p.parents)  # fmt: skip
    total = elsewhere + sum(p.stat().st_size for p in src.iterdir() if p.name in KEPT_FILES)
    if total > MODELS_MAX_BYTES:
        raise GanpaintError(
            f"{root} would hold {total / 1e6:.1f} MB with this bundle, over the "
            f"{MODELS_MAX_BYTES / 1e6:.0f} MB the bundled models may take"
        )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copyfile(src / "generator.safetensors", staging / "generator.safetensors")
        if (src / "segmenter.safetensors").is_file():  # float16, as a window carries it
            half_copy(src / "segmenter.safetensors", staging / "segmenter.safetensors")
        meta = dict(bundle.meta)
        meta.pop("files", None)
        write_bundle_json(staging, meta)  # the hashes of the files as kept
        load_bundle(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in_folder(staging, target)
    card = bundle.meta.get("training") or {}
    files = {p.name: p.stat().st_size for p in sorted(target.iterdir())}
    out: dict[str, object] = {
        "kept": str(target),
        "files": files,
        "models_bytes": elsewhere + sum(files.values()),
        "images_seen": card.get("images_seen"),
        "windows": len(card.get("windows") or []),
    }
    if (gpu_dir / "state" / "state.json").is_file():  # the same window's state, if it is
        from ganpaint.train.state import thin_state

        out["state"] = thin_state(gpu_dir / "state", target / "generator.safetensors")
    return out


def warm_start_for(gpu_dir: Path, bundle: Path | None) -> Path | None:
    """The bundle a window should warm-start from: ``bundle`` when ``gpu_dir`` has no state
    (a resume, exact, is always preferred), else None. Without a segmenter in ``gpu_dir``
    the bundle's is copied there (float16) either way, so the window is measured as the
    bundle was."""
    if bundle is None:
        return None
    if not (bundle.is_file() or (bundle / "bundle.json").is_file()):
        raise GanpaintError(f"{bundle}: no such bundle or generator file to warm-start from")
    seg = bundle / "segmenter.safetensors"
    if bundle.is_dir() and seg.is_file() and not (gpu_dir / "segmenter.safetensors").is_file():
        gpu_dir.mkdir(parents=True, exist_ok=True)
        half_copy(seg, gpu_dir / "segmenter.safetensors")
        print(f"[window] took the segmenter of {bundle} for {gpu_dir}", flush=True)
    if (gpu_dir / "state" / "state.json").is_file():
        print(f"[window] {gpu_dir / 'state'} is there: resuming it exactly, not warm-starting "
              f"from {bundle}", flush=True)  # fmt: skip
        return None
    return bundle
