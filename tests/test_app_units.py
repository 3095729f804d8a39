"""The app's plain-Python parts: brush masks, concept lists and brush settings."""

from __future__ import annotations

import numpy as np
import pytest

from ganpaint.app.state.brush import StrokeMask, coverage
from ganpaint.app.state.concepts import concept_style, concepts_for_layer, unit_table
from ganpaint.app.state.tool import BrushSettings
from ganpaint.models.dissection import Dissection


def _doc(d: dict) -> Dissection:
    """A dissection document around ``d``'s keys, read the way a bundle reads its file."""
    return Dissection.from_dict({"format": "ganpaint-dissection", "version": 1, **d})


def test_stroke_mask_covers_the_swept_capsule_without_gaps():
    m = StrokeMask(64, radius=3, hardness=1.0)
    m.move_to(5, 32)
    m.line_to(60, 32)  # one fast move: no gaps between dabs
    assert (m.mask[32, 5:60] == 255).all()
    assert m.mask[20, 30] == 0 and m.mask[32, 63] == 0
    before = m.mask.copy()
    m.line_to(60, 32)
    assert np.array_equal(m.mask, before)  # painting over keeps coverage (max, not sum)


def _line(pressure_mode: str, pressures=(1.0, 0.0)) -> np.ndarray:
    m = StrokeMask(64, radius=6, hardness=1.0, pressure=pressure_mode)
    m.move_to(8, 32, pressures[0])
    m.line_to(56, 32, pressures[1])
    return m.mask


def test_pen_pressure_tapers_a_stroke_without_steps():
    mouse = StrokeMask(64, radius=6, hardness=1.0)
    mouse.move_to(8, 32)
    mouse.line_to(56, 32)
    # full pressure, or pressure ignored, is exactly the mouse's stroke
    assert np.array_equal(_line("size", (1.0, 1.0)), mouse.mask)
    assert np.array_equal(_line("off"), mouse.mask)
    size = _line("size")  # full pressure at x=8, the lightest touch at x=56
    width = (size >= 128).sum(0)
    assert width[10] == 12 and 1 <= width[54] <= 3  # radius 6 -> 0.15 x 6 at the end
    assert (np.diff(width[12:52]) <= 0).all()  # thinner all the way, never thicker
    assert size[32, 8:56].min() >= 250  # still one unbroken line down its middle
    rising = StrokeMask(64, radius=6, hardness=1.0, pressure="size")
    for i in range(49):  # right to left, an event a pixel, pressing ever harder
        (rising.line_to if i else rising.move_to)(56 - i, 32, i / 48)
    rising_width = (rising.mask >= 128).sum(0)
    assert rising_width[10] == 12 and 1 <= rising_width[54] <= 3
    assert (np.diff(rising_width[12:52]) <= 0).all()  # the same taper, no steps either way
    with pytest.raises(ValueError):
        StrokeMask(64, 6, 1.0, pressure="tilt")


def test_coverage_falloff():
    d = np.array([0.0, 5.0, 9.9, 10.6])
    hard = coverage(d, 10, 1.0)
    soft = coverage(d, 10, 0.0)
    assert hard[0] == hard[1] == 1.0 and hard[3] == 0.0
    assert soft[0] > soft[1] > soft[2] > soft[3] == 0.0


def test_concepts_from_a_dissection():
    dissection = _doc(
        {
            "iou_cutoff": 0.05,
            "layers": {
                "layer4": {
                    "unit_labels": [
                        {"unit": 0, "concept": "tree", "iou": 0.2},
                        {"unit": 1, "concept": "sky", "iou": 0.01},
                    ],
                    "concepts": {
                        "tree": {"iou": [[0, 0.2], [2, 0.1]], "causal": [[2, 0.5], [0, 0.3]]},
                        "gazebo": {"iou": [[1, 0.07]]},
                    },
                }
            },
        }
    )
    cs = concepts_for_layer(dissection, "layer4", ["sky", "tree"])
    assert [c.name for c in cs] == ["sky", "tree", "gazebo"]
    sky, tree, gazebo = cs
    assert not sky.available and tree.available
    assert tree.units("causal", 1) == (2,) and tree.units("iou", 1) == (0,)
    assert gazebo.units("causal", 5) == (1,)  # falls back to IoU
    assert tree.score("causal", 0) == 0.3 and tree.score("iou", 9) is None
    assert gazebo.group == "Other" and concept_style("gazebo") == concept_style("gazebo")
    units = unit_table(dissection, "layer4", 3)
    assert units[0].label == "tree" and units[1].label is None and units[2].label is None
    assert len(unit_table(None, "layer4", 5)) == 5


def test_causal_ranking_follows_the_brush_action():
    concepts = {
        "tree": {
            "iou": [[0, 0.2], [2, 0.1], [5, 0.05]],
            "causal": [[2, 0.5], [0, 0.3], [5, 0.1]],
            "causal_set": {"units": [5, 2]},
            "insert_set": {"units": [7, 0]},
        },
        "sky": {"iou": [[1, 0.3]], "causal": [[1, 0.2], [3, 0.1]]},
    }
    dissection = _doc({"layers": {"layer6": {"concepts": concepts}}})
    by_name = {c.name: c for c in concepts_for_layer(dissection, "layer6")}
    tree, sky = by_name["tree"], by_name["sky"]
    # drawing: the ACE insertion set, then the single-unit order; removing: the removal set
    assert tree.units("causal", 4, "draw") == (7, 0, 2, 5)
    assert tree.units("causal", 4, "remove") == (5, 2, 0)
    assert tree.ranked("causal", "draw")[0] == (7, 0.0)  # no single-unit score for unit 7
    assert tree.units("iou", 2, "draw") == tree.units("iou", 2, "remove") == (0, 2)
    # without sets both actions use the single-unit causal order
    assert sky.units("causal", 2, "draw") == sky.units("causal", 2, "remove") == (1, 3)


def test_brush_settings_clamp_and_notify():
    b = BrushSettings()
    seen = []
    b.subscribe(seen.append)
    b.update(size=5.0, unit_count=0, strength=0.5)
    assert b.size == 0.5 and b.unit_count == 1 and b.strength == 0.5
    assert seen == [{"size", "unit_count", "strength"}]
    b.update(strength=0.5)
    assert len(seen) == 1
    with pytest.raises(ValueError):
        b.update(action="smudge")
    with pytest.raises(AttributeError):
        b.update(colour="red")


def test_brush_settings_refuse_nan_and_unknown_rankings_and_restore_skips_them():
    b = BrushSettings()
    for bad in ({"size": float("nan")}, {"quantile": float("nan")}, {"ranking": "zzz"}):
        with pytest.raises(ValueError):
            b.update(**bad)
    seen = []
    b.subscribe(seen.append)
    refused = b.restore(
        {"action": "paint", "size": float("nan"), "hardness": 0.25, "ranking": "iou",
         "quantile": float("inf"), "unit_count": "many"}
    )  # fmt: skip
    assert sorted(refused) == ["action", "quantile", "size", "unit_count"]
    assert (b.action, b.size, b.hardness, b.ranking) == ("draw", 0.08, 0.25, "iou")
    assert seen == [{"hardness", "ranking"}]


def test_model_card_rows_are_readable():
    from ganpaint.app.state.model_card import card_details, card_rows

    card = {
        "config": {"lr": 0.001},
        "steps": 6993,
        "wall_s": 328.78,
        "bf16": True,
        "evaluation": {"fd": 0.63091, "pixel_share": {"sky": 0.3}, "n": 1000},
        "errors": [],
    }
    rows = dict(card_rows(card))
    assert rows == {
        "Steps": "6,993",
        "Wall s": "5.5 min",
        "Bf16": "yes",
        "Evaluation": "fd 0.6309, n 1,000",
    }
    assert '"lr": 0.001' in card_details(card)


def test_malformed_concept_entries_are_skipped_not_fatal():
    concepts = {
        "tree": {
            "iou": [[0, 0.2], ["x", 0.1], [1], "junk", [3, None]],
            "causal": {"not": "a list"},
            "causal_set": {"units": [4, "5", None, True, 1e300, 6.0]},
            "insert_set": ["not", "an", "object"],
        },
        "sky": "not an object",
    }
    dissection = _doc({"layers": {"layer6": {"concepts": concepts}}})
    by_name = {c.name: c for c in concepts_for_layer(dissection, "layer6")}
    tree, sky = by_name["tree"], by_name["sky"]
    assert tree.iou == ((0, 0.2),) and tree.causal == ()
    assert tree.causal_set == (4, 6) and tree.insert_set == ()
    assert not sky.available
    bad_layer = _doc({"layers": {"layer6": {"concepts": ["tree"]}}})
    assert concepts_for_layer(bad_layer, "layer6", ["tree"])[0].available is False
