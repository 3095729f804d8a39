"""A bundle whose scene classifier or picture encoder is damaged still opens and paints; the
Classifier panel and File > Open Image… say which file is at fault and why, instead of
refusing the whole model or blaming the picture."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.test_app_picture import paint_tree, picture_png

DAMAGES = ("truncated-listed", "garbage-unlisted")


@pytest.fixture(scope="module")
def networks_bundle(demo_bundle, tmp_path_factory):
    """The demo bundle plus a tiny classifier and encoder, listed in bundle.json."""
    import json

    from ganpaint.models.bundle import write_bundle_json
    from ganpaint.models.classifier import SceneClassifier, save_classifier
    from ganpaint.models.encoder import PictureEncoder, save_encoder

    folder = tmp_path_factory.mktemp("networks") / "bundle"
    shutil.copytree(demo_bundle, folder)
    save_classifier(
        SceneClassifier(("church", "forest"), (4, "M", 8)), folder / "classifier.safetensors"
    )
    save_encoder(PictureEncoder(32, 8, 4, "layer4"), folder / "encoder.safetensors")
    meta = json.loads((folder / "bundle.json").read_text())
    meta["classifier"] = {"classes": ["church", "forest"]}
    write_bundle_json(folder, meta)
    return folder


def damaged(networks_bundle, tmp_path, name: str, how: str):
    """A copy of the bundle with ``name`` damaged: cut in half with its sha256 still listed,
    or, no longer listed (so only its reader can tell), replaced by garbage or with a NaN
    weight."""
    import json

    folder = tmp_path / f"damaged-{how}"
    shutil.copytree(networks_bundle, folder)
    path = folder / name
    if how == "truncated-listed":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        if how == "garbage-unlisted":
            path.write_bytes(b"\x00garbage" * 100)
        else:  # whole and ours by its header, but a weight is NaN: found only by loading
            from safetensors import safe_open
            from safetensors.torch import save_file

            with safe_open(str(path), "pt") as f:
                state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
                meta_data = f.metadata()
            next(v for k, v in state.items() if k.endswith("weight")).view(-1)[0] = float("nan")
            save_file(state, str(path), metadata=meta_data)
        meta = json.loads((folder / "bundle.json").read_text())
        del meta["files"][name]
        (folder / "bundle.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize("how", [*DAMAGES, "nan-unlisted"])
def test_damaged_classifier_the_model_paints_and_the_panel_says_why(
    make_window, qtbot, frame_waiter, networks_bundle, tmp_path, how
):
    w = make_window(model=damaged(networks_bundle, tmp_path, "classifier.safetensors", how))
    assert w.models.bundle is not None and w.models.ready
    before = w.frames.image.copy()
    paint_tree(w)
    frame_waiter(w)
    assert np.any(w.frames.image != before)  # painting works

    w.actions["view.classifier"].trigger()
    panel = w.classifier_panel
    qtbot.waitUntil(lambda: "cannot be used" in panel.note.text(), timeout=10_000)
    text = panel.note.text()
    assert "classifier.safetensors" in text and "could not read this picture" not in text
    reason = {"truncated-listed": "sha256", "nan-unlisted": "holds NaN"}.get(
        how, "not a safetensors file (it holds binary"
    )
    assert reason in text
    assert not panel.body.isVisible() and not w.actions["classifier.attack"].isEnabled()
    assert not panel.attack_button.isEnabled()
    from PySide6.QtWidgets import QMenu

    menu = QMenu()
    w.classifier_view.fill_attack_menu(menu)
    assert [(a.text(), a.isEnabled()) for a in menu.actions()] == [
        ("church", False),
        ("forest", False),
    ]
    panel.grab().save(str(tmp_path / f"panel-{how}.png"))


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_encoder_open_image_says_why(
    make_window, qtbot, frame_waiter, networks_bundle, tmp_path, how
):
    w = make_window(model=damaged(networks_bundle, tmp_path, "encoder.safetensors", how))
    paint_tree(w)
    frame_waiter(w)
    revision = w.document.revision
    with qtbot.waitSignal(w.picture_commands.finished, timeout=5000) as signal:
        assert not w.picture_commands.open_image(picture_png(tmp_path))
    assert signal.args == ["refused"] and not w.picture_commands.busy
    box = w.prompts.last_box
    assert box.windowTitle() == "Cannot open image"
    assert "picture encoder" in box.text() and "nothing changed" in box.text()
    assert "encoder.safetensors" in box.informativeText()
    assert w.document.revision == revision and w.document.picture is None
    box.grab().save(str(tmp_path / f"box-{how}.png"))
    box.close()
    # File > Open Image… says so before asking for a file (no file dialog opens)
    with qtbot.waitSignal(w.picture_commands.finished, timeout=5000) as signal:
        w.picture_commands.choose_image()
    assert signal.args == ["refused"] and w.prompts.last_box.windowTitle() == "Cannot open image"
