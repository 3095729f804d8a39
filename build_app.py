#!/usr/bin/env python3
"""Build GANPaint desktop as a standalone folder application with PyInstaller.

    python build_app.py [--check] [--clean] [--fresh-venv] [--onedir OUT]

Steps:

1. check the sources: the default models (``ganpaint/core/defaults.py``; only they ship), the
   icon, the style sheet and the ``.desktop`` template are there;
2. create (or reuse) a dedicated build environment ``build/venv`` with a CPU-only torch
   (``torch==2.13.0``; a CUDA build would add gigabytes of ``nvidia-*`` libraries) and the
   torchvision that matches it (the scene classifier and the picture encoder are torchvision
   networks), numpy,
   pillow, safetensors, PySide6 *Essentials* (the app uses QtCore, QtGui, QtWidgets and QtSvg
   only; the Add-ons wheel with WebEngine, 3D, multimedia, … is never installed), qtawesome
   and PyInstaller. The project itself is frozen straight from this checkout (``pathex``),
   so the build always matches the working tree;
3. write the launcher and the spec (``build/pyinstaller/``) and run PyInstaller: the app's
   data lands at ``ganpaint/data/{resources,models}`` inside the bundle, where
   :mod:`ganpaint.core.paths` looks when frozen (``sys._MEIPASS``), with qtawesome's icon fonts;
   unused Qt modules and torch's C++ test binaries and test libraries stay out; a runtime hook
   (``TORCHVISION_HOOK``) lets torchvision import without its compiled ops, which PyPI's
   wheel links against CUDA torch libraries a CPU torch lacks;
4. move the result to ``dist/ganpaint`` (or ``--onedir OUT``);
5. strip the symbol tables of torch's two big libraries (Linux; ``--no-strip`` keeps them);
6. copy the icon beside the program and, on Linux, write ``ganpaint.desktop`` there
   (``resources/ganpaint.desktop`` with absolute paths to this folder);
7. with ``--check``: run the built program's ``--self-test`` (offscreen: it loads the
   bundled model, paints one stroke in a real main window, waits for the edited frame and
   runs the bundle's scene classifier and picture encoder, torchvision networks, on it),
   ``--version`` and a headless ``render``, in a clean environment.

The build environment is reused while its requirements are unchanged; ``--fresh-venv``
rebuilds it, ``--clean`` also drops PyInstaller's work folder and cache. Build products stay
under ``build/`` and ``dist/``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"
VENV = BUILD / "venv"
WORK = BUILD / "pyinstaller"
DEFAULT_OUT = ROOT / "dist" / "ganpaint"
NAME = "ganpaint"
STAMP = ".ganpaint-build.json"
HOOK_FILE = "ganpaint_torchvision_hook.py"

# CPU-only torch: pip picks the local 2.13.0+cpu wheel here; elsewhere pass --torch with an
# index of CPU wheels (e.g. --extra-index-url https://download.pytorch.org/whl/cpu in PIP_*).
TORCH = "torch==2.13.0"
# Unpinned on purpose: installed in one resolve with TORCH, pip picks the matching release.
TORCHVISION = "torchvision"
REQUIREMENTS = [
    "numpy",
    "pillow",
    "safetensors",
    # PySide6 6.12.0 aborts the app under Python < 3.12 (None refcount bug); see pyproject.
    "pyside6-essentials>=6.5,!=6.12.0",
    "qtawesome",
    "pyinstaller>=6.10",
]

# Python modules the app never imports (PyInstaller would otherwise follow optional imports).
QT_EXCLUDES = [
    "PySide6.Qt3DAnimation",
    "PySide6.Qt3DCore",
    "PySide6.Qt3DExtras",
    "PySide6.Qt3DInput",
    "PySide6.Qt3DLogic",
    "PySide6.Qt3DRender",
    "PySide6.QtAxContainer",
    "PySide6.QtBluetooth",
    "PySide6.QtCharts",
    "PySide6.QtConcurrent",
    "PySide6.QtDataVisualization",
    "PySide6.QtDBus",
    "PySide6.QtDesigner",
    "PySide6.QtGraphs",
    "PySide6.QtGraphsWidgets",
    "PySide6.QtHelp",
    "PySide6.QtHttpServer",
    "PySide6.QtLocation",
    "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets",
    "PySide6.QtNetwork",
    "PySide6.QtNetworkAuth",
    "PySide6.QtNfc",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtPositioning",
    "PySide6.QtPrintSupport",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuick3D",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest",
    "PySide6.QtQuickWidgets",
    "PySide6.QtRemoteObjects",
    "PySide6.QtScxml",
    "PySide6.QtSensors",
    "PySide6.QtSerialBus",
    "PySide6.QtSerialPort",
    "PySide6.QtSpatialAudio",
    "PySide6.QtSql",
    "PySide6.QtStateMachine",
    "PySide6.QtTest",
    "PySide6.QtTextToSpeech",
    "PySide6.QtUiTools",
    "PySide6.QtWebChannel",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebSockets",
    "PySide6.QtWebView",
    "PySide6.QtXml",
]
EXCLUDES = QT_EXCLUDES + [
    "PyQt5",
    "PyQt6",
    "PySide2",
    "qtawesome.icon_browser",
    "tkinter",
    "torchaudio",
    "tensorboard",
    "matplotlib",
    "IPython",
    "pytest",
    "hypothesis",
    "tests",
]
# Files collected by the hooks that the app does not need (patterns on the bundle path).
DROP = [
    "torch/test/*",  # C++ unit-test binaries shipped in the wheel
    "torch/bin/*test*",
    "torch/bin/*Test",
    "torch/bin/protoc*",
    "torch/bin/*.pt",
    "torch/bin/*.ptl",
    "torch/bin/upgrader_models*",
    "torch/lib/*_test.so",
    "torch/lib/libbackend_with_compiler.so",
    "torch/lib/libaoti_custom_ops.so",
    "torch/include/*",
    "torch/share/*",
    # GTK platform theme: the app draws its own Fusion theme, and a host GTK beside the
    # libraries bundled from the build machine is a classic source of crashes.
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
]
# Big libraries whose symbol tables are dead weight (about 90 MB for libtorch_cpu). Only
# torch's own libraries: libraries patched by auditwheel (numpy, Pillow, Qt) can break when
# stripped.
STRIP = ["torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so"]
DATA_SKIP = ["cache", "__pycache__", "*.tmp", ".*"]  # as setup.py: never bundle model caches

LAUNCHER = '''\
"""Entry point of the standalone GANPaint build (written by build_app.py)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ganpaint.main import main

    sys.exit(main())
'''

# Runs in the built program before the app (see its docstring).
TORCHVISION_HOOK = '''\
"""PyInstaller runtime hook (written by build_app.py): torchvision imports without its C ops.

The CPU build pairs a CPU torch with the torchvision wheel from PyPI, whose compiled ops
(``torchvision/_C.so``) link CUDA torch libraries that a CPU torch lacks. torchvision then
carries on without its ops (``extension._has_ops()`` is false), but two of its modules
register kernels for those ops at import and fail ("operator torchvision::nms does not
exist"), so ``import torchvision`` fails. GANPaint uses only ``torchvision.models`` (VGG and
ResNet, plain Python modules): when the ops did not load, those two modules are replaced by
empty ones; when they did, nothing changes.
"""

import importlib.abc
import importlib.util
import sys

_REGISTRATIONS = ("torchvision._meta_registrations", "torchvision._autograd_registrations")


class _NothingToRegister(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name not in _REGISTRATIONS:
            return None
        extension = sys.modules.get("torchvision.extension")
        if extension is None or extension._has_ops():
            return None  # the ops are there: the real module registers their kernels
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__doc__ = "Empty: torchvision's compiled ops could not be loaded."


sys.meta_path.insert(0, _NothingToRegister())
'''

SPEC = '''\
# Written by build_app.py; edit build_app.py instead.
import fnmatch
import json
import sys

from PyInstaller.utils.hooks import collect_data_files

OPTIONS = json.loads(r"""{options}""")


def keep(entry):
    dest = entry[0].replace("\\\\", "/")
    return not any(fnmatch.fnmatch(dest, pattern) for pattern in OPTIONS["drop"])


a = Analysis(
    [OPTIONS["script"]],
    pathex=OPTIONS["pathex"],
    datas=[tuple(d) for d in OPTIONS["datas"]] + collect_data_files("qtawesome"),
    hiddenimports=OPTIONS["hiddenimports"],
    excludes=OPTIONS["excludes"],
    runtime_hooks=OPTIONS["runtime_hooks"],
    noarchive=False,
)
a.binaries = [e for e in a.binaries if keep(e)]
a.datas = [e for e in a.datas if keep(e)]
pyz = PYZ(a.pure)
exe = EXE(
    pyz,
    a.scripts,
    [],
    exclude_binaries=True,
    name=OPTIONS["name"],
    icon=OPTIONS["icon"] if sys.platform in ("win32", "darwin") else None,  # Linux: .desktop
    console=True,
    strip=False,
    upx=False,
)
coll = COLLECT(exe, a.binaries, a.datas, strip=False, upx=False, name=OPTIONS["name"])
'''


# -- what goes into the bundle ----------------------------------------------------------------


def _skipped(path: Path) -> bool:
    return any(fnmatch.fnmatch(part, p) for part in path.parts for p in DATA_SKIP)


def shipped_models(root: Path = ROOT) -> tuple[str, ...]:
    """The folders of ``models/`` the app ships: the default models named in
    ``ganpaint/core/defaults.py`` (read without importing the package, which needs torch)."""
    spec = runpy.run_path(str(root / "ganpaint" / "core" / "defaults.py"))
    return tuple(spec["shipped_models"]())


def data_files(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source file, folder in the bundle) for ``resources/`` and the shipped model bundles
    (:func:`shipped_models`; another folder of ``models/``, such as a model kept while it
    is in training, stays out), placed at ``ganpaint/data/...`` like the wheel does."""
    shipped = shipped_models(root)
    out = []
    for name in ("resources", "models"):
        base = root / name
        if not base.is_dir():
            continue
        for f in sorted(base.rglob("*")):
            rel = f.relative_to(base)
            if name == "models" and rel.parts[0] not in shipped:
                continue
            if f.is_file() and not _skipped(rel):
                dest = Path("ganpaint", "data", name, *rel.parent.parts)
                out.append((str(f), dest.as_posix()))
    return out


def hidden_imports(root: Path = ROOT) -> list[str]:
    """Every module of ``ganpaint``: the CLI finds its subcommands with ``pkgutil`` (which
    PyInstaller cannot follow), and the rest is small."""
    names = []
    for f in sorted((root / "ganpaint").rglob("*.py")):
        rel = f.relative_to(root).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if "__pycache__" not in parts and parts[-1] != "__main__":
            names.append(".".join(parts))
    return names


def app_icon(root: Path = ROOT) -> Path:
    return root / "resources" / "ganpaint.png"


def spec_options(root: Path = ROOT, work: Path = WORK) -> dict:
    """Everything the spec hands to PyInstaller (JSON, so tests can check it)."""
    return {
        "name": NAME,
        "script": str(work / "ganpaint_launcher.py"),
        "pathex": [str(root)],
        "datas": [list(d) for d in data_files(root)],
        "hiddenimports": hidden_imports(root),
        "excludes": list(EXCLUDES),
        "drop": list(DROP),
        "icon": str(app_icon(root)),
        "runtime_hooks": [str(work / HOOK_FILE)],
    }


def render_spec(options: dict) -> str:
    text = json.dumps(options, indent=1)
    if '"""' in text:
        raise ValueError("a path contains three double quotes")
    return SPEC.format(options=text)


def pyinstaller_command(python: Path, spec: Path, dist: Path, work: Path, clean: bool):
    cmd = [str(python), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    cmd += ["--distpath", str(dist), "--workpath", str(work / "work")]
    if clean:
        cmd.append("--clean")
    return [*cmd, str(spec)]


# -- steps ----------------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, flush=True)


def _run(cmd: list[str], **kw) -> None:
    _say("    $ " + " ".join(cmd))
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"build_app: command failed ({proc.returncode}): {cmd[0]} {cmd[1:3]}")


def _clean_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


def check_sources(root: Path = ROOT) -> None:
    missing = [
        p
        for p in ("resources/ganpaint.png", "resources/style.qss", "resources/ganpaint.desktop")
        if not (root / p).is_file()
    ]
    shipped = shipped_models(root)
    missing += [f"models/{m}/bundle.json" for m in shipped
                if not (root / "models" / m / "bundle.json").is_file()]  # fmt: skip
    if missing:
        raise SystemExit(f"build_app: missing from the checkout: {', '.join(missing)}")
    _say(f"    models: {', '.join(shipped)}")
    others = sorted(p.parent.name for p in (root / "models").glob("*/bundle.json")
                    if p.parent.name not in shipped)  # fmt: skip
    if others:
        _say(f"    not shipped (no default names them): {', '.join(others)}")


def _venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(path: Path, torch_spec: str, fresh: bool) -> Path:
    """The build environment, created or reused; returns its Python."""
    python = _venv_python(path)
    wanted = {
        "python": sys.version.split()[0],
        "requirements": [torch_spec, TORCHVISION, *REQUIREMENTS],
    }
    stamp = path / STAMP
    if not fresh and python.is_file() and stamp.is_file():
        try:
            if json.loads(stamp.read_text()) == wanted:
                _say(f"    reusing {path}")
                return python
        except ValueError:
            pass
    _say(f"    creating {path}")
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # torch first and alone: with a CPU torch in place, nothing later pulls a CUDA build.
    # One resolve for both, so pip takes the torchvision built for this torch.
    _run([*pip, torch_spec, TORCHVISION], env=_clean_env())
    _run([*pip, *REQUIREMENTS], env=_clean_env())
    probe = "import torch; print(torch.__version__, torch.version.cuda)"
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=_clean_env()
    )
    version, _, cuda = out.stdout.strip().partition(" ")
    _say(f"    torch {version} (CUDA: {cuda})")
    if cuda not in ("None", ""):
        _say("    WARNING: a CUDA build of torch: the bundle will carry its CUDA libraries")
    _say(f"    torchvision: {torchvision_state(python)}")
    stamp.write_text(json.dumps(wanted, indent=1))
    return python


def torchvision_state(python: Path) -> str:
    """Whether torchvision imports in the build environment, and with its compiled ops (a
    CPU torch with PyPI's CUDA-linked torchvision: without; the runtime hook copes)."""
    probe = "import torchvision as t; print(t.__version__, t.extension._has_ops())"
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=_clean_env()
    )
    if out.returncode == 0:
        version, _, ops = out.stdout.strip().partition(" ")
        return f"{version}, compiled ops {'loaded' if ops == 'True' else 'not loaded'}"
    last = (out.stderr.strip().splitlines() or ["?"])[-1]
    return f"does not import by itself ({last}); the built program imports it without its ops"


def run_pyinstaller(python: Path, root: Path, work: Path, clean: bool) -> Path:
    """Write the launcher and the spec, run PyInstaller; returns the built folder."""
    if clean and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "ganpaint_launcher.py").write_text(LAUNCHER)
    (work / HOOK_FILE).write_text(TORCHVISION_HOOK)
    spec = work / f"{NAME}.spec"
    spec.write_text(render_spec(spec_options(root, work)))
    dist = work / "dist"
    config = work / "config"  # PyInstaller's cache stays in the build folder
    cmd = pyinstaller_command(python, spec, dist, work, clean)
    _run(cmd, cwd=work, env=_clean_env(PYINSTALLER_CONFIG_DIR=str(config)))
    built = dist / NAME
    if not (built / NAME).exists() and not (built / f"{NAME}.exe").exists():
        raise SystemExit(f"build_app: PyInstaller made no program in {built}")
    return built


def place_output(built: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(built), str(out))


def strip_libraries(out: Path, names: list[str] = STRIP) -> int:
    """Strip the symbol tables of ``names`` (paths in the bundle); returns bytes saved."""
    strip = shutil.which("strip")
    internal = out / "_internal"
    if strip is None or not sys.platform.startswith("linux"):
        _say("    skipped (Linux with binutils' strip only)")
        return 0
    saved = 0
    for name in names:
        lib = internal / name
        if not lib.is_file():
            continue
        before = lib.stat().st_size
        proc = subprocess.run([strip, "--strip-unneeded", str(lib)], capture_output=True)
        if proc.returncode != 0:
            _say(f"    could not strip {name}: {proc.stderr.decode(errors='replace').strip()}")
            continue
        saved += before - lib.stat().st_size
        _say(f"    {name}: {before / 2**20:.0f} -> {lib.stat().st_size / 2**20:.0f} MiB")
    return saved


def _desktop_quote(path: Path) -> str:
    text = str(path)
    if not any(c in text for c in ' \t"`$\\'):
        return text
    for c in '\\"`$':
        text = text.replace(c, "\\" + c)
    return f'"{text}"'


def desktop_entry(template: str, program: Path, icon: Path) -> str:
    """The template with Exec/TryExec/Icon pointing into the built folder."""
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "Exec":
            line = f"Exec={_desktop_quote(program)}"
        elif key == "TryExec":
            line = f"TryExec={program}"
        elif key == "Icon":
            line = f"Icon={icon}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install_desktop_files(root: Path, out: Path) -> list[Path]:
    """Copy the icons beside the program; on Linux write ``ganpaint.desktop`` for it."""
    written = []
    for name in ("ganpaint.png", "ganpaint.svg"):
        if (root / "resources" / name).is_file():
            shutil.copy2(root / "resources" / name, out / name)
            written.append(out / name)
    if sys.platform.startswith("linux"):
        template = (root / "resources" / "ganpaint.desktop").read_text(encoding="utf-8")
        entry = out / "ganpaint.desktop"
        entry.write_text(desktop_entry(template, out / NAME, out / "ganpaint.png"))
        entry.chmod(0o755)
        written.append(entry)
    return written


def folder_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def _du(path: Path) -> str:
    if shutil.which("du") is None:
        return ""
    out = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True)
    return out.stdout.split("\t")[0].strip() if out.returncode == 0 else ""


def missing_networks(self_test_line: str, root: Path = ROOT) -> list[str]:
    """The torchvision networks of the bundled model (scene classifier, picture encoder)
    that a self-test line does not report as run: the frozen app must import torchvision."""
    model = root / "models" / "scenes128"
    expected = {"classifier": "classifier reads ", "encoder": "encoder gives "}
    return [
        name
        for name, phrase in expected.items()
        if (model / f"{name}.safetensors").is_file() and phrase not in self_test_line
    ]


def check_build(out: Path) -> None:
    """Run the built program's self-test, ``--version`` and a headless render."""
    program = out / (f"{NAME}.exe" if os.name == "nt" else NAME)
    with tempfile.TemporaryDirectory(prefix="ganpaint-check-") as tmp:
        home = Path(tmp)
        env = _clean_env(
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_DATA_HOME=str(home / "data"),
            XDG_CACHE_HOME=str(home / "cache"),
            GANPAINT_DATA_DIR=str(home / "ganpaint"),
        )
        for key in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(key, None)  # the self-test must choose offscreen by itself

        def run(*args: str) -> subprocess.CompletedProcess:
            _say(f"    $ {program} {' '.join(args)}")
            t = time.perf_counter()
            proc = subprocess.run(
                [str(program), *args], cwd=tmp, env=env, capture_output=True, text=True,
                timeout=900,
            )  # fmt: skip
            for line in (proc.stdout + proc.stderr).splitlines():
                _say(f"      {line}")
            _say(f"      (exit {proc.returncode}, {time.perf_counter() - t:.1f} s)")
            if proc.returncode != 0:
                raise SystemExit(f"build_app: check failed: {program.name} {' '.join(args)}")
            return proc

        proc = run("--self-test")
        line = next((x for x in proc.stdout.splitlines() if x.startswith("self-test: ok")), "")
        if not line:
            raise SystemExit("build_app: check failed: the self-test printed no result")
        if str(out.resolve()) not in line:
            raise SystemExit("build_app: check failed: the model did not come from the bundle")
        for missing in missing_networks(line):
            raise SystemExit(f"build_app: check failed: the self-test did not run the {missing}")
        version = run("--version").stdout.strip()
        if not version.startswith("ganpaint "):
            raise SystemExit(f"build_app: check failed: --version printed {version!r}")
        image = home / "scene.png"
        run("render", "--seed", "3", "--device", "cpu", "-o", str(image))
        if not image.is_file() or image.stat().st_size == 0:
            raise SystemExit("build_app: check failed: render wrote no image")


# -- command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python build_app.py",
        description="Build GANPaint desktop as a standalone folder application (PyInstaller).",
    )
    parser.add_argument(
        "--check", action="store_true", help="run the built program's self-test after building"
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="drop PyInstaller's work folder and cache first (the build venv is kept)",
    )
    parser.add_argument(
        "--fresh-venv", action="store_true", help=f"recreate the build environment ({VENV})"
    )
    parser.add_argument(
        "--onedir",
        metavar="OUT",
        type=Path,
        default=DEFAULT_OUT,
        help=f"the output folder (default: {DEFAULT_OUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--no-strip", action="store_true", help="keep the symbol tables of torch's libraries"
    )
    parser.add_argument(
        "--venv", type=Path, default=VENV, help="the build environment (default: build/venv)"
    )
    parser.add_argument(
        "--torch",
        default=TORCH,
        metavar="SPEC",
        help=f"pip requirement for torch in the build environment (default: {TORCH})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = args.onedir.resolve()
    if out in (ROOT, ROOT.parent) or ROOT.is_relative_to(out):
        raise SystemExit(f"build_app: refusing to replace {out}")
    start = time.perf_counter()
    total = 7 if args.check else 6

    def step(n: int, title: str, fn):
        _say(f"[{n}/{total}] {title}")
        t = time.perf_counter()
        result = fn()
        _say(f"    done in {time.perf_counter() - t:.1f} s")
        return result

    step(1, "check the sources", lambda: check_sources(ROOT))
    python = step(
        2, "build environment", lambda: ensure_venv(args.venv, args.torch, args.fresh_venv)
    )
    built = step(3, "PyInstaller", lambda: run_pyinstaller(python, ROOT, WORK, args.clean))
    step(4, f"output folder {out}", lambda: place_output(built, out))
    step(5, "strip torch's libraries", lambda: args.no_strip or strip_libraries(out))
    files = step(6, "desktop entry and icon", lambda: install_desktop_files(ROOT, out))
    for f in files:
        _say(f"    {f}")
    if args.check:
        step(7, "check: run the built program", lambda: check_build(out))
    size = folder_size(out)
    du = _du(out)
    _say(f"bundle: {out} {size / 2**20:.0f} MiB" + (f" (du -sh: {du})" if du else ""))
    _say(f"program: {out / NAME}")
    _say(f"total time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
