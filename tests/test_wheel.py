"""The wheel installs into a fresh virtual environment and runs on the bundled model.

The new environment reuses this environment's packages (torch and the rest) through a
``.pth`` file, so the test needs no network and installs only the wheel itself.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def test_wheel_installs_and_renders(tmp_path):
    if not (ROOT / "models" / "scenes128" / "bundle.json").is_file():
        pytest.skip("the bundled model is not in this checkout")
    wheels = tmp_path / "wheels"
    proc = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
        ]
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = wheels.glob("ganpaint-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    (Path(purelib.stdout.strip()) / "reuse_host.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if "site-packages" in p) + "\n"
    )
    proc = _run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)]
    )
    assert proc.returncode == 0, proc.stderr

    exe = env_dir / "bin" / "ganpaint"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _run([str(exe), "--version"], cwd=tmp_path, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("ganpaint "), proc.stderr
    out = tmp_path / "scene.png"
    proc = _run(
        [str(exe), "render", "--seed", "3", "--device", "cpu", "-o", str(out)],
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    # the installed copy, not the checkout, served the model
    where = _run(
        [str(py), "-c", "import ganpaint.core.paths as p; print(p.models_dir())"],
        cwd=tmp_path,
        env=env,
    )
    assert str(env_dir) in where.stdout, where.stdout
    from PIL import Image

    assert Image.open(out).size == (128, 128)
