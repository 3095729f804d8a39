"""The scripted drag through the real window (``ganpaint drag-bench``): its report has the
figures the "Real time" issue asks for and they are consistent. No timing assertions."""

from __future__ import annotations

import json

from ganpaint.app.views.worker import FrameJob, RenderWorker
from ganpaint.devtools.drag_bench import drag_path, format_report, run_drag_bench
from ganpaint.engine.document import DocumentSnapshot


def test_drag_bench_reports_live_frames(qtbot, app_settings, tmp_path, demo_bundle):
    r = run_drag_bench(
        demo_bundle, events=40, interval_ms=8, threads=1, settings=app_settings,
        data_dir=tmp_path / "data", timeout_s=60,
    )  # fmt: skip
    assert r["model"] == "demo" and r["brush"].startswith("tree")
    assert r["events"] == 40 and r["drag_s"] > 0
    rr = r["renderer"]
    assert rr["is_engine_renderer"] and rr["path"] == "ganpaint.engine.renderer.Renderer.render"
    assert rr["precision"] == "fp32" and rr["worker_threads"] == 1
    assert r["frames_shown_during_drag"] >= 1 and r["frames_rendered_during_drag"] >= 1
    assert r["fps_during_drag"] > 0
    # one request per move, plus the press and the release
    assert r["requests_submitted"] == 42
    assert r["requests_superseded"] + r["requests_rendered"] <= r["requests_submitted"]
    assert r["requests_rendered"] >= r["frames_rendered_during_drag"]
    assert r["render_ms"]["p50"] <= r["render_ms"]["p95"]
    assert r["event_ms"]["p50"] is not None and r["latency_ms"]["p50"] is not None
    assert r["final_matches_revision"] and r["final_shown_revision"] == r["final_revision"]
    # float32: the incremental frame is within a level of a fresh full frame
    assert r["final_image_max_diff"] <= 1 and r["strokes"] == 1
    full = r["full_path"]
    assert full["final_matches_revision"] and full["requests_submitted"] == 42
    assert rr["incremental"] and r["fps_over_full"] > 0
    json.dumps(r)
    assert "superseded" in format_report(r)


def test_drag_path_crosses_the_image():
    points = drag_path(128, 200)
    assert len(points) == 201
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and xs[0] < 20 and xs[-1] > 108
    assert all(0 < y < 128 for _, y in points)


def test_worker_counts_superseded_requests(qtbot):
    """Frames replaced in the pending slot before they start are counted; the compare
    frame is not a request of the edit."""
    w = RenderWorker()  # not started: every submit lands in the slot
    for rev in range(1, 6):
        w.submit(FrameJob(1, DocumentSnapshot(rev, "m", "layer4", 0, ())))
    w.submit(FrameJob(1, DocumentSnapshot(6, "m", "layer4", 0, ()), "plain"))
    c = w.frame_counts()
    assert (c.submitted, c.superseded, c.rendered) == (5, 4, 0)
    assert not w.is_idle()


def test_program_has_the_drag_bench():
    from ganpaint.main import build_parser

    args = build_parser().parse_args(["drag-bench", "--events", "40", "--json"])
    assert args.events == 40 and args.json and args.interval_ms == 8 and callable(args.handler)
