"""The docs screenshot script runs and writes both images."""

from __future__ import annotations

from PIL import Image


def test_screenshot_script_writes_main_and_presentation(app_settings, demo_bundle, tmp_path):
    import torch

    from ganpaint.devtools.screenshots import render_screenshots

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        main, presentation = render_screenshots(tmp_path / "docs", demo_bundle, size=(1000, 700))
    finally:
        torch.set_num_threads(threads)
    assert Image.open(main).size == (1000, 700)
    assert Image.open(presentation).size[0] >= 700
