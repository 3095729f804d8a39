"""Importing ganpaint asks torch for transparent huge pages before torch loads, and a large
tensor then really sits on huge pages (ganpaint/core/hugepages.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganpaint.core.hugepages import THP_VARIABLE, prefer_huge_pages

THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def _python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != THP_VARIABLE}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_sets_the_variable_unless_the_user_did() -> None:
    env: dict[str, str] = {}
    assert prefer_huge_pages(env) is True
    assert env == {THP_VARIABLE: "1"}
    mine = {THP_VARIABLE: "0"}
    assert prefer_huge_pages(mine) is False
    assert mine == {THP_VARIABLE: "0"}


def test_importing_ganpaint_sets_it_before_torch_loads() -> None:
    code = "import os, sys, ganpaint; print(os.environ['%s'], 'torch' in sys.modules)"
    assert _python(code % THP_VARIABLE) == "1 False"
    assert _python(code % THP_VARIABLE, **{THP_VARIABLE: "0"}) == "0 False"


_HUGE_KB = """
import ganpaint, torch
x = torch.empty(64 * 2**20 // 4)
x.fill_(1.0)
at = x.data_ptr()
kb, inside = 0, False
for line in open('/proc/self/smaps'):
    head = line.split()[0]
    if '-' in head and ':' not in head:
        lo, hi = (int(v, 16) for v in head.split('-'))
        inside = lo <= at < hi
    elif inside and head == 'AnonHugePages:':
        kb = int(line.split()[1])
print(kb)
"""


@pytest.mark.skipif(
    not THP_MODE.exists() or "[madvise]" not in THP_MODE.read_text(),
    reason="needs Linux with transparent huge pages on madvise",
)
def test_a_large_tensor_lands_on_huge_pages_only_when_asked() -> None:
    assert int(_python(_HUGE_KB)) >= 32 * 1024
    assert int(_python(_HUGE_KB, **{THP_VARIABLE: "0"})) == 0
