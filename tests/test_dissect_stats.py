"""Tests for ganpaint.dissect.stats: quantile sketch accuracy, exact IoU counts, top-k."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ganpaint.dissect.stats import IoUCounter, RunningQuantile, RunningTopK, iou_from_counts

QS = [0.01, 0.5, 0.99, 0.995, 0.999]
MAX_RANK_ERROR = 1e-3
N = 10**6
UNITS = 4


def _samples(dist: str, n: int = N, units: int = UNITS, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dist == "normal":
        x = rng.normal(1.0, 2.0, (n, units))
    elif dist == "relu":  # half the mass in a spike at exactly 0
        x = np.maximum(rng.standard_normal((n, units)), 0.0)
    elif dist == "leaky":  # leaky-ReLU: a dense cluster just below 0 and an exponential tail
        x = rng.exponential(1.0, (n, units)) - 0.3
        x = np.where(x > 0, x, 0.01 * x)
    elif dist == "uniform":
        x = rng.uniform(-5.0, 3.0, (n, units))
    else:
        raise ValueError(dist)
    return x.astype(np.float32)


def _rank_errors(data: np.ndarray, estimates: np.ndarray, qs=QS) -> np.ndarray:
    """|rank(estimate) - q| per (unit, q); with ties, the distance to the tied rank range."""
    errs = np.zeros(estimates.shape)
    for u in range(data.shape[1]):
        column = np.sort(data[:, u])
        lo = np.searchsorted(column, estimates[u], "left") / len(column)
        hi = np.searchsorted(column, estimates[u], "right") / len(column)
        errs[u] = np.maximum(np.maximum(lo - qs, qs - hi), 0.0)
    return errs


def _add_in_batches(rq: RunningQuantile, data: np.ndarray, sizes) -> None:
    x = torch.from_numpy(data)
    start, i = 0, 0
    while start < len(x):
        size = sizes[i % len(sizes)]
        rq.add(x[start : start + size])
        start += size
        i += 1


@pytest.fixture(scope="module", params=["normal", "relu", "leaky", "uniform"])
def dist_data(request):
    return request.param, _samples(request.param)


def test_quantile_rank_error(dist_data):
    _, data = dist_data
    rq = RunningQuantile(UNITS)
    _add_in_batches(rq, data, [4096, 1, 777, 50_000, 64 * 64 * 3])
    assert rq.count == N
    est = rq.quantiles(QS)
    assert est.shape == (UNITS, len(QS)) and est.dtype == torch.float32
    assert est.device.type == "cpu"
    errs = _rank_errors(data, est.numpy())
    assert errs.max() < MAX_RANK_ERROR, errs


def test_quantile_merge_of_halves(dist_data):
    _, data = dist_data
    half = N // 2
    whole, first, second = RunningQuantile(UNITS), RunningQuantile(seed=1), RunningQuantile(seed=2)
    _add_in_batches(whole, data, [4096])
    _add_in_batches(first, data[:half], [4096])
    _add_in_batches(second, data[half:], [1000, 30_000])
    first.merge(second)
    assert first.count == N
    assert torch.equal(first.minmax(), whole.minmax())
    for rq in (first, whole):
        assert _rank_errors(data, rq.quantiles(QS).numpy()).max() < MAX_RANK_ERROR


def test_quantile_batch_sizes_agree():
    data = _samples("leaky", seed=3)
    for sizes in ([N], [999, 10_001]):
        rq = RunningQuantile(UNITS)
        _add_in_batches(rq, data, sizes)
        assert _rank_errors(data, rq.quantiles(QS).numpy()).max() < MAX_RANK_ERROR, sizes


def test_quantile_exact_before_compaction():
    data = _samples("normal", n=3000, units=3).astype(np.float64)
    rq = RunningQuantile(resolution=4096)
    _add_in_batches(rq, data, [7, 1000])
    qs = [0.0, 0.013, 0.25, 0.5, 0.9, 0.999, 1.0]
    est = rq.quantiles(qs)
    assert est.dtype == torch.float64
    np.testing.assert_allclose(est.numpy(), np.quantile(data, qs, axis=0).T, rtol=0, atol=1e-12)
    minmax = rq.minmax()
    assert torch.equal(minmax[:, 0], torch.from_numpy(data.min(0)))
    assert torch.equal(minmax[:, 1], torch.from_numpy(data.max(0)))
    assert rq.quantiles(0.5).shape == (3, 1)
    assert rq.quantiles(torch.tensor([0.5, 0.6])).shape == (3, 2)


def test_quantile_does_not_touch_callers_tensor():
    """(C, N)-contiguous activations passed as x = acts.t() are read without a copy."""
    acts = torch.from_numpy(_samples("normal", n=3 * 256, units=3).T.copy())  # (units, N)
    before = acts.clone()
    borrowed, copied = RunningQuantile(resolution=256), RunningQuantile(resolution=256)
    for start in (0, 256, 512):
        borrowed.add(acts[:, start : start + 256].t())
        copied.add(acts[:, start : start + 256].t().contiguous())
    borrowed.add(acts[:, :100].t())
    copied.add(acts[:, :100].t().contiguous())
    assert torch.equal(acts, before)
    assert torch.equal(borrowed.quantiles(QS), copied.quantiles(QS))


def test_quantile_extremes_exact_after_compaction():
    data = _samples("uniform", n=100_000, units=2)
    rq = RunningQuantile(resolution=64)
    _add_in_batches(rq, data, [5000])
    ends = rq.quantiles([0.0, 1.0]).numpy()
    np.testing.assert_array_equal(ends[:, 0], data.min(0))
    np.testing.assert_array_equal(ends[:, 1], data.max(0))


def _through_safetensors(state: dict) -> dict:
    """Tensors into safetensors bytes, numbers into its JSON metadata, and back."""
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    numbers = {k: v for k, v in state.items() if not isinstance(v, torch.Tensor)}
    assert all(isinstance(v, int | float) for v in numbers.values())
    blob = st_save(tensors, metadata={"numbers": json.dumps(numbers)})
    meta = json.loads(blob[8 : 8 + int.from_bytes(blob[:8], "little")])["__metadata__"]
    return {**st_load(blob), **json.loads(meta["numbers"])}


def test_quantile_state_dict_round_trip():
    data = _samples("relu", n=200_000)
    rq = RunningQuantile(UNITS, resolution=512, seed=7)
    _add_in_batches(rq, data[:150_000], [4096])
    restored = RunningQuantile()
    restored.load_state_dict(_through_safetensors(rq.state_dict()))
    assert restored.count == rq.count and restored.units == UNITS
    assert torch.equal(restored.quantiles(QS), rq.quantiles(QS))
    assert torch.equal(restored.minmax(), rq.minmax())
    # The coin flips are part of the state: continuing gives the same sketch.
    _add_in_batches(rq, data[150_000:], [4096])
    _add_in_batches(restored, data[150_000:], [4096])
    assert torch.equal(restored.quantiles(QS), rq.quantiles(QS))
    empty = RunningQuantile(3)
    empty_restored = RunningQuantile()
    empty_restored.load_state_dict(_through_safetensors(empty.state_dict()))
    assert empty_restored.count == 0 and empty_restored.units == 3


def test_quantile_merge_into_empty_and_errors():
    data = torch.from_numpy(_samples("normal", n=10_000, units=2))
    a, b = RunningQuantile(), RunningQuantile(2, resolution=256)
    b.add(data)
    a.merge(b)
    a.merge(RunningQuantile())
    assert a.count == b.count
    assert torch.equal(a.minmax(), b.minmax())
    with pytest.raises(ValueError):
        RunningQuantile().quantiles(0.5)
    with pytest.raises(ValueError):
        a.quantiles(1.5)
    with pytest.raises(ValueError):
        a.add(torch.zeros(5, 3))
    with pytest.raises(ValueError):
        RunningQuantile(resolution=7)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_quantile_cuda_matches_cpu_bound():
    data = _samples("leaky", n=300_000)
    rq = RunningQuantile(UNITS)
    x = torch.from_numpy(data).cuda()
    for start in range(0, len(x), 4096):
        rq.add(x[start : start + 4096])
    est = rq.quantiles(QS)
    assert est.device.type == "cpu"
    assert _rank_errors(data, est.numpy()).max() < MAX_RANK_ERROR


# --- IoUCounter -------------------------------------------------------------------------


def _rect_case():
    """One 10x10 image, 3 concepts, 2 units; overlaps counted by hand below."""
    labels = torch.zeros(1, 10, 10, dtype=torch.long)
    labels[0, :, 5:] = 1  # concept 0: columns 0-4, concept 1: columns 5-9
    labels[0, 8:, :] = 2  # concept 2: rows 8-9
    labels[0, 0, :] = 255  # ignored row
    labels[0, 1, 0] = -1  # ignored pixel
    masks = torch.zeros(1, 2, 10, 10, dtype=torch.bool)
    masks[0, 0, 0:4, 3:7] = True  # unit 0: rows 0-3, columns 3-6
    masks[0, 1, 6:10, 0:2] = True  # unit 1: rows 6-9, columns 0-1,
    masks[0, 1, 1, 0] = True  # ... and the ignored pixel (1, 0), which counts nowhere
    # Unit 0 on valid rows 1-3: columns 3-4 -> concept 0 (3*2=6), columns 5-6 -> concept 1 (6).
    # Unit 1: rows 6-7, columns 0-1 -> concept 0 (4); rows 8-9 -> concept 2 (4).
    inter = torch.tensor([[6, 6, 0], [4, 0, 4]])
    unit_area = torch.tensor([12, 8])
    # Concept areas on rows 1-7 (row 0 ignored, pixel (1,0) ignored) and rows 8-9.
    concept_area = torch.tensor([7 * 5 - 1, 7 * 5, 20])
    return masks, labels, inter, unit_area, concept_area


def test_iou_counter_rectangles():
    masks, labels, inter, unit_area, concept_area = _rect_case()
    counter = IoUCounter(2, 3)
    counter.add(masks, labels)
    for got, want in [
        (counter.intersection, inter),
        (counter.unit_area, unit_area),
        (counter.concept_area, concept_area),
    ]:
        assert got.dtype == torch.int64
        assert torch.equal(got, want)
    iou = counter.iou()
    assert iou.dtype == torch.float64 and iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(6 / (12 + 34 - 6))
    assert iou[1, 2] == pytest.approx(4 / (8 + 20 - 4))
    assert iou[0, 2] == 0.0
    assert counter.count == 1


def _random_batch(gen: torch.Generator, b=3, units=5, concepts=4, h=9, w=11):
    masks = torch.rand(b, units, h, w, generator=gen) < 0.3
    labels = torch.randint(-1, concepts + 1, (b, h, w), generator=gen)  # -1 and K ignored
    return masks, labels


def _numpy_counts(batches, units, concepts):
    inter = np.zeros((units, concepts), np.int64)
    uarea = np.zeros(units, np.int64)
    carea = np.zeros(concepts, np.int64)
    for masks, labels in batches:
        masks, labels = masks.numpy(), labels.numpy()
        for b in range(masks.shape[0]):
            valid = (labels[b] >= 0) & (labels[b] < concepts)
            for c in range(concepts):
                carea[c] += (labels[b] == c).sum()
            for u in range(units):
                uarea[u] += (masks[b, u] & valid).sum()
                for c in range(concepts):
                    inter[u, c] += (masks[b, u] & (labels[b] == c)).sum()
    return inter, uarea, carea


def test_iou_counter_random_vs_numpy_and_merge():
    gen = torch.Generator().manual_seed(0)
    batches = [_random_batch(gen) for _ in range(4)]
    whole, part_a, part_b = IoUCounter(5, 4), IoUCounter(5, 4), IoUCounter(5, 4)
    for i, (masks, labels) in enumerate(batches):
        whole.add(masks, labels)
        (part_a if i % 2 else part_b).add(masks, labels)
    inter, uarea, carea = _numpy_counts(batches, 5, 4)
    assert np.array_equal(whole.intersection.numpy(), inter)
    assert np.array_equal(whole.unit_area.numpy(), uarea)
    assert np.array_equal(whole.concept_area.numpy(), carea)
    part_a.merge(part_b)
    for name in ("intersection", "unit_area", "concept_area"):
        assert torch.equal(getattr(part_a, name), getattr(whole, name))
    assert part_a.count == whole.count == 12
    assert torch.equal(part_a.iou(), whole.iou())
    restored = IoUCounter(1, 1)
    restored.load_state_dict(_through_safetensors(whole.state_dict()))
    assert torch.equal(restored.iou(), whole.iou()) and restored.count == 12


def test_iou_counter_exact_beyond_float_chunk(monkeypatch):
    """Counts larger than one matmul chunk still add up exactly."""
    monkeypatch.setattr(IoUCounter, "_CHUNK", 64)
    gen = torch.Generator().manual_seed(1)
    masks, labels = _random_batch(gen, b=2, units=6, concepts=3, h=20, w=30)
    counter = IoUCounter(6, 3)
    counter.add(masks, labels)
    inter, uarea, carea = _numpy_counts([(masks, labels)], 6, 3)
    assert np.array_equal(counter.intersection.numpy(), inter)
    assert np.array_equal(counter.unit_area.numpy(), uarea)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_iou_counter_and_topk_cuda_match_cpu():
    gen = torch.Generator().manual_seed(2)
    masks, labels = _random_batch(gen, b=3, units=7, concepts=5, h=33, w=17)
    cpu, gpu = IoUCounter(7, 5), IoUCounter(7, 5)
    cpu.add(masks, labels)
    gpu.add(masks.cuda(), labels.cuda())
    assert gpu.intersection.is_cuda
    assert torch.equal(gpu.iou(), cpu.iou())
    scores = torch.randn(500, 7, generator=gen)
    topk_cpu, topk_gpu = RunningTopK(9), RunningTopK(9)
    topk_cpu.add(scores, torch.arange(500))
    topk_gpu.add(scores.cuda(), torch.arange(500).cuda())
    assert torch.equal(topk_gpu.result()[1], topk_cpu.result()[1])


def test_iou_from_counts_zero_union():
    inter = torch.tensor([[0, 2], [0, 0]])
    iou = iou_from_counts(inter, torch.tensor([2, 0]), torch.tensor([0, 4]))
    assert torch.equal(iou, torch.tensor([[0.0, 0.5], [0.0, 0.0]], dtype=torch.float64))


# --- RunningTopK --------------------------------------------------------------------------


def test_topk_matches_full_sort_and_merge():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(1000, 6, generator=gen)
    indices = torch.arange(1000) * 3 + 5
    whole, part_a, part_b = RunningTopK(10), RunningTopK(10), RunningTopK(10)
    for start in range(0, 1000, 37):
        sl = slice(start, start + 37)
        whole.add(scores[sl], indices[sl])
        (part_a if start < 500 else part_b).add(scores[sl], indices[sl])
    values, idx = whole.result()
    order = scores.t().argsort(dim=1, descending=True)[:, :10]
    assert torch.equal(values, scores.t().gather(1, order))
    assert torch.equal(idx, indices[order])
    part_a.merge(part_b)
    assert torch.equal(part_a.result()[0], values) and torch.equal(part_a.result()[1], idx)
    assert part_a.count == whole.count == 1000
    restored = RunningTopK(1)
    restored.load_state_dict(_through_safetensors(whole.state_dict()))
    assert torch.equal(restored.result()[1], idx) and restored.k == 10
    assert restored.count == 1000


def test_topk_fewer_than_k():
    topk = RunningTopK(5)
    topk.add(torch.tensor([[1.0, 4.0], [3.0, 2.0]]), torch.tensor([10, 11]))
    values, idx = topk.result()
    assert torch.equal(values, torch.tensor([[3.0, 1.0], [4.0, 2.0]]))
    assert torch.equal(idx, torch.tensor([[11, 10], [10, 11]]))
