"""Icons drawn from the icon fonts that ship with qtawesome, without importing qtawesome.

Importing qtawesome (and the qtpy layer under it) costs 0.3–0.8 s of start-up on a small CPU;
the app needs only glyphs of three fonts (Material Design Icons 5 and 6, Font Awesome 5
solid). :func:`glyph_icon` reads the font and its name-to-codepoint map from qtawesome's
folder and paints the glyph like qtawesome does (the glyph at 7/8 of the icon's height,
centred), in one colour per mode and state. Other prefixes return None (the caller falls
back to qtawesome).
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QIconEngine, QPainter, QPixmap

# prefix -> the name of its font in qtawesome's fonts folder, where each font is a pair
# "<name>-<version>.ttf" and "<name>-charmap-<version>.json"; the version is whatever the
# installed qtawesome ships (it moves with qtawesome releases), so it is looked up, not named.
FONTS = {
    "mdi": "materialdesignicons5-webfont",
    "mdi6": "materialdesignicons6-webfont",
    "fa5s": "fontawesome5-solid-webfont",
}
GLYPH_SCALE = 0.875  # of the icon height, as qtawesome draws (room for the font's bearing)


@lru_cache(maxsize=1)
def _fonts_folder() -> Path | None:
    spec = importlib.util.find_spec("qtawesome")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    return folder if folder.is_dir() else None


def _version(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def font_files(folder: Path, name: str) -> tuple[Path, Path] | None:
    """(font file, charmap file) of font ``name`` in ``folder``: the newest version that has
    both; None when there is none."""
    found = []
    for ttf in folder.glob(f"{name}-*.ttf"):
        version = _version(ttf.stem[len(name) + 1 :])
        charmap = folder / f"{name}-charmap-{ttf.stem[len(name) + 1 :]}.json"
        if version is not None and charmap.is_file():
            found.append((version, ttf, charmap))
    return max(found)[1:] if found else None


@lru_cache(maxsize=8)
def _font(prefix: str) -> tuple[str, dict[str, int]] | None:
    """(font family, name -> codepoint) for ``prefix``; None when it cannot be loaded."""
    folder = _fonts_folder()
    files = font_files(folder, FONTS[prefix]) if prefix in FONTS and folder else None
    if files is None:
        return None
    ttf, charmap = files
    font_id = QFontDatabase.addApplicationFont(str(ttf))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        return None
    codes = json.loads(charmap.read_text(encoding="utf-8"))
    return families[0], {k: int(v, 16) for k, v in codes.items()}


class GlyphEngine(QIconEngine):
    """Paints one glyph; ``colors`` maps (mode, state) to a colour (fallback: normal, off)."""

    def __init__(self, family: str, char: str, colors: dict):
        super().__init__()
        self.family, self.char, self.colors = family, char, colors

    def paint(self, painter: QPainter, rect: QRect, mode, state) -> None:
        color = self.colors.get((mode, state)) or self.colors[(QIcon.Normal, QIcon.Off)]
        font = QFont(self.family)
        font.setPixelSize(max(1, round(GLYPH_SCALE * rect.height())))
        painter.save()
        painter.setFont(font)
        painter.setPen(QColor(color))
        painter.drawText(rect, int(Qt.AlignCenter), self.char)
        painter.restore()

    def pixmap(self, size: QSize, mode, state) -> QPixmap:
        pm = QPixmap(size)
        pm.fill(Qt.transparent)
        painter = QPainter(pm)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pm

    def clone(self) -> QIconEngine:
        return GlyphEngine(self.family, self.char, dict(self.colors))


def glyph_icon(name: str, normal: str, active: str, disabled: str, on: str) -> QIcon | None:
    """The icon ``prefix.name`` in these colours, an empty icon for an unknown name of a
    known font, or None when the prefix is not one of :data:`FONTS`."""
    prefix, _, glyph = name.partition(".")
    font = _font(prefix)
    if font is None:
        return None
    family, codes = font
    if glyph not in codes:
        return QIcon()
    colors = {
        (QIcon.Normal, QIcon.Off): normal,
        (QIcon.Active, QIcon.Off): active,
        (QIcon.Selected, QIcon.Off): active,
        (QIcon.Disabled, QIcon.Off): disabled,
        (QIcon.Normal, QIcon.On): on,
        (QIcon.Active, QIcon.On): on,
        (QIcon.Selected, QIcon.On): on,
        (QIcon.Disabled, QIcon.On): disabled,
    }
    return QIcon(GlyphEngine(family, chr(codes[glyph]), colors))
