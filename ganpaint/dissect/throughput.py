"""Dissection throughput: samples per second of dissection's per-sample work (generate,
segment, upsample, threshold, count), the figure ``ganpaint bench`` prints after the edit
latency. It lives with dissection because it measures dissection's counting."""

from __future__ import annotations

import copy
import time

import torch

from ganpaint.core.devices import synchronize
from ganpaint.core.seeds import z_from_seed
from ganpaint.dissect.stats import IoUCounter
from ganpaint.engine.hooks import Trace
from ganpaint.models.bundle import ModelBundle
from ganpaint.models.progan import ProGANGenerator


def dissect_throughput(
    gen: ProGANGenerator, bundle: ModelBundle | None, device: torch.device, samples: int
) -> float:
    """Samples/s of dissection's per-sample work: generate, segment, threshold and count.

    Uses the bundle's segmenter when it has one, else counts against a fixed label map, so
    the figure covers generation, upsampling, thresholding and IoU counting in either case.
    """
    layer = "layer4" if "layer4" in gen.layer_names else gen.layer_names[0]
    segmenter = bundle.load_segmenter() if bundle is not None else None
    if segmenter is not None:
        segmenter = segmenter.to(device).eval()
    concepts = 11
    channels = gen.layer_channels(layer)
    counter = IoUCounter(channels, concepts, device=device)
    batch = 16 if device.type == "cpu" else 64
    threshold = torch.zeros(1, channels, 1, 1, device=device)
    net = copy.deepcopy(gen).to(device)
    done = 0
    synchronize(device)
    start = time.perf_counter()
    with torch.inference_mode():
        while done < samples:
            n = min(batch, samples - done)
            z = torch.stack([z_from_seed(10**9 + done + i, gen.z_dim) for i in range(n)]).to(device)
            with Trace(net, layer) as trace:
                images = net(z)
            if segmenter is not None:
                labels = segmenter(images).argmax(1)
            else:
                labels = torch.zeros(
                    n, gen.resolution, gen.resolution, dtype=torch.long, device=device
                )
            up = torch.nn.functional.interpolate(
                trace.output, size=labels.shape[-2:], mode="bilinear", align_corners=False
            )
            counter.add(up > threshold, labels)
            done += n
    synchronize(device)
    return samples / (time.perf_counter() - start)
