"""Commands are data: one table of actions feeds the menus, the toolbar and the shortcuts.

Each :class:`ActionSpec` names an id, text, icon, shortcut and a callback on the window
(``callback(window)``, or ``callback(window, checked)`` for a checkable action), which
reaches the window's command objects (``file_commands``, ``concept_commands``,
``view_modes``) or its painting methods. The
tooltip shows the shortcut in the platform's notation. :data:`MENUS` and :data:`TOOLBAR`
list action ids ("-" is a separator); :func:`build_actions` makes the QActions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from ganpaint.app.views import theme
from ganpaint.app.views.incoming import paste

Shortcut = str | QKeySequence.StandardKey | None


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    icon: str | None
    shortcut: Shortcut
    callback: Callable[..., Any]
    tip: str = ""
    checkable: bool = False
    group: str | None = None  # exclusive group name
    short: str = ""  # label under a toolbar icon, when shorter than the text
    also: tuple[str, ...] = ()  # further shortcuts on every platform (Ctrl+Y for redo)

    def key_sequence(self) -> QKeySequence | None:
        """The shortcut; a standard key the platform leaves unbound (Save As on Windows,
        Quit on some desktops) gets the common binding instead."""
        if self.shortcut is None:
            return None
        seq = QKeySequence(self.shortcut)
        if seq.isEmpty() and self.shortcut in FALLBACKS:
            seq = QKeySequence(FALLBACKS[self.shortcut])
        return seq


FALLBACKS = {QKeySequence.SaveAs: "Ctrl+Shift+S", QKeySequence.Quit: "Ctrl+Q"}
A = ActionSpec
ACTIONS: tuple[ActionSpec, ...] = (
    # files
    A("file.open_model", "Open &Model…", "mdi.cube-outline", "Ctrl+Shift+O",
      lambda w: w.file_commands.choose_model(),
      "Open a model bundle folder or a ProGAN .pth/.safetensors"),
    A("file.open_project", "&Open Project…", "mdi.folder-open", QKeySequence.Open,
      lambda w: w.file_commands.choose_project(), "Open a .ganpaint project"),
    A("file.open_image", "Open &Image…", "mdi.image-plus", "Ctrl+I",
      lambda w: w.picture_commands.choose_image(),
      "Paint on your own picture: it is fitted into the model first (a progress bar shows it)"),
    A("file.close_picture", "C&lose Picture", "mdi.image-remove", None,
      lambda w: w.picture_commands.close_picture(),
      "Leave the picture and go back to the model's generated scenes"),
    A("file.save", "&Save Project", "mdi.content-save", QKeySequence.Save,
      lambda w: w.file_commands.save_project(), "Save the strokes, scene and layer"),
    A("file.save_as", "Save Project &As…", "mdi.content-save-edit", QKeySequence.SaveAs,
      lambda w: w.file_commands.save_project(ask=True), "Save the project under a new name"),
    A("file.export", "&Export Image…", "mdi.export", "Ctrl+E",
      lambda w: w.file_commands.choose_export(),
      "Export the image as PNG, at native size or enlarged, or before and after for slides "
      "(side by side, or an animated GIF)"),
    A("file.copy", "&Copy Image", "mdi.content-copy", QKeySequence.Copy,
      lambda w: w.file_commands.copy_image(), "Copy the current image to the clipboard"),
    A("file.paste", "&Paste Image", "mdi.content-paste", QKeySequence.Paste,
      lambda w: paste(w),
      "Paint on the picture on the clipboard (copied from a browser or an image editor, or a "
      "copied image file); a copied project or model opens too"),
    A("file.quit", "&Quit", "mdi.power", QKeySequence.Quit, lambda w: w.close(), "Quit GANPaint"),
    # edit
    A("edit.undo", "&Undo", "mdi.undo", QKeySequence.Undo,
      lambda w: w.document.undo(), "Undo the last change to the strokes"),
    A("edit.redo", "&Redo", "mdi.redo", QKeySequence.Redo,
      lambda w: w.document.redo(), "Redo the change that was undone", also=("Ctrl+Y",)),
    A("edit.reset", "Re&set Strokes", "mdi.restore", "Ctrl+R",
      lambda w: w.document.reset(), "Remove every stroke (can be undone)", short="Reset"),
    # tools
    A("tool.draw", "&Draw", "mdi.brush", "B", lambda w, on: on and w.set_action("draw"),
      "Draw: force the concept's units on where you paint (right-drag removes)",
      True, "action"),
    A("tool.remove", "&Remove", "mdi.eraser", "E", lambda w, on: on and w.set_action("remove"),
      "Remove: switch the concept's units off where you paint (right-drag draws)",
      True, "action"),
    A("tool.swap", "S&wap Draw/Remove", None, "X", lambda w: w.swap_action(),
      "Swap between draw and remove"),
    A("brush.smaller", "Brush S&maller", "mdi.minus-circle-outline", "[",
      lambda w: w.resize_brush(-1), "Make the brush smaller"),
    A("brush.larger", "Brush &Larger", "mdi.plus-circle-outline", "]",
      lambda w: w.resize_brush(1), "Make the brush larger"),
    A("brush.pressure_size", "Pen Pressure Sets Si&ze", "mdi.draw", None,
      lambda w, on: on and w.brush.update(pressure="size"),
      "A tablet pen paints thinner the lighter you press", True, "pressure"),
    A("brush.pressure_off", "I&gnore Pen Pressure", None, None,
      lambda w, on: on and w.brush.update(pressure="off"),
      "A tablet pen paints like a mouse: the brush's full size however lightly you press",
      True, "pressure"),
    # custom concepts
    A("concept.new", "&New Concept…", "mdi.creation", "Ctrl+Shift+N",
      lambda w: w.concept_commands.new_concept(),
      "Teach a brush: mark a concept on a few samples and GANPaint finds its units",
      short="New concept"),
    A("concept.import", "&Import Concepts…", "mdi.file-import", None,
      lambda w: w.concept_commands.choose_import(), "Add concepts from an exported .json file"),
    A("concept.export", "E&xport Concept…", "mdi.file-export", None,
      lambda w: w.concept_commands.choose_export(),
      "Save the chosen custom concept to a .json file"),
    # scene
    A("scene.new", "&New Random Scene", "mdi.dice-5", "N",
      lambda w: w.new_random_scene(),
      "Show another random scene (one the model draws well, where it knows which); your "
      "strokes stay",
      short="New scene"),
    A("scene.goto", "&Go to Seed…", "mdi.numeric", "Ctrl+G",
      lambda w: w.scene_commands.go_to_seed(), "Show the scene of a seed you type"),
    A("scene.previous", "&Previous Scene", "mdi.chevron-left", "Alt+Left",
      lambda w: w.scene_commands.step(-1), "Show the scene before this one in the strip"),
    A("scene.next", "Ne&xt Scene", "mdi.chevron-right", "Alt+Right",
      lambda w: w.scene_commands.step(1), "Show the scene after this one in the strip"),
    # view
    A("view.overlay", "Show Stroke &Masks", "mdi.select-inverse", "M",
      lambda w, on: w.view_modes.set_view("show_overlay", on), "Tint the painted regions", True),
    A("view.smooth", "&Smooth Scaling", "mdi.blur", "S",
      lambda w, on: w.view_modes.set_view("smooth", on),
      "Smooth or crisp (pixelated) display", True),
    A("view.heat", "Unit &Heatmap", "mdi.fire", "H",
      lambda w, on: w.view_modes.set_view("show_heat", on),
      "Overlay the selected unit's activation on the image", True),
    A("view.compare", "&Compare With Original", "mdi.compare", None,
      lambda w, on: w.view_modes.set_compare(on), "Show the unedited image (or hold Space)", True,
      short="Compare"),
    A("view.split", "S&plit Compare", "mdi.compare-horizontal", "C",
      lambda w, on: w.view_modes.set_split(on),
      "The unedited image left of a divider you drag, the edit right of it", True,
      short="Split"),
    A("view.clean", "C&lean Artifacts", "mdi.auto-fix", None,
      lambda w, on: w.view_modes.set_clean(on),
      "Zero the units that draw artifacts (ganpaint artifacts); hold Space for the original",
      True, short="Clean"),
    A("view.zoom_in", "Zoom &In", "mdi.magnify-plus-outline", QKeySequence.ZoomIn,
      lambda w: w.canvas.zoom_at(1.25), "Enlarge the image (or turn the mouse wheel)",
      also=("Ctrl+=",)),
    A("view.zoom_out", "Zoom &Out", "mdi.magnify-minus-outline", QKeySequence.ZoomOut,
      lambda w: w.canvas.zoom_at(0.8), "Shrink the image (or turn the mouse wheel)"),
    A("view.fit", "&Fit to Window", "mdi.fit-to-screen-outline", "Ctrl+0",
      lambda w: w.canvas.fit_to_window(), "Show the whole image again after zooming"),
    A("view.presentation", "&Presentation Mode", "mdi.presentation-play", "F11",
      lambda w, on: w.view_modes.set_presentation(on), "Full screen with a large canvas", True),
    A("view.exit_presentation", "Exit Presentation", "mdi.fullscreen-exit", "Esc",
      lambda w: w.view_modes.set_presentation(False), "Leave presentation mode", short="Exit"),
    # classifier
    A("view.classifier", "Classifier Pa&nel", "mdi.tag-search-outline", "Ctrl+Shift+L",
      lambda w, on: w.classifier_view.show_panel(on),
      "What the model's scene classifier sees in the picture, live while you paint", True),
    A("classifier.attack", "&Attack Picture…", "mdi.target", "Ctrl+Shift+A",
      lambda w: w.classifier_view.choose_attack(),
      "Find the smallest change that makes the classifier read another class"),
    # help
    A("help.shortcuts", "&Keyboard Shortcuts", "mdi.keyboard-outline", "F1",
      lambda w: w.file_commands.show_shortcuts(), "Every shortcut and mouse gesture"),
    A("help.about", "&About GANPaint", "mdi.information-outline", None,
      lambda w: w.file_commands.show_about(), "Version and model card"),
)  # fmt: skip

MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("file.open_model", "file.open_project", "file.open_image", "@recent",
               "file.close_picture", "-", "file.save",
               "file.save_as", "-", "file.export", "file.copy", "file.paste", "-", "file.quit")),
    ("&Edit", ("edit.undo", "edit.redo", "-", "edit.reset")),
    ("&Brush", ("tool.draw", "tool.remove", "tool.swap", "-", "brush.smaller",
                "brush.larger", "-", "brush.pressure_size", "brush.pressure_off", "-",
                "concept.new", "concept.import", "concept.export")),
    ("&Scene", ("scene.new", "scene.goto", "scene.previous", "scene.next", "-", "@demo")),
    ("&View", ("view.overlay", "view.smooth", "view.heat", "view.compare", "view.split",
               "view.clean", "-", "view.zoom_in", "view.zoom_out", "view.fit", "-",
               "view.presentation", "@device", "-", "view.classifier", "@docks")),
    ("&Classifier", ("view.classifier", "-", "classifier.attack", "@attack")),
    ("&Help", ("help.shortcuts", "-", "help.about")),
)  # fmt: skip

TOOLBAR = (
    "file.open_model", "file.open_project", "file.open_image", "file.save", "file.export", "-",
    "edit.undo", "edit.redo", "edit.reset", "-", "tool.draw", "tool.remove", "@brush", "-",
    "concept.new", "scene.new", "-", "view.overlay", "view.smooth", "view.compare", "view.split",
    "-", "view.presentation",
)  # fmt: skip


def shortcut_text(spec: ActionSpec) -> str:
    """The action's shortcuts in the platform's notation ("Ctrl+Shift+Z, Ctrl+Y")."""
    seq = spec.key_sequence()
    if seq is None:
        return ""
    keys = [seq.toString(QKeySequence.NativeText)]
    keys += [QKeySequence(k).toString(QKeySequence.NativeText) for k in spec.also]
    return ", ".join(dict.fromkeys(k for k in keys if k))


# What the mouse and held keys do on the canvas (no action of their own): the shortcut
# sheet lists them after the table above.
GESTURES = (
    ("Paint (draw or remove)", "left drag"),
    ("Paint the opposite action", "right drag, or a pen's eraser end"),
    ("Thinner as you press lighter", "tablet pen"),
    ("Zoom about the cursor", "mouse wheel"),
    ("Pan", "middle drag"),
    ("Brush size", "Ctrl+wheel"),
    ("Compare with the unedited image", "hold Space"),
)
# The History list's keys, once Tab has brought the keyboard there.
HISTORY_KEYS = (
    ("Move between strokes", "Tab to the list, then arrows"),
    ("Show or hide the stroke", "Return"),
    ("Delete the stroke", "Delete"),
    ("The stroke's menu", "Shift+F10, or right click"),
)


def build_actions(window) -> dict[str, QAction]:
    """QActions for :data:`ACTIONS`, parented to and triggering on ``window``."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in ACTIONS:
        act = QAction(spec.text, window)
        act.setObjectName(spec.id)
        if spec.short:
            act.setIconText(spec.short)
        if spec.icon:
            act.setIcon(theme.icon(spec.icon))
        if spec.shortcut is not None:
            keys = [spec.key_sequence(), *(QKeySequence(k) for k in spec.also)]
            act.setShortcuts(list(dict.fromkeys(k for k in keys if not k.isEmpty())))
        keys = shortcut_text(spec)
        name = spec.text.replace("&", "").rstrip("…")
        tip = f"<b>{name}</b>" + (f"&nbsp;&nbsp;<code>{keys}</code>" if keys else "")
        if spec.tip:
            tip += f"<br>{spec.tip}"
        act.setToolTip(tip)
        act.setStatusTip(spec.tip)
        act.setCheckable(spec.checkable)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(window)).addAction(act)
        if spec.checkable:
            act.toggled.connect(lambda on, cb=spec.callback: cb(window, on))
        else:
            act.triggered.connect(lambda _=False, cb=spec.callback: cb(window))
        window.addAction(act)  # shortcuts work while menus and toolbars are hidden
        actions[spec.id] = act
    return actions
