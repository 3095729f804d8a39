"""Size budgets of the repository itself: the bundled models stay within the house rule
(``models/`` <= 40 MB), and the tracked files stay small enough that the repository, the
256 px run's resumable state and its carried segmenter still fit the 64 MiB a GPU window
is sent (docs/TRAINING.md, "What travels")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS_MAX = 40_000_000
SEND_MAX = 64 * 1024 * 1024
CARRIED = 30_100_000 + 2_730_000  # scenes256 state (two shards + state.json) + float16 segmenter


def test_bundled_models_within_40_mb():
    total = sum(p.stat().st_size for p in (ROOT / "models").rglob("*") if p.is_file())
    assert total <= MODELS_MAX, f"models/ holds {total / 1e6:.1f} MB, over 40 MB"


def test_tracked_files_leave_room_for_a_gpu_window():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    files = [ROOT / name for name in out.decode().split("\0") if name]
    tracked = sum(p.stat().st_size for p in files if p.is_file())
    assert tracked + CARRIED <= SEND_MAX, (
        f"tracked files {tracked / 1e6:.1f} MB + carried GPU state {CARRIED / 1e6:.1f} MB "
        f"exceed the {SEND_MAX / 1e6:.1f} MB a GPU window is sent"
    )
