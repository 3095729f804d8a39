"""Scenes by content (issue 19, item 2): the strip filters indexed seeds by a concept's share,
the Scene menu offers demo scenes per concept, and thumbnails show the current edits."""

from __future__ import annotations

import numpy as np
import pytest

from ganpaint.app.state.scene_index import SceneContent
from ganpaint.models.dissection import Dissection


@pytest.fixture
def indexed_bundle(bundle_copy):
    def change(doc: dict) -> None:
        names = list(doc["concepts"])
        tree, sky = names.index("tree"), names.index("sky")
        shares = []
        for i in range(6):
            row = [0.0] * len(names)
            row[tree], row[sky] = [0.0, 0.02, 0.3, 0.08, 0.5, 0.0][i], 0.4
            shares.append(row)
        doc["scene_index"] = {"seeds": [100 + i for i in range(6)], "concepts": names,
                              "shares": shares}  # fmt: skip

    return bundle_copy("indexed", change)


def test_scene_content_rules():
    doc = Dissection.from_dict({
        "format": "ganpaint-dissection", "version": 1,
        "scene_index": {"seeds": [5, 6, 7], "concepts": ["sky", "door"],
                        "shares": [[0.5, 0.0], [0.2, 0.04], [0.3, 0.005]]},
    })  # fmt: skip
    index = SceneContent.from_dissection(doc)
    assert index.concepts() == ["sky", "door"]
    assert index.matching("sky", 0.25) == [(5, 0.5), (7, 0.3)]
    assert index.matching("door") == [(6, 0.04)]  # 0.005 is below the noise floor
    assert index.demo_seeds("sky", 2) == [(5, 0.5), (7, 0.3)]
    assert index.describe(6) == "sky 20%, door 4%"
    assert SceneContent.from_dissection(None) is None


def test_strip_filters_by_content_and_demo_menu(make_window, indexed_bundle, qtbot):
    w = make_window(model=indexed_bundle)
    g = w.gallery
    assert g.content.isEnabled() and g.content.findData("tree") > 0
    g.min_share.setValue(5)
    g.content.setCurrentIndex(g.content.findData("tree"))
    assert g.seeds == [104, 102, 103]  # largest share first; 1 % and 2 % left out
    assert "tree 50%" in g._items[104].toolTip()
    g.min_share.setValue(25)
    assert g.seeds == [104, 102]
    g.min_share.setValue(60)  # nothing that large: the strip says so
    assert g.seeds == [] and g.list.count() == 1 and "no tree" in g.list.item(0).text()
    g.min_share.setValue(25)
    qtbot.waitUntil(lambda: g.rendered == set(g.seeds), timeout=10_000)
    g.content.setCurrentIndex(0)
    assert len(g.seeds) == 12 and g.seeds[0] == w.document.seed
    from PySide6.QtWidgets import QMenu

    demo = next(m for m in w.findChildren(QMenu) if m.title() == "&Demo Scenes")
    w.scene_commands.fill_demo_menu(demo)
    tree = next(a.menu() for a in demo.actions() if a.text() == "tree")
    first = tree.actions()[0]
    assert first.text() == "Seed 104  (50% tree)"
    first.trigger()
    assert w.document.seed == 104


def test_model_without_index_disables_the_filter(make_window):
    w = make_window()
    assert not w.gallery.content.isEnabled() and w.gallery.scene_index is None


def test_thumbnails_show_the_current_edits(make_window, qtbot, frame_waiter):
    w = make_window()
    g = w.gallery
    qtbot.waitUntil(lambda: g.rendered == set(g.seeds), timeout=10_000)
    seed = g.seeds[2]
    before = g._items[seed].icon().pixmap(88, 88).toImage()
    arrived = []
    w.worker.thumbnailReady.connect(lambda r: arrived.append(r))
    g.thumbnailsWanted.emit([seed])  # no strokes yet: the plain scene
    qtbot.waitUntil(lambda: any(r.seed == seed for r in arrived), timeout=10_000)
    plain = arrived.pop().image
    w.brush.update(concept="tree", action="draw", size=0.4, strength=1.0, unit_count=20)
    w.painter.paint([(5, 5), (60, 60), (5, 60)])
    frame_waiter(w)
    qtbot.waitUntil(lambda: any(r.seed == seed for r in arrived), timeout=10_000)
    edited = next(r for r in arrived if r.seed == seed).image
    assert edited is not None and np.abs(edited.astype(int) - plain.astype(int)).sum() > 0
    after = g._items[seed].icon().pixmap(88, 88).toImage()
    assert after != before


def _label_width(list_widget, item) -> int:
    """Width in pixels of the ink of ``item``'s label (the band under its icon)."""
    from PySide6.QtCore import QRect

    rect = list_widget.visualItemRect(item)
    band = QRect(rect.left() + 4, rect.bottom() - 22, rect.width() - 8, 18)
    img = list_widget.viewport().grab(band).toImage()
    a = np.array([[img.pixelColor(x, y).lightness() for x in range(img.width())]
                  for y in range(img.height())])  # fmt: skip
    cols = np.nonzero((a > 150).any(axis=0))[0]
    return int(cols[-1] - cols[0] + 1) if cols.size else 0


def test_the_current_scene_label_is_not_elided(make_window, qtbot):
    # the current scene's frame took the room of a 10-digit seed: "17245680…"
    w = make_window()
    g = w.gallery
    g.add_seeds([4294967295, 4294967294])
    g.choose(4294967295)
    item = g._items[4294967295]
    assert g.list.currentItem() is item
    current = _label_width(g.list, item)
    g.choose(4294967294)
    assert g.list.currentItem() is not item
    plain = _label_width(g.list, item)
    assert plain >= g.list.fontMetrics().horizontalAdvance("4294967295") - 4
    assert abs(current - plain) <= 2, (current, plain)


def test_the_strip_keeps_the_window_narrow_enough_for_a_1024_screen(make_window):
    # the seed field's room for the largest seed once made the window's least width 1022
    w = make_window()
    g = w.gallery
    assert g.seed_edit.minimumWidth() >= g.seed_edit.fontMetrics().horizontalAdvance("4294967295")
    assert w.minimumSizeHint().width() <= 1000  # 1024 less a window frame
