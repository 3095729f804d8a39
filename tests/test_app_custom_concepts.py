"""Custom concepts in the app: taught in the New Concept dialog (marks on samples, units
ranked on the worker), saved to the user's concept file, shown in the panel's "Custom"
group, painted like a built-in concept, exported and imported, and usable on a model
without a dissection."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ganpaint.app.views.concept_panel import ROLE
from ganpaint.models.concept_files import concepts_path, load_concepts
from tests.test_app_paint import drag, widget_point

SEEDS = [7, 21, 22, 23]


def teach(w, qtbot, name: str, seeds=SEEDS, icon: str = "mdi.flower"):
    """Open the dialog, mark three samples through the draft, wait for the ranking."""
    d = w.concept_commands.new_concept(seeds=list(seeds))
    assert d is not None and d.isVisible()
    qtbot.waitUntil(lambda: len(d.images) == len(seeds), timeout=20_000)
    side = w.models.bundle.generator.resolution
    d.draft.paint(0, [(side * 0.1, side * 0.5), (side * 0.4, side * 0.6)], side * 0.1)
    d.draft.paint(1, [(side * 0.5, side * 0.2)], side * 0.15)
    d.draft.paint(2, [(side * 0.2, side * 0.8), (side * 0.8, side * 0.8)], side * 0.08)
    d.name_edit.setText(name)
    d.icon_combo.setCurrentIndex(d.icon_combo.findData(icon))
    qtbot.waitUntil(lambda: d.draft.current, timeout=20_000)
    assert d.draft.error is None and d.unit_table.topLevelItemCount() > 0
    return d


def test_taught_concept_is_saved_listed_and_paints(make_window, qtbot, frame_waiter, tmp_path):
    w = make_window()
    d = teach(w, qtbot, "lamp post")
    ranking = d.draft.ranking
    assert ranking.layer == w.document.layer and len(ranking.units) > 0
    assert d.save_button.isEnabled()
    with qtbot.waitSignal(d.accepted):
        assert d.save()

    # the user's concept file (under the window's data folder) holds it
    path = concepts_path(w.models.bundle.name, tmp_path / "data" / "concepts")
    assert w.library.file() == path
    (saved,) = load_concepts(path)
    assert saved.name == "lamp post" and saved.icon == "mdi.flower"
    assert saved.units == ranking.units and saved.seeds == SEEDS

    # listed in a "Custom" group with its icon, chosen for the brush
    panel = w.concept_panel
    groups = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert groups[-1] == "CUSTOM"
    item = panel._concept_items["lamp post"]
    assert item.parent().text(0) == "CUSTOM" and not item.icon(0).isNull()
    assert w.brush.concept == "lamp post"
    assert w.actions["concept.export"].isEnabled()

    # paints with its ranked units; the unit count applies
    panel.count.setValue(6)
    w.brush.update(action="draw", size=0.06, hardness=1.0, strength=1.0)
    original = w.frames.image.copy()
    drag(w, [(8, 6), (8, 30), (8, 58)], moves_per_segment=6)
    frame_waiter(w)
    stroke = w.document.strokes[-1]
    assert stroke.concept == "lamp post" and stroke.units == tuple(saved.units[:6])
    diff = np.abs(w.frames.image.astype(int) - original.astype(int)).sum(axis=-1)
    assert diff[:, :16].max() > 20, "the image must change where the stroke was painted"
    assert (diff[:, 40:] == 0).all(), "and stay the same far from it"


def test_export_then_import_into_another_concept_file(
    make_window, qtbot, tmp_path, monkeypatch, app_settings
):
    w = make_window()
    with qtbot.waitSignal(teach(w, qtbot, "lantern", icon="mdi.lamp").accepted):
        w.concept_commands.dialog.save()
    exported = tmp_path / "lantern.json"
    assert w.concept_commands.export_concept("lantern", exported)
    (concept,) = load_concepts(exported)
    assert concept.name == "lantern" and concept.icon == "mdi.lamp"

    # another user: a fresh data folder with no concepts
    other = tmp_path / "other"
    monkeypatch.setenv("GANPAINT_DATA_DIR", str(other))
    w2 = make_window(data_dir=other)
    assert w2.concept_panel.concept("lantern") is None
    assert w2.concept_commands.import_concepts(exported) == ["lantern"]
    (imported,) = load_concepts(concepts_path(w2.models.bundle.name, other / "concepts"))
    assert imported.units == concept.units and imported.layer == concept.layer
    info = w2.concept_panel.concept("lantern")
    assert info is not None and info.custom and info.icon == "mdi.lamp"
    assert w2.concept_panel._concept_items["lantern"].parent().text(0) == "CUSTOM"
    assert w2.brush.concept == "lantern"


def test_panel_context_menu_exports_and_deletes(make_window, qtbot):
    w = make_window()
    with qtbot.waitSignal(teach(w, qtbot, "rock").accepted):
        w.concept_commands.dialog.save()
    panel = w.concept_panel
    menu = panel.context_menu(panel._concept_items["rock"])
    texts = [a.text() for a in menu.actions()]
    assert texts[:2] == ["Export “rock”…", "Delete “rock”"]
    assert "&New Concept…" in texts and "&Import Concepts…" in texts
    assert [a.text() for a in panel.context_menu(panel._concept_items["tree"]).actions()] == [
        "&New Concept…",
        "&Import Concepts…",
    ]
    w.prompts.answers["delete_concept"] = True
    menu.actions()[1].trigger()
    assert panel.concept("rock") is None and load_concepts(w.library.file()) == []
    assert w.brush.concept != "rock"


def test_names_of_usable_builtin_concepts_are_refused(make_window, qtbot):
    w = make_window()
    d = teach(w, qtbot, "tree")
    assert not d.save_button.isEnabled() and "already a concept" in d.problem()
    assert d.name_note.isVisible()
    d.name_edit.setText("units")  # the hand-picked-units brush's name
    assert not d.save_button.isEnabled()
    d.name_edit.setText("shrub")
    assert d.save_button.isEnabled()
    d.reject()


def test_marking_with_the_mouse_and_changing_samples(make_window, qtbot):
    w = make_window()
    d = w.concept_commands.new_concept(seeds=SEEDS)
    qtbot.waitUntil(lambda: len(d.images) == len(SEEDS), timeout=20_000)
    d.resize(1080, 700)
    tile = d.cards[1].tile
    qtbot.waitUntil(lambda: tile.image is not None)
    start = tile.from_image(10, 10).toPoint()
    end = tile.from_image(40, 30).toPoint()
    jobs = d.jobs
    QTest.mousePress(tile, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(tile, end)
    QTest.mouseRelease(tile, Qt.LeftButton, Qt.NoModifier, end)
    mask = d.draft.samples[1].mask
    assert mask[12, 12] > 200 and mask[28, 38] > 200 and mask[60, 5] == 0
    assert d.draft.marked == 1 and d.jobs == jobs + 1
    # the right button erases
    QTest.mousePress(tile, Qt.RightButton, Qt.NoModifier, start)
    QTest.mouseRelease(tile, Qt.RightButton, Qt.NoModifier, start)
    assert d.draft.samples[1].mask[12, 12] == 0
    qtbot.waitUntil(lambda: d.draft.current, timeout=20_000)
    # another scene in place of sample 1, then one more sample
    d.cards[1].replace_button.click()
    assert d.draft.samples[1].seed != SEEDS[1] and d.draft.marked == 0
    d.add_button.click()
    assert len(d.cards) == len(SEEDS) + 1
    qtbot.waitUntil(lambda: len(d.images) >= len(SEEDS) + 1, timeout=20_000)
    d.cards[-1].remove_button.click()
    d.cards[-1].remove_button.click()
    assert len(d.draft.samples) == 3  # the fewest a concept is taught from
    assert not any(card.remove_button.isEnabled() for card in d.cards)
    d.reject()


def test_model_without_dissection_learns_and_paints_a_concept(
    make_window, qtbot, frame_waiter, bare_generator
):
    w = make_window(model=bare_generator)
    assert w.models.bundle.dissection is None
    d = teach(w, qtbot, "hill")
    with qtbot.waitSignal(d.accepted):
        assert d.save()
    panel = w.concept_panel
    assert panel.tabs.currentIndex() == 0 and w.brush.concept == "hill"
    original = w.frames.image.copy()
    side = w.models.bundle.generator.resolution
    QTest.mousePress(w.canvas, Qt.LeftButton, Qt.NoModifier, widget_point(w, 4, side / 2))
    QTest.mouseMove(w.canvas, widget_point(w, side - 4, side / 2))
    QTest.mouseRelease(w.canvas, Qt.LeftButton, Qt.NoModifier, widget_point(w, side - 4, side / 2))
    frame_waiter(w)
    assert w.document.strokes[-1].concept == "hill"
    assert not np.array_equal(w.frames.image, original)
    item = panel._concept_items["hill"]
    assert item.child(0).data(0, ROLE)[1] == d.draft.ranking.units[0]


def test_bad_concept_files_are_reported_not_fatal(make_window, tmp_path):
    w = make_window()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert w.concept_commands.import_concepts(bad) == []
    assert w.prompts.last_box is not None and "Cannot import" in w.prompts.last_box.windowTitle()
    w.library.file().parent.mkdir(parents=True, exist_ok=True)
    w.library.file().write_text("[]", encoding="utf-8")
    w.concept_commands.changed()  # a malformed user file: a message, the built-in concepts stay
    assert w.concept_panel.concept("tree") is not None
    assert "not loaded" in w.status.currentMessage()


def test_importing_a_mixed_file_names_each_concept_skipped(make_window, tmp_path):
    from ganpaint.models.concept_files import CustomConcept, save_concepts

    w = make_window()
    layer = w.document.layer
    source = tmp_path / "mixed.json"
    save_concepts(source, [CustomConcept("lantern", layer, [1, 2], [0.5, 0.4], [1.0, 1.0]),
                           CustomConcept("far", "layer1", [1], [0.5], [1.0])])  # fmt: skip
    assert w.concept_commands.import_concepts(source) == ["lantern"]
    box = w.prompts.last_box
    assert box.windowTitle() == "Some concepts were not imported"
    assert "Imported 1 of the 2 concepts in mixed.json" in box.text() and "skipped 1" in box.text()
    assert "far: its layer layer1 is not an edit layer" in box.informativeText()
    assert w.concept_panel.concept("lantern") is not None
    save_concepts(source, [CustomConcept("far", "layer1", [1], [0.5], [1.0])])
    assert w.concept_commands.import_concepts(source) == []
    box = w.prompts.last_box
    assert box.windowTitle() == "Nothing imported" and "does not fit" in box.text()
    assert "far: its layer layer1" in box.informativeText()


def test_concepts_of_the_users_file_that_do_not_fit_are_named_when_the_model_opens(
    make_window, app_settings, tmp_path
):
    """The app reads the user's concept file for the model; a concept it cannot use there
    (here: made for a layer the model does not edit) is named with why, not dropped in
    silence."""
    from ganpaint.models.concept_files import CustomConcept, save_concepts

    w = make_window()
    layer = w.document.layer
    path = w.library.file()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_concepts(path, [CustomConcept("lantern", layer, [1, 2], [0.5, 0.4], [1.0, 1.0]),
                         CustomConcept("far", "layer1", [1], [0.5], [1.0])])  # fmt: skip
    w.close()
    w2 = make_window(data_dir=tmp_path / "data")
    assert w2.concept_panel.concept("lantern") is not None
    message = w2.status.currentMessage()
    assert message.startswith("Not shown from your concepts: far (its layer layer1 is not")
