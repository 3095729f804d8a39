"""How well each indexed scene is drawn: the distance of its segmenter features to the k-th
nearest rendered world scene (``realism.nearest_distance``), written into the scene index by
``ganpaint learn-defaults`` and used by the app to start on a well drawn scene and to list
the best drawn ones in the strip."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
import torch

from ganpaint.app.state.scene_index import SceneContent
from ganpaint.models import load_bundle
from ganpaint.models.dissection import Dissection, DissectionError
from ganpaint.models.realism import nearest_distance

SEG_ARCH = {"encoder": (8, 8, 16, 16), "decoder": (8, 8, 16)}


def test_nearest_distance_is_the_kth_nearest_reference():
    feats = np.array([[0.0, 0.0], [10.0, 0.0]])
    reference = np.array([[0.0, 1.0], [0.0, -3.0], [4.0, 0.0], [10.0, 2.0]])
    assert nearest_distance(feats, reference, 1) == pytest.approx([1.0, 2.0])
    assert nearest_distance(feats, reference, 2) == pytest.approx([3.0, 6.0])
    assert nearest_distance(feats, reference, 4) == pytest.approx(
        [np.hypot(10, 2), np.hypot(10, 3)]
    )
    with pytest.raises(ValueError, match="k must be 1..4"):
        nearest_distance(feats, reference, 5)
    with pytest.raises(ValueError, match="equal D"):
        nearest_distance(feats, reference[:, :1], 1)


def _doc(index: dict) -> Dissection:
    return Dissection.from_dict({"format": "ganpaint-dissection", "version": 1,
                                 "scene_index": index})  # fmt: skip


def test_index_distances_are_read_and_checked():
    index = {"seeds": [5, 6, 7], "concepts": ["sky"], "shares": [[0.5], [0.2], [0.3]]}
    old = _doc(index)  # an index written before distances were measured
    assert old.scene_index.distance == () and "distance" not in old.to_dict()["scene_index"]
    content = SceneContent.from_dissection(old)
    assert content.well_drawn() == [] and content.pick_well_drawn(random.Random(0)) is None
    assert content.drawn_rank(5) is None
    measured = {**index, "distance": [1.5, 0.9, 1.2], "distance_to": {"scenes": 9, "k": 3}}
    doc = _doc(measured)
    assert doc.to_dict()["scene_index"] == measured
    content = SceneContent.from_dissection(doc)
    assert content.well_drawn() == [6, 7, 5] and content.well_drawn(2) == [6, 7]
    assert [content.drawn_rank(s) for s in (5, 6, 7, 8)] == [3, 1, 2, None]
    # drawn from the best tenth, at least two scenes: here seeds 6 and 7, not one excluded
    assert {content.pick_well_drawn(random.Random(i)) for i in range(40)} == {6, 7}
    assert {content.pick_well_drawn(random.Random(i), 6) for i in range(20)} == {7}
    assert {content.pick_well_drawn(random.Random(i), None, 1.0) for i in range(60)} == {5, 6, 7}
    # demo scenes: the largest shares among those drawn better than the median, then others
    sky = {**measured, "seeds": [5, 6, 7, 8], "shares": [[0.5], [0.2], [0.3], [0.4]],
           "distance": [1.5, 0.9, 1.2, 1.0]}  # fmt: skip
    demo = SceneContent.from_dissection(_doc(sky))
    assert demo.demo_seeds("sky", 3) == [(8, 0.4), (6, 0.2), (5, 0.5)]
    assert SceneContent.from_dissection(_doc({**sky, "distance": []})).demo_seeds("sky", 2) == [
        (5, 0.5), (8, 0.4)
    ]  # fmt: skip
    with pytest.raises(DissectionError, match="scene_index.distance: expected one distance"):
        _doc({**index, "distance": [1.0, 2.0]})
    with pytest.raises(DissectionError, match="scene_index.distance"):
        _doc({**index, "distance": [1.0, "far", 2.0]})


@pytest.fixture
def segmented_bundle(demo_bundle, tmp_path):
    """A copy of the demo bundle with a (random, tiny) segmenter of its own."""
    from ganpaint.models.bundle import read_bundle_json, write_bundle_json
    from ganpaint.models.segmenter import Segmenter, save_segmenter
    from ganpaint.scenes import CONCEPTS

    folder = tmp_path / "segmented"
    shutil.copytree(demo_bundle, folder)
    torch.manual_seed(3)
    save_segmenter(
        Segmenter(len(CONCEPTS), concepts=CONCEPTS, **SEG_ARCH), folder / "segmenter.safetensors"
    )
    write_bundle_json(folder, read_bundle_json(folder))
    return folder


def test_scene_index_measures_each_sample_against_rendered_scenes(segmented_bundle):
    from ganpaint.dissect.defaults import REFERENCE_SEED, scene_index
    from ganpaint.dissect.sampling import latents
    from ganpaint.engine.incremental import images_to_uint8
    from ganpaint.models.segmenter import segment_features
    from ganpaint.scenes import render_dataset

    bundle = load_bundle(segmented_bundle)
    seg, gen = bundle.load_segmenter(), bundle.generator
    concepts = list(bundle.concepts)

    def segment_fn(images):
        return torch.zeros(images.shape[0], *images.shape[2:], dtype=torch.long)

    out = scene_index(gen, segment_fn, concepts, bundle.dissection, 5, batch_size=2,
                      segmenter=seg, reference=6)  # fmt: skip
    assert out["distance_to"] == {"scenes": 6, "first_seed": REFERENCE_SEED, "k": 3}
    # by hand: the same samples and rendered scenes, all pairwise distances, the 3rd nearest
    base = bundle.dissection.seed_base or 0
    with torch.no_grad():
        images = images_to_uint8(gen.eval()(latents(base, range(5), gen.z_dim, "cpu")))
    mine = segment_features(seg, images)[1]
    real = segment_features(seg, render_dataset(6, gen.resolution, start_seed=REFERENCE_SEED)[0])[1]
    third = torch.cdist(mine.double(), real.double()).sort(dim=1).values[:, 2]
    assert out["distance"] == pytest.approx(third.tolist(), abs=2e-3)
    assert len(set(out["distance"])) == 5  # five different images, five distances
    # no segmenter of its own (or no reference): no distances, shares as before
    bare = scene_index(gen, segment_fn, concepts, bundle.dissection, 5, batch_size=2)
    assert "distance" not in bare and bare["shares"] == out["shares"]


def test_learn_defaults_index_only_keeps_the_brush_defaults(segmented_bundle, capsys):
    from ganpaint.cli import main

    before = json.loads((segmented_bundle / "dissection.json").read_text())
    args = ["learn-defaults", str(segmented_bundle), "--index-only", "--quiet"]
    assert main([*args, "--index-samples", "0"]) == 2
    assert "--index-only needs --index-samples" in capsys.readouterr().err
    assert main([*args, "--index-samples", "4", "--reference-scenes", "5"]) == 0
    after = json.loads((segmented_bundle / "dissection.json").read_text())
    index = after.pop("scene_index")
    before.pop("scene_index", None)
    assert after == before  # the dissection and its brush defaults are as they were
    assert len(index["seeds"]) == len(index["distance"]) == 4
    assert index["distance_to"]["scenes"] == 5 and min(index["distance"]) > 0
    load_bundle(segmented_bundle)  # the hashes were refreshed: the bundle still verifies


def test_samples_best_draws_the_best_drawn_scenes_first(drawn_bundle, demo_bundle, tmp_path,
                                                        capsys):  # fmt: skip
    from PIL import Image

    from ganpaint.cli import main
    from ganpaint.core.seeds import zs_from_seeds
    from ganpaint.engine.renderer import to_uint8

    out = tmp_path / "best.png"
    args = ["samples", "--model", str(drawn_bundle), "--best", "--no-scenes", "-o", str(out)]
    assert main([*args, "--count", "4"]) == 0
    sheet = np.asarray(Image.open(out))
    gen = load_bundle(drawn_bundle).generator
    with torch.inference_mode():
        best = to_uint8(gen(zs_from_seeds([119, 118, 117, 116], gen.z_dim)))
    r = gen.resolution
    tiles = [sheet[:r, :r], sheet[:r, r:], sheet[r:, :r], sheet[r:, r:]]
    assert all(np.array_equal(t, b) for t, b in zip(tiles, best, strict=True))
    assert main([*args, "--count", "25"]) == 2  # twenty indexed scenes
    assert "the index holds 20 scenes, not 25" in capsys.readouterr().err
    plain = ["samples", "--model", str(demo_bundle), "--best", "--count", "4", "-o", str(out)]
    assert main(plain) == 2
    assert "has no scene index with distances" in capsys.readouterr().err


# -- the app --------------------------------------------------------------------------------

SEEDS = [100 + i for i in range(20)]
DISTANCE = [2.0 - 0.05 * i for i in range(20)]  # seed 119 is the best drawn, then 118


@pytest.fixture
def drawn_bundle(bundle_copy):
    def change(doc: dict) -> None:
        names = list(doc["concepts"])
        doc["scene_index"] = {"seeds": SEEDS, "concepts": names,
                              "shares": [[0.1] * len(names) for _ in SEEDS],
                              "distance": DISTANCE}  # fmt: skip

    return bundle_copy("drawn", change)


def test_the_app_starts_on_a_best_drawn_scene(make_window, drawn_bundle):
    w = make_window(model=drawn_bundle, seed=None)
    assert w.document.seed in (119, 118)  # the best tenth of twenty
    assert w.gallery.seeds[0] == w.document.seed
    w.close()
    chosen = make_window(model=drawn_bundle, seed=105)  # a seed asked for is kept
    assert chosen.document.seed == 105


def test_a_later_model_keeps_the_scene(make_window, drawn_bundle, qtbot):
    w = make_window(seed=None)  # the demo bundle has no index: its random scene stays
    seed = w.document.seed
    with qtbot.waitSignal(w.modelLoaded, timeout=20_000):
        w.model_view.open_model(drawn_bundle)
    assert w.gallery.scene_index is not None and w.document.seed == seed


def test_strip_lists_the_best_drawn_scenes(make_window, drawn_bundle, qtbot):
    w = make_window(model=drawn_bundle)
    g = w.gallery
    best = g.content.findData("\x00well drawn")
    assert best == 1 and g.content.itemText(best) == "Best drawn"
    g.content.setCurrentIndex(best)
    assert g.seeds == list(reversed(SEEDS)) and not g.min_share.isEnabled()
    assert "Best drawn: rank 1 of 20" in g._items[119].toolTip()
    assert "rank 20 of 20" in g._items[100].toolTip()
    g.content.setCurrentIndex(g.content.findData("tree"))
    assert g.min_share.isEnabled()


def test_new_scene_is_a_best_drawn_one(make_window, drawn_bundle, demo_bundle):
    w = make_window(model=drawn_bundle)
    w.new_random_scene()
    first = w.document.seed
    assert first in (119, 118)
    w.actions["scene.new"].trigger()  # N: the other one, never the scene shown
    assert w.document.seed == ({119, 118} - {first}).pop()
    assert w.gallery.seeds[-1] == w.document.seed
    w.close()
    plain = make_window(model=demo_bundle)  # no distances: any seed
    plain.new_random_scene()
    assert plain.document.seed not in (7, 118, 119)


def test_recall_scale_measures_the_world_softened_and_the_model(segmented_bundle, demo_bundle,
                                                                capsys):  # fmt: skip
    from ganpaint.devtools import recall_scale

    flat = np.full((2, 16, 16, 3), 90, np.uint8)
    assert np.array_equal(recall_scale.soften(flat, 4), flat)
    edge = np.zeros((1, 16, 16, 3), np.uint8)
    edge[:, :, 8:] = 255
    assert recall_scale.soften(edge, 4)[0, 0, 7, 0] not in (0, 255)  # the edge is blurred
    assert recall_scale.main(["--model", str(segmented_bundle), "--samples", "12", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert list(r["rows"]) == ["rendered (the floor)", "rendered at 1/2 resolution",
                               "rendered at 1/4 resolution", "demo"]  # fmt: skip
    assert all(0 <= v[key] <= 1 for v in r["rows"].values() for key in ("precision", "recall"))
    assert sum(b["scenes"] for b in r["recall_by_buildings"]) == 12
    assert r["mean_pairwise"]["rendered"] > 0 and r["median_radius"]["generated"] > 0
    assert recall_scale.main(["--model", str(demo_bundle), "--samples", "12"]) == 2
    assert "has no segmenter" in capsys.readouterr().err
