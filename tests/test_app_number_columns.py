"""theme.number_columns: the one header layout of the concept tree and the concept dialog's
unit table (a stretching name column, fixed right-aligned figure columns with tooltips)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget

from ganpaint.app.views import theme


def test_number_columns(qtbot):
    tree = QTreeWidget()
    qtbot.addWidget(tree)
    theme.number_columns(tree, "Unit", [("IoU", "overlap"), ("Contrast", "in sd")], 76)
    item, header = tree.headerItem(), tree.header()
    assert [item.text(c) for c in range(3)] == ["Unit", "IoU", "Contrast"]
    assert header.sectionResizeMode(0) == QHeaderView.Stretch
    assert not header.stretchLastSection()
    for col, tip in ((1, "overlap"), (2, "in sd")):
        assert header.sectionResizeMode(col) == QHeaderView.Fixed
        assert header.sectionSize(col) == 76 and item.toolTip(col) == tip
        assert item.textAlignment(col) == int(Qt.AlignRight | Qt.AlignVCenter)
