"""The look: a dark Fusion palette, the style sheet from ``resources/style.qss`` and icons.

:func:`icon` gives qtawesome icons in the theme's colours (normal, active, disabled);
:func:`concept_icon` draws a concept's icon on its colour swatch; :func:`number_columns`
lays out the header of a tree of named rows with figures. The app icon and the style
sheet live in ``resources/`` beside the package; if that folder is missing (an unusual
install) the palette alone still gives a usable dark theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QHeaderView, QProxyStyle, QStyle, QTreeWidget

from ganpaint.core.paths import resources_dir

RESOURCES = resources_dir()
ACCENT = "#4f9dff"
REMOVE = "#ef6f5b"
TEXT = "#d7dae0"
TEXT_DIM = "#8b9099"
WINDOW = "#1f2125"
PANEL = "#26292e"
BASE = "#17181b"
HEAT_COLORS = ((0, 0, 0, 0), (80, 20, 140, 120), (230, 70, 60, 190), (255, 220, 90, 235))


def resource(name: str) -> Path:
    return RESOURCES / name


DISABLED_ICON = "#555a63"


class JumpingSliders(QProxyStyle):
    """Fusion, except that a click on a slider's groove moves the handle there (as in paint
    programs) instead of stepping a page towards the click, and that a toolbar's overflow
    arrow shows on the dark theme (Fusion's is dark grey: a toolbar too narrow for its
    buttons seemed to end at the last one that fitted)."""

    def styleHint(self, hint, option=None, widget=None, returnData=None) -> int:
        if hint == QStyle.SH_Slider_AbsoluteSetButtons:
            return int(Qt.LeftButton.value)
        return super().styleHint(hint, option, widget, returnData)

    def pixelMetric(self, metric, option=None, widget=None) -> int:  # noqa: N802
        if metric == QStyle.PM_ToolBarExtensionExtent:
            return 22  # room for the arrow to be seen (Fusion: 12)
        return super().pixelMetric(metric, option, widget)

    def standardIcon(self, standard, option=None, widget=None) -> QIcon:  # noqa: N802
        if standard == QStyle.SP_ToolBarHorizontalExtensionButton:
            return icon("mdi.chevron-double-right")
        if standard == QStyle.SP_ToolBarVerticalExtensionButton:
            return icon("mdi.chevron-double-down")
        return super().standardIcon(standard, option, widget)


def apply_theme(app: QApplication) -> None:
    """Fusion style, dark palette, the style sheet and the app icon."""
    app.setStyle(JumpingSliders("Fusion"))
    p = QPalette()
    roles = {
        QPalette.Window: WINDOW,
        QPalette.WindowText: TEXT,
        QPalette.Base: BASE,
        QPalette.AlternateBase: PANEL,
        QPalette.ToolTipBase: "#2d3036",
        QPalette.ToolTipText: TEXT,
        QPalette.Text: TEXT,
        QPalette.Button: PANEL,
        QPalette.ButtonText: TEXT,
        QPalette.BrightText: "#ffffff",
        QPalette.Highlight: ACCENT,
        QPalette.HighlightedText: "#0d1117",
        QPalette.Link: ACCENT,
        QPalette.PlaceholderText: TEXT_DIM,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor("#5c616b"))
    app.setPalette(p)
    qss = resource("style.qss")
    if qss.is_file():
        folder = qss.parent.as_posix()
        app.setStyleSheet(qss.read_text(encoding="utf-8").replace("$RESOURCES", folder))
    app_icon = app_icon_path()
    if app_icon is not None:
        app.setWindowIcon(QIcon(str(app_icon)))


def app_icon_path() -> Path | None:
    for name in ("ganpaint.svg", "ganpaint.png"):
        if resource(name).is_file():
            return resource(name)
    return None


def icon(name: str, color: str = TEXT, active: str | None = None) -> QIcon:
    """An icon-font glyph in theme colours; an empty icon if the name is unknown. The fonts
    the app uses are drawn directly (:mod:`glyphs`); other prefixes go through qtawesome."""
    from ganpaint.app.views.glyphs import glyph_icon

    drawn = glyph_icon(name, color, active or "#ffffff", DISABLED_ICON, ACCENT)
    if drawn is not None:
        return drawn
    import qtawesome as qta

    try:
        return qta.icon(
            name,
            color=color,
            color_active=active or "#ffffff",
            color_disabled=DISABLED_ICON,
            color_on=ACCENT,
            color_on_active=ACCENT,
        )
    except Exception:  # noqa: BLE001 - an icon font without that glyph
        return QIcon()


@lru_cache(maxsize=256)
def concept_pixmap(icon_name: str, color: str, size: int = 28, dpr: float = 2.0) -> QPixmap:
    """The concept's icon in dark ink on a rounded swatch of its colour."""
    pm = QPixmap(int(size * dpr), int(size * dpr))
    pm.setDevicePixelRatio(dpr)
    pm.fill(Qt.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0.5, 0.5, size - 1, size - 1), size * 0.28, size * 0.28)
    painter.fillPath(path, QColor(color))
    glyph = icon(icon_name, "#15171a").pixmap(QSize(int(size * 0.62), int(size * 0.62)), dpr)
    glyph.setDevicePixelRatio(dpr)
    offset = size * 0.19
    painter.drawPixmap(int(offset), int(offset), glyph)
    painter.end()
    return pm


def concept_icon(icon_name: str, color: str) -> QIcon:
    return QIcon(concept_pixmap(icon_name, color))


def swatch_pixmap(color: str, size: int = 12) -> QPixmap:
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.transparent)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(QColor(0, 0, 0, 90))
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    painter.end()
    return pm


def number_columns(
    tree: QTreeWidget, name: str, numbers: Sequence[tuple[str, str]], width: int
) -> None:
    """The header of a tree of named rows with figures: the ``name`` column stretches, each
    number column (title, tooltip) is ``width`` px wide with its title right-aligned."""
    tree.setHeaderLabels([name, *(title for title, _ in numbers)])
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.Stretch)
    item = tree.headerItem()
    for col, (_, tip) in enumerate(numbers, start=1):
        header.setSectionResizeMode(col, QHeaderView.Fixed)
        header.resizeSection(col, width)
        item.setTextAlignment(col, Qt.AlignRight | Qt.AlignVCenter)
        item.setToolTip(col, tip)
