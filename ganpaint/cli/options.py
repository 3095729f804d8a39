"""Option parsing shared by several commands: lists of layer names, whether to zero a
model's artifact set, numbers that must be finite (every float option), counts that must be
positive, progress bars unless quiet, the options of the commands that dissect, and output
files and folders checked before a command spends any time."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def layer_names(value: str) -> list[str]:
    """One ``--layers`` word: a layer, or several joined by commas (``layer4,layer6``)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def finite_float(text: str) -> float:
    """An argparse ``type`` for every float option: "nan" and "inf" are refused (a NaN
    slipped through each ``value <= 0`` check after it)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def check_at_least(**values: tuple[float | None, float]) -> None:
    """Refuse, by option name, any of ``values`` (keyword: the option without its dashes;
    value: (given, least)) below its least; None (not given) passes."""
    from ganpaint.core.errors import GanpaintError

    def shown(number: float) -> str:
        return str(number) if isinstance(number, int) else f"{number:g}"

    for name, (value, least) in values.items():
        if value is not None and value < least:
            option = f"--{name.replace('_', '-')}"
            raise GanpaintError(f"{option} must be at least {shown(least)}, got {shown(value)}")


def flat_layers(groups: list[list[str]] | None) -> list[str]:
    """A ``--layers`` option given with ``nargs="+"`` and ``type=layer_names`` as one list,
    whether it was written ``layer4 layer6`` or ``layer4,layer6``."""
    return [name for group in groups or [] for name in group]


def add_layers_option(parser: argparse.ArgumentParser, what: str, default: str) -> None:
    """``--layers``: layers to ``what``, as ``layer4 layer6`` or ``layer4,layer6``; read it
    with :func:`flat_layers`."""
    parser.add_argument("--layers", nargs="+", type=layer_names,
                        help=f"layers to {what}, as layer4 layer6 or layer4,layer6 "
                        f"(default: {default})")  # fmt: skip


def add_clean_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--clean`` / ``--no-clean`` into ``args.clean`` (None: as the app starts; ``what`` is
    the command's verb, "render"), for
    :meth:`~ganpaint.models.bundle.ModelBundle.artifacts_to_zero`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--clean", dest="clean", action="store_true", default=None,
        help="zero the model's artifact set (default: as the app starts, "
        "where it was measured to help)",
    )  # fmt: skip
    group.add_argument(
        "--no-clean", dest="clean", action="store_false",
        help=f"{what} the network as it is",
    )  # fmt: skip


def progress_factory(enabled: bool):
    """Progress bars for a command's passes, or none (``enabled`` False: ``--json``,
    ``--quiet``)."""
    from ganpaint.core.progress import bar_factory

    return bar_factory(None if enabled else False)


def check_positive(**values: int) -> None:
    """Refuse, by option name, any of ``values`` (keyword: the option without its dashes)
    that is below 1 (:func:`check_at_least` with 1 for each)."""
    check_at_least(**{name: (v, 1) for name, v in values.items()})


def add_dissection_options(p: argparse.ArgumentParser) -> None:
    """``--batch``, ``--device``, ``--segment-fn``, ``--fixed-threshold`` and ``--quiet``,
    shared by the commands that dissect or measure a dissection."""
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument(
        "--segment-fn",
        default=None,
        metavar="MODULE:FUNC",
        help="segment with this Python callable instead of the bundle's segmenter "
        "(e.g. ganpaint.dissect.synthetic:sign_segment for tests)",
    )
    p.add_argument(
        "--fixed-threshold",
        action="store_true",
        help="rank units by IoU at the fixed top-0.5 %% threshold only (default: also count "
        "IoU at the best of several thresholds per unit and concept, as GAN Dissection does)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def writable_folder(path: str | Path, option: str = "--out") -> Path:
    """Make the output folder ``path`` (with its parents) before a command spends any time,
    so that a folder that cannot be written is refused at once, not after the work:
    a :class:`~ganpaint.core.errors.GanpaintError` naming ``option`` and the reason."""
    from ganpaint.core.errors import GanpaintError

    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise GanpaintError(f"{option} {folder}: a file is there; name a folder")
    _make_writable(folder, option, folder)
    return folder


def writable_file(path: str | Path, option: str = "-o") -> Path:
    """Check, before a command spends any time, that the file ``path`` can be written: its
    folder is made if missing, and a file is created and removed there. An existing file
    is left as it is (the command replaces it when done); a folder at ``path`` is refused."""
    from ganpaint.core.errors import GanpaintError

    file = Path(path)
    if file.is_dir():
        raise GanpaintError(f"{option} {file}: a folder is there; name a file")
    _make_writable(file.parent, option, file)
    return file


def _make_writable(folder: Path, option: str, named: Path) -> None:
    """Make ``folder`` (with its parents) and check that a file can be created in it, or
    refuse ``named`` (the option's value) saying why."""
    from ganpaint.core.errors import GanpaintError

    _refuse_file_above(named, option, folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe_write(folder)
    except OSError as exc:
        raise GanpaintError(f"{option} {named}: cannot write there ({_reason(exc)})") from None


def _refuse_file_above(named: Path, option: str, folder: Path) -> None:
    """Refuse ``named`` where ``folder`` or a folder above it, the first one that exists,
    is a file."""
    from ganpaint.core.errors import GanpaintError

    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise GanpaintError(f"{option} {named}: {above} is a file, not a folder")
            return


def _probe_write(folder: Path) -> None:
    """Create and remove a file in ``folder`` (raises OSError when that is not allowed)."""
    import tempfile

    with tempfile.NamedTemporaryFile(dir=folder, prefix=".ganpaint-probe-"):
        pass


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def writable_bundle(bundle: str | Path | None, what: str) -> None:
    """Refuse, before a command spends any time, a bundle folder (None: the bundled default)
    that ``what`` cannot be written into, such as a read-only install: the message says
    to work on a copy. A missing folder passes (the command's own loader names it)."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.models.bundle import default_bundle_path

    folder = Path(bundle) if bundle is not None else default_bundle_path()
    if not folder.is_dir():
        return
    try:
        _probe_write(folder)
    except OSError as exc:
        raise GanpaintError(
            f"{folder}: cannot write {what} into this bundle ({_reason(exc)}); copy it to a "
            f"folder you can write (cp -r {folder} MY_COPY) and run the command on the copy"
        ) from None
