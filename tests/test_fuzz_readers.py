"""Fuzzing the readers of untrusted files: every input either loads or is refused with the
reader's own error, never another exception, never a hang.

* project files: ``EditDocument.load``/``from_dict``/``Stroke.from_dict`` -> ProjectFileError
* ``bundle.json``: ``read_bundle_json`` -> BundleError; ``load_bundle`` -> BundleError or
  CheckpointError
* checkpoints: bit flips and truncations of valid files -> CheckpointError

Hypothesis drives the structures here (modest ``max_examples``); ``ganpaint fuzz`` runs the
seeded fuzzers of :mod:`ganpaint.robust.fuzz` for longer.
"""

from __future__ import annotations

import base64
import json
import random
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganpaint.cli import main
from ganpaint.core.errors import BundleError, CheckpointError, ProjectFileError
from ganpaint.engine.document import EditDocument, Stroke
from ganpaint.models import load_bundle, load_generator
from ganpaint.models.bundle import read_bundle_json
from ganpaint.robust import cases as C
from ganpaint.robust import fuzz as F
from ganpaint.robust import model_targets as MT
from ganpaint.robust import mutate as M
from ganpaint.robust import project_target as PT

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIMIT_S = 10.0  # one input may take this long before it counts as a hang

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(M.EDGE_VALUES[:40])
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=10) | st.sampled_from(["format", "mask"]), children, max_size=5
        )
    ),
    max_leaves=25,
)


def _expect(call, *allowed: type[BaseException]):
    """Run ``call`` under the time limit: its result, or None when refused as allowed."""
    try:
        with C.time_limit(LIMIT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except allowed:
        return None


# -- project files ---------------------------------------------------------------------------


def _project_like(value) -> dict:
    base = {"format": "ganpaint-project", "version": 1, "model": {"id": "m"}}
    if isinstance(value, dict):
        base.update(value)
    else:
        base["strokes"] = value
    return base


@SETTINGS
@given(value=json_values)
def test_project_from_dict_random_json(value):
    for candidate in (value, _project_like(value)):
        doc = _expect(lambda c=candidate: EditDocument.from_dict(c), ProjectFileError)
        if doc is not None:
            PT.check_project(doc)


stroke_fields = st.fixed_dictionaries(
    {},
    optional={
        "concept": json_values,
        "action": st.sampled_from(["draw", "remove", "paint"]) | json_values,
        "units": st.lists(st.integers(min_value=-5, max_value=10**30), max_size=5) | json_values,
        "strength": st.floats(allow_nan=True) | json_values,
        "quantile": st.floats(allow_nan=True) | json_values,
        "layer": st.just("layer4") | json_values,
        "visible": json_values,
        "mask": st.fixed_dictionaries(
            {},
            optional={
                "shape": st.lists(st.integers(-2, 5000), max_size=3) | json_values,
                "encoding": st.just("zlib-base64-u8") | json_values,
                "data": st.binary(max_size=64).map(
                    lambda b: base64.b64encode(zlib.compress(b)).decode()
                )
                | json_values,
            },
        )
        | json_values,
    },
)


@SETTINGS
@given(d=stroke_fields)
def test_stroke_from_dict_random_fields(d):
    stroke = _expect(lambda: Stroke.from_dict(d), ProjectFileError)
    if stroke is not None:
        doc = EditDocument("m", "layer4")
        doc.add_stroke(stroke)
        PT.check_project(doc)


@SETTINGS
@given(rng=st.randoms(use_true_random=False), mutations=st.integers(1, 4))
def test_mutated_valid_project_loads_or_is_refused(tmp_path, rng, mutations):
    d = PT.valid_project(rng, strokes=rng.randint(1, 3))
    raws: list[str] = []
    for _ in range(mutations):
        d = M.mutate_json(rng, d, raws)
    path = tmp_path / "p.ganpaint"
    path.write_bytes(M.dumps_with_raw(d, raws).encode("utf-8", "surrogatepass"))
    doc = _expect(lambda: EditDocument.load(path), ProjectFileError)
    if doc is not None:
        PT.check_project(doc)


@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_byte_mutated_project_loads_or_is_refused(tmp_path, rng):
    text = json.dumps(PT.valid_project(rng, strokes=rng.randint(0, 2))).encode()
    path = tmp_path / "p.ganpaint"
    path.write_bytes(M.mutate_bytes(rng, text))
    doc = _expect(lambda: EditDocument.load(path), ProjectFileError)
    if doc is not None:
        PT.check_project(doc)


@pytest.mark.parametrize("raw", M.RAW_VALUES)
@pytest.mark.parametrize("where", ["seed", "layer", "strength", "shape", "top"])
def test_raw_json_values_in_projects(tmp_path, raw, where):
    """Numbers beyond int()'s digit limit or float's range, nesting beyond the recursion
    limit, lone surrogates: refused (or loaded) cleanly wherever they appear."""
    d = PT.valid_project(random.Random(1), strokes=1)
    token = M.RAW_TOKEN.format(0)
    if where == "top":
        d = token
    elif where == "strength":
        d["strokes"][0]["strength"] = token
    elif where == "shape":
        d["strokes"][0]["mask"]["shape"][0] = token
    else:
        d[where] = token
    path = tmp_path / "p.ganpaint"
    path.write_text(M.dumps_with_raw(d, [raw]))
    doc = _expect(lambda: EditDocument.load(path), ProjectFileError)
    if doc is not None:
        PT.check_project(doc)


def test_mask_zlib_bomb_is_refused_without_inflating(tmp_path):
    """A mask whose data inflates to 256 MiB behind a 4x4 (and a 4096x4096) shape is refused,
    and loading allocates in proportion to the shape (the decompressor stops at shape + 1
    bytes), not to the 256 MiB."""
    bomb = base64.b64encode(zlib.compress(bytes(256 << 20), 9)).decode("ascii")
    for shape in ([4, 4], [4096, 4096]):
        d = PT.valid_project(random.Random(2), strokes=1)
        d["strokes"][0]["mask"].update(shape=shape, data=bomb)
        path = tmp_path / "bomb.ganpaint"
        path.write_text(json.dumps(d))
        tracemalloc.start()
        try:
            with pytest.raises(ProjectFileError, match="does not match"), C.time_limit(LIMIT_S):
                EditDocument.load(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # bounded by the declared shape (at most 4096 x 4096), not by what the data inflates to
        bound = 2 * shape[0] * shape[1] + (8 << 20)
        assert peak < bound, f"{shape}: peak {peak / 2**20:.0f} MB"


def test_huge_strength_and_shape_numbers_are_project_errors():
    """Found by fuzzing: int too large for float (OverflowError) and inf as a mask side."""
    d = PT.valid_project(random.Random(3), strokes=1)
    d["strokes"][0]["strength"] = 10**400
    with pytest.raises(ProjectFileError, match="strength|Overflow"):
        EditDocument.from_dict(d)
    d = PT.valid_project(random.Random(3), strokes=1)
    d["strokes"][0]["mask"]["shape"] = [float("inf"), 4]
    with pytest.raises(ProjectFileError, match="shape"):
        EditDocument.from_dict(d)


def test_fuzz_project_target_short_run(tmp_path):
    report = F.fuzz("project", 150, seed=11, workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.loaded > 0 and report.refused > 0


def test_fuzz_picture_target_short_run(tmp_path):
    report = F.fuzz("picture", 150, seed=5, workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.loaded > 0 and report.refused > 0
    assert set(report.kinds) >= {"valid", "truncated", "bytes"}


# -- bundle.json -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle_target(tmp_path_factory):
    return MT.BundleTarget(tmp_path_factory.mktemp("bundle-fuzz"))


def _bundle_case(target: MT.BundleTarget, meta_bytes: bytes) -> None:
    case = C.Case(0, "hypothesis", "", {"bundle.json": meta_bytes})
    _expect(lambda: target.run(case), BundleError, CheckpointError)


@SETTINGS
@given(value=json_values)
def test_bundle_json_random_json(bundle_target, value):
    _bundle_case(bundle_target, json.dumps(value).encode())
    if isinstance(value, dict):  # past the format check, into the fields
        value = dict(value, format="ganpaint-bundle", version=1)
        _bundle_case(bundle_target, json.dumps(value).encode())


@SETTINGS
@given(rng=st.randoms(use_true_random=False), mutations=st.integers(1, 4))
def test_bundle_json_mutated(bundle_target, rng, mutations):
    meta = json.loads(bundle_target.originals["bundle.json"])
    raws: list[str] = []
    for _ in range(mutations):
        meta = M.mutate_json(rng, meta, raws)
    _bundle_case(bundle_target, M.dumps_with_raw(meta, raws).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_bundle_json_bytes_mutated(bundle_target, rng):
    _bundle_case(bundle_target, M.mutate_bytes(rng, bundle_target.originals["bundle.json"]))


@pytest.mark.parametrize("raw", M.RAW_VALUES)
def test_bundle_json_raw_values(bundle_target, raw):
    _bundle_case(bundle_target, raw.encode("utf-8", "surrogatepass"))
    with pytest.raises(BundleError):
        read_bundle_json(bundle_target.folder)  # not an object, or not JSON at all
    for key in ("name", "version", "edit_layers", "files", "default_layer"):
        meta = json.loads(bundle_target.originals["bundle.json"])
        meta[key] = M.RAW_TOKEN.format(0)
        _bundle_case(bundle_target, M.dumps_with_raw(meta, [raw]).encode("utf-8", "surrogatepass"))


def test_bundle_files_entry_with_overlong_name_is_bundle_error(bundle_target):
    """Found by fuzzing: a 300-character file name made is_file() raise OSError."""
    meta = json.loads(bundle_target.originals["bundle.json"])
    meta["files"]["x" * 300] = {"sha256": "0" * 64}
    case = C.Case(0, "files", "", {"bundle.json": json.dumps(meta).encode()})
    with pytest.raises(BundleError, match="cannot read"):
        bundle_target.run(case)


def test_bundle_default_layer_must_exist(bundle_target):
    meta = json.loads(bundle_target.originals["bundle.json"])
    for bad, err in (("layer99", "default layer"), (7, "default_layer")):
        meta["default_layer"] = bad
        case = C.Case(0, "structure", "", {"bundle.json": json.dumps(meta).encode()})
        with pytest.raises(BundleError, match=err):
            bundle_target.run(case)


def test_deep_dissection_json_is_bundle_error(bundle_target):
    meta = json.loads(bundle_target.originals["bundle.json"])
    dis = b"[" * 100_000 + b"]" * 100_000
    import hashlib

    meta["files"]["dissection.json"]["sha256"] = hashlib.sha256(dis).hexdigest()
    files = {"bundle.json": json.dumps(meta).encode(), "dissection.json": dis}
    with pytest.raises(BundleError, match="dissection.json"):
        bundle_target.run(C.Case(0, "dissection", "", files))


def test_fuzz_bundle_target_short_run(tmp_path):
    report = F.fuzz("bundle", 150, seed=12, workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.loaded > 0 and report.refused > 0


# -- checkpoints -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_target(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MT.CheckpointTarget(tmp_path_factory.mktemp("ckpt-fuzz"))


def _checkpoint(target: MT.CheckpointTarget, name: str, data: bytes):
    case = C.Case(0, "test", "", {name: data})
    return _expect(lambda: target.run(case), CheckpointError)


@pytest.mark.parametrize("seed_name", ["safetensors-f32", "torch-zip", "torch-legacy"])
def test_every_truncation_is_checkpoint_error(checkpoint_target, seed_name):
    data = checkpoint_target.seeds[seed_name]
    suffix = ".safetensors" if seed_name.startswith("safetensors") else ".pth"
    for cut in sorted({*range(0, len(data), max(1, len(data) // 60)), len(data) - 1}):
        case = C.Case(cut, "truncated", "", {f"case{suffix}": data[:cut]})
        with pytest.raises(CheckpointError), C.time_limit(LIMIT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            checkpoint_target.run(case)


@SETTINGS
@given(
    rng=st.randoms(use_true_random=False),
    seed_name=st.sampled_from(
        [
            "safetensors-f32",
            "safetensors-f16",
            "torch-zip",
            "torch-zip-wrapped-old-names",
            "torch-legacy",
        ]
    ),
)
def test_bit_flipped_checkpoints(checkpoint_target, rng, seed_name):
    data = bytearray(checkpoint_target.seeds[seed_name])
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    suffix = ".safetensors" if seed_name.startswith("safetensors") else ".pth"
    _checkpoint(checkpoint_target, f"case{suffix}", bytes(data))


@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_structurally_mutated_checkpoints(checkpoint_target, rng):
    case = checkpoint_target.make(rng, 0)
    _expect(lambda: checkpoint_target.run(case), CheckpointError)


def test_seed_checkpoints_load(checkpoint_target, tmp_path):
    for name, data in checkpoint_target.seeds.items():
        path = tmp_path / (name + (".safetensors" if name.startswith("safetensors") else ".pth"))
        path.write_bytes(data)
        assert load_generator(path).resolution == 8
        assert load_bundle(path).generator.z_dim == 8


def test_fuzz_checkpoint_target_short_run(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = F.fuzz("checkpoint", 200, seed=13, workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.loaded > 0 and report.refused > 0


# -- the fuzzers themselves and the command --------------------------------------------------


def test_cases_are_reproducible(tmp_path):
    target = PT.ProjectTarget(tmp_path)
    a = F.make_case(target, 5, 17)
    for i in range(80):  # other cases mutate what they are given, never shared constants
        F.make_case(target, 5, i)
    assert F.make_case(target, 5, 17) == a and F.make_case(target, 6, 17) != a


def test_time_limit_catches_a_hang():
    import time

    with pytest.raises(C.CaseTimeout), C.time_limit(0.2):
        time.sleep(5)


def test_a_bug_is_reported(tmp_path, monkeypatch):
    """A reader that raises something else than its error is counted as a bug."""

    def broken(self, case):
        raise KeyError("boom")

    monkeypatch.setattr(PT.ProjectTarget, "run", broken)
    report = F.fuzz("project", 3, workdir=tmp_path)
    assert report.bug_count == 3 and not report.ok
    assert "KeyError" in report.bugs[0].error and "BUG case 0" in "\n".join(report.lines())


def test_fuzz_command(capsys):
    assert main(["fuzz", "--cases", "30", "--seed", "3", "--target", "project"]) == 0
    out = capsys.readouterr().out
    assert "project: 30 cases" in out and "0 bugs" in out


def test_fuzz_command_json_and_exit_code(capsys, monkeypatch):
    monkeypatch.setattr(MT.BundleTarget, "run", lambda self, case: 1 / 0)
    assert main(["fuzz", "--cases", "4", "--target", "bundle", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["bugs"] == 4 and data["targets"][0]["examples"][0]["error"].startswith(
        "ZeroDivisionError"
    )


def test_fuzz_command_rejects_bad_arguments(capsys):
    assert main(["fuzz", "--cases", "0"]) == 2
    assert "--cases" in capsys.readouterr().err


def test_tiny_generator_is_deterministic():
    a, b = MT.tiny_generator(), MT.tiny_generator()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert np.isfinite(a(torch.zeros(1, a.z_dim)).numpy()).all()
