"""Where a floating window goes so that it leaves the canvas free, in global coordinates.

:func:`rooms` measures the free columns beside the canvas on the screen: right of the main
window, over the docks right of the canvas, left of the main window, over the docks left of
it. :func:`fit_screen` shrinks a window's first size to the screen, title bar included.
:func:`place_beside` puts a window of a given size in the first room wide enough, in
that order (outside the main window covers nothing of it; then the right docks, since the
left dock holds the concepts a person paints with), with its top level with the canvas's.
When no room is wide enough, the same rooms beside the picture inside the canvas are tried
(a full-screen presentation has no docks, but margins beside the picture), and then it goes
to the main window's right edge, covering as little of the canvas as its width allows.
Plain functions of rectangles, so they are tested without a screen of the right size.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize

GAP = 8  # between the window and the canvas, the main window's edge or the screen's
# what a window manager's title bar and borders may add around a window's inside
FRAME_ALLOWANCE = QSize(16, 56)


@dataclass(frozen=True)
class Room:
    """A free column of the screen: where it starts (``left``) and how wide it is."""

    name: str  # "beside right", "docks right", "beside left", "docks left"
    left: int
    width: int


def rooms(canvas: QRect, window: QRect, screen: QRect) -> list[Room]:
    """The columns beside the canvas, in the order :func:`place_beside` tries them, each
    less a :data:`GAP` on both sides (a width of 0 or less: no room there)."""
    right_edge = min(window.right(), screen.right())
    left_edge = max(window.left(), screen.left())
    spans = (
        ("beside right", window.right() + 1, screen.right()),
        ("docks right", canvas.right() + 1, right_edge),
        ("beside left", screen.left(), window.left() - 1),
        ("docks left", left_edge, canvas.left() - 1),
    )
    return [Room(name, a + GAP, b - a + 1 - 2 * GAP) for name, a, b in spans]


def room_width(least: int, canvas: QRect, window: QRect, screen: QRect) -> int:
    """The width of the first room (in :func:`place_beside`'s order) at least ``least``
    wide; where none is, the widest room's (0 when there is none)."""
    found = rooms(canvas, window, screen)
    first = next((r.width for r in found if r.width >= least), None)
    return first if first is not None else max(0, *(r.width for r in found))


def place_beside(size: QSize, canvas: QRect, window: QRect, screen: QRect,
                 picture: QRect | None = None) -> QPoint:  # fmt: skip
    """Top left for a window of ``size`` beside the canvas, on the screen; where no room
    beside the canvas is wide enough, beside ``picture`` (the image inside the canvas, as
    in a full-screen presentation), else at the main window's right edge."""
    for area in (canvas, picture):
        fits = [r for r in rooms(area, window, screen) if r.width >= size.width()] if area else []
        if fits:
            room = fits[0]
            # against the main window's edge: its right one on the right, its left on the left
            flush_right = room.name in ("docks right", "beside left")
            x = room.left + room.width - size.width() if flush_right else room.left
            return keep_on_screen(QPoint(x, canvas.top()), size, screen)
    x = min(window.right(), screen.right()) - GAP - size.width() + 1
    return keep_on_screen(QPoint(x, canvas.top()), size, screen)


def fit_screen(size: QSize, screen: QRect | None) -> QSize:
    """``size`` for a window's inside, shrunk where needed so that the window, its title
    bar and borders (:data:`FRAME_ALLOWANCE`) included, fits ``screen`` (its available
    area; None: unchanged). Qt keeps a window no smaller than its minimum size."""
    if screen is None:
        return QSize(size)
    return size.boundedTo(screen.size() - FRAME_ALLOWANCE)


def keep_on_screen(top_left: QPoint, size: QSize, screen: QRect) -> QPoint:
    """``top_left`` moved the least that keeps a window of ``size`` on ``screen`` (its top
    left corner wins where the window is larger than the screen)."""
    x = max(screen.left(), min(top_left.x(), screen.right() - size.width() + 1))
    y = max(screen.top(), min(top_left.y(), screen.bottom() - size.height() + 1))
    return QPoint(x, y)
