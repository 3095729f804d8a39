"""Model bundles: a folder with ``bundle.json``, ``generator.safetensors`` and optionally
``segmenter.safetensors``, ``dissection.json``, the picture encoder's ``encoder.safetensors``
and the scene classifier's ``classifier.safetensors``, ``classifier_dissection.json``,
``classifier_attack.json`` (see docs/ARCHITECTURE.md, "The model bundle").

:func:`load_bundle` opens a bundle folder (checking the sha256 of every listed file) or a
bare generator checkpoint (``.pth``/``.safetensors``), which becomes a bundle with no
segmenter and no dissection. :func:`write_bundle_json` records the hashes of the files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganpaint.core.defaults import DEFAULT_MODEL_NAME, DEFAULT_MODELS
from ganpaint.core.errors import BundleError
from ganpaint.core.files import atomic_write_text
from ganpaint.models.dissection import Dissection, DissectionError
from ganpaint.models.sniff import json_problem

if TYPE_CHECKING:
    from ganpaint.models.progan import ProGANGenerator

BUNDLE_FORMAT = "ganpaint-bundle"
BUNDLE_VERSION = 1
ENCODER_FILE = "encoder.safetensors"


BUNDLE_FILES = (
    "generator.safetensors",
    "segmenter.safetensors",
    "dissection.json",
    ENCODER_FILE,
    "classifier.safetensors",
    "classifier_dissection.json",
    "classifier_attack.json",
)
"""The files of a bundle that ``bundle.json`` lists with their sha256 when present."""

OPTIONAL_FILES = (
    ENCODER_FILE,
    "classifier.safetensors",
    "classifier_dissection.json",
    "classifier_attack.json",
)
"""Files whose damage (missing though listed, or a sha256 that differs) leaves the bundle
usable for painting: only the feature that needs the file is unavailable, and
:attr:`ModelBundle.problems` says why."""


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class ModelBundle:
    """An opened model: the generator plus what is known about it."""

    name: str
    path: Path
    generator: ProGANGenerator
    meta: dict[str, Any] = field(default_factory=dict)
    dissection: Dissection | None = None
    problems: dict[str, str] = field(default_factory=dict)
    """File name -> why that optional file cannot be used (see :data:`OPTIONAL_FILES`)."""
    chosen_because: str = ""
    """Why this bundle was opened when none was named (:func:`default_model_for`)."""

    def _usable(self, name: str) -> None:
        """Raise the problem found with the optional file ``name`` when the bundle opened."""
        if name in self.problems:
            raise BundleError(self.problems[name])

    @property
    def edit_layers(self) -> list[str]:
        """The layers to paint at: bundle.json's ``edit_layers`` (or layer4, or the middle
        layer), and every layer of the generator that ``dissection.json`` covers, since a
        layer dissected with ``ganpaint dissect --layers`` has the unit labels and levels
        painting needs; in the generator's order when the dissection adds any. A section
        with neither (say one that holds only ``ganpaint artifacts``' set) adds nothing."""
        listed = self.meta.get("edit_layers")
        names = self.generator.layer_names
        if listed:
            declared = [str(x) for x in listed]
        else:
            declared = ["layer4"] if "layer4" in names else [names[len(names) // 2]]
        layers = self.dissection.layers if self.dissection is not None else {}
        dissected = [name for name, lay in layers.items() if lay.unit_labels or lay.thresholds]
        extra = [name for name in dissected if name in names and name not in declared]
        if not extra:
            return declared
        order = {name: i for i, name in enumerate(names)}
        return sorted([*declared, *extra], key=lambda name: order.get(name, len(order)))

    @property
    def default_layer(self) -> str:
        return str(self.meta.get("default_layer") or self.edit_layers[0])

    @property
    def concepts(self) -> list[str]:
        return [str(c) for c in self.meta.get("concepts", [])]

    @property
    def segmenter_path(self) -> Path | None:
        p = self.path / "segmenter.safetensors" if self.path.is_dir() else None
        return p if p is not None and p.is_file() else None

    def load_segmenter(self):
        """The bundle's segmenter module (eval mode, CPU), or None when it has none."""
        if self.segmenter_path is None:
            return None
        from ganpaint.models.segmenter import load_segmenter

        return load_segmenter(self.segmenter_path)

    @property
    def encoder_path(self) -> Path | None:
        p = self.path / ENCODER_FILE if self.path.is_dir() else None
        return p if p is not None and p.is_file() else None

    def load_encoder(self):
        """The bundle's picture encoder (``models/encoder.py``; eval mode, CPU), or None
        when it has none."""
        self._usable(ENCODER_FILE)
        if self.encoder_path is None:
            return None
        from ganpaint.models.encoder import load_encoder

        return load_encoder(self.encoder_path)

    @property
    def classifier_path(self) -> Path | None:
        """``classifier.safetensors`` in the bundle folder, or None when it has none."""
        p = self.path / "classifier.safetensors" if self.path.is_dir() else None
        return p if p is not None and p.is_file() else None

    def load_classifier(self):
        """The bundle's scene classifier (eval mode, CPU), or None when it has none."""
        self._usable("classifier.safetensors")
        if self.classifier_path is None:
            return None
        from ganpaint.models.classifier import load_classifier

        return load_classifier(self.classifier_path)

    def classifier_dissection(self):
        """The bundle's ``classifier_dissection.json`` (validated), or None when absent."""
        self._usable("classifier_dissection.json")
        p = self.path / "classifier_dissection.json" if self.path.is_dir() else None
        if p is None or not p.is_file():
            return None
        from ganpaint.models.classifier_dissection import read_classifier_dissection

        return read_classifier_dissection(p)

    def artifacts_to_zero(self, clean: bool | None = None) -> dict[str, tuple[int, ...]]:
        """The artifact units a command zeroes, per layer: with ``clean`` None, as the app
        starts (the stored set where ``ganpaint artifacts`` measured it to help, else none);
        True, the stored set whatever its record (refused when there is none); False, none."""
        dissection = self.dissection
        if clean is None:
            clean = dissection is not None and dissection.artifacts_help()
        if not clean:
            return {}
        if dissection is None or not dissection.artifact_units():
            raise BundleError(f"{self.name} has no artifact set (run ganpaint artifacts)")
        return dissection.artifact_units()

    def classifier_stale(self) -> tuple[str, ...]:
        """What of the classifier's measurements describes an earlier classifier (see
        :func:`stale_classifier_parts`)."""
        return stale_classifier_parts(self.path) if self.path.is_dir() else ()


def stale_classifier_parts(folder: str | Path) -> tuple[str, ...]:
    """The parts of a bundle's classifier measurements ("dissection", "ablation", "attack")
    that were computed from another ``classifier.safetensors`` than the one in ``folder``,
    as the hash each part keeps says: after ``ganpaint classifier train`` their figures,
    labels and rankings are not this classifier's until the commands run again. Parts
    without a hash, unreadable files (their readers say why) and a bundle without a
    classifier give nothing."""
    folder = Path(folder)
    weights = folder / "classifier.safetensors"
    if not weights.is_file():
        return ()
    sha = sha256_file(weights)
    stale: list[str] = []
    try:
        from ganpaint.models.classifier_dissection import read_classifier_dissection

        p = folder / "classifier_dissection.json"
        if p.is_file():
            stale += read_classifier_dissection(p).stale_parts(sha)
    except BundleError:
        pass  # an unreadable document: its readers refuse it and say why
    try:
        doc = json.loads((folder / "classifier_attack.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        doc = None
    stamp = doc.get("classifier_sha256") if isinstance(doc, dict) else None
    if isinstance(stamp, str) and stamp and stamp != sha:
        stale.append("attack")
    return tuple(stale)


def default_bundle_path() -> Path:
    """Where the bundled default model lives (source checkout or installed package)."""
    from ganpaint.core.paths import models_dir

    return models_dir() / DEFAULT_MODEL_NAME


@dataclass(frozen=True)
class DefaultChoice:
    """The bundle to open when none is named, and why (for the status bar)."""

    path: Path
    reason: str


def default_model_for(device_type: str) -> DefaultChoice:
    """The default bundle for a device of type ``device_type`` (``cpu``, ``cuda``, ``mps``):
    :data:`DEFAULT_MODELS`' choice, or :func:`default_bundle_path` when that one is not
    installed (the reason says so). Both live in the folder of the bundled models."""
    kind = "cpu" if device_type == "cpu" else "gpu"
    where = "a CPU" if kind == "cpu" else "a GPU"
    name = DEFAULT_MODELS[kind]
    fallback = default_bundle_path()
    path = fallback.parent / name
    if (path / "bundle.json").is_file():
        return DefaultChoice(path, f"the default model on {where}")
    return DefaultChoice(fallback, f"{name}, the default on {where}, is not installed")


def read_bundle_json(folder: Path) -> dict[str, Any]:
    meta_path = folder / "bundle.json"
    if not meta_path.is_file():
        raise BundleError(f"{folder}: not a model bundle (no bundle.json)")
    raw = meta_path.read_bytes()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError: also a number of more than 4300 digits; RecursionError: deep nesting
        raise BundleError(f"{meta_path}: {json_problem(raw, 'a bundle.json file')}") from None
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{meta_path}: not a ganpaint bundle (format is not {BUNDLE_FORMAT!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version > BUNDLE_VERSION:
        raise BundleError(f"{meta_path}: bundle version {version!r} is not supported")
    files = meta.get("files", {})
    if not isinstance(files, dict):
        raise BundleError(f"{meta_path}: 'files' must be an object")
    for key in ("edit_layers", "concepts"):
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BundleError(f"{meta_path}: {key!r} must be a list of names")
    if not isinstance(meta.get("default_layer", ""), str):
        raise BundleError(f"{meta_path}: 'default_layer' must be a layer name")
    return meta


def verify_hashes(folder: Path, meta: dict[str, Any]) -> dict[str, str]:
    """Check every file ``bundle.json`` lists against its sha256: a :class:`BundleError` for
    a required file; for one of :data:`OPTIONAL_FILES`, its problem in the returned dict."""
    problems = {}
    for name, info in meta.get("files", {}).items():
        if "/" in name or "\\" in name or name.startswith("."):
            raise BundleError(f"{folder}: file name {name!r} in bundle.json is not allowed")
        try:
            _verify_file(folder, name, info)
        except BundleError as exc:
            if name not in OPTIONAL_FILES:
                raise
            problems[name] = str(exc)
    return problems


def _verify_file(folder: Path, name: str, info: Any) -> None:
    expected = info.get("sha256") if isinstance(info, dict) else None
    f = folder / name
    try:
        if not f.is_file():
            raise BundleError(f"{f}: listed in bundle.json but missing")
        if expected and sha256_file(f) != expected:
            raise BundleError(
                f"{f}: does not match its sha256 in bundle.json (damaged or replaced)"
            )
    except OSError as exc:  # e.g. a name too long for the file system, no permission
        raise BundleError(f"{folder}: cannot read {name!r} listed in bundle.json ({exc})") from None


def load_bundle(path: str | Path | None = None, verify: bool = True) -> ModelBundle:
    """Open a bundle folder, or a bare generator file as a bundle; None opens the default."""
    path = Path(path) if path is not None else default_bundle_path()
    if not path.exists():
        raise BundleError(f"{path}: no such model")
    if path.is_file():
        from ganpaint.models.checkpoint import load_generator  # torch: only when loading

        return ModelBundle(name=path.stem, path=path, generator=load_generator(path), meta={})
    meta = read_bundle_json(path)
    problems = verify_hashes(path, meta) if verify else {}
    _check_networks(path, problems)
    from ganpaint.models.checkpoint import load_generator

    gen = load_generator(path / "generator.safetensors")
    dissection = read_dissection(path / "dissection.json")
    bundle = ModelBundle(
        name=str(meta.get("name", path.name)),
        path=path,
        generator=gen,
        meta=meta,
        dissection=dissection,
        problems=problems,
    )
    _check_layers(bundle)
    return bundle


def _check_networks(folder: Path, problems: dict[str, str]) -> None:
    """Add to ``problems`` the picture encoder or scene classifier whose file is not whole
    or not ours (its header and config, no weights: a damaged file is caught at open time,
    where the app can say so, not at first use)."""
    from ganpaint.core.errors import CheckpointError
    from ganpaint.models.classifier import read_classifier_config
    from ganpaint.models.encoder import read_encoder_config

    for name, check in ((ENCODER_FILE, read_encoder_config),
                        ("classifier.safetensors", read_classifier_config)):  # fmt: skip
        path = folder / name
        if name in problems or not path.is_file():
            continue
        try:
            check(path)
        except (CheckpointError, OSError) as exc:
            problems[name] = str(exc) if isinstance(exc, CheckpointError) else f"{path}: {exc}"


def _check_layers(bundle: ModelBundle) -> None:
    """Refuse a bundle whose edit or default layer is not a layer of its generator."""
    names = bundle.generator.layer_names
    for layer in bundle.meta.get("edit_layers", []):
        if layer not in names:
            raise BundleError(
                f"{bundle.path}: edit layer {layer!r} is not a layer of the generator"
            )
    if bundle.default_layer not in names:
        raise BundleError(
            f"{bundle.path}: default layer {bundle.default_layer!r} is not a layer of the generator"
        )


def read_dissection(path: Path) -> Dissection | None:
    """The dissection at ``path`` (None when there is no such file), validated once here."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BundleError(f"{path}: {json_problem(data, 'a dissection.json file')}") from None
    try:
        return Dissection.from_dict(raw)
    except DissectionError as exc:
        raise DissectionError(f"{path}: {exc}") from None
    except RecursionError:
        raise DissectionError(f"{path}: nested too deeply") from None


def write_bundle_json(folder: str | Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``bundle.json`` with format, version and the sha256 of every weight/data file."""
    folder = Path(folder)
    meta = dict(meta)
    meta["format"] = BUNDLE_FORMAT
    meta["version"] = BUNDLE_VERSION
    files = {}
    for name in BUNDLE_FILES:
        f = folder / name
        if f.is_file():
            files[name] = {"sha256": sha256_file(f), "bytes": f.stat().st_size}
    meta["files"] = files
    atomic_write_text(folder / "bundle.json", json.dumps(meta, indent=2) + "\n")
    return meta
