"""build_app.py: what it hands to PyInstaller (fast, no build) and, with
``GANPAINT_TEST_BUILD=1``, a full standalone build with the built program's self-test."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_build_app():
    spec = importlib.util.spec_from_file_location("build_app", ROOT / "build_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_app = _load_build_app()


def _has_model() -> bool:
    return (ROOT / "models" / "scenes128" / "bundle.json").is_file()


def test_help():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "build_app.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for option in ("--check", "--clean", "--onedir"):
        assert option in proc.stdout


def test_data_lands_where_ganpaint_paths_looks(tmp_path):
    opts = build_app.spec_options(ROOT, tmp_path)
    datas = {(Path(src).relative_to(ROOT).as_posix(), dest) for src, dest in opts["datas"]}
    for name in ("style.qss", "ganpaint.png", "ganpaint.svg"):
        assert (f"resources/{name}", "ganpaint/data/resources") in datas
    if _has_model():
        for name in ("bundle.json", "generator.safetensors"):
            assert (f"models/scenes128/{name}", "ganpaint/data/models/scenes128") in datas
    assert all(Path(src).is_file() for src, _ in opts["datas"])
    assert Path(opts["icon"]) == ROOT / "resources" / "ganpaint.png"
    assert Path(opts["icon"]).is_file()
    assert opts["pathex"] == [str(ROOT)]  # the checkout itself is frozen
    assert Path(opts["script"]).parent == tmp_path


def _checkout_with_defaults(root: Path) -> str:
    """``root`` as a checkout whose ``ganpaint/core/defaults.py`` is the real one; returns
    the name of the one model it ships."""
    (root / "ganpaint" / "core").mkdir(parents=True)
    shutil.copy(ROOT / "ganpaint" / "core" / "defaults.py", root / "ganpaint" / "core")
    (shipped,) = build_app.shipped_models(root)
    return shipped


def test_caches_and_hidden_files_stay_out(tmp_path):
    name = _checkout_with_defaults(tmp_path)
    model = tmp_path / "models" / name
    (model / "cache").mkdir(parents=True)
    (model / "bundle.json").write_text("{}")
    (model / "cache" / "stats.npz").write_bytes(b"x")
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "style.qss").write_text("")
    (tmp_path / "resources" / ".DS_Store").write_text("")
    got = sorted(
        (Path(s).relative_to(tmp_path).as_posix(), d) for s, d in build_app.data_files(tmp_path)
    )
    assert got == [
        (f"models/{name}/bundle.json", f"ganpaint/data/models/{name}"),
        ("resources/style.qss", "ganpaint/data/resources"),
    ]


def test_only_the_default_models_ship(tmp_path, capsys):
    from ganpaint.core.defaults import DEFAULT_MODELS

    name = _checkout_with_defaults(tmp_path)
    assert name in DEFAULT_MODELS.values()
    for folder in (name, "in-training"):  # e.g. a 256 px model kept from a GPU window
        (tmp_path / "models" / folder).mkdir(parents=True)
        (tmp_path / "models" / folder / "bundle.json").write_text("{}")
    got = {Path(s).relative_to(tmp_path).parts[1] for s, _ in build_app.data_files(tmp_path)}
    assert got == {name}
    for f in ("resources/ganpaint.png", "resources/style.qss", "resources/ganpaint.desktop"):
        (tmp_path / f).parent.mkdir(exist_ok=True)
        (tmp_path / f).write_text("")
    build_app.check_sources(tmp_path)
    assert "not shipped (no default names them): in-training" in capsys.readouterr().out
    (tmp_path / "models" / name / "bundle.json").unlink()
    with pytest.raises(SystemExit, match=f"models/{name}/bundle.json"):
        build_app.check_sources(tmp_path)


def test_hidden_imports_cover_every_subcommand(tmp_path):
    hidden = set(build_app.spec_options(ROOT, tmp_path)["hiddenimports"])
    assert {"ganpaint", "ganpaint.cli", "ganpaint.app", "ganpaint.core.paths"} <= hidden
    commands = {f"ganpaint.cli.{p.stem}" for p in (ROOT / "ganpaint" / "cli").glob("*_cmd.py")}
    assert commands and commands <= hidden
    assert "ganpaint.__main__" not in hidden
    assert not any("__pycache__" in h for h in hidden)


def test_unused_qt_is_excluded_and_torchvision_kept(tmp_path):
    excludes = set(build_app.spec_options(ROOT, tmp_path)["excludes"])
    for name in ("QtWebEngineCore", "Qt3DCore", "QtQuick", "QtQml", "QtPdf", "QtMultimedia"):
        assert f"PySide6.{name}" in excludes
    # The scene classifier and the picture encoder are torchvision networks.
    assert "torchvision" not in excludes
    used = {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg"}
    assert not used & excludes


def test_spec_carries_the_options(tmp_path):
    opts = build_app.spec_options(ROOT, tmp_path)
    text = build_app.render_spec(opts)
    tree = ast.parse(text)
    literal = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and '"datas"' in node.value
    )
    assert json.loads(literal) == opts
    assert 'collect_data_files("qtawesome")' in text  # the icon fonts
    for call in ("Analysis(", "PYZ(", "EXE(", "COLLECT("):
        assert call in text


def _fake_torchvision(folder: Path) -> None:
    """A torchvision whose op registrations fail as the real one's do when its compiled ops
    did not load; ``FAKE_OPS=1`` says they loaded."""
    pkg = folder / "torchvision"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from . import extension\n"
        "from torchvision import _autograd_registrations, _meta_registrations, models\n"
    )
    (pkg / "extension.py").write_text(
        "import os\n\ndef _has_ops():\n    return os.environ.get('FAKE_OPS') == '1'\n"
    )
    for name in ("_meta_registrations", "_autograd_registrations"):
        (pkg / f"{name}.py").write_text(
            "raise RuntimeError('operator torchvision::nms does not exist')\n"
        )
    (pkg / "models.py").write_text("VGG = 'vgg'\n")


@pytest.mark.parametrize("ops", ["0", "1"])
def test_torchvision_hook_lets_it_import_without_its_ops(tmp_path, ops):
    _fake_torchvision(tmp_path)
    hook = tmp_path / build_app.HOOK_FILE
    hook.write_text(build_app.TORCHVISION_HOOK)
    code = f"exec(open({str(hook)!r}).read()); from torchvision.models import VGG; print(VGG)"
    env = {**os.environ, "FAKE_OPS": ops, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    if ops == "0":  # no ops: the registrations are skipped, the models import
        assert proc.returncode == 0 and proc.stdout.strip() == "vgg", proc.stderr
    else:  # ops loaded: the real registrations run (here they fail, as the fake says)
        assert proc.returncode != 0 and "torchvision::nms" in proc.stderr


def test_the_spec_runs_the_torchvision_hook(tmp_path):
    opts = build_app.spec_options(ROOT, tmp_path)
    assert opts["runtime_hooks"] == [str(tmp_path / build_app.HOOK_FILE)]
    assert 'runtime_hooks=OPTIONS["runtime_hooks"]' in build_app.render_spec(opts)


def test_the_build_check_wants_the_networks_run(tmp_path):
    model = tmp_path / "models" / "scenes128"
    model.mkdir(parents=True)
    line = "self-test: ok: ..., classifier reads 'forest', encoder gives a z of 512 values"
    assert build_app.missing_networks("self-test: ok", tmp_path) == []  # none in the model
    (model / "classifier.safetensors").write_bytes(b"x")
    (model / "encoder.safetensors").write_bytes(b"x")
    assert build_app.missing_networks("self-test: ok", tmp_path) == ["classifier", "encoder"]
    assert build_app.missing_networks(line, tmp_path) == []


def test_pyinstaller_command(tmp_path):
    cmd = build_app.pyinstaller_command(
        Path("py"), tmp_path / "g.spec", tmp_path / "dist", tmp_path, clean=True
    )
    assert cmd[:3] == ["py", "-m", "PyInstaller"]
    assert "--noconfirm" in cmd and "--clean" in cmd and cmd[-1] == str(tmp_path / "g.spec")
    assert cmd[cmd.index("--distpath") + 1] == str(tmp_path / "dist")
    cmd = build_app.pyinstaller_command(Path("py"), tmp_path / "g.spec", tmp_path, tmp_path, False)
    assert "--clean" not in cmd


def _desktop(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return dict(parser["Desktop Entry"])


def test_desktop_entry():
    template = (ROOT / "resources" / "ganpaint.desktop").read_text(encoding="utf-8")
    entry = _desktop(template)
    assert entry["Type"] == "Application" and entry["Name"] == "GANPaint"
    assert entry["Exec"] == "ganpaint" and entry["Icon"] == "ganpaint"
    built = _desktop(
        build_app.desktop_entry(template, Path("/opt/My Apps/ganpaint"), Path("/opt/i.png"))
    )
    assert built["Exec"] == '"/opt/My Apps/ganpaint"'
    assert built["TryExec"] == "/opt/My Apps/ganpaint"
    assert built["Icon"] == "/opt/i.png"
    assert built["Categories"] == entry["Categories"]


def test_refuses_to_replace_the_checkout():
    with pytest.raises(SystemExit, match="refusing"):
        build_app.main(["--onedir", str(ROOT)])


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("GANPAINT_TEST_BUILD") != "1",
    reason="the full build takes minutes; set GANPAINT_TEST_BUILD=1",
)
def test_full_build_passes_its_self_test(tmp_path):
    if not _has_model():
        pytest.skip("the bundled model is not in this checkout")
    out = tmp_path / "ganpaint"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "build_app.py"), "--check", "--onedir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "self-test: ok" in proc.stdout
    assert (out / "_internal" / "ganpaint" / "data" / "models" / "scenes128").is_dir()
    assert (out / "ganpaint.desktop").is_file() or not sys.platform.startswith("linux")
