"""Ctrl-C stops ``ganpaint train-gan`` at the end of a step with its state saved (it used to
lose everything since the last checkpoint), and a second Ctrl-C still quits at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ganpaint.cli.interrupt import INTERRUPTED, stop_on_interrupt


def test_the_first_ctrl_c_asks_to_stop_and_the_second_quits(capsys):
    before = signal.getsignal(signal.SIGINT)
    with stop_on_interrupt("the work") as interrupted:
        assert not interrupted()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs in the main thread between bytecodes
        assert interrupted()
        assert "stopping the work after this step" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.slow
def test_ctrl_c_saves_the_training_state_and_a_rerun_goes_on(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ganpaint", "train-gan", "--config", "tiny", "--out", str(out),
           "--device", "cpu", "--max-steps", "100000", "--time-budget", "300"]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)  # fmt: skip
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("[gan] step "):  # training has begun
                proc.send_signal(signal.SIGINT)
                break
        rest, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    text = "".join(lines) + rest
    assert proc.returncode == INTERRUPTED, text
    assert "stopping the training after this step" in text and "run the same command" in text
    step = json.loads((out / "state" / "state.json").read_text())["step"]
    assert 1 <= step < 100000 and (out / "generator_ema.safetensors").is_file()
    again = subprocess.run([*cmd[:-4], "--max-steps", str(step + 1)], capture_output=True,
                           text=True, env=env, timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"resumed from {out / 'state'} at step {step}" in again.stdout + again.stderr
