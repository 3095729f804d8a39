"""The sky figures measured on known disturbances (``python -m ganpaint.devtools.sky_scale``)."""

from __future__ import annotations

import numpy as np
import pytest

from ganpaint.devtools import sky_scale

SKY = 0


def _gradient_skies() -> tuple[np.ndarray, np.ndarray]:
    """Four 64 px pictures: a smooth vertical gradient rounded to uint8, sky above row 48."""
    rows = np.linspace(90.0, 180.0, 64, dtype=np.float32)[None, :, None, None]
    tint = np.array([0.8, 0.9, 1.0], np.float32)[None, None, None, :]
    offsets = np.array([0.0, 3.3, 7.1, 11.6], np.float32)[:, None, None, None]
    images = np.rint(np.broadcast_to(rows * tint + offsets, (4, 64, 64, 3))).astype(np.uint8)
    labels = np.full((4, 64, 64), 5, np.uint8)
    labels[:, :48] = SKY
    return images, labels


def test_the_undisturbed_scenes_measure_one_and_noise_raises_the_ratio_with_its_size():
    images, labels = _gradient_skies()
    rows = {r["disturbance"]: r for r in sky_scale.figures(images, labels, SKY)}
    assert rows["none"]["sky_noise_ratio"] == 1.0
    assert rows["none"]["residual_levels"] == rows["none"]["rendered_levels"]
    gauss = [rows[f"gaussian sd {v:g}"]["sky_noise_ratio"] for v in sky_scale.GAUSSIAN_LEVELS]
    assert gauss == sorted(gauss) and gauss[-1] > 5 * gauss[0]
    four = [rows[f"rows every 4, +{v:g}"]["sky_noise_ratio"] for v in sky_scale.LINE_LEVELS]
    assert four == sorted(four) and four[0] > 1.0


def test_lines_count_on_the_line_figure_far_more_than_noise_of_the_same_residual():
    images, labels = _gradient_skies()
    rows = {r["disturbance"]: r for r in sky_scale.figures(images, labels, SKY)}
    striped = rows["rows every 4, +2"]
    noisy = min((r for k, r in rows.items() if k.startswith("gaussian")),
                key=lambda r: abs(r["residual_levels"] - striped["residual_levels"]))  # fmt: skip
    assert striped["sky_line_ratio"] > 3 * noisy["sky_line_ratio"]


def test_a_disturbance_changes_only_what_it_names():
    images, _ = _gradient_skies()
    rows_added = sky_scale.disturb(images, "rows", 3.0, period=4).astype(int) - images
    assert (rows_added[:, ::4] == 3).all() and (rows_added[:, 1::4] == 0).all()
    cols_added = sky_scale.disturb(images, "columns", 2.0, period=2).astype(int) - images
    assert (cols_added[:, :, ::2] == 2).all() and (cols_added[:, :, 1::2] == 0).all()
    with pytest.raises(ValueError, match="no disturbance"):
        sky_scale.disturb(images, "blur", 1.0)


def test_an_impossible_argument_is_refused(capsys):
    assert sky_scale.main(["--scenes", "0"]) == 2
    assert "sky_scale: error:" in capsys.readouterr().err
