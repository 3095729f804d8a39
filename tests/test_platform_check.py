"""The check before Qt starts on Linux: a missing libxcb-cursor0 gets a message naming the
package, not Qt's abort."""

from __future__ import annotations

from ganpaint.app.state import platform_check
from ganpaint.app.state.platform_check import missing_qt_libraries, uses_xcb


def test_which_platforms_use_xcb():
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert not uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({}, "darwin") and not uses_xcb({}, "win32")


def test_missing_library_names_the_package():
    msg = missing_qt_libraries({"DISPLAY": ":0"}, "linux", loadable=lambda so: False)
    assert "libxcb-cursor.so.0" in msg and "sudo apt install libxcb-cursor0" in msg
    assert "xcb-util-cursor" in msg and "QT_QPA_PLATFORM=offscreen" in msg
    assert missing_qt_libraries({"DISPLAY": ":0"}, "linux", loadable=lambda so: True) is None
    assert missing_qt_libraries({}, "win32", loadable=lambda so: False) is None


def test_this_machine_has_it_or_says_so():
    """The real loader agrees with ctypes here (the test machine has libxcb-cursor0)."""
    found = platform_check._loadable("libxcb-cursor.so.0")
    msg = missing_qt_libraries({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert (msg is None) == found
    assert not platform_check._loadable("libganpaint-no-such-library.so.9")


def test_run_app_stops_with_the_message(monkeypatch, capsys):
    from ganpaint.app.views import launch

    monkeypatch.setattr(platform_check, "missing_qt_libraries", lambda env: "install it")
    monkeypatch.setattr(launch, "application", lambda: (_ for _ in ()).throw(AssertionError))
    assert launch.run_app() == 1
    assert "install it" in capsys.readouterr().err
