"""Every file of the hostile corpus (tests/hostile_corpus.py) is refused with CheckpointError
by load_generator and load_bundle (as a bare file and inside a bundle folder), no payload
runs, and files that declare absurd sizes are refused with bounded memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from ganpaint.core.errors import BundleError, CheckpointError
from ganpaint.models import load_bundle, load_generator
from ganpaint.models.bundle import sha256_file
from tests.hostile_corpus import (
    HUGE_NAMES,
    OTHER_NAMES,
    PAYLOAD_FORMATS,
    PAYLOADS,
    PLACES,
    build_corpus,
    valid_files,
)

ROOT = Path(__file__).resolve().parent.parent
MAX_GROWTH_MB = 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_corpus(tmp_path_factory.mktemp("hostile"))


def _bundle_folder(tmp: Path, file: Path) -> Path:
    """A bundle folder whose generator.safetensors is ``file``, with honest hashes."""
    folder = tmp / f"bundle-{file.stem}"
    folder.mkdir()
    shutil.copyfile(file, folder / "generator.safetensors")
    meta = {
        "format": "ganpaint-bundle",
        "version": 1,
        "name": "hostile",
        "files": {"generator.safetensors": {"sha256": sha256_file(file)}},
    }
    (folder / "bundle.json").write_text(json.dumps(meta))
    return folder


def _refusals(case, tmp: Path) -> list[str]:
    """Load ``case`` every way; a list of what went wrong (empty when all refused)."""
    problems = []
    loaders = [
        ("load_generator", lambda: load_generator(case.path), case.path.name),
        ("load_bundle(file)", lambda: load_bundle(case.path), case.path.name),
    ]
    folder = _bundle_folder(tmp, case.path)
    loaders.append(("load_bundle(folder)", lambda: load_bundle(folder), "generator.safetensors"))
    for how, load, name in loaders:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load()
            problems.append(f"{case.name}: {how} loaded it")
        except CheckpointError as exc:
            if name not in str(exc):
                problems.append(f"{case.name}: {how}: the message does not name the file: {exc}")
        except Exception as exc:  # noqa: BLE001 - what this test looks for
            problems.append(f"{case.name}: {how} raised {type(exc).__name__}: {exc}")
        if case.marker is not None and case.marker.exists():
            problems.append(f"{case.name}: {how} RAN THE PAYLOAD")
    return problems


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_code_payloads_are_refused_and_never_run(corpus, tmp_path, kind):
    problems = []
    for place in PLACES:
        for fmt in PAYLOAD_FORMATS:
            case = corpus[f"payload-{kind}-{place}-{fmt}"]
            assert case.marker is not None and not case.marker.exists()
            problems += _refusals(case, tmp_path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", OTHER_NAMES)
def test_hostile_file_is_refused(corpus, tmp_path, name):
    problems = _refusals(corpus[name], tmp_path)
    assert not problems, "\n".join(problems)


_UNPICKLE = "import pickle, sys; pickle.load(open(sys.argv[1], 'rb'))"


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_payloads_are_live(corpus, kind):
    """The control: plain pickle.load of the bare pickle runs the payload (the marker
    appears), so the refusals above are refusals of working exploits."""
    case = corpus[f"payload-{kind}-top-pickle"]
    try:
        subprocess.run([sys.executable, "-c", _UNPICKLE, str(case.path)], timeout=60, check=False)
        deadline = time.monotonic() + 10  # Popen's child may still be running
        while not case.marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert case.marker.exists(), f"{kind}: the payload did not run under pickle.load"
    finally:
        case.marker.unlink(missing_ok=True)


@pytest.mark.slow
def test_zip_payload_is_live_under_unsafe_torch_load(corpus):
    case = corpus["payload-os-system-value-zip"]
    code = "import sys, torch; torch.load(sys.argv[1], weights_only=False)"
    try:
        subprocess.run([sys.executable, "-c", code, str(case.path)], timeout=120, check=False)
        assert case.marker.exists()
    finally:
        case.marker.unlink(missing_ok=True)


def test_valid_control_files_load(tmp_path):
    """The corpus builders without the hostile part make files that load."""
    for name, path in valid_files(tmp_path).items():
        gen = load_generator(path)
        assert gen.resolution == 8, name


def test_pickle_named_safetensors_in_a_bundle_is_refused(corpus, tmp_path):
    """A bundle's generator.safetensors is read as safetensors only, whatever it holds."""
    folder = _bundle_folder(tmp_path, corpus["payload-os-system-value-zip"].path)
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_bundle(folder)
    assert not corpus["payload-os-system-value-zip"].marker.exists()


def test_bundle_hash_mismatch_is_bundle_error(corpus, tmp_path):
    folder = _bundle_folder(tmp_path, corpus["st-nan-weights"].path)
    meta = json.loads((folder / "bundle.json").read_text())
    meta["files"]["generator.safetensors"]["sha256"] = "0" * 64
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(folder)


_MEASURE = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from ganpaint.core.errors import CheckpointError
from ganpaint.models import load_generator

def peak_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024

load_generator(sys.argv[1])  # warm up on a valid file: lazy imports, allocator pools
base = peak_mb()
cases = {}
for path in sys.argv[2:]:  # CPU seconds: what a refusal costs, whatever the machine's load
    t = time.process_time()
    try:
        load_generator(path)
        outcome = "loaded"
    except CheckpointError:
        outcome = "refused"
    cases[path] = {"outcome": outcome, "growth_mb": peak_mb() - base,
                   "s": time.process_time() - t}
print(json.dumps({"base_mb": base, "cases": cases}))
"""


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="peak RSS through the resource module")
def test_absurd_declarations_keep_memory_bounded(corpus, tmp_path):
    """Files declaring 10^12 elements, 4 GB of stride-0 views, a 256 MiB deflate bomb…:
    refused in a subprocess whose peak RSS grows by less than MAX_GROWTH_MB."""
    valid = valid_files(tmp_path)["zip"]
    paths = [str(corpus[n].path) for n in HUGE_NAMES]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(valid), *paths],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    report = []
    for name in HUGE_NAMES:
        r = result["cases"][str(corpus[name].path)]
        report.append(f"{name}: {r['outcome']}, +{r['growth_mb']:.0f} MB, {r['s']:.2f} s")
        assert r["outcome"] == "refused", report[-1]
        assert r["growth_mb"] < MAX_GROWTH_MB, "\n".join(report)
        assert r["s"] < 30, report[-1]


def test_corpus_files_are_small(corpus):
    """Built by code, every case is small (the deflate bomb holds 256 MiB in about 256 KB)."""
    for case in corpus.values():
        size = case.path.stat().st_size
        assert size < (1 << 20), f"{case.name}: {size} bytes"
