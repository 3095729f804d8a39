"""``python -m ganpaint.devtools.compare_candidates``: equal seconds per candidate, one row
each, the sample grids to judge by eye, and unknown names refused."""

from __future__ import annotations

import pytest
from PIL import Image

from ganpaint.core.errors import GanpaintError
from ganpaint.core.paths import models_dir
from ganpaint.devtools import compare_candidates as cc


@pytest.mark.slow
def test_candidates_train_evaluate_and_leave_their_grids(tmp_path):
    segmenter = str(models_dir() / "scenes128" / "segmenter.safetensors")
    rows = cc.compare("tiny", 3.0, ["baseline", "projected D x0.25"], "cpu", 16, segmenter,
                      64, samples_dir=str(tmp_path))  # fmt: skip
    assert [r["candidate"] for r in rows] == ["baseline", "projected D x0.25"]
    assert all(r["images"] > 0 and r["fd_ratio"] > 0 for r in rows)
    assert all(0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 for r in rows)
    assert "| precision | recall |" in cc.markdown(rows)
    for name in ("baseline", "projected-D-x0.25"):
        with Image.open(tmp_path / f"{name}.png") as grid:
            assert grid.size == (8 * 32, 8 * 32)  # 64 fixed seeds of the 32 px config
    with pytest.raises(GanpaintError, match="unknown candidate 'wider'"):
        cc.compare("tiny", 1.0, ["wider"], "cpu", 16, segmenter, 64)


def test_candidate_configs_and_names():
    from ganpaint.train.configs import get_config

    base = get_config("tiny")
    assert cc.candidate_config(base, cc.CANDIDATES["batch x2"]).batch == 2 * base.batch
    assert cc.candidate_config(base, cc.CANDIDATES["projected D x0.25"]).d_projected == 0.25
    assert cc.slug("projected D x0.25") == "projected-D-x0.25"
    wide = cc.candidate_config(base, cc.CANDIDATES["D x2 at full res"])
    assert wide.d_widths == (2 * base.d_widths[0], 2 * base.d_widths[1], *base.d_widths[2:])
    assert wide.g_widths == base.g_widths and base.d_widths == (8, 16, 32, 32)
    assert cc.candidate_config(base, cc.CANDIDATES["R1 gamma x4"]).r1_gamma == 4 * base.r1_gamma


def test_a_candidate_that_changes_nothing_is_refused_before_training():
    from ganpaint.train.configs import get_config

    tiny, s64 = get_config("tiny"), get_config("scenes64")
    assert (tiny.r1_every, s64.r1_every) == (4, 16)
    cc.check_candidates(tiny, ["baseline", "lazy R1 (every 16)"])  # a change on tiny
    with pytest.raises(GanpaintError, match="'lazy R1 \\(every 16\\)' changes nothing in scenes64"):
        cc.check_candidates(s64, ["baseline", "lazy R1 (every 16)"])
    with pytest.raises(GanpaintError, match="'R1 every 4' changes nothing in tiny"):
        cc.check_candidates(tiny, ["R1 every 4"])
    with pytest.raises(GanpaintError, match="unknown candidate 'wider'"):
        cc.check_candidates(tiny, ["wider"])
    assert cc.main(["--base", "scenes64", "--candidates", "lazy R1 (every 16)"]) == 2


def test_a_longer_ema_is_refused_when_its_ramp_up_has_not_reached_it():
    from ganpaint.train.configs import get_config

    s64 = get_config("scenes64")  # half-life 5,000 images, ramp 0.05 x images, batch 32
    assert (s64.ema_half_life_images, s64.ema_rampup, s64.batch) == (5000, 0.05, 32)
    with pytest.raises(GanpaintError, match="'EMA half-life x4' changes nothing in 500 steps"):
        cc.check_candidates(s64, ["EMA half-life x4"], steps=500)  # ramp at 800 images
    cc.check_candidates(s64, ["EMA half-life x4"], steps=3200)  # 5,120: past the shorter
    cc.check_candidates(s64, ["EMA half-life x4"])  # equal seconds: the images are unknown
    cc.check_candidates(s64, ["R1 gamma x4"], steps=500)


@pytest.mark.slow
def test_steps_give_every_candidate_the_same_images():
    segmenter = str(models_dir() / "scenes128" / "segmenter.safetensors")
    rows = cc.compare("tiny", 0.0, ["baseline", "D x2 at full res"], "cpu", 16, segmenter, 64,
                      steps=3)  # fmt: skip
    assert [r["images"] for r in rows] == [3 * 8, 3 * 8]  # tiny's batch is 8
    assert cc.main(["--steps", "0"]) == 2


@pytest.mark.slow
def test_images_give_a_larger_batch_fewer_steps_and_the_same_images():
    segmenter = str(models_dir() / "scenes128" / "segmenter.safetensors")
    rows = cc.compare("tiny", 0.0, ["baseline", "batch x2"], "cpu", 16, segmenter, 64,
                      images=32)  # fmt: skip
    assert [r["images"] for r in rows] == [32, 32]  # 4 steps of 8, 2 of 16
    assert cc.main(["--images", "0"]) == 2
    assert cc.main(["--images", "8", "--steps", "1"]) == 2
    with pytest.raises(GanpaintError, match="not both"):
        cc.compare("tiny", 0.0, ["baseline"], "cpu", 16, segmenter, 64, steps=1, images=8)


def test_equal_images_are_whole_steps_of_each_batch():
    from ganpaint.train.configs import get_config

    s64 = get_config("scenes64")
    doubled = cc.candidate_config(s64, cc.CANDIDATES["projected D x0.25 batch x2"])
    assert (doubled.batch, doubled.d_projected) == (64, 0.25)
    assert (cc.steps_for(s64, 16_000), cc.steps_for(doubled, 16_000)) == (500, 250)
    assert cc.steps_for(doubled, 16_001) == 251  # at least the images asked for
    # the half-life check applies at each candidate's own steps
    with pytest.raises(GanpaintError, match="changes nothing in 16000 images"):
        cc.check_candidates(s64, ["EMA half-life x4"], images=16_000)


@pytest.mark.slow
def test_each_seed_is_its_own_run(tmp_path):
    segmenter = str(models_dir() / "scenes128" / "segmenter.safetensors")
    rows = cc.compare("tiny", 0.0, ["baseline"], "cpu", 16, segmenter, 64,
                      samples_dir=str(tmp_path), steps=2, seeds=[0, 1])  # fmt: skip
    assert [(r["candidate"], r["seed"]) for r in rows] == [
        ("baseline, seed 0", 0), ("baseline, seed 1", 1)]  # fmt: skip
    assert rows[0]["fd_ratio"] != rows[1]["fd_ratio"]  # other first weights, other samples
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "baseline-seed-0.png", "baseline-seed-1.png"]  # fmt: skip


def test_seed_lists():
    assert cc._seeds(None) is None
    assert cc._seeds("0, 3") == [0, 3]
    for bad in ("", "a", "-1", "1,-2"):
        assert cc._seeds(bad) == [], bad
    assert cc.main(["--seeds", "x"]) == 2
