"""The program's entry point: ``ganpaint.main`` joins the commands, the app and the
developer-backed ``drag-bench``; ``ganpaint.cli`` alone knows neither the app nor devtools."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ganpaint.main import _run_app, build_parser, main


def test_no_command_opens_the_app_with_its_options():
    args = build_parser().parse_args(["--model", "m", "--project", "p.ganpaint", "--self-test"])
    assert args.handler is _run_app and args.model == "m" and args.project == "p.ganpaint"
    assert args.self_test and args.device is None
    assert build_parser().parse_args(["info", "x"]).handler is not _run_app


def test_commands_and_version_through_main(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("ganpaint ")


def test_cli_alone_prints_usage_without_a_command(capsys):
    from ganpaint.cli import main as cli_main

    assert cli_main([]) == 2 and "usage: ganpaint" in capsys.readouterr().err


def _modules_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    code = (
        f"import sys; {statement}; "
        f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stdout)


def test_cli_does_not_import_the_app_or_devtools():
    loaded = _modules_after(
        "import ganpaint.cli as c; c.build_parser()", ("ganpaint.app", "ganpaint.devtools")
    )
    assert loaded == []


def test_the_app_does_not_import_the_cli():
    statement = (
        "import ganpaint.app, ganpaint.app.state.concept_library, "
        "ganpaint.app.views.main_window, ganpaint.app.views.launch"
    )
    assert _modules_after(statement, ("ganpaint.cli", "ganpaint.main", "ganpaint.devtools")) == []
