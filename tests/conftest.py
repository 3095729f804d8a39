"""Shared fixtures for the app tests: a tiny random-weight bundle with a synthetic
dissection, a bare generator file without one, and a factory for main windows whose
settings, autosaves and data live in temporary folders (never the user's real files).

Qt runs offscreen; the platform must be chosen before Qt is imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

TINY_WIDTHS = (32, 32, 16, 16, 8)  # 64 px, layer4 = 32 units at 8x8


@pytest.fixture(autouse=True)
def _denormals_restored():
    """A GAN trainer on the CPU flushes denormal floats for the whole process (a speed
    setting, :func:`ganpaint.train.device.setup_backend`); later tests, Hypothesis's float
    strategies among them, must see the processor's usual state again."""
    yield
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def demo_bundle(tmp_path_factory) -> Path:
    """A 64 px bundle (layers 4 and 6) with a synthetic dissection of the scene concepts."""
    import torch

    from ganpaint.devtools.demo_bundle import make_demo_bundle

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return make_demo_bundle(tmp_path_factory.mktemp("bundle") / "demo", TINY_WIDTHS, z_dim=32)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def bundle_copy(demo_bundle, tmp_path):
    """``bundle_copy(name, change)``: a copy of the demo bundle whose dissection document
    ``change(doc)`` edits in place (written through the schema, hashes refreshed)."""
    import shutil

    from ganpaint.dissect.pipeline import write_dissection
    from ganpaint.models import load_bundle

    def make(name: str, change) -> Path:
        folder = tmp_path / name
        shutil.copytree(demo_bundle, folder)
        bundle = load_bundle(folder)
        doc = bundle.dissection.to_dict()
        change(doc)
        write_dissection(bundle, doc)
        return folder

    return make


@pytest.fixture(scope="session")
def bare_generator(tmp_path_factory) -> Path:
    """A 32 px generator file with no bundle.json and no dissection."""
    import torch

    from ganpaint.models import ProGANGenerator, save_generator

    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("bare") / "bare.safetensors"
    save_generator(ProGANGenerator([16, 16, 8, 8], z_dim=16), path)
    return path


@pytest.fixture
def app_settings(tmp_path, monkeypatch):
    """QSettings in a temp file; autosaves and QStandardPaths data in temp folders."""
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("GANPAINT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("GANPAINT_RESTORE", raising=False)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def make_window(qtbot, app_settings, tmp_path, demo_bundle):
    """``make_window(model=demo_bundle, wait=True, **create_window_kwargs)`` -> MainWindow,
    shown, with its first frame rendered when ``wait``; closed at teardown."""
    import torch

    from ganpaint.app import create_window

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models; one thread avoids contention on small machines

    def make(model=demo_bundle, wait=True, **kw):
        kw.setdefault("settings", app_settings)
        kw.setdefault("restore", False)
        kw.setdefault("seed", 7)
        kw.setdefault("data_dir", tmp_path / "data")
        window = create_window(model=model, **kw)
        qtbot.addWidget(window)
        window.prompts.answers["save_changes"] = "discard"
        window.resize(1100, 760)
        window.show()
        if wait:
            qtbot.waitUntil(lambda: window.frames.frames > 0, timeout=20_000)
        return window

    yield make
    torch.set_num_threads(threads)


def wait_for_frame(qtbot, window, timeout: int = 10_000) -> None:
    """Wait until the frame on screen is the document's current revision."""
    qtbot.waitUntil(
        lambda: window.frames.shown_revision == window.document.revision, timeout=timeout
    )


@pytest.fixture
def frame_waiter(qtbot):
    return lambda window, timeout=10_000: wait_for_frame(qtbot, window, timeout)


QT_FIXTURES = frozenset({"qtbot", "qapp", "app_settings"})


def pytest_collection_modifyitems(items):
    """Mark every test that needs Qt (a Qt fixture, directly or through another fixture) as
    ``gui``, so ``-m "not gui"`` runs the headless tests only; a test that starts Qt some
    other way carries ``@pytest.mark.gui`` itself."""
    for item in items:
        if QT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)
