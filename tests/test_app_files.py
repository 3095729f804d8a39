"""Files: projects round-trip to the same image, PNG export and clipboard, recent files,
and a model file that is not a generator leaves the open model in place."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtGui import QGuiApplication

from ganpaint import __version__


def paint_two(w):
    w.brush.update(concept="tree", size=0.08)
    w.painter.paint([(10, 10), (12, 40)])
    w.brush.update(concept="window", action="remove")
    w.painter.paint([(40, 20), (55, 30)])


def test_save_close_reopen_gives_identical_image(make_window, qtbot, frame_waiter, tmp_path):
    w = make_window()
    paint_two(w)
    frame_waiter(w)
    image = w.frames.image.copy()
    assert w.isWindowModified()
    path = tmp_path / "scene.ganpaint"
    assert w.file_commands.save_project_to(path)
    assert w.windowTitle() == "GANPaint — scene[*]" and not w.isWindowModified()
    assert str(path.resolve()) in w.prefs.recent("projects")
    w.close()
    assert not w.worker.isRunning()

    again = make_window(project=path, seed=99)
    frame_waiter(again)
    assert again.document.seed == 7 and len(again.document.strokes) == 2
    # a fresh full frame; the one saved from came from the incremental path (float32:
    # within a level of it)
    assert np.abs(again.frames.image.astype(int) - image.astype(int)).max() <= 1
    assert again.windowTitle().startswith("GANPaint — scene")


def test_export_png_native_and_enlarged(make_window, frame_waiter, tmp_path):
    w = make_window()
    paint_two(w)
    frame_waiter(w)
    native, crisp, smooth = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    assert w.file_commands.export_png(native)
    assert w.file_commands.export_png(crisp, scale=4, smooth=False)
    assert w.file_commands.export_png(smooth, scale=4, smooth=True)
    a = np.asarray(Image.open(native))
    b = np.asarray(Image.open(crisp))
    c = np.asarray(Image.open(smooth))
    assert a.shape == (64, 64, 3) and np.array_equal(a, w.frames.image)
    assert b.shape == c.shape == (256, 256, 3)
    assert np.array_equal(b[::4, ::4], a) and np.array_equal(b[3::4, 3::4], a)
    assert not np.array_equal(c, b)


def test_export_before_and_after_for_slides(make_window, frame_waiter, qtbot, tmp_path):
    from ganpaint.app.views.files import ExportDialog, export_file_name

    w = make_window()
    qtbot.waitUntil(lambda: w.frames.plain_image is not None, timeout=10_000)
    paint_two(w)
    frame_waiter(w)
    before, after = w.frames.plain_image, w.frames.image
    assert not np.array_equal(before, after)
    side, gif = tmp_path / "side.png", tmp_path / "flip.gif"
    assert w.file_commands.export_before_after(side, "side", scale=2)
    pair = np.asarray(Image.open(side))
    assert pair.shape == (128, 2 * 128 + 4, 4)  # two 2x images and a 4 px gap
    assert np.array_equal(pair[::2, :128:2, :3], before)
    assert np.array_equal(pair[::2, 132::2, :3], after)
    assert (pair[:, 128:132, 3] == 0).all() and (pair[:, :128, 3] == 255).all()
    assert w.file_commands.export_before_after(gif, "gif", scale=1)
    with Image.open(gif) as flip:
        assert flip.n_frames == 2 and flip.info["loop"] == 0 and flip.info["duration"] == 1000
        frames = []
        for i in range(2):
            flip.seek(i)
            frames.append(np.asarray(flip.convert("RGB"), int))
    for frame, want in zip(frames, (before, after), strict=True):  # 256 shared colours
        assert np.abs(frame - want).mean() < 6
    still = (before == after).all(-1)  # where the edit left the image alone, no shimmer
    assert (frames[0][still] == frames[1][still]).all()
    assert "before and after" in w.status.currentMessage()
    assert not w.file_commands.export_before_after(tmp_path / "no" / "x.png", "side")
    assert export_file_name("ganpaint-7", 4, "gif") == "ganpaint-7-before-after-4x.gif"
    assert export_file_name("ganpaint-7", 1, "edited") == "ganpaint-7.png"
    dialog = ExportDialog(w, 64, 2, False, "side")
    assert dialog.content.currentData() == "side" and dialog.scale.currentData() == 2


def test_export_the_edit_stroke_by_stroke(make_window, frame_waiter, qtbot, tmp_path):
    from ganpaint.app.views.files import EXPORT_CONTENTS, export_file_name

    w = make_window()
    qtbot.waitUntil(lambda: w.frames.plain_image is not None, timeout=10_000)
    paint_two(w)
    frame_waiter(w)
    before, after = w.frames.plain_image, w.frames.image
    said = []
    w.status.messageChanged.connect(said.append)
    path = tmp_path / "steps.gif"
    assert w.file_commands.export_steps(path, scale=2)
    qtbot.waitUntil(lambda: "Exported steps.gif" in w.status.currentMessage(), timeout=20_000)
    assert "Rendering the edit stroke by stroke: frame 1 of 3…" in said
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.size == (128, 128) and gif.info["loop"] == 0
        frames = []
        for i in range(3):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB"), int)[::2, ::2])
    assert np.abs(frames[0] - before).mean() < 6 and np.abs(frames[2] - after).mean() < 6
    assert np.abs(frames[1] - frames[0]).sum() > 0 and np.abs(frames[2] - frames[1]).sum() > 0
    still = (before == after).all(-1)  # where no stroke changed the image, no shimmer
    assert (frames[0][still] == frames[1][still]).all()
    assert (frames[0][still] == frames[2][still]).all()
    w.document.set_visible(0, False)  # hidden strokes are left out
    frame_waiter(w)
    assert w.file_commands.export_steps(path)
    qtbot.waitUntil(lambda: "2 frames" in w.status.currentMessage(), timeout=20_000)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 and gif.size == (64, 64)
    w.actions["edit.reset"].trigger()
    assert not w.file_commands.export_steps(tmp_path / "none.gif")
    assert "no stroke is visible" in w.status.currentMessage()
    w.actions["edit.undo"].trigger()
    assert w.file_commands.export_steps(tmp_path / "no" / "x.gif")  # a folder that is not there
    qtbot.waitUntil(lambda: w.prompts.last_box is not None, timeout=20_000)
    assert "could not be written" in w.prompts.last_box.text()
    assert export_file_name("ganpaint-7", 4, "steps") == "ganpaint-7-steps-4x.gif"
    assert "steps" in [c[0] for c in EXPORT_CONTENTS]


def test_the_brush_goes_on_while_the_edit_exports_stroke_by_stroke(
    make_window, frame_waiter, qtbot, tmp_path
):
    w = make_window()
    paint_two(w)
    w.painter.paint([(30, 30), (40, 40)])
    frame_waiter(w)
    order = []

    def exported(_result):
        order.append("export")
        if order.count("export") == 1:  # the export has begun: paint on
            w.painter.paint([(50, 50), (60, 60)])

    w.worker.stepsRendered.connect(exported)
    w.worker.frameRendered.connect(lambda r: order.append(r.kind))
    assert w.file_commands.export_steps(tmp_path / "s.gif")
    qtbot.waitUntil(lambda: "Exported s.gif" in w.status.currentMessage(), timeout=20_000)
    exports = [i for i, kind in enumerate(order) if kind == "export"]
    assert len(exports) == 4  # the scene, then one, two and three strokes
    assert order.index("frame") < exports[-1]  # the brush's frame did not wait for them all
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 4  # the strokes there were when the export began


def test_copy_image_to_clipboard(make_window):
    w = make_window()
    w.actions["file.copy"].trigger()
    image = QGuiApplication.clipboard().image()
    assert image.width() == 64 and image.height() == 64


def test_not_a_generator_keeps_the_old_model(make_window, qtbot, frame_waiter, tmp_path):
    w = make_window()
    old = w.models.bundle
    bad = tmp_path / "notes.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, bad)
    with qtbot.waitSignal(w.modelFailed, timeout=10_000) as blocker:
        w.model_view.open_model(bad)
    assert "not a ProGAN generator" in blocker.args[0] or "unexpected key" in blocker.args[0]
    box = w.prompts.last_box  # opened with open(), not exec(): the event loop went on
    assert box is not None and box.isVisible()
    assert "could not be opened" in box.text()
    assert "unexpected key" in box.informativeText()
    box.close()
    assert w.models.bundle is old and w.canvas.image is not None
    assert w.status.error.isVisible()
    # painting still works on the old model
    w.brush.update(concept="tree")
    w.painter.paint([(20, 20), (30, 30)])
    frame_waiter(w)
    assert len(w.document.strokes) == 1


def test_garbage_file_and_bad_project_give_messages(make_window, qtbot, tmp_path):
    w = make_window()
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a tensor file at all")
    with qtbot.waitSignal(w.modelFailed, timeout=10_000):
        w.model_view.open_model(junk)
    assert w.models.bundle.name == "demo"
    bad = tmp_path / "bad.ganpaint"
    bad.write_text("{not json")
    assert not w.file_commands.open_project(bad)
    assert "not a GANPaint project" in w.prompts.last_box.informativeText()


def test_missing_default_model_shows_a_clear_message(make_window, qtbot, monkeypatch, tmp_path):
    import ganpaint.app.views.model_view as model_view
    import ganpaint.models.bundle as bundle

    missing = tmp_path / "models" / "scenes128"
    monkeypatch.setattr(bundle, "default_bundle_path", lambda: missing)
    monkeypatch.setattr(model_view, "default_bundle_path", lambda: missing)
    w = make_window(model=None, wait=False)
    qtbot.waitUntil(lambda: w.canvas._placeholder[0] == "No model yet", timeout=10_000)
    assert "scenes128" in w.canvas._placeholder[1]
    assert w.canvas._open_button.isVisible()
    assert w.canvas._open_button.defaultAction() is w.actions["file.open_model"]


def test_the_default_model_is_chosen_by_device_and_says_why(
    make_window, qtbot, monkeypatch, tmp_path, demo_bundle
):
    import shutil

    import ganpaint.app.views.model_view as model_view
    import ganpaint.models.bundle as bundle

    models = tmp_path / "models"
    for name in ("scenes128", "for-cpu", "for-gpu"):
        shutil.copytree(demo_bundle, models / name)
    monkeypatch.setattr(bundle, "default_bundle_path", lambda: models / "scenes128")
    monkeypatch.setattr(model_view, "default_bundle_path", lambda: models / "scenes128")
    monkeypatch.setattr(bundle, "DEFAULT_MODELS", {"cpu": "for-cpu", "gpu": "for-gpu"})
    assert bundle.default_model_for("cuda").path == models / "for-gpu"
    assert bundle.default_model_for("mps").reason == "the default model on a GPU"
    w = make_window(model=None, device="cpu")
    assert w.models.bundle.path == models / "for-cpu"
    assert w.models.model_path == str((models / "for-cpu").resolve())
    assert w.status.currentMessage().endswith(": the default model on a CPU")
    assert "The default model on a CPU" in w.status.model.toolTip()
    # the chosen one missing: the bundled default opens, and the reason says why
    shutil.rmtree(models / "for-gpu")
    choice = bundle.default_model_for("cuda")
    assert choice.path == models / "scenes128"
    assert choice.reason == "for-gpu, the default on a GPU, is not installed"


def test_opening_another_model_and_about_box(make_window, qtbot, bare_generator):
    w = make_window()
    w.file_commands.show_about()
    text = w.prompts.last_box.text()
    assert __version__ in text and "demo" in text and "Hardware" in text
    w.prompts.last_box.close()
    with qtbot.waitSignal(w.modelLoaded, timeout=10_000):
        w.model_view.open_model(bare_generator)
    assert w.models.bundle.name == "bare" and w.document.model_id == "bare"
    qtbot.waitUntil(lambda: w.frames.image is not None and w.frames.image.shape == (32, 32, 3))
    assert str(bare_generator.resolve()) in w.prefs.recent("models")


@pytest.mark.slow
@pytest.mark.gui
def test_run_app_reaches_a_first_frame_in_a_fresh_process(demo_bundle, capsys):
    from ganpaint.devtools.startup_time import measure

    (total,) = measure(demo_bundle, runs=1)
    assert total > 0
    assert "first frame" in capsys.readouterr().out


def test_preferences_recent_menu_and_device_menu_persist(make_window, qtbot, tmp_path):
    w = make_window()
    w.brush.update(size=0.2, hardness=0.3, unit_count=7, action="remove")
    w.actions["view.overlay"].setChecked(True)
    assert w.file_commands.save_project_to(tmp_path / "p.ganpaint")
    w.recent_menu.aboutToShow.emit()
    names = [a.text() for a in w.recent_menu.actions()]
    assert "p.ganpaint" in names and "demo" in names
    w.device_menu.aboutToShow.emit()
    assert [a.text() for a in w.device_menu.actions()][:2] == ["Automatic", "CPU"]
    w.close()
    again = make_window()
    b = again.brush
    assert (b.size, b.hardness, b.unit_count, b.action) == (0.2, 0.3, 7, "remove")
    assert again.canvas.show_overlay and again.actions["view.overlay"].isChecked()


def test_damaged_brush_preferences_fall_back_to_the_defaults(make_window, app_settings):
    # a settings file edited by hand, or left by another version: the window still opens
    for key, value in (("action", "paint"), ("size", "nan"), ("strength", "nan"),
                       ("ranking", "zzz"), ("hardness", "0.3")):  # fmt: skip
        app_settings.setValue(f"brush/{key}", value)
    w = make_window()
    b = w.brush
    assert (b.action, b.size, b.strength, b.ranking, b.hardness) == (
        "draw",
        0.08,
        1.0,
        "causal",
        0.3,
    )
    w.close()
    assert app_settings.value("brush/action") == "draw"  # the close writes good values back
