"""Dissection: IoU counting on known overlaps, sparse counting against dense masks, the
quantile pass against exact quantiles, greedy causal selection, the cache, and the
dissect / report / evaluate commands end to end on a tiny random bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganpaint.cli import main
from ganpaint.core.distributed import Dist, shard
from ganpaint.dissect.cache import ResultCache
from ganpaint.dissect.causal import greedy_set
from ganpaint.dissect.counting import add_counts, unit_concept_counts, unit_masks
from ganpaint.dissect.evaluate import _square_positions, ranked_units
from ganpaint.dissect.passes import DissectOptions, LayerStats, layer_summary, quantile_pass
from ganpaint.dissect.stats import IoUCounter
from ganpaint.dissect.synthetic import SYNTHETIC_CONCEPTS
from ganpaint.engine import UnitLevels, z_from_seed
from ganpaint.models import ProGANGenerator, load_bundle, save_generator, write_bundle_json
from ganpaint.models.dissection import Dissection

SEGMENT_FN = "ganpaint.dissect.synthetic:sign_segment"


def make_tiny_bundle(folder: Path, seed: int = 0) -> Path:
    """A 32 px random ProGAN bundle with edit layers layer4 (8x8) and layer6 (16x16)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    gen = ProGANGenerator([32, 32, 16, 8], z_dim=32)
    save_generator(gen, folder / "generator.safetensors")
    write_bundle_json(
        folder,
        {
            "name": "tiny",
            "architecture": "progan",
            "widths": [32, 32, 16, 8],
            "z_dim": 32,
            "resolution": 32,
            "edit_layers": ["layer4", "layer6"],
            "default_layer": "layer4",
            "concepts": list(SYNTHETIC_CONCEPTS),
        },
    )
    return folder


# -- IoU counting ------------------------------------------------------------------------


def _known_case():
    """Two units on a 4x4 grid upsampled to 16x16 (4 px per cell), threshold 0.5.

    A 0/1 map thresholded at 0.5 after bilinear upsampling gives its blocks with the inner
    corner pixel cut off (0.625 * 0.625 < 0.5 there): unit 0 covers rows/cols 0..7 except
    (7, 7), unit 1 rows/cols 12..15 except (12, 12). Labels: 1 on rows 0..3, 2 on rows
    12..15, 0 elsewhere, and pixel (0, 0) ignored (255).
    """
    feats = torch.zeros(1, 2, 4, 4)
    feats[0, 0, :2, :2] = 1.0
    feats[0, 1, 3, 3] = 1.0
    thresholds = torch.tensor([0.5, 0.5])
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, :4] = 1
    labels[0, 12:] = 2
    labels[0, 0, 0] = 255
    return feats, thresholds, labels


def test_upsampled_masks_of_block_maps_are_the_blocks():
    feats, thresholds, _ = _known_case()
    masks = unit_masks(feats, thresholds, (16, 16))[0]
    expected0 = torch.zeros(16, 16, dtype=torch.bool)
    expected0[:8, :8] = True
    expected0[7, 7] = False
    expected1 = torch.zeros(16, 16, dtype=torch.bool)
    expected1[12:, 12:] = True
    expected1[12, 12] = False
    assert torch.equal(masks[0], expected0)
    assert torch.equal(masks[1], expected1)


def test_iou_counts_on_known_overlap():
    feats, thresholds, labels = _known_case()
    inter, unit_area, concept_area = unit_concept_counts(feats, thresholds, labels, 3)
    assert inter.tolist() == [[31, 31, 0], [0, 0, 15]]
    assert unit_area.tolist() == [62, 15]
    assert concept_area.tolist() == [128, 63, 64]
    counter = IoUCounter(2, 3)
    add_counts(counter, feats, thresholds, labels)
    iou = counter.iou()
    assert iou[0, 1].item() == pytest.approx(31 / (62 + 63 - 31))
    assert iou[0, 0].item() == pytest.approx(31 / (62 + 128 - 31))
    assert iou[1, 2].item() == pytest.approx(15 / 64)
    # The summary labels each unit with its best concept and ranks units per concept.
    stats = LayerStats(
        "layer2",
        4,
        torch.zeros(2, 6),
        thresholds,
        torch.zeros(2, 1),
        torch.zeros(2, 1).long(),
        counter.intersection,
        counter.unit_area,
        counter.concept_area,
    )
    doc = layer_summary(stats, ["a", "b", "c"], DissectOptions(layers=["layer2"]))
    assert [x["concept"] for x in doc["unit_labels"]] == ["b", "c"]
    assert doc["unit_labels"][1]["iou"] == pytest.approx(15 / 64, abs=1e-5)
    assert doc["concepts"]["c"]["iou"] == [[1, round(15 / 64, 5)]]
    assert [u for u, _ in doc["concepts"]["a"]["iou"]] == [0]


@pytest.mark.parametrize(
    "shape",
    [
        (3, 7, 8, 8, 128, 128, 5),
        (2, 5, 5, 7, 33, 20, 4),
        (2, 6, 16, 16, 64, 64, 11),
        (2, 3, 4, 4, 4, 4, 3),
    ],
)
def test_sparse_counts_equal_dense_counts(shape):
    b, u, h, w, height, width, k = shape
    g = torch.Generator().manual_seed(sum(shape))
    feats = torch.randn(b, u, h, w, generator=g)
    thresholds = torch.quantile(feats.transpose(0, 1).reshape(u, -1), 0.9, dim=1)
    labels = torch.randint(-1, k + 1, (b, height, width), generator=g)
    inter, unit_area, concept_area = unit_concept_counts(feats, thresholds, labels, k)
    dense = IoUCounter(u, k)
    dense.add(unit_masks(feats, thresholds, (height, width)), labels)
    assert torch.equal(inter, dense.intersection)
    assert torch.equal(unit_area, dense.unit_area)
    assert torch.equal(concept_area, dense.concept_area)
    assert int(unit_area.sum()) > 0


# -- passes ------------------------------------------------------------------------------


def test_quantile_pass_matches_exact_quantiles_and_top_samples():
    torch.manual_seed(1)
    gen = ProGANGenerator([16, 16, 8], z_dim=16).eval()
    opts = DissectOptions(layers=["layer4"], samples=20, batch_size=6, seed_base=77, top_samples=3)
    sketch, top = quantile_pass(gen, ["layer4"], opts, torch.device("cpu"), Dist())["layer4"]
    z = torch.stack([z_from_seed(77 + i, 16) for i in range(20)])
    with torch.no_grad():
        h = gen.run(z, until="layer4")
    acts = h.permute(1, 0, 2, 3).reshape(h.shape[1], -1)
    q = torch.tensor(opts.quantiles)
    exact = torch.quantile(acts.double(), q.double(), dim=1).T
    torch.testing.assert_close(sketch.quantiles(q).double(), exact, rtol=1e-5, atol=1e-5)
    values, indices = top.result()
    peak = h.amax(dim=(2, 3))  # (N, U)
    assert torch.equal(indices[:, 0], peak.argmax(dim=0))
    torch.testing.assert_close(values[:, 0], peak.max(dim=0).values)


def test_shards_cover_samples_contiguously():
    for total, world in [(10, 3), (7, 2), (2, 4)]:
        parts = [shard(total, r, world) for r in range(world)]
        assert [i for p in parts for i in p] == list(range(total))


# -- causal ------------------------------------------------------------------------------


def test_greedy_set_is_forward_selection_within_the_window():
    weights = {0: 0.3, 1: 0.25, 2: 0.2, 3: 0.1}
    bonus = {frozenset({0, 2}): 0.2}  # 0 and 2 together remove more than 0 and 1

    def removal(units):
        s = set(units)
        r = sum(weights[u] for u in s)
        r += sum(v for k, v in bonus.items() if k <= s)
        return min(r, 1.0)

    calls = []

    def evaluate(sets):
        calls.append(len(sets))
        return [removal(s) for s in sets]

    singles = sorted(((u, removal([u])) for u in weights), key=lambda p: -p[1])
    units, steps = greedy_set(singles, evaluate, size=3, window=4)
    assert units == [0, 2, 1]
    assert steps == pytest.approx([0.3, 0.7, 0.95])
    assert calls == [3, 2]  # the first step reuses the single-unit scores
    units, _ = greedy_set(singles, evaluate, size=4, window=1)
    assert units == [0, 1, 2, 3]
    # Early stop once (almost) everything is removed; the rest follows single order.
    units, steps = greedy_set(singles, lambda sets: [1.0] * len(sets), size=4, window=2)
    assert units == [0, 1, 2, 3] and steps[-1] == 1.0


# -- evaluation helpers ------------------------------------------------------------------


def test_insertion_square_avoids_the_concept_and_follows_the_prior():
    present = torch.zeros(2, 16, 16, dtype=torch.bool)
    present[0, :8, :] = True  # image 0: concept on the top half
    present[1] = True  # image 1: everywhere, so no square fits
    prior = torch.zeros(16, 16)
    prior[8:12, 12:] = 1.0
    pos = _square_positions(present, prior, cells=4, side=1)
    assert pos[0].tolist() == [2, 3]
    assert pos[1].tolist() == [-1, -1]


def test_concept_sized_mask_follows_the_median_area():
    from ganpaint.dissect.evaluate import concept_side

    present = torch.zeros(4, 64, 64, dtype=torch.bool)
    present[0, :8, :8] = True  # 64 px
    present[1, :16, :16] = True  # 256 px (the median of 64, 256, 1024)
    present[2, :32, :32] = True  # 1024 px; image 3 does not show it
    assert concept_side(present, cell_px=8, max_side=4) == 2  # 16 px side = 2 cells
    assert concept_side(present, cell_px=8, max_side=1) == 1
    assert concept_side(present[:1], cell_px=16, max_side=4) == 1  # never below one cell
    assert concept_side(present[3:], cell_px=8, max_side=3) == 3  # unseen: the full square


def test_ranked_units_prefers_the_causal_set():
    doc = Dissection.from_dict(
        {
            "format": "ganpaint-dissection",
            "version": 1,
            "layers": {
                "layer4": {
                    "concepts": {
                        "tree": {
                            "iou": [[3, 0.2], [5, 0.1], [7, 0.05]],
                            "causal_set": {"units": [5]},
                        }
                    }
                }
            },
        }
    )
    assert ranked_units(doc, "layer4", "tree") == [5, 3, 7]
    assert ranked_units(doc, "layer4", "door") == []


def test_result_cache_round_trip(tmp_path):
    cache = ResultCache(tmp_path)
    key = {"a": 1, "layer": "layer4"}
    cache.save_tensors("pass1-layer4", key, {"x": torch.arange(4)})
    assert torch.equal(cache.load_tensors("pass1-layer4", key)["x"], torch.arange(4))
    assert cache.load_tensors("pass1-layer4", {"a": 2, "layer": "layer4"}) is None
    cache.save_json("causal", key, {"tree": [1, 2]})
    assert cache.load_json("causal", key) == {"tree": [1, 2]}
    assert ResultCache(None).load_json("causal", key) is None


def test_all_gather_state_single_process_is_identity():
    state = {"count": 3, "x": torch.ones(2)}
    assert Dist().all_gather_state(state) == [state]


# -- end to end --------------------------------------------------------------------------


def _without_defaults(doc: dict) -> dict:
    """``doc`` without what ``learn-defaults`` adds (brush defaults, the scene index)."""
    doc = json.loads(json.dumps(doc))
    doc.pop("scene_index", None)
    for layer in doc["layers"].values():
        for entry in layer["concepts"].values():
            entry.pop("defaults", None)
    return doc


def _dissect_args(bundle: Path, cache: Path, defaults: bool = False) -> list[str]:
    return [
        "dissect", str(bundle), "--samples", "40", "--batch", "16", "--segment-fn", SEGMENT_FN,
        "--cache-dir", str(cache), "--causal-pool", "24", "--causal-samples", "6",
        "--causal-candidates", "5", "--causal-set-size", "4", "--quiet",
        *(["--defaults-samples", "4"] if defaults else ["--no-defaults"]),
    ]  # fmt: skip


def test_dissect_bundle_and_the_command_write_the_same_document(tmp_path):
    """The library call and ``ganpaint dissect`` with the same options give the same
    dissection.json (best-threshold stage included); only timing and date may differ."""
    from ganpaint.dissect.causal import CausalOptions
    from ganpaint.dissect.pipeline import dissect_bundle
    from ganpaint.dissect.segmenters import bundle_segmenter

    folder = make_tiny_bundle(tmp_path / "tiny")
    bundle = load_bundle(folder)
    seg_fn, seg_id, concepts = bundle_segmenter(bundle, torch.device("cpu"), SEGMENT_FN, 16)
    options = DissectOptions(layers=["layer4", "layer6"], samples=24, batch_size=16)
    causal = CausalOptions(candidates=4, samples=4, pool=16, set_size=3, batch_size=16)
    library = dissect_bundle(bundle, seg_fn, seg_id, concepts, options, causal).to_dict()
    args = [
        "dissect", str(folder), "--samples", "24", "--batch", "16", "--segment-fn", SEGMENT_FN,
        "--no-cache", "--causal-pool", "16", "--causal-samples", "4", "--causal-candidates",
        "4", "--causal-set-size", "3", "--quiet", "--no-defaults",
    ]  # fmt: skip
    assert main(args) == 0
    command = json.loads((folder / "dissection.json").read_text())
    assert "iou_method" in command["layers"]["layer4"]  # the best-threshold stage ran
    for doc in (library, command):
        doc.pop("timing"), doc.pop("created")
    assert library == command


def test_dissect_report_evaluate_end_to_end(tmp_path, monkeypatch, capsys):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    cache = tmp_path / "cache"
    assert main(_dissect_args(bundle, cache, defaults=True)) == 0
    doc = json.loads((bundle / "dissection.json").read_text())
    assert doc["format"] == "ganpaint-dissection" and doc["version"] == 1
    assert doc["samples"] == 40 and doc["seed_base"] == 1_000_000_000
    assert doc["concepts"] == list(SYNTHETIC_CONCEPTS)
    assert doc["threshold_quantile"] == 0.995 and doc["iou_cutoff"] == 0.05
    for layer, units, res in (("layer4", 32, 8), ("layer6", 16, 16)):
        info = doc["layers"][layer]
        assert info["units"] == units and info["resolution"] == res
        assert info["quantiles"] == [0.5, 0.9, 0.95, 0.99, 0.995, 0.999]
        assert len(info["levels"]) == units and all(len(r) == 6 for r in info["levels"])
        assert all(r == sorted(r) for r in info["levels"])
        assert len(info["thresholds"]) == units
        assert [x["unit"] for x in info["unit_labels"]] == list(range(units))
        assert set(info["concepts"]) == set(SYNTHETIC_CONCEPTS)
        for entry in info["concepts"].values():
            ious = [v for _, v in entry["iou"]]
            assert ious == sorted(ious, reverse=True)
            assert len(entry["causal"]) == 5
            assert len(entry["causal_set"]["units"]) == 4
            assert set(entry["causal_set"]["units"]) <= {u for u, _ in entry["causal"]}
            assert isinstance(entry["causal_set"]["removal"], float)
        assert len(info["top_samples"]) == units
        # learned after the dissection, on its own samples: brush defaults and a hint
        learned = [e["defaults"] for e in info["concepts"].values() if "defaults" in e]
        assert learned and all(d["samples"] == 4 and d["hint"] for d in learned)
        assert any(1 <= d["draw"]["units"] <= 50 for d in learned if "draw" in d)
    index = doc["scene_index"]
    assert index["seeds"][0] == doc["seed_base"] and len(index["shares"]) == 40  # not past them
    # bundle.json now lists dissection.json with its hash; the bundle opens and verifies.
    opened = load_bundle(bundle)
    assert "dissection.json" in opened.meta["files"]
    levels = UnitLevels.from_dissection(opened.dissection, "layer4")
    assert levels is not None and levels.units == 32

    # A second run is served from the cache: no pass and no ablation may run.
    import ganpaint.dissect.causal as causal_mod
    import ganpaint.dissect.passes as dissect_mod

    def boom(*a, **k):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(dissect_mod, "quantile_pass", boom)
    monkeypatch.setattr(dissect_mod, "iou_pass", boom)
    monkeypatch.setattr(causal_mod, "AblationPool", boom)
    assert main(_dissect_args(bundle, cache)) == 0
    again = json.loads((bundle / "dissection.json").read_text())
    assert again["layers"] == _without_defaults(doc)["layers"]  # this run learned none
    monkeypatch.undo()

    out = tmp_path / "report"
    assert main(["report", str(bundle), "-o", str(out), "--all-units", "--max-units", "3"]) == 0
    html = (out / "index.html").read_text()
    assert "layer4" in html and "layer6" in html and "unit " in html
    pngs = sorted(p.name for p in (out / "img").glob("*.png"))
    assert "layer4-concepts.png" in pngs and "layer6-concepts.png" in pngs
    assert len(pngs) > 2
    capsys.readouterr()

    args = ["evaluate", str(bundle), "--json", "--samples", "24", "--segment-fn", SEGMENT_FN]
    assert main(args) == 0
    table = json.loads(capsys.readouterr().out)
    assert list(table) == list(SYNTHETIC_CONCEPTS)
    for row in table.values():
        assert set(row) - {"insertion_by_covered"} == {"removal", "insertion", "outside_change"}
        assert set(row["removal"]) == {"5", "10", "20"}
        for v in [*row["removal"].values(), row["insertion"], row["outside_change"]]:
            assert v is None or isinstance(v, float)
    assert main(["evaluate", str(bundle), "--samples", "8", "--segment-fn", SEGMENT_FN]) == 0
    assert "insert" in capsys.readouterr().out
    ctx = ["evaluate", str(bundle), "--samples", "8", "--segment-fn", SEGMENT_FN]
    assert main([*ctx, "--placement", "context"]) == 0
    assert "insertion by the class the square covered (context placement)" in (
        capsys.readouterr().out
    )
    args = ["evaluate", str(bundle), "--samples", "8", "--segment-fn", SEGMENT_FN, "--mask"]
    png = tmp_path / "examples.png"
    assert main([*args, "concept", "--examples", str(png), "--examples-per-concept", "2"]) == 0
    assert "concept insertion mask" in capsys.readouterr().out
    from PIL import Image

    with Image.open(png) as im:  # rows of before/after pairs (2 images high) per concept
        assert im.height % (2 * 32 + 4) == 0 and im.width == 96 + 2 * 32
        pixels = np.asarray(im.convert("RGB"))
    assert ((pixels == (255, 0, 255)).all(axis=2)).any()  # squares are outlined
    with pytest.raises(SystemExit):  # argparse refuses an unknown mask
        main([*args, "blob"])
    assert "invalid choice: 'blob'" in capsys.readouterr().err


def test_a_dissected_layer_becomes_an_edit_layer(tmp_path):
    # The bundle lists layer4 and layer6; dissecting layer5 and layer2 (named out of order,
    # which dissect once crashed on: every pass runs the layers in forward order) makes
    # them layers the app offers, in the generator's order; the default layer stays.
    bundle = make_tiny_bundle(tmp_path / "tiny")
    assert load_bundle(bundle).edit_layers == ["layer4", "layer6"]
    args = [*_dissect_args(bundle, tmp_path / "cache"), "--no-causal", "--layers", "layer5,layer2"]
    assert main(args) == 0
    opened = load_bundle(bundle)
    assert opened.edit_layers == ["layer2", "layer4", "layer5", "layer6"]
    assert opened.default_layer == "layer4"


def test_dissect_and_report_take_layers_with_spaces_or_commas(tmp_path, capsys):
    from ganpaint.cli import build_parser
    from ganpaint.cli.options import flat_layers

    for cmd in (["dissect", "b"], ["report", "b", "-o", "r"]):
        args = build_parser().parse_args([*cmd, "--layers", "layer4,layer6", "layer8"])
        assert flat_layers(args.layers) == ["layer4", "layer6", "layer8"]
    args = build_parser().parse_args(["dissect", "b", "--causal-layers", "layer4,layer6"])
    assert flat_layers(args.causal_layers) == ["layer4", "layer6"]
    bundle = make_tiny_bundle(tmp_path / "tiny")
    args = ["dissect", str(bundle), "--layers", "layer1,layer99", "--no-cache", "--quiet"]
    assert main(args) == 2
    assert "'layer99' is not a layer" in capsys.readouterr().err


def test_dissect_rejects_unknown_layer_and_missing_segmenter(tmp_path, capsys):
    bundle = make_tiny_bundle(tmp_path / "tiny")
    assert main(["dissect", str(bundle), "--layers", "layer99", "--no-cache", "--quiet"]) == 2
    assert "layer99" in capsys.readouterr().err
    assert main(["dissect", str(bundle), "--samples", "4", "--no-cache", "--quiet"]) == 2
    assert "segmenter" in capsys.readouterr().err
    assert main(["dissect", str(bundle), "--threshold-quantile", "1.5", "--quiet"]) == 2
    assert "threshold-quantile" in capsys.readouterr().err
    assert main(["dissect", str(bundle), "--ace", "--ace-window", "-1", "--quiet"]) == 2
    assert "--ace-window" in capsys.readouterr().err
    args = ["dissect", str(bundle), "--samples", "8", "--segment-fn", SEGMENT_FN, "--no-cache"]
    assert main([*args, "--quiet", "--ace", "--causal-samples", "2", "--causal-pool", "8"]) == 2
    assert "logits" in capsys.readouterr().err  # ACE needs class scores; this function has none
    assert main(["report", str(bundle), "-o", str(tmp_path / "r")]) == 2
    assert "dissection" in capsys.readouterr().err
    assert main(_dissect_args(bundle, tmp_path / "cache")) == 0
    capsys.readouterr()
    refine = ["refine-sets", str(bundle), "--segment-fn", SEGMENT_FN, "--quiet"]
    assert main([*refine, "--concepts", "nonsense"]) == 2
    assert "'nonsense' is not a concept" in capsys.readouterr().err
    concept = json.loads((bundle / "dissection.json").read_text())["concepts"][0]
    assert main([*refine, "--concepts", concept]) == 2
    assert "logits" in capsys.readouterr().err
    assert main([*refine, "--concepts", concept, "--outside-budget", "2"]) == 2
    assert "outside-budget" in capsys.readouterr().err
    learn = ["learn-defaults", str(bundle), "--segment-fn", SEGMENT_FN, "--layer", "layer4"]
    assert main([*learn, "--samples", "0", "--quiet"]) == 2
    assert "--samples" in capsys.readouterr().err
    before = json.loads((bundle / "dissection.json").read_text())
    assert main([*learn, "--samples", "2", "--index-samples", "6", "--concepts", concept]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(concept) and "wrote" in printed
    after = json.loads((bundle / "dissection.json").read_text())
    assert after["layers"]["layer4"]["concepts"][concept]["defaults"]["samples"] == 2
    assert len(after["scene_index"]["seeds"]) == 6
    # the dissection itself is kept: only the defaults and the index were (re)written
    assert _without_defaults(before) == _without_defaults(after)


def test_dissection_runs_the_generator_as_the_cpu_renderer_does():
    """On the CPU every dissection stage runs the network fused (each block's scale and bias
    in its convolution), as the app's renderer does: the same images up to float rounding,
    the caller's generator left as it was."""
    from ganpaint.dissect.sampling import prepare_generator
    from ganpaint.models.progan import ConvBlock, WScale, seeded_generator

    gen = seeded_generator([16, 16, 8, 8], z_dim=16, seed=3)
    ready = prepare_generator(gen, torch.device("cpu"))
    blocks = [m for m in ready.modules() if isinstance(m, ConvBlock)]
    assert blocks and all(not isinstance(b.wscale, WScale) for b in blocks)
    assert all(b.conv.bias is not None for b in blocks)
    assert all(isinstance(m.wscale, WScale) for m in gen.modules() if isinstance(m, ConvBlock))
    z = torch.randn(4, 16)
    with torch.no_grad():
        torch.testing.assert_close(ready(z), gen(z), rtol=1e-4, atol=1e-5)
