"""Best-threshold IoU: a unit that draws a large concept is recognised at a lower threshold."""

from __future__ import annotations

import torch

from ganpaint.dissect.bestiou import apply_best_iou, best_threshold_iou, grid_labels
from ganpaint.dissect.sampling import latents, upsample_maps
from ganpaint.models import ProGANGenerator


def test_large_concept_found_at_its_own_threshold():
    torch.manual_seed(0)
    gen = ProGANGenerator([16, 16, 8], z_dim=16).eval()
    with torch.no_grad():
        feats = gen.run(latents(0, range(64), 16, torch.device("cpu")), until="layer4")
    flat = feats.permute(1, 0, 2, 3).reshape(feats.shape[1], -1)
    levels = torch.quantile(flat, torch.tensor([0.9, 0.995]), dim=1).T  # (units, 2)

    def segment(images: torch.Tensor) -> torch.Tensor:
        # "concept 1" is exactly where unit 5 exceeds its 0.9 level (10 % of the image)
        with torch.no_grad():
            z = segment.z[: images.shape[0]]
            segment.z = segment.z[images.shape[0] :]
            maps = upsample_maps(gen.run(z, until="layer4").float(), (16, 16))
        return (maps[:, 5] > levels[5, 0]).long()

    segment.z = latents(0, range(64), 16, torch.device("cpu"))
    out = best_threshold_iou(
        gen, segment, ["layer4"], {"layer4": levels}, 2, range(64), 0, batch_size=16, grid=16
    )
    best, which = out["layer4"]
    assert best[5, 1].item() == 1.0 and which[5, 1].item() == 0
    # at the fixed top-0.5 % threshold alone the same unit scores far lower
    fixed = best_threshold_iou(
        gen,
        segment.__class__ and _reset(segment),
        ["layer4"],
        {"layer4": levels[:, 1:]},
        2,
        range(64),
        0,
        16,
        16,
    )
    assert fixed["layer4"][0][5, 1].item() < 0.2

    doc = {"layers": {"layer4": {"concepts": {"a": {"iou": [[0, 0.1]]}, "b": {}}}}}
    apply_best_iou(doc, out, ["a", "b"], [0.9, 0.995], 16)
    info = doc["layers"]["layer4"]
    assert info["concepts"]["b"]["iou"][0] == [5, 1.0]
    assert info["concepts"]["b"]["iou_quantile"][0] == 0.9
    assert info["concepts"]["a"]["iou_top05"] == [[0, 0.1]]
    assert info["unit_labels"][5]["concept"] == "b"


def _reset(segment):
    segment.z = latents(0, range(64), 16, torch.device("cpu"))
    return segment


def test_grid_labels_nearest():
    labels = torch.arange(16).view(1, 4, 4)
    assert grid_labels(labels, 2).tolist() == [[[0, 2], [8, 10]]]
