"""Where the excess sky texture lies in frequency (``models.realism``'s spectra, used by
``evaluate-gan``'s ``sky_lines`` and ``python -m ganpaint.devtools.sky_spectrum``)."""

from __future__ import annotations

import torch

from ganpaint.devtools import sky_spectrum
from ganpaint.models import realism

SKY = 0


def _pictures(stripes: bool) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    images = 120 + 4 * torch.rand(2, 96, 96, 3, generator=gen)  # faint noise everywhere
    if stripes:
        images[:, ::4] += 20  # a bright row every 4 px, across the whole width
    labels = torch.full((2, 96, 96), 5)
    labels[:, :72] = SKY  # the eroded sky (and the border) leaves one whole 32 px patch
    return images.round().to(torch.uint8), labels


def test_lines_across_the_sky_show_as_fx_0_at_period_4():
    striped, labels = _pictures(True)
    plain, _ = _pictures(False)
    gen, n_gen = realism.sky_patch_spectrum(striped, labels, SKY, 32)
    real, n_real = realism.sky_patch_spectrum(plain, labels, SKY, 32)
    assert n_gen == n_real == 2  # the one at (32, 32) in each picture
    r = realism.compare_spectra(gen, real)
    assert r["power_ratio"] > 10
    lines = r["bands"]["fx=0 (horizontal lines)"]
    assert lines["generated_share"] > 0.9 and lines["ratio"] > 100
    assert r["bands"]["fy=0 (vertical lines)"]["ratio"] < 2  # the noise alone
    top = r["strongest"][0]
    assert (abs(top["fy"]), top["fx"]) in ((0.25, 0.0), (0.5, 0.0))
    assert {(abs(s["fy"]), s["fx"]) for s in r["strongest"][:2]} == {(0.25, 0.0), (0.5, 0.0)}


def test_no_sky_gives_no_patches_and_no_ratio():
    images, labels = _pictures(False)
    power, n = realism.sky_patch_spectrum(images, torch.full_like(labels, 3), SKY, 32)
    assert n == 0 and float(power.sum()) == 0.0
    assert realism.compare_spectra(power, power)["power_ratio"] is None


def test_a_bundle_without_a_segmenter_is_refused(tmp_path, capsys):
    assert sky_spectrum.main([str(tmp_path / "nothing")]) == 2
    assert "sky_spectrum: error:" in capsys.readouterr().err


def test_sky_lines_sums_both_directions():
    striped, labels = _pictures(True)
    plain, _ = _pictures(False)
    lines = realism.sky_lines(striped, labels, plain, labels, SKY, 32)
    assert lines["patches"] == [2, 2] and lines["patch"] == 32
    assert lines["generated_share"] > 0.9 and lines["ratio"] > 100
    same = realism.sky_lines(plain, labels, plain, labels, SKY, 32)
    assert same["ratio"] == 1.0
