"""Size budgets of the repository itself: the bundled models stay within the house rule
(``models/`` <= 40 MB) with room for the 256 px run's kept bundle, and the tracked files
stay small enough that the repository with the run's carried state (whole before the
bundle is kept, thinned after) still fits the 64 MiB a GPU window is sent
(docs/TRAINING.md, "What travels")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS_MAX = 40_000_000
SEND_MAX = 64 * 1024 * 1024
CARRIED = 30_100_000 + 2_730_000  # scenes256 state (two shards + state.json) + float16 segmenter
# Once its bundle is kept, the state is thinned (its EMA generator read from the kept file)
# and the segmenter comes from the bundle: measured 22.0 MB on 2026-11-28.
CARRIED_THIN = 22_020_000


KEPT_256 = 8_120_000 + 2_730_000 + 20_000  # a kept scenes256 bundle: float16 G and segmenter
KEPT_256_DIR = ROOT / "models" / "scenes256"


def _room_for_the_256_bundle() -> int:
    """Bytes ``gpu_window keep`` will add when it first keeps the 256 px run's bundle."""
    return 0 if KEPT_256_DIR.exists() else KEPT_256


def test_bundled_models_within_40_mb():
    total = sum(p.stat().st_size for p in (ROOT / "models").rglob("*") if p.is_file())
    assert total <= MODELS_MAX, f"models/ holds {total / 1e6:.1f} MB, over 40 MB"
    room = _room_for_the_256_bundle()
    assert total + room <= MODELS_MAX, (
        f"models/ holds {total / 1e6:.1f} MB: no room for the 256 px run's kept bundle "
        f"({room / 1e6:.1f} MB) within 40 MB"
    )


def test_tracked_files_leave_room_for_a_gpu_window():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    files = [ROOT / name for name in out.decode().split("\0") if name]
    tracked = sum(p.stat().st_size for p in files if p.is_file())
    # Until the run's bundle is kept in models/, a window carries the state and segmenter;
    # after, the thinned state only (or, with no state at home, it warm-starts: nothing).
    carried = CARRIED_THIN if KEPT_256_DIR.exists() else CARRIED
    assert tracked + carried <= SEND_MAX, (
        f"tracked files {tracked / 1e6:.1f} MB + carried GPU state {carried / 1e6:.1f} MB "
        f"exceed the {SEND_MAX / 1e6:.1f} MB a GPU window is sent"
    )
    room = _room_for_the_256_bundle()
    assert tracked + room + CARRIED_THIN <= SEND_MAX, (
        "no room in a window for the kept 256 px bundle and the thinned state"
    )
