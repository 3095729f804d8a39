"""Impossible arguments get a message and exit code 2, before any work starts: every float
option refuses NaN and infinity (a NaN passed each ``value <= 0`` check after it), and the
counts and sizes found unchecked by a sweep of every command's numeric options."""

from __future__ import annotations

import argparse

import pytest

from ganpaint.cli.options import finite_float
from ganpaint.main import build_parser, main


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))
    yield path, parser


def test_no_float_option_takes_nan():
    plain = [
        f"{' '.join(path)} {action.option_strings[-1]}"
        for path, parser in _parsers(build_parser())
        for action in parser._actions
        if action.option_strings and action.type is float
    ]
    assert plain == [], "use options.finite_float for these"
    assert finite_float("2.5") == 2.5 and finite_float("-1e-3") == -1e-3
    for bad in ("nan", "inf", "-inf", "two"):
        with pytest.raises(argparse.ArgumentTypeError):
            finite_float(bad)


@pytest.mark.parametrize("argv", [
    ["train-gan", "--time-budget", "nan"],  # was a traceback
    ["train-segmenter", "--time-budget", "nan"],  # was a traceback
    ["train-pipeline", "--out", "OUT", "--time-budget", "nan"],  # trained, rc 0
    ["artifacts", "--max-share-shift", "nan"],
    ["classifier", "train", "--head-l1", "nan"],
    ["soak", "--max-growth-mb", "inf"],
])  # fmt: skip
def test_a_non_finite_number_is_refused_by_name(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[-2]}: must be a finite number" in err
    assert not any(tmp_path.iterdir())  # nothing started


@pytest.mark.parametrize("argv, why", [
    (["train-segmenter", "--time-budget", "-3"], "--time-budget must be positive"),  # trained
    (["train-gan", "--workers", "-3"], "--workers must be at least 1, got -3"),
    (["train-segmenter", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["train-pipeline", "--out", "OUT", "--eval-samples", "1"],
     "--eval-samples must be at least 2, got 1"),
    (["train-pipeline", "--out", "OUT", "--gan-scenes", "0"], "--gan-scenes must be at least 1"),
    (["artifacts", "--max-share-shift", "-3"], "--max-share-shift must be at least 0, got -3"),
    (["artifacts", "--max-relative-change", "-1"], "--max-relative-change must be at least 0"),
    (["bench", "--dissect-samples", "-3"], "--dissect-samples must be at least 0, got -3"),
    (["fuzz", "--examples", "-3"], "--examples must be at least 0, got -3"),
    (["drag-bench", "--interval-ms", "-3"], "--interval-ms must be 0 or more"),
    (["drag-bench", "--threads", "-3"], "--threads 1 or more"),
])  # fmt: skip
def test_an_impossible_count_is_refused_by_name(argv, why, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert why in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing started


@pytest.mark.parametrize(
    "argv",
    [
        ["train-segmenter", "--scenes", str(10**12), "--size", "16", "--out", "{tmp}/s.st"],
        ["classifier", "train", "{bundle}", "--scenes", str(10**12), "--no-cache"],
    ],
    ids=["train-segmenter", "classifier-train"],
)
def test_a_count_beyond_the_machines_memory_is_one_line(argv, demo_bundle, tmp_path, capsys):
    """Asking for more scenes than memory holds ends in a message, not numpy's traceback."""
    filled = [a.replace("{tmp}", str(tmp_path)).replace("{bundle}", str(demo_bundle))
              for a in argv]  # fmt: skip
    assert main(filled) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganpaint: error: not enough memory (") and "Traceback" not in err
    assert "fewer samples, scenes" in err


def test_torch_running_out_of_memory_is_one_line_too(monkeypatch, capsys):
    from ganpaint.cli import train_cmd

    def oom(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: "
                           "can't allocate memory: you tried to allocate 9 bytes")  # fmt: skip

    def other(*args, **kwargs):
        raise RuntimeError("some other failure")

    monkeypatch.setattr(train_cmd, "writable_file", oom)
    assert main(["train-segmenter", "--out", "x.safetensors"]) == 2
    assert "not enough memory ([enforce fail" in capsys.readouterr().err
    monkeypatch.setattr(train_cmd, "writable_file", other)
    with pytest.raises(RuntimeError, match="some other failure"):
        main(["train-segmenter", "--out", "x.safetensors"])


def test_the_self_test_refuses_a_project_it_would_not_open(capsys):
    """The self-test paints on a fresh scene; a project given with it used to be ignored
    while the test said "ok", even for a file that is not a project."""
    assert main(["--self-test", "--project", "some.ganpaint"]) == 2
    assert "--self-test checks the app on a model and opens no project" in capsys.readouterr().err
