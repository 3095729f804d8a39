"""ACE unit sets: budget projection, and recovery of the units that really draw a concept
in a small differentiable world where they are known."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganpaint.dissect.ace import AceOptions, ace_rankings, interleave, project_budget
from ganpaint.dissect.causal import AblationPool
from ganpaint.models.dissection import Dissection

UNITS = 8
DRAWS = (2, 5)  # the units that make pixels "red"


class ToyGenerator(nn.Module):
    """z -> layer "l1" (UNITS x 4 x 4, non-negative) -> 16 x 16 image. Red is the sum of
    units 2 and 5 minus a share of the others; the other units feed green and blue."""

    z_dim = 6
    layer_names = ("l1",)

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.lin = nn.Linear(self.z_dim, UNITS * 16)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(UNITS * 16, self.z_dim, generator=g))
            self.lin.bias.fill_(-0.8)
        mix = torch.zeros(3, UNITS)
        mix[0] = -0.15
        mix[0, list(DRAWS)] = 0.6
        others = [u for u in range(UNITS) if u not in DRAWS]
        mix[1, others[::2]] = 0.3
        mix[2, others[1::2]] = 0.3
        self.register_buffer("mix", mix)

    def run(self, x, after=None, until=None):
        if after is None:
            x = F.relu(self.lin(x.flatten(1))).view(-1, UNITS, 4, 4)
            if until == "l1":
                return x
        x = F.interpolate(x, scale_factor=4, mode="nearest")
        return torch.tanh(torch.einsum("cu,nuhw->nchw", self.mix, x) - 0.2)


def logits(images: torch.Tensor) -> torch.Tensor:
    red = images[:, 0]
    return torch.stack([torch.zeros_like(red), 12.0 * (red - 0.1)], dim=1)


def segment(images: torch.Tensor) -> torch.Tensor:
    return logits(images).argmax(dim=1)


segment.logits = logits  # type: ignore[attr-defined]


def test_project_budget_keeps_bounds_sum_and_order():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        a = torch.randn(50, generator=g) * 2
        p = project_budget(a, 5.0)
        assert p.min() >= 0 and p.max() <= 1
        assert float(p.sum()) <= 5.0 + 1e-4
        if float(a.clamp(0, 1).sum()) > 5.0:
            assert float(p.sum()) == pytest.approx(5.0, abs=1e-4)
            # a shift then a clamp: the order of the entries is kept
            big = a > a.median()
            assert float(p[big].min()) >= float(p[~big].max()) - 1e-6
        else:
            assert torch.equal(p, a.clamp(0, 1))


def test_interleave_round_robin_without_repeats():
    assert interleave([1, 2, 3], [2, 9], [7]) == [1, 2, 7, 9, 3]


@pytest.mark.parametrize("window", [0, 3])
def test_ace_finds_the_units_that_draw_and_remove_the_concept(window):
    torch.manual_seed(0)
    gen = ToyGenerator().eval()
    pool = AblationPool(gen, segment, ["l1"], 96, 0, 32, torch.device("cpu"))
    assert 0.05 < float((pool.labels == 1).float().mean()) < 0.6  # red is present, not all
    levels = {"l1": torch.full((UNITS,), 3.0)}
    options = AceOptions(
        steps=60, samples=24, set_size=2, lr=0.1, batch_size=8, window=window, pool=96
    )
    out = ace_rankings(pool, logits, ["other", "red"], ["l1"], levels, options)
    red = out["l1"]["red"]
    assert set(red["insert_set"]["units"][:2]) == set(DRAWS)
    assert red["insert_set"]["insertion"] > 0.9
    assert set(red["ace_removal"]["units"][:2]) == set(DRAWS)
    assert red["ace_removal"]["removal"] > 0.9
    # a pair without the drawing units does much worse: the measurement can tell them apart
    from ganpaint.dissect.ace import _Problem

    problem = _Problem(pool, logits, "l1", 1, "insertion", levels["l1"], options)
    assert problem.measure([0, 1])[0] < 0.2
    # and without optimisation or refinement the set is not found (ties go by unit number)
    idle = AceOptions(steps=0, samples=24, set_size=2, window=0, pool=96)
    out = ace_rankings(pool, logits, ["other", "red"], ["l1"], levels, idle)
    assert set(out["l1"]["red"]["insert_set"]["units"][:2]) != set(DRAWS)


def test_ace_needs_class_scores(tmp_path):
    from ganpaint.core.errors import GanpaintError
    from ganpaint.dissect.stages import StageContext, add_ace

    ctx = StageContext(None, lambda x: x, [], None, "", "", "cpu", None, None, None)  # type: ignore[arg-type]
    with pytest.raises(GanpaintError, match="logits"):
        add_ace(ctx, AceOptions(), [], {})


def _toy_dissection(current: list[int]) -> Dissection:
    return Dissection.from_dict(
        {
            "format": "ganpaint-dissection",
            "version": 1,
            "seed_base": 0,
            "layers": {
                "l1": {
                    "quantiles": [0.5, 0.99],
                    "levels": [[0.1, 3.0]] * UNITS,
                    "concepts": {
                        "red": {"insert_set": {"units": current}, "iou": [[0, 0.2], [1, 0.1]]}
                    },
                }
            },
        }
    )


def test_refine_sets_replaces_a_worse_set_and_keeps_a_better_one():
    from ganpaint.dissect.ace import refine_sets

    gen = ToyGenerator().eval()
    options = AceOptions(steps=30, samples=24, set_size=2, lr=0.1, batch_size=8, window=3, pool=96)
    found = refine_sets(
        gen, segment, ["other", "red"], _toy_dissection([0, 1]), "l1", ["red"], "insertion",
        options,
    )  # fmt: skip
    entry = found["red"]
    assert set(entry["units"]) == set(DRAWS) and entry["insertion"] > 0.9
    assert entry["previous"]["units"] == [0, 1] and entry["previous"]["insertion"] < 0.2
    assert entry["options"]["set_size"] == 2
    # the current set is already the best one: nothing scores higher, nothing is replaced
    kept = refine_sets(
        gen, segment, ["other", "red"], _toy_dissection(list(DRAWS)), "l1", ["red"],
        "insertion", options,
    )  # fmt: skip
    assert kept == {}
    with pytest.raises(ValueError, match="mode"):
        refine_sets(gen, segment, ["other", "red"], _toy_dissection([]), "l1", [], "x", options)
