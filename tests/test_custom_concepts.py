"""Custom concepts: units found from a few marked samples, files, and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganpaint.cli import main
from ganpaint.core.errors import GanpaintError
from ganpaint.dissect.custom import find_concept, unit_thresholds
from ganpaint.dissect.sampling import upsample_maps
from ganpaint.engine import zs_from_seeds
from ganpaint.models import ProGANGenerator, load_bundle, save_generator
from ganpaint.models.bundle import default_bundle_path, write_bundle_json
from ganpaint.models.concept_files import CustomConcept, load_concepts


@pytest.fixture()
def tiny_bundle(tmp_path):
    torch.manual_seed(1)
    folder = tmp_path / "tiny"
    folder.mkdir()
    save_generator(ProGANGenerator([32, 32, 16, 16], z_dim=16), folder / "generator.safetensors")
    write_bundle_json(folder, {"name": "tiny", "edit_layers": ["layer4"]})
    return load_bundle(folder)


def _unit_region(bundle, unit: int, seeds: list[int]) -> list[np.ndarray]:
    gen = bundle.generator
    thresholds = unit_thresholds(bundle, "layer4")[:, -1]  # the top-0.5 % level
    with torch.no_grad():
        feats = gen.run(zs_from_seeds(seeds, gen.z_dim), until="layer4").double()
    maps = upsample_maps(feats, (gen.resolution, gen.resolution))[:, unit]
    return [(m > thresholds[unit]).numpy().astype(np.uint8) * 255 for m in maps]


def test_marking_a_units_own_region_finds_that_unit(tiny_bundle):
    seeds = [3, 4, 5, 6, 7]
    masks = _unit_region(tiny_bundle, 11, seeds)
    if not any(m.any() for m in masks):  # make sure the planted region is not empty
        seeds = list(range(100, 140))
        masks = _unit_region(tiny_bundle, 11, seeds)
    concept = find_concept(tiny_bundle, "planted", seeds, masks)
    assert concept.units[0] == 11 and concept.iou[0] == pytest.approx(1.0)
    assert concept.iou == sorted(concept.iou, reverse=True)


def test_bad_masks_are_refused(tiny_bundle):
    with pytest.raises(GanpaintError, match="expected"):
        find_concept(tiny_bundle, "x", [1], [np.zeros((5, 5), np.uint8)])
    with pytest.raises(GanpaintError, match="mark nothing"):
        find_concept(tiny_bundle, "x", [1], [np.zeros((32, 32), np.uint8)])
    with pytest.raises(GanpaintError, match="name"):
        find_concept(tiny_bundle, "../etc", [1], [np.full((32, 32), 255, np.uint8)])


def test_command_makes_lists_exports_and_imports(tiny_bundle, tmp_path, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    for seed in (2, 9):
        m = np.zeros((32, 32), np.uint8)
        m[8:20, 4:30] = 255
        Image.fromarray(m).save(masks / f"seed_{seed}.png")
    store = tmp_path / "mine.json"
    base = ["concept", str(tiny_bundle.path), "--file", str(store)]
    assert main([*base, "--name", "hedge", "--masks", str(masks)]) == 0
    assert "IoU" in capsys.readouterr().out
    (concept,) = load_concepts(store)
    assert concept.name == "hedge" and concept.seeds == [2, 9] and len(concept.units) == 32
    exported = tmp_path / "hedge.json"
    assert main([*base, "--export", "hedge", "-o", str(exported)]) == 0
    other = tmp_path / "other.json"
    assert (
        main(["concept", str(tiny_bundle.path), "--file", str(other), "--import", str(exported)])
        == 0
    )
    assert [c.name for c in load_concepts(other)] == ["hedge"]
    assert main([*base, "--list"]) == 0 and "hedge" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ganpaint-concepts", "version": 1, "concepts": [{"name": 3}]}')
    assert main([*base, "--import", str(bad)]) == 2


def test_concept_roundtrip_dict():
    c = CustomConcept("pond", "layer4", [3, 1], [0.5, 0.25], [2.0, 1.0], [7])
    assert CustomConcept.from_dict(c.to_dict()).units == [3, 1]


@pytest.mark.slow
def test_marked_ground_truth_matches_full_dissection():
    """Marking a concept's segmented region on 5 samples finds at least half of the units
    that the full dissection ranks top 10 for it."""
    path = default_bundle_path()
    if not (path / "dissection.json").is_file():
        pytest.skip("the bundled model has no dissection.json")
    bundle = load_bundle(path)
    layer = bundle.default_layer
    if bundle.dissection.layers[layer].iou_method is None:
        pytest.skip("the dissection ranks by the fixed threshold; custom concepts use the best")
    info = bundle.dissection.layers[layer].concepts
    concept = max(info, key=lambda c: info[c].iou[0][1] if info[c].iou else 0.0)
    reference = [u for u, _ in info[concept].iou[:10]]
    seg = bundle.load_segmenter()
    index = bundle.concepts.index(concept)
    seeds, masks = [], []
    seed = 500
    gen = bundle.generator
    while len(seeds) < 5:
        with torch.no_grad():
            labels = seg(gen(zs_from_seeds([seed], gen.z_dim)).clamp(-1, 1)).argmax(1)[0]
        region = (labels == index).numpy()
        if region.mean() > 0.01:
            seeds.append(seed)
            masks.append(region.astype(np.uint8) * 255)
        seed += 1
    found = find_concept(bundle, "mine", seeds, masks, layer).units[:10]
    assert len(set(found) & set(reference)) >= 5, (concept, found, reference)


def _concept(name, layer="layer4", units=(1, 2)):
    n = len(units)
    return CustomConcept(name, layer, list(units), [0.5] * n, [1.0] * n)


def test_import_adds_what_fits_and_names_each_one_skipped(tmp_path):
    """One rule (the app's and the CLI's): the concepts that fit are added in one write,
    each one that does not is named with why; a malformed file is refused whole."""
    from ganpaint.models.concept_files import ModelFit, import_concepts, save_concepts

    fit = ModelFit("m", {"layer4": 8, "layer6": 4}, {"layer4": frozenset({"tree"})})
    mine = tmp_path / "mine.json"
    save_concepts(mine, [_concept("pond", units=(0,)), _concept("kept")], "m")
    source = tmp_path / "in.json"
    save_concepts(source, [
        _concept("pond", units=(3, 1)),  # replaces the user's "pond"
        _concept("far", layer="layer9"),  # no such edit layer
        _concept("big", layer="layer6", units=(2, 4)),  # unit 4 of 4
        _concept("tree"),  # the model's own concept on layer4
        _concept("units"),  # the app's hand-picked units brush
        _concept("hedge", layer="layer6", units=(0,)),
        _concept("twice", units=(1,)),
        _concept("twice", units=(2,)),  # the later one wins
    ])  # fmt: skip
    report = import_concepts(mine, source, fit)
    assert report.found == 8 and report.added == ["pond", "hedge", "twice"]
    assert report.replaced == ["pond"]
    assert report.skipped_lines() == [
        "far: its layer layer9 is not an edit layer of m",
        "big: its units do not fit the 4 units of layer6",
        "tree: “tree” is already a concept of m",
        "units: “units” is already a concept of m",
        "twice: a later concept in the file has the same name",
    ]
    stored = {c.name: c.units for c in load_concepts(mine)}
    assert stored == {"kept": [1, 2], "pond": [3, 1], "hedge": [0], "twice": [2]}

    bad = tmp_path / "bad.json"
    good = {"name": "ok", "layer": "layer4", "units": [[1, 0.5, 1.0]]}
    doc = {"format": "ganpaint-concepts", "version": 1, "concepts": [good, {"name": 3}]}
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(GanpaintError, match=r"bad\.json: concept 2: malformed .* \(no 'units'\)"):
        import_concepts(mine, bad, fit)
    with pytest.raises(GanpaintError, match="no such file"):
        import_concepts(mine, tmp_path / "missing.json", fit)
    assert {c.name for c in load_concepts(mine)} == set(stored)  # nothing changed


def test_command_imports_what_fits_and_says_what_it_skipped(tiny_bundle, tmp_path, capsys):
    from ganpaint.models.concept_files import save_concepts

    layer = tiny_bundle.edit_layers[0]
    store, source = tmp_path / "mine.json", tmp_path / "in.json"
    base = ["concept", str(tiny_bundle.path), "--file", str(store), "--import", str(source)]
    save_concepts(source, [_concept("pond", layer), _concept("far", "layer99")])
    assert main(base) == 0
    out = capsys.readouterr().out
    assert f"skipped far: its layer layer99 is not an edit layer of {tiny_bundle.name}" in out
    assert "imported 1 of 2 concept(s)" in out and ": pond" in out
    assert [c.name for c in load_concepts(store)] == ["pond"]
    save_concepts(store, [_concept("pond", layer), _concept("far", "layer99")])
    assert main(["concept", str(tiny_bundle.path), "--file", str(store), "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "not usable" not in listed[0] and "(not usable: its layer layer99" in listed[1]
    save_concepts(store, [_concept("pond", layer)])
    save_concepts(source, [_concept("far", "layer99"), _concept("huge", layer, (10_000,))])
    assert main(base) == 2  # none fits: an error that names each one and why
    err = capsys.readouterr().err
    assert "none of its 2 concept(s) fits" in err and "far: its layer layer99" in err
    assert "huge: its units do not fit" in err
    assert [c.name for c in load_concepts(store)] == ["pond"]
