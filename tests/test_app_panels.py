"""The panels: concepts (with and without a dissection), history, gallery, inspector,
compare, presentation mode, the status bar and the action table."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ganpaint.app.state.tool import CUSTOM
from ganpaint.app.views.actions import ACTIONS
from ganpaint.app.views.concept_panel import ROLE
from tests.history_rows import click_part, eye_drawn_on
from tests.test_app_paint import drag


def test_concept_panel_groups_ranked_units_and_controls(make_window):
    w = make_window()
    panel = w.concept_panel
    groups = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert groups == ["SKY", "LAND", "BUILDINGS"]
    tree = panel._concept_items["tree"]
    assert not tree.icon(0).isNull()
    tree_info = panel.concept("tree")
    children = [tree.child(i).data(0, ROLE)[1] for i in range(tree.childCount())]
    assert children == [u for u, _ in tree_info.ranked("causal", "draw")]
    assert tree.child(0).text(1) and tree.child(0).text(2)  # IoU and causal scores shown
    w.brush.update(concept="tree")
    panel.count.setValue(2)
    assert panel.brush_units() == tree_info.units("causal", 2, "draw")
    assert panel.brush_units()[0] == tree_info.insert_set[0]  # drawing uses the ACE set
    w.brush.update(action="remove")  # removing uses the removal set; the list follows
    assert panel.brush_units() == tree_info.causal_set[:2]
    assert tree.child(0).data(0, ROLE)[1] == tree_info.causal_set[0]
    w.brush.update(action="draw")
    panel.ranking.setCurrentIndex(panel.ranking.findData("iou"))
    assert w.brush.ranking == "iou"
    assert panel.brush_units() == tuple(u for u, _ in tree_info.iou[:2])
    panel.strength.setValue(40)
    panel.quantile.setValue(0.95)
    stroke = w.painter.paint([(20, 20)])
    assert stroke.strength == 0.4 and stroke.quantile == 0.95 and len(stroke.units) == 2
    panel.filter.setText("dom")
    assert not panel._concept_items["dome"].isHidden()
    assert panel._concept_items["tree"].isHidden()


def test_rank_by_says_when_a_layer_has_no_causal_ranking(make_window):
    # A layer dissected with --no-causal ranks by IoU whatever the brush asks for; the
    # "Rank by" box shows IoU and greys out "Causal effect" there, and the brush keeps its
    # choice for layers that have it.
    from dataclasses import replace

    w = make_window()
    panel = w.concept_panel
    assert w.brush.ranking == "causal" and panel.ranking.model().item(0).isEnabled()
    measured = list(panel.concepts)
    panel.set_content([replace(c, causal=(), causal_set=(), insert_set=()) for c in measured],
                      panel.units)  # fmt: skip
    assert not panel.ranking.model().item(0).isEnabled()
    assert panel.ranking.currentData() == "iou" and w.brush.ranking == "causal"
    assert "IoU" in panel.ranking.model().item(0).toolTip()
    w.brush.update(concept="tree", unit_count=2)
    assert panel.brush_units() == tuple(u for u, _ in panel.concept("tree").iou[:2])
    panel.set_content(measured, panel.units)
    assert panel.ranking.model().item(0).isEnabled() and panel.ranking.currentData() == "causal"
    # ACE sets alone (refine-sets on a --no-causal dissection) are measured too: drawing
    # takes the set, other concepts fall back to IoU.
    sets_only = [replace(c, causal=(), causal_set=(), insert_set=c.insert_set if c.name ==
                         "tree" else ()) for c in measured]  # fmt: skip
    assert panel.concept("tree").insert_set
    panel.set_content(sets_only, panel.units)
    assert panel.ranking.model().item(0).isEnabled() and panel.ranking.currentData() == "causal"
    assert panel.brush_units() == panel.concept("tree").insert_set[:2]
    w.brush.update(concept="sky")
    assert panel.brush_units() == tuple(u for u, _ in panel.concept("sky").iou[:2])


def test_model_without_dissection_paints_with_chosen_units(
    make_window, qtbot, frame_waiter, bare_generator
):
    w = make_window(model=bare_generator)
    panel = w.concept_panel
    assert panel.tabs.currentIndex() == 1
    assert panel.unit_list.count() == 16
    assert panel.unit_list.item(3).text() == "unit 3"
    original = w.frames.image.copy()
    assert isinstance(w.stroke_template(), str)  # nothing chosen yet
    for row in (1, 4, 9):
        panel.unit_list.item(row).setCheckState(Qt.Checked)
    assert w.brush.concept == CUSTOM and w.brush.custom_units == (1, 4, 9)
    stroke = w.painter.paint([(4, 4), (28, 28)])
    assert stroke.units == (1, 4, 9) and stroke.concept == CUSTOM
    frame_waiter(w)
    assert not np.array_equal(w.frames.image, original)


def test_history_rows_hide_delete_reset(make_window, qtbot, frame_waiter):
    w = make_window()
    hist = w.history_panel
    w.brush.update(concept="tree")
    w.painter.paint([(10, 10), (10, 50)])
    w.brush.update(concept="cloud")
    w.painter.paint([(40, 10), (50, 20)])
    assert hist.model.rowCount() == 2 and hist.stack.currentIndex() == 1
    frame_waiter(w)
    both = w.frames.image.copy()
    assert eye_drawn_on(hist, 0)
    click_part(hist, 0, "eye")  # a real click on the painted eye
    qtbot.waitUntil(lambda: not w.document.strokes[0].visible)
    assert not eye_drawn_on(hist, 0) and eye_drawn_on(hist, 1)
    frame_waiter(w)
    assert not np.array_equal(w.frames.image, both)
    click_part(hist, 0, "eye")
    qtbot.waitUntil(lambda: w.document.strokes[0].visible)
    click_part(hist, 0, "thumb")  # not a button: nothing happens
    click_part(hist, 1, "delete")
    qtbot.waitUntil(lambda: len(w.document.strokes) == 1)
    assert hist.model.rowCount() == 1 and w.document.strokes[0].visible
    w.actions["edit.reset"].trigger()
    assert w.document.strokes == () and hist.stack.currentIndex() == 0
    w.actions["edit.undo"].trigger()
    assert len(w.document.strokes) == 1


def test_history_buttons_act_on_a_press_and_release_over_the_same_button(make_window, qtbot):
    w = make_window()
    hist, view = w.history_panel, w.history_panel.list.viewport()
    w.brush.update(concept="tree")
    for x in (10, 30):
        w.painter.paint([(x, 10), (x, 50)])
    QTest.mousePress(view, Qt.LeftButton, pos=hist.part_rect(0, "eye").center())
    QTest.mouseRelease(view, Qt.LeftButton, pos=hist.part_rect(1, "eye").center())
    QTest.mousePress(view, Qt.LeftButton, pos=hist.part_rect(1, "delete").center())
    QTest.mouseRelease(view, Qt.LeftButton, pos=hist.part_rect(1, "thumb").center())
    QTest.mouseClick(view, Qt.RightButton, pos=hist.part_rect(1, "delete").center())
    qtbot.wait(50)
    assert [s.visible for s in w.document.strokes] == [True, True]  # slid off: no click
    changes = []
    w.document.subscribe(changes.append)
    eye = hist.part_rect(1, "eye").center()
    QTest.mouseClick(view, Qt.LeftButton, pos=eye)  # a double click as a mouse sends it
    QTest.mouseDClick(view, Qt.LeftButton, pos=eye)
    QTest.mouseRelease(view, Qt.LeftButton, pos=eye)
    assert changes == ["strokes"]  # one click: the second press is not another (as Qt's
    assert [s.visible for s in w.document.strokes] == [True, False]  # check boxes in lists)
    assert hist.delegate._pressed is None
    QTest.mousePress(view, Qt.LeftButton, pos=hist.part_rect(0, "delete").center())
    QTest.mouseRelease(view, Qt.LeftButton, pos=view.rect().bottomLeft())  # off the rows
    assert hist.delegate._pressed is None and len(w.document.strokes) == 2


def test_history_rows_tell_what_each_part_is(make_window, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QToolTip

    w = make_window()
    hist, view = w.history_panel, w.history_panel.list.viewport()
    w.brush.update(concept="window")
    w.painter.paint([(10, 10), (20, 20)])
    units = ", ".join(map(str, w.document.strokes[0].units))

    def tip(part):
        pos = hist.part_rect(0, part).center()
        QApplication.sendEvent(view, QHelpEvent(QEvent.ToolTip, pos, view.mapToGlobal(pos)))
        return QToolTip.text() if QToolTip.isVisible() else ""

    assert tip("eye") == "Hide this stroke"
    assert tip("delete") == "Delete this stroke (can be undone)"
    assert tip("thumb") == "Where the stroke was painted"
    assert tip("text").startswith("1. Draw window\nUnits " + units)
    hist.parentWidget().resize(150, 300)  # a narrow panel elides the title, the tip has it
    w.document.set_visible(0, False)
    assert tip("eye") == "Show this stroke"
    assert hist.model.index(0).data() == "1. Draw window"


def test_history_rows_follow_each_change_and_only_the_changed_ones_are_signalled(make_window):
    w = make_window()
    hist, doc, model = w.history_panel, w.document, w.history_panel.model
    w.brush.update(concept="tree")
    for x in (8, 24, 40, 56):
        w.painter.paint([(x, 10), (x, 50)])
    signals = []
    model.rowsInserted.connect(lambda _, a, b: signals.append(("insert", a, b)))
    model.rowsRemoved.connect(lambda _, a, b: signals.append(("remove", a, b)))
    model.dataChanged.connect(lambda a, b, *_: signals.append(("change", a.row(), b.row())))
    model.modelReset.connect(lambda: signals.append(("reset",)))

    def titles():
        return [model.index(i).data() for i in range(model.rowCount())]

    def signalled():
        out = list(signals)
        signals.clear()
        return out

    w.painter.paint([(30, 30), (34, 34)])  # a fifth: the four rows above stay as they were
    assert signalled() == [("insert", 4, 4)] and model.rowCount() == 5
    w.actions["edit.undo"].trigger()
    assert signalled() == [("remove", 4, 4)] and model.rowCount() == 4
    doc.set_visible(2, False)
    assert signalled() == [("change", 2, 2)]
    assert not eye_drawn_on(hist, 2) and eye_drawn_on(hist, 3)
    doc.remove_stroke(0)  # the rest move up and are numbered again
    assert signalled() == [("remove", 3, 3), ("change", 0, 2)]
    assert titles() == ["1. Draw tree", "2. Draw tree", "3. Draw tree"]
    assert not eye_drawn_on(hist, 1)
    while doc.undo():
        pass
    assert model.rowCount() == 0 and hist.stack.currentIndex() == 0
    while doc.redo():
        pass
    assert model.rowCount() == 3 and titles()[-1] == "3. Draw tree"
    for i, stroke in enumerate(doc.strokes):
        assert eye_drawn_on(hist, i) == stroke.visible
    signalled()
    for i in range(20):  # enough rows to scroll
        w.painter.paint([(3 * i + 2, 10), (3 * i + 2, 20)])
    assert signalled() == [("insert", i, i) for i in range(3, 23)]
    bar = hist.list.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()  # the newest in view
    bar.setValue(0)
    doc.set_visible(4, False)  # hiding one near the top keeps the list where it is
    assert bar.value() == 0 and not eye_drawn_on(hist, 4)
    w.painter.paint([(60, 60), (62, 62)])
    assert bar.value() == bar.maximum()


def test_stroke_masks_are_composited_only_while_shown_and_one_at_a_time(make_window):
    from ganpaint.app.views.frames import stroke_color
    from ganpaint.app.views.imaging import mask_overlay, rgba_from_qimage

    w = make_window()
    doc = w.document
    w.brush.update(concept="tree")
    w.painter.paint([(8, 10), (8, 50)])
    assert w.canvas.overlay is None  # hidden: nothing made

    def shown() -> np.ndarray:
        return rgba_from_qimage(w.canvas.overlay)

    def expected() -> np.ndarray:
        return mask_overlay([(s.mask, stroke_color(s.concept, s.action))
                             for s in doc.strokes if s.visible])  # fmt: skip

    w.actions["view.overlay"].setChecked(True)
    assert np.array_equal(shown(), expected())
    w.brush.update(concept="cloud")
    stack_before = w.frames._overlay[0]
    w.painter.paint([(30, 10), (50, 30)])  # on top: the same stack, one mask more
    assert w.frames._overlay[0] is stack_before and np.array_equal(shown(), expected())
    doc.set_visible(0, False)  # under the others: made again from the visible ones
    assert w.frames._overlay[0] is not stack_before and np.array_equal(shown(), expected())
    w.actions["view.overlay"].setChecked(False)
    assert w.canvas.overlay is None


def test_gallery_thumbnails_and_applying_strokes_to_other_seeds(make_window, qtbot, frame_waiter):
    w = make_window()
    g = w.gallery
    assert g.seeds[0] == 7 and len(g.seeds) == 12
    qtbot.waitUntil(lambda: g.rendered == set(g.seeds), timeout=10_000)
    w.brush.update(concept="tree")
    w.painter.paint([(10, 10), (10, 50)])
    other = g.seeds[3]
    g.list.itemClicked.emit(g._items[other])
    assert w.document.seed == other and len(w.document.strokes) == 1
    frame_waiter(w)
    g.seed_edit.setText("123")
    QTest.keyClick(g.seed_edit, Qt.Key_Return)
    assert w.document.seed == 123 and 123 in g.seeds
    g.new_button.click()
    assert w.document.seed not in (123, other) and len(w.document.strokes) == 1
    g.more_button.click()
    assert len(g.seeds) >= 25


def test_hold_space_to_compare(make_window, qtbot, frame_waiter):
    w = make_window()
    w.brush.update(concept="tree")
    w.painter.paint([(10, 10), (50, 50)])
    frame_waiter(w)
    qtbot.waitUntil(lambda: w.canvas.plain is not None)
    # keys as the system sends them: to the native window, which hands them to the focus
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWindow() is w.windowHandle())
    w.canvas.setFocus()
    QTest.keyPress(w.windowHandle(), Qt.Key_Space)
    assert w.canvas.compare and w.actions["view.compare"].isChecked()
    shown = w.canvas.grab()
    assert not shown.isNull()
    QTest.keyRelease(w.windowHandle(), Qt.Key_Space)
    assert not w.canvas.compare
    field = w.concept_panel.filter  # a text field keeps its spaces
    field.setFocus()
    QTest.keyPress(w.windowHandle(), Qt.Key_Space)
    assert not w.canvas.compare
    QTest.keyRelease(w.windowHandle(), Qt.Key_Space)
    assert field.text() == " "


def test_unit_inspector_heatmap(make_window, qtbot):
    w = make_window()
    tree = w.concept_panel._concept_items["tree"]
    unit = tree.child(0).data(0, ROLE)[1]
    w.concept_panel.tree.setCurrentItem(tree.child(0))
    assert w.model_view.selected_unit == unit
    qtbot.waitUntil(lambda: w.canvas.heat is not None, timeout=10_000)
    assert w.inspector.unit == unit
    assert w.inspector.label.text() == "tree"
    assert w.inspector.iou.text() == f"{w.concept_panel.concept('tree').score('iou', unit):.3f}"
    assert not w.inspector.preview.pixmap().isNull()
    assert w.canvas.heat.width() == 8  # layer4 is 8x8; the canvas scales it up
    w.inspector.clear_button.click()
    assert w.model_view.selected_unit is None and w.canvas.heat is None


def test_presentation_mode_and_layer_switch(make_window, qtbot, frame_waiter):
    w = make_window()
    w.actions["view.presentation"].trigger()
    assert w.view_modes.presenting and w.presentation_bar.isVisible()
    assert not w.toolbar.isVisible() and not w.docks["concepts"].isVisible()
    assert not w.statusBar().isVisible()
    assert "tree" in w.presentation_bar.buttons
    w.presentation_bar.buttons["door"].click()
    assert w.brush.concept == "door"
    w.actions["view.exit_presentation"].trigger()
    assert not w.view_modes.presenting and w.docks["concepts"].isVisible() and w.toolbar.isVisible()

    combo = w.concept_panel.layer_combo
    combo.setCurrentIndex(combo.findData("layer6"))
    assert w.document.layer == "layer6"
    assert "layer6" in w.status.layer.text()
    stroke = w.painter.paint([(30, 30), (40, 40)])
    assert stroke.layer == "layer6"
    frame_waiter(w)


def test_presentation_bar_keeps_every_button_on_a_projector(make_window, qtbot):
    # with every name the bar needs about 1470 px: on a 1280 px projector Compare and Exit
    # fell off the end, and the overflow arrow with them
    from PySide6.QtWidgets import QApplication, QToolButton

    from ganpaint.app.views.presentation import ACTIONS

    w = make_window()
    w.actions["view.presentation"].trigger()
    bar = w.presentation_bar
    commands = [bar.widgetForAction(w.actions[k]) for k in ACTIONS if k != "-"]
    screen = w.screen().geometry().width()  # offscreen: 800, so the full screen comes first
    qtbot.waitUntil(lambda: bar.width() == screen, timeout=5000)
    for width, level in ((1920, 0), (1280, 1), (1024, 2)):
        w.resize(width, 700)
        buttons = [*bar.buttons.values(), *commands]

        def fits(width=width, buttons=buttons) -> bool:
            QApplication.processEvents()  # the bar lays its buttons out again after a resize
            return bar.width() == width and all(
                b.isVisible() and b.geometry().right() < width for b in buttons
            )

        qtbot.waitUntil(fits, timeout=5000)
        assert bar.compact == level, width
        assert bar.sizeHint().width() <= bar.width()
        named = bar.buttons["tree"].toolButtonStyle() == Qt.ToolButtonTextUnderIcon
        assert named == (level < 2) and bar.buttons["tree"].toolTip() == "Paint tree"
    bar.grab().save(str(w.autosave.folder.parent / "presentation_1024.png"))
    w.resize(screen, 700)  # narrower than even the icons: the overflow arrow, on the bar
    arrow = bar.findChild(QToolButton, "qt_toolbar_ext_button")
    qtbot.waitUntil(lambda: bar.width() == screen and arrow.isVisible(), timeout=5000)
    assert arrow.geometry().right() < screen  # its style once pushed it off the end
    w.actions["view.exit_presentation"].trigger()


def test_status_bar_title_and_render_error_offers_cpu(make_window, qtbot, frame_waiter):
    w = make_window()
    assert w.status.device.text().startswith("cpu")
    assert "layer4" in w.status.layer.text() and "ms/frame" in w.status.ms.text()
    assert w.windowTitle() == "GANPaint — Untitled[*]" and not w.isWindowModified()
    w.brush.update(concept=CUSTOM, custom_units=(999,))  # more units than the layer has
    w.models.device_text = "cuda (pretend)"
    w.painter.paint([(30, 30)])
    qtbot.waitUntil(lambda: w.status.error.isVisible(), timeout=10_000)
    # the whole error is the tooltip; the label may elide its middle to the room there is
    assert "exceed" in w.status.error.toolTip() and w.status.cpu_button.isVisible()
    with qtbot.waitSignal(w.modelLoaded, timeout=10_000):
        w.status.cpu_button.click()
    assert w.models.device_pref == "cpu" and not w.status.error.isVisible()
    assert w.isWindowModified()


def test_action_table_tooltips_show_shortcuts(make_window):
    w = make_window()
    ids = [spec.id for spec in ACTIONS]
    assert len(ids) == len(set(ids))
    for spec in ACTIONS:
        action = w.actions[spec.id]
        if spec.shortcut is not None:
            keys = action.shortcut().toString(action.shortcut().SequenceFormat.NativeText)
            assert keys and keys in action.toolTip(), spec.id
        assert action.toolTip()
    assert w.actions["view.presentation"].shortcut().toString() == "F11"


def test_close_while_rendering_stops_the_worker(make_window, qtbot):
    w = make_window()
    w.brush.update(concept="tree")
    for i in range(5):
        w.painter.paint([(5 + 10 * i, 5), (5 + 10 * i, 60)])
    w.close()
    assert w.worker.isFinished()


def test_the_stroke_under_the_mouse_in_the_history_is_spotlit_on_the_canvas(make_window):
    from PySide6.QtGui import QMouseEvent

    from ganpaint.app.views.imaging import rgba_from_qimage

    w = make_window()
    hist, view, canvas = w.history_panel, w.history_panel.list.viewport(), w.canvas
    w.brush.update(concept="tree", size=0.1)
    for x in (10, 40, 60):
        w.painter.paint([(x, 10), (x, 50)])

    def hover(pos):
        global_pos = view.mapToGlobal(pos)
        QApplication.sendEvent(
            view,
            QMouseEvent(
                QMouseEvent.MouseMove, pos, global_pos, Qt.NoButton, Qt.NoButton, Qt.NoModifier
            ),  # fmt: skip
        )

    def alpha():
        assert canvas.spotlight is not None
        return rgba_from_qimage(canvas.spotlight)[..., 3]

    assert canvas.spotlight is None
    hover(hist.part_rect(1, "text").center())
    mask = w.document.strokes[1].mask
    assert (alpha()[mask == 255] == 0).all() and (alpha()[mask == 0] > 100).all()
    w.document.set_visible(1, False)  # a hidden stroke is still shown where it is
    assert (alpha()[mask == 255] == 0).all()
    w.actions["edit.undo"].trigger()
    hover(hist.part_rect(2, "thumb").center())
    assert (alpha()[w.document.strokes[2].mask == 255] == 0).all()
    click_part(hist, 2, "delete")  # the row under the mouse is gone: no spotlight
    assert canvas.spotlight is None
    hover(hist.part_rect(0, "badge").center())
    assert (alpha()[w.document.strokes[0].mask == 255] == 0).all()
    QApplication.sendEvent(hist.list, QEvent(QEvent.Leave))
    assert canvas.spotlight is None


def test_a_long_unit_list_wraps_in_its_tooltip():
    from ganpaint.app.views.stroke_rows import TOOLTIP_WIDTH, units_tooltip
    from ganpaint.engine.document import Stroke

    mask = np.zeros((8, 8), np.uint8)
    stroke = Stroke("tree", "draw", tuple(range(100, 150)), 1.0, 0.99, "layer4", mask)
    lines = units_tooltip(stroke).splitlines()
    assert len(lines) > 3 and all(len(line) <= TOOLTIP_WIDTH for line in lines)
    assert " ".join(lines[:-1]).replace(", ", ",").split(",")[-1] == "149"


def test_a_stroke_menu_sets_its_strength_live_and_shows_it_alone(make_window, frame_waiter):
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QSlider

    w = make_window()
    hist, doc, view = w.history_panel, w.document, w.history_panel.list.viewport()
    w.brush.update(concept="tree", size=0.1)
    for x in (10, 40, 60):
        w.painter.paint([(x, 10), (x, 50)])
    frame_waiter(w)
    full = w.frames.image.copy()

    def open_menu(row):
        pos = hist.part_rect(row, "text").center()
        QApplication.sendEvent(
            view, QContextMenuEvent(QContextMenuEvent.Mouse, pos, view.mapToGlobal(pos))
        )
        assert hist.menu is not None and hist.menu.isVisible()
        return hist.menu, {a.text(): a for a in hist.menu.actions() if a.text()}

    menu, actions = open_menu(1)
    assert list(actions) == [
        "Hide This Stroke", "Show Only This Stroke", "Show All Strokes", "Delete Stroke",
    ]  # fmt: skip
    assert not actions["Show All Strokes"].isEnabled()
    slider = menu.findChild(QSlider, "strokeStrength")
    assert slider.value() == 100
    for value in (70, 40, 20):  # a drag: the frame follows, one undo step in all
        slider.setValue(value)
    assert doc.strokes[1].strength == 0.2
    assert "20 %" in hist.model.index(1).data(Qt.AccessibleDescriptionRole)
    frame_waiter(w)
    weaker = w.frames.image.copy()
    assert not np.array_equal(weaker, full)
    menu.close()
    w.actions["edit.undo"].trigger()
    assert doc.strokes[1].strength == 1.0 and len(doc.strokes) == 3
    frame_waiter(w)
    assert np.array_equal(w.frames.image, full)
    menu, actions = open_menu(0)
    actions["Show Only This Stroke"].trigger()
    assert [s.visible for s in doc.strokes] == [True, False, False]
    menu, actions = open_menu(2)
    assert actions["Show All Strokes"].isEnabled() and actions["Show This Stroke"]
    actions["Show All Strokes"].trigger()
    assert all(s.visible for s in doc.strokes)
    menu, actions = open_menu(2)
    doc.remove_stroke(0)  # the stroke the menu was for moved up a row: nothing happens
    actions["Delete Stroke"].trigger()
    assert len(doc.strokes) == 2
    menu.close()
    menu, actions = open_menu(1)
    actions["Delete Stroke"].trigger()
    assert len(doc.strokes) == 1


def test_split_compare_shows_the_unedited_image_left_of_a_divider_you_drag(
    make_window, qtbot, frame_waiter
):
    from PySide6.QtCore import QPoint

    from ganpaint.app.views.imaging import rgb_from_qimage

    w = make_window()
    w.view_modes.set_view("smooth", False)  # crisp: the image's pixels exactly
    w.brush.update(concept="tree", size=0.3)
    w.painter.paint([(4, 40), (60, 40)])
    frame_waiter(w)
    qtbot.waitUntil(lambda: w.canvas.plain is not None)
    plain, edited = w.frames.plain_image.astype(int), w.frames.image.astype(int)
    w.actions["view.split"].trigger()
    assert w.canvas.split == 0.5 and w.actions["view.split"].isChecked()

    def shown():
        grab = rgb_from_qimage(w.canvas.grab().toImage()).astype(int)
        return lambda x, y: grab[(p := w.canvas.from_image(x + 0.5, y + 0.5).toPoint()).y(), p.x()]

    changed = np.abs(plain - edited).sum(-1) > 30
    rows = [y for y in range(24, 64) if changed[y, :20].any() and changed[y, 44:].any()]
    assert rows, "the stroke changed both sides"
    at = shown()
    for y in rows:
        for x in [x for x in range(0, 26) if changed[y, x]]:
            assert (at(x, y) == plain[y, x]).all()  # left of the divider: unedited
        for x in [x for x in range(38, 64) if changed[y, x]]:
            assert (at(x, y) == edited[y, x]).all()  # right of it: the edit
    strokes = len(w.document.strokes)
    r = w.canvas.image_rect()
    grip = QPoint(round(r.left() + 0.5 * r.width()), round(r.top() + 0.8 * r.height()))
    QTest.mousePress(w.canvas, Qt.LeftButton, Qt.NoModifier, grip)
    QTest.mouseMove(w.canvas, w.canvas.from_image(60, 50).toPoint())
    QTest.mouseRelease(
        w.canvas, Qt.LeftButton, Qt.NoModifier, w.canvas.from_image(60, 50).toPoint()
    )
    assert abs(w.canvas.split - 60 / 64) < 0.02 and len(w.document.strokes) == strokes
    at = shown()
    y = rows[0]
    assert all((at(x, y) == plain[y, x]).all() for x in range(40, 56) if changed[y, x])
    drag(w, [(20, 20), (24, 24)])  # away from the divider the brush paints
    assert len(w.document.strokes) == strokes + 1
    w.actions["view.split"].trigger()
    assert w.canvas.split is None


def test_the_history_rows_work_from_the_keyboard(make_window, qtbot):
    w = make_window()
    hist, doc, canvas = w.history_panel, w.document, w.canvas
    w.brush.update(concept="tree", size=0.1)
    for x in (10, 40, 60):
        w.painter.paint([(x, 10), (x, 50)])
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWindow() is w.windowHandle())
    hist.list.setFocus(Qt.TabFocusReason)
    qtbot.waitUntil(hist.list.hasFocus)
    assert hist.list.currentIndex().row() == 2  # the newest stroke first
    assert canvas.spotlight is not None  # and the canvas shows where it is

    def key(k, modifiers=Qt.NoModifier):
        QTest.keyClick(hist.list, k, modifiers)

    key(Qt.Key_Up)
    key(Qt.Key_Return)  # hide the middle stroke
    assert [s.visible for s in doc.strokes] == [True, False, True]
    alpha = rgba_of(canvas.spotlight)
    assert (alpha[doc.strokes[1].mask == 255] == 0).all()
    key(Qt.Key_Return)
    assert all(s.visible for s in doc.strokes)
    key(Qt.Key_Home)
    key(Qt.Key_Delete)
    assert len(doc.strokes) == 2 and hist.list.currentIndex().row() == 0
    key(Qt.Key_F10, Qt.ShiftModifier)
    assert hist.menu is not None and hist.menu.isVisible()
    hist.menu.close()
    key(Qt.Key_B)  # a letter is still the window's shortcut, not a search in the list
    key(Qt.Key_E)
    assert w.brush.action == "remove"
    canvas.setFocus()
    qtbot.waitUntil(lambda: not hist.list.hasFocus())
    assert canvas.spotlight is None
    w.painter.paint([(30, 30), (32, 32)])  # a click on a row's button leaves focus alone
    click_part(hist, 0, "eye")
    assert not hist.list.hasFocus() and not doc.strokes[0].visible


def rgba_of(image):
    from ganpaint.app.views.imaging import rgba_from_qimage

    return rgba_from_qimage(image)[..., 3]
