"""Output files and folders that cannot be written are refused before a command starts its
work, with a message naming the option and the reason (they used to end long runs in a
traceback: a trained segmenter or an inverted picture lost at the last step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganpaint.cli.options import writable_file, writable_folder
from ganpaint.core.errors import GanpaintError
from ganpaint.main import main


def _never(*args, **kwargs):
    raise AssertionError("the command started its work before checking its output")


# (argv with {bad} for the output, module and function of the work it must not start)
COMMANDS = [
    (["report", "BUNDLE", "-o", "{bad}"], "ganpaint.dissect.existing", "report_bundle"),
    (["classifier", "report", "BUNDLE", "-o", "{bad}"], "ganpaint.classify.report",
     "write_classifier_report"),
    (["invert", "PICTURE.png", "-o", "{bad}/x.ganpaint"], "ganpaint.invert.project",
     "invert_file"),
    (["invert", "--evaluate", "2", "--rows", "{bad}/rows.jsonl"], "ganpaint.invert.evaluate",
     "evaluate_inversion"),
    (["train-encoder", "BUNDLE", "--out", "{bad}/encoder.safetensors"],
     "ganpaint.invert.train_encoder", "train_encoder"),
    (["train-segmenter", "--out", "{bad}/seg.safetensors"], "ganpaint.train.segmenter",
     "train_segmenter"),
    (["train-gan", "--config", "tiny", "--out", "{bad}/run"], "ganpaint.train.run_gan",
     "train_gan"),
    (["train-pipeline", "--config", "tiny", "--time-budget", "5", "--out", "{bad}"],
     "ganpaint.train.pipeline", "run_pipeline"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "module", "work"), COMMANDS, ids=[c[0][0] + "-" + c[0][1] for c in COMMANDS]
)
def test_an_output_under_a_file_is_refused_before_the_work(
    argv, module, work, tmp_path, monkeypatch, capsys
):  # fmt: skip
    import importlib

    monkeypatch.setattr(importlib.import_module(module), work, _never)
    blocker = tmp_path / "a-file"
    blocker.write_text("the user's file")
    code = main([a.replace("{bad}", str(blocker)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{blocker} is a file, not a folder" in err or "a file is there" in err
    assert "Traceback" not in err
    assert blocker.read_text() == "the user's file"


def test_a_file_output_on_a_folder_is_refused(tmp_path, capsys):
    assert main(["invert", "PICTURE.png", "-o", str(tmp_path)]) == 2
    assert f"-o {tmp_path}: a folder is there; name a file" in capsys.readouterr().err


def test_writable_paths_are_made_and_left_clean(tmp_path):
    folder = writable_folder(tmp_path / "new" / "run")
    assert folder.is_dir() and list(folder.iterdir()) == []
    file = writable_file(tmp_path / "other" / "seg.safetensors", "--out")
    assert file.parent.is_dir() and not file.exists() and list(file.parent.iterdir()) == []
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"old")
    assert writable_file(kept) == kept and kept.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.png", "new", "other"]


def test_a_folder_that_cannot_be_made_says_why():
    where = Path("/proc/ganpaint-no-such-folder")
    if not Path("/proc/self").exists():
        pytest.skip("needs Linux's /proc, where no folder can be made")
    with pytest.raises(GanpaintError, match="--out /proc/ganpaint-no-such-folder: cannot write"):
        writable_folder(where)


def test_negative_index_sizes_are_refused(capsys):
    assert main(["learn-defaults", "BUNDLE", "--reference-scenes", "-3"]) == 2
    assert "--reference-scenes must be at least 0, got -3" in capsys.readouterr().err
    assert main(["learn-defaults", "BUNDLE", "--index-samples", "-1"]) == 2
    assert "--index-samples must be at least 0, got -1" in capsys.readouterr().err


def test_convert_names_a_file_where_its_folder_should_go(bare_generator, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("the user's file")
    assert main(["convert", str(bare_generator), "-o", str(blocker)]) == 2
    assert f"{blocker}: a file is there; name a new folder" in capsys.readouterr().err
    assert main(["convert", str(bare_generator), "-o", str(blocker / "bundle")]) == 2
    assert "cannot make the folder" in capsys.readouterr().err
    assert blocker.read_text() == "the user's file"


# (argv with {bundle}, module and function of the work that must not start)
BUNDLE_WRITERS = [
    (["dissect", "{bundle}"], "ganpaint.dissect.pipeline", "dissect_into_bundle"),
    (["refine-sets", "{bundle}", "--concepts", "tree"], "ganpaint.dissect.existing",
     "dissected_layer"),
    (["learn-defaults", "{bundle}"], "ganpaint.dissect.existing", "dissected_layer"),
    (["classifier", "train", "{bundle}"], "ganpaint.classify.card", "train_bundle"),
    (["classifier", "dissect", "{bundle}"], "ganpaint.classify.bundle_runs", "dissect_bundle"),
    (["classifier", "ablate", "{bundle}"], "ganpaint.classify.bundle_runs", "ablate_bundle"),
    (["classifier", "attack", "{bundle}"], "ganpaint.classify.attack_bundle", "attack_bundle"),
    (["artifacts", "{bundle}", "--write"], "ganpaint.dissect.artifacts_run",
     "artifacts_for_bundle"),
    (["train-encoder", "{bundle}"], "ganpaint.invert.train_encoder", "train_encoder"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "module", "work"), BUNDLE_WRITERS,
                         ids=["-".join(c[0][:2]) for c in BUNDLE_WRITERS])  # fmt: skip
def test_a_bundle_that_cannot_be_written_is_refused_before_the_work(
    argv, module, work, tmp_path, monkeypatch, capsys
):  # fmt: skip
    """A read-only bundle (an installed app's, a read-only mount) stops the command at
    once with the way out, where the work used to run for minutes and fail at its end.
    (The tests run as root, whom permissions do not stop, so the write probe is made to
    fail as a read-only folder makes it.)"""
    import importlib

    from ganpaint.cli import options

    def denied(folder):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(options, "_probe_write", denied)
    monkeypatch.setattr(importlib.import_module(module), work, _never)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    code = main([a.replace("{bundle}", str(bundle)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{bundle}: cannot write" in err and "(Permission denied)" in err
    assert f"cp -r {bundle} MY_COPY" in err and "Traceback" not in err


def test_writable_bundle_probes_an_existing_folder_only(tmp_path, monkeypatch):
    from ganpaint.cli import options

    called = []
    monkeypatch.setattr(options, "_probe_write", lambda folder: called.append(folder))
    options.writable_bundle(tmp_path, "x")
    assert called == [tmp_path]
    options.writable_bundle(tmp_path / "missing", "x")  # the loader names a missing one
    assert called == [tmp_path]
