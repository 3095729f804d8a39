"""The open scene: one edit document for the window's life, its project file and dirty state.

:class:`DocumentSession` owns the :class:`~ganpaint.engine.document.EditDocument` (a loaded
project or a restored autosave is ``assign``-ed into it, so every listener stays attached),
the path of the project it came from or was saved to, and the rules built on them: the
window title, whether closing must ask, what an autosave records, and which crash
recovery to offer. A document may hold an inverted picture (File > Open Image...): until
it is saved it counts as unsaved work even with no strokes (the inversion took time), and
it is named after its image file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ganpaint.engine.document import EditDocument

# the signals that close the app without asking (app/views/stop_signals.py), and how the
# restore question at the next start tells what happened; unsaved work stays in the autosave
STOPPED_BY = {
    "SIGINT": "GANPaint was stopped with Ctrl+C before your work was saved.",
    "SIGTERM": "GANPaint was asked to quit (SIGTERM) before your work was saved.",
    "SIGHUP": "GANPaint was stopped when its terminal closed, before your work was saved.",
}
STOP_SIGNALS = tuple(STOPPED_BY)


class RecoveryLike(Protocol):
    """What the session reads of an autosave left behind (``views.autosave.Recovery``)."""

    meta: dict[str, Any]


class DocumentSession:
    def __init__(self, seed: int, seed_chosen: bool = True):
        self.document = EditDocument("", "", int(seed))
        # False while the scene is the random one the window opened with, which the first
        # model replaces with one of its best drawn scenes (``SceneContent.pick_well_drawn``)
        self.seed_chosen = seed_chosen
        self.project_path: str | None = None
        self.picture_name: str | None = None  # the image file's stem, for an unsaved picture

    # -- what the window shows ---------------------------------------------------------------

    @property
    def name(self) -> str:
        if self.project_path:
            return Path(self.project_path).stem
        return self.picture_name or "Untitled"

    @property
    def title(self) -> str:
        return f"GANPaint — {self.name}[*]"

    @property
    def dirty(self) -> bool:
        """The window's modified mark: unsaved strokes, or unsaved changes to a project."""
        d = self.document
        return d.modified and bool(d.strokes or self.project_path or d.picture is not None)

    @property
    def needs_confirm(self) -> bool:
        """Closing or replacing the document would lose painted strokes or an unsaved
        inverted picture."""
        d = self.document
        return bool(d.modified and (d.strokes or d.picture is not None))

    @property
    def project_name(self) -> str:
        """The default file name (no suffix) for saving the project: its own, else the
        opened picture's, else ``untitled``."""
        if self.project_path:
            return Path(self.project_path).stem
        return self.picture_name or "untitled"

    @property
    def export_name(self) -> str:
        """The default file name (no suffix) for an exported image."""
        if self.project_path:
            return Path(self.project_path).stem
        if self.picture_name:
            return f"{self.picture_name}-edited"
        return f"ganpaint-{self.document.seed}"

    # -- changing the document ---------------------------------------------------------------

    def reset(self, model_id: str, layer: str, seed: int | None = None) -> None:
        """A fresh document for a newly opened model (the scene's seed stays, unless
        ``seed``)."""
        seed = self.document.seed if seed is None else int(seed)
        self.document.assign(EditDocument(model_id, layer, seed))
        self.project_path = None
        self.picture_name = None

    @staticmethod
    def picture_problem(loaded: EditDocument, model_id: str, resolution: int) -> str | None:
        """Why ``loaded``'s picture cannot be shown with this model (None when it can, or
        when it holds no picture): a picture is inverted into one model's network."""
        picture = loaded.picture
        if picture is None:
            return None
        if loaded.model_id != model_id:
            return (
                f"Its picture was inverted into the model “{loaded.model_id}”; open that model "
                f"first (the open model is “{model_id}”)."
            )
        if picture.resolution != resolution:
            return f"Its picture is {picture.resolution} px; the model draws {resolution} px."
        return None

    def open_picture(self, loaded: EditDocument, name: str) -> None:
        """Show a freshly inverted picture: unsaved work with no project file yet."""
        self.document.assign(loaded)
        self.document.modified = True
        self.project_path = None
        self.picture_name = name

    @staticmethod
    def layer_problem(loaded: EditDocument, layer_names: Iterable[str]) -> bool:
        """True when ``loaded`` uses layers the model does not have."""
        names = set(layer_names)
        return loaded.layer not in names or any(s.layer not in names for s in loaded.strokes)

    def adopt(self, loaded: EditDocument, path: str | Path | None) -> None:
        """Show ``loaded`` (read from the project at ``path``)."""
        self.document.assign(loaded)
        self.project_path = str(Path(path).resolve()) if path is not None else None
        self.picture_name = None

    def restore(self, loaded: EditDocument, project_path: str | None) -> None:
        """Show autosaved work: it is unsaved, whatever the project on disk holds."""
        self.document.assign(loaded)
        self.document.modified = True
        self.project_path = project_path
        self.picture_name = None

    def save(self, path: str | Path) -> None:
        """Write the project (OSError on failure) and remember where."""
        self.document.save(path)
        self.project_path = str(Path(path).resolve())

    # -- autosave and recovery ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The document as a project dict with its undo history (what the autosave writes,
        so restored work can still be undone). A picture's arrays are encoded once per
        picture (``PictureBase.encoded``), not after every stroke."""
        d = self.document.to_dict()
        if self.document.can_undo or self.document.can_redo:
            d["history"] = self.document.history_to_dict()
        return d

    def autosave_meta(self, model_path: str | None) -> dict[str, Any] | None:
        """What an autosave records beside the document; None when there is nothing to save."""
        if not (self.document.strokes or self.document.modified):
            return None
        return {
            "model_path": model_path,
            "project_path": self.project_path,
            "strokes": len(self.document.strokes),
            "picture": self.document.picture is not None,
        }


def choose_recovery(
    found: Sequence[RecoveryLike], ask: Callable[[RecoveryLike, int], bool]
) -> tuple[RecoveryLike | None, list[RecoveryLike]]:
    """Which autosave to restore (the newest one the user accepts) and which to discard.

    ``found`` is newest first; ``ask(recovery, strokes)`` is asked only for sessions that
    left strokes or an inverted picture, until one is accepted. Every other session is
    discarded.
    """
    chosen = None
    discard = []
    for rec in found:
        strokes = int(rec.meta.get("strokes", 0) or 0)
        worth = strokes > 0 or rec.meta.get("picture") is True
        if chosen is None and worth and ask(rec, strokes):
            chosen = rec
            continue
        discard.append(rec)
    return chosen, discard


def recovery_question(
    when: str,
    strokes: int,
    picture: bool,
    model: str,
    instead_of: str | None = None,
    stopped_by: object = None,
) -> str:
    """The question that offers an autosave: when it was saved, what it holds and on which
    model; ``instead_of`` names the model the user asked for where restoring opens another
    (the autosave's edits only make sense on the model they were made on); ``stopped_by``
    is the signal that closed the app without asking (read from the autosave's meta file,
    so anything but a signal's name is ignored)."""
    what = f"{strokes} stroke{'s' if strokes != 1 else ''}"
    what = f"a picture with {what}" if picture else what
    how = STOPPED_BY.get(stopped_by if isinstance(stopped_by, str) else "",
                         "GANPaint did not close properly last time.")  # fmt: skip
    text = f"{how} Restore the work autosaved at {when} ({what} on {model})?"
    if instead_of is not None and instead_of != model:
        text += f" It opens {model} instead of {instead_of}."
    return text
