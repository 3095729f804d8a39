"""The loose ends of issue 19 (item 6): the status bar never draws a message under an error,
sliders jump to the click, history labels elide with the full text as tooltip, every figure
in the inspector explains itself, the inspector shows the edited scene, custom concepts stay
listed on other layers, a stroke that changes nothing says so, and check boxes and spin-box
arrows are drawn visibly."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def test_status_bar_message_and_error_never_overlap(make_window):
    w = make_window()
    s = w.status
    s.showMessage("Loading x.pth…")
    s.show_error("x.pth: not a PyTorch checkpoint or safetensors file (it holds text)", False)
    assert s.currentMessage() == "" and not s.error.isHidden()
    s.showMessage("Opened demo")
    assert s.error.isHidden() and s.currentMessage() == "Opened demo"


def test_a_long_error_elides_and_does_not_widen_the_window(make_window, qtbot):
    """An error naming a long path once grew the main window to the message's width."""
    w = make_window()
    w.resize(900, 700)
    w.show()
    qtbot.waitExposed(w)
    width = w.width()
    path = "/home/someone/" + "a-very-long-folder-name/" * 12 + "notamodel.pth"
    text = f"Could not open model: {path}: not a PyTorch checkpoint (it holds text)"
    w.status.show_error(text, False)
    QApplication.processEvents()
    assert w.width() == width
    shown = w.status.error.text()
    assert shown != f"⚠ {text}" and "…" in shown  # elided to the room there is
    assert w.status.error.toolTip() == text  # the whole message stays one hover away
    w.status.show_error("x.pth: not a generator", False)
    QApplication.processEvents()
    assert w.status.error.text() == "⚠ x.pth: not a generator"  # short ones in full


def test_a_long_message_ends_in_an_ellipsis_with_a_tooltip(make_window, qtbot):
    """Qt cut a passing message too long for its room mid-word ("the default mc")."""
    w = make_window()
    w.resize(1024, 680)
    w.show()
    qtbot.waitExposed(w)
    s = w.status
    text = "Opened scenes128 on cpu (1 thread): the default model. " * 4
    s.showMessage(text, 10_000)
    QApplication.processEvents()
    room = s.message_rect()
    assert room.width() > 0 and room.right() < s.model.x()  # left of the fields
    shown = s.shown_message()
    assert shown.endswith("…") and text.startswith(shown[:-1])
    assert s.fontMetrics().horizontalAdvance(shown) <= room.width()
    assert s.toolTip() == text
    s.grab().save(str(w.autosave.folder.parent / "status_message.png"))
    s.showMessage("Saved a.ganpaint")
    assert s.shown_message() == "Saved a.ganpaint" and s.toolTip() == "Saved a.ganpaint"
    s.clearMessage()
    assert s.toolTip() == ""


def test_strength_slider_jumps_to_the_click(make_window):
    w = make_window()
    slider = w.concept_panel.strength
    w.brush.update(strength=1.0)
    slider.resize(200, slider.height())
    QTest.mouseClick(slider, Qt.LeftButton, Qt.NoModifier, QPoint(50, slider.height() // 2))
    assert 15 <= slider.value() <= 35 and abs(w.brush.strength - slider.value() / 100) < 1e-9


def test_history_labels_elide_with_tooltips(make_window, qtbot):
    from ganpaint.app.views.elided_label import ElidedLabel

    label = ElidedLabel("12. Remove window", bold=True)
    qtbot.addWidget(label)
    label.resize(60, 20)
    label.show()
    qtbot.waitUntil(label.isVisible)
    assert label.text().endswith("…") and label.toolTip() == "12. Remove window"
    label.resize(400, 20)
    assert label.text() == "12. Remove window"
    w = make_window()
    w.brush.update(concept="window")
    w.painter.paint([(10, 10), (20, 20)])
    assert w.history_panel.model.index(0).data() == "1. Draw window"


def test_inspector_figures_explain_themselves_and_show_the_edit(make_window, qtbot, frame_waiter):
    w = make_window()
    names = ("Concept", "IoU", "Causal effect", "Draw level", "Peak here")
    form_labels = [lab for lab in w.inspector.findChildren(type(w.inspector.title))
                   if lab.text() in names]  # fmt: skip
    assert len(form_labels) == 5 and all(lab.toolTip() for lab in form_labels)
    assert "Level q0.99" not in {lab.text() for lab in form_labels}
    w.brush.update(concept="tree", strength=1.0)
    w.painter.paint([(5, 5), (60, 60)])
    frame_waiter(w)
    bases = []
    original = w.inspector.set_heat
    w.inspector.set_heat = lambda base, *a: (bases.append(base), original(base, *a))
    w.model_view.select_unit(0)
    qtbot.waitUntil(lambda: bool(bases), timeout=10_000)
    assert bases[0] is w.frames.qimage  # the edited frame, not the unedited one
    units = w.concept_panel.unit_list
    assert all(units.item(i).toolTip() for i in range(units.count()))


def test_the_inspector_picture_follows_strokes_made_after_the_unit_was_chosen(
    make_window, qtbot, frame_waiter
):
    # its tooltip says "over the scene as edited now", but it kept the frame of the moment
    # the unit was chosen
    w = make_window()
    w.model_view.select_unit(0)
    qtbot.waitUntil(lambda: not w.inspector.preview.pixmap().isNull(), timeout=10_000)
    before = w.inspector.preview.pixmap().toImage()
    w.brush.update(concept="tree", strength=1.0)
    w.painter.paint([(5, 5), (60, 60), (5, 60)])
    frame_waiter(w)
    qtbot.waitUntil(lambda: w.inspector.preview.pixmap().toImage() != before, timeout=10_000)
    assert w.inspector.unit == 0


def test_custom_concept_of_another_layer_stays_listed(make_window, qtbot):
    from ganpaint.models.concept_files import CustomConcept

    w = make_window()
    other = next(layer for layer in w.models.bundle.edit_layers if layer != w.document.layer)
    w.library.save(CustomConcept("lantern", other, [1, 2], [0.5, 0.4], [1.0, 1.0], seeds=[1],
                                 icon="mdi.lamp"))  # fmt: skip
    w.concept_commands.changed()
    item = w.concept_panel._concept_items["lantern"]
    assert item.text(0) == f"lantern · {other}" and f"taught at {other}" in item.toolTip(0)
    w.concept_panel.tree.itemDoubleClicked.emit(item, 0)
    qtbot.waitUntil(lambda: w.document.layer == other, timeout=10_000)
    assert w.concept_panel._concept_items["lantern"].text(0) == "lantern"


def _drag(canvas, a: QPoint, b: QPoint) -> None:
    QTest.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, a)
    QTest.mouseMove(canvas, b)
    QTest.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, b)


def test_a_stroke_that_changes_nothing_says_so(make_window, qtbot, frame_waiter):
    w = make_window()
    c = w.canvas
    r = c.image_rect().toRect()
    units = w.concept_panel.unit_list
    units.item(0).setCheckState(Qt.Checked)
    w.brush.update(strength=0.0)  # no push at all: nothing can change
    _drag(c, r.center(), r.center() + QPoint(20, 10))
    frame_waiter(w)
    qtbot.waitUntil(lambda: "changed nothing visible" in w.status.currentMessage(), timeout=5000)
    assert w.status.currentMessage().startswith("The checked units")
    w.status.clearMessage()
    w.brush.update(concept="tree", strength=1.0, unit_count=20, action="draw", size=0.3)
    _drag(c, r.topLeft() + QPoint(10, 10), r.center())
    frame_waiter(w)
    assert w.status.currentMessage() == ""


def test_check_boxes_and_spin_arrows_are_drawn(make_window, tmp_path):
    sheet = QApplication.instance().styleSheet()
    images = re.findall(r"url\(([^)]+)\)", sheet)
    assert images and all(Path(p).is_file() for p in images)
    assert "QListWidget::indicator:checked" in sheet and "QSpinBox::up-arrow" in sheet
    w = make_window()
    units = w.concept_panel.unit_list
    w.concept_panel.tabs.setCurrentIndex(1)
    units.item(0).setCheckState(Qt.Checked)
    shot = units.grab().toImage()
    shot.save(str(tmp_path / "units.png"))
    accent = QColor("#4f9dff")
    row = units.visualItemRect(units.item(0))
    found = any(
        QColor(shot.pixel(x, y)) == accent
        for x in range(row.left(), row.left() + 30)
        for y in range(row.top(), row.bottom())
    )
    assert found, "the checked box is not drawn in the accent colour"
    w.concept_panel.grab().save(str(tmp_path / "panel.png"))


def test_a_disabled_button_looks_disabled(make_window, qtbot, tmp_path):
    """The New Concept dialog's Save (a default button) is disabled until the concept has a
    name and marks; it once looked like its enabled self, blue default border and bright
    text, so a click that did nothing seemed broken."""
    from PySide6.QtWidgets import QPushButton

    make_window()  # the app's theme and style sheet
    button = QPushButton("Save Concept")
    qtbot.addWidget(button)
    button.setDefault(True)
    button.resize(160, 32)
    button.show()
    qtbot.waitExposed(button)

    def colours() -> set[int]:
        shot = button.grab().toImage()
        return {
            shot.pixel(x, y) & 0xFFFFFF for x in range(shot.width()) for y in range(shot.height())
        }

    def brightest_text(pixels: set[int]) -> int:
        return max(sum((p >> s) & 0xFF for s in (0, 8, 16)) for p in pixels)

    accent = QColor("#4f9dff").rgb() & 0xFFFFFF
    enabled = colours()
    button.setEnabled(False)
    button.grab().save(str(tmp_path / "disabled.png"))
    disabled = colours()
    assert accent in enabled and accent not in disabled  # no default border when disabled
    assert brightest_text(disabled) < brightest_text(enabled) - 150  # its text dimmed


def test_a_long_model_name_elides_in_the_status_bar(make_window, demo_bundle, tmp_path):
    """A checkpoint opened by a long file name once widened the window by its name's width."""
    import shutil

    name = "churchoutdoor_lsun_finetuned_on_my_own_photos" + "_and_then_again" * 8
    model = tmp_path / f"{name}.safetensors"
    shutil.copy(demo_bundle / "generator.safetensors", model)
    w = make_window()
    width = w.width()
    w.close()
    w = make_window(model=model)
    QApplication.processEvents()
    assert w.width() == width
    label = w.status.model
    assert "…" in label.text() and label.text().endswith("px")  # "churcho…again · 64 px"
    assert name in label.toolTip()  # the full name (and path) one hover away
