"""Before Qt starts on Linux: the system libraries its X11 (xcb) platform plugin needs.

Qt 6.5+ aborts with a long, cryptic "could not load the Qt platform plugin xcb" when
``libxcb-cursor0`` is missing (Debian and Ubuntu do not install it with X). The app checks
first and says which package to install instead.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping

# (library soname, Debian/Ubuntu package, Fedora package) Qt's xcb plugin loads at start.
XCB_LIBRARIES = (("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),)


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will pick its X11 (xcb) plugin: Linux, not offscreen, not Wayland."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    # Qt prefers Wayland when a Wayland session is running, else xcb.
    return not env.get("WAYLAND_DISPLAY")


def missing_qt_libraries(
    env: Mapping[str, str], platform: str = sys.platform, loadable: Callable = _loadable
) -> str | None:
    """A message naming the packages to install, or None when nothing is missing."""
    if not uses_xcb(env, platform):
        return None
    missing = [(deb, rpm, so) for so, deb, rpm in XCB_LIBRARIES if not loadable(so)]
    if not missing:
        return None
    names = ", ".join(so for _, _, so in missing)
    debs = " ".join(deb for deb, _, _ in missing)
    rpms = " ".join(rpm for _, rpm, _ in missing)
    return (
        f"GANPaint cannot start its window: Qt's X11 plugin needs {names}, which is not "
        f"installed.\nInstall it with:  sudo apt install {debs}   (Debian, Ubuntu)\n"
        f"                or:  sudo dnf install {rpms}   (Fedora)\n"
        "Scripts without a display can set QT_QPA_PLATFORM=offscreen instead."
    )
