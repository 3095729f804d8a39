"""The app's Qt-free state: session, model controller, concept library and the brush rules,
tested without Qt (and the package imports with Qt blocked)."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from ganpaint.app.state.concept_library import (
    ConceptLibrary,
    brush_units,
    name_problem,
    unit_scores,
)
from ganpaint.app.state.concepts import ConceptInfo, UnitInfo, concept_color, concept_style
from ganpaint.app.state.model_controller import ModelController
from ganpaint.app.state.painting import StrokeTemplate, stroke_template
from ganpaint.app.state.session import DocumentSession, choose_recovery, recovery_question
from ganpaint.app.state.tool import CUSTOM, BrushSettings
from ganpaint.engine.document import EditDocument, Stroke
from tests.test_layering import SCRIPT


def test_state_imports_with_qt_blocked():
    names = [
        "ganpaint.app.state",
        "ganpaint.app.state.session",
        "ganpaint.app.state.model_controller",
        "ganpaint.app.state.concept_library",
        "ganpaint.app.state.concepts",
        "ganpaint.app.state.concept_draft",
        "ganpaint.app.state.painting",
        "ganpaint.app.state.tool",
        "ganpaint.app.state.brush",
        "ganpaint.app.state.model_card",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    views = subprocess.run(
        [sys.executable, "-c", SCRIPT, "ganpaint.app.views.main_window"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert views.returncode == 1 and "blocked" in views.stdout  # the blocker does block


def _stroke(layer: str = "layer4") -> Stroke:
    mask = np.zeros((8, 8), np.float32)
    mask[:4, :4] = 1
    return Stroke("tree", "draw", (1, 2), 1.0, 0.99, layer, mask)


# -- the session ---------------------------------------------------------------------------


def test_session_title_dirty_and_save(tmp_path):
    s = DocumentSession(5)
    assert s.title == "GANPaint — Untitled[*]" and not s.dirty and not s.needs_confirm
    assert s.export_name == "ganpaint-5" and s.autosave_meta("m") is None
    assert s.project_name == "untitled"
    s.reset("demo", "layer4")
    s.document.add_stroke(_stroke())
    assert s.dirty and s.needs_confirm
    assert s.autosave_meta("/m") == {
        "model_path": "/m",
        "project_path": None,
        "strokes": 1,
        "picture": False,
    }
    s.save(tmp_path / "p.ganpaint")
    assert s.project_path == str((tmp_path / "p.ganpaint").resolve())
    assert s.title == "GANPaint — p[*]" and not s.dirty and s.export_name == "p"
    assert s.project_name == "p"


def test_session_adopt_restore_and_layers(tmp_path):
    s = DocumentSession(1)
    document = s.document
    loaded = EditDocument("demo", "layer4", 9)
    loaded.add_stroke(_stroke())
    assert not s.layer_problem(loaded, ["layer4", "layer6"])
    assert s.layer_problem(loaded, ["layer6"])
    s.adopt(loaded, tmp_path / "a.ganpaint")
    assert s.document is document and document.seed == 9 and len(document.strokes) == 1
    s.restore(EditDocument("demo", "layer4", 3), "/p/x.ganpaint")
    assert s.document is document and document.modified and s.project_path == "/p/x.ganpaint"
    s.reset("other", "layer6")
    assert s.project_path is None and document.layer == "layer6" and document.seed == 3


def test_choose_recovery_asks_newest_with_strokes_and_discards_the_rest():
    empty, new, old = (SimpleNamespace(meta={"strokes": n}) for n in (0, 2, 5))
    asked = []

    def ask(rec, strokes):
        asked.append(strokes)
        return strokes == 5

    chosen, discard = choose_recovery([empty, new, old], ask)
    assert chosen is old and discard == [empty, new] and asked == [2, 5]
    chosen, discard = choose_recovery([new, old], lambda rec, n: True)
    assert chosen is new and discard == [old]


def test_session_with_a_picture_is_unsaved_work_named_after_its_file(tmp_path):
    from ganpaint.engine.picture import PictureBase

    s = DocumentSession(4)
    picture = PictureBase(pixels=np.zeros((8, 8, 3), np.uint8), z=np.zeros(4, np.float32))
    doc = EditDocument("demo", "layer4", 4, picture=picture)
    assert s.picture_problem(doc, "demo", 8) is None
    assert "open that model first" in s.picture_problem(doc, "other", 8)
    assert "8 px" in s.picture_problem(doc, "demo", 64)
    assert s.picture_problem(EditDocument("x", "layer4", 1), "demo", 64) is None
    s.open_picture(doc, "beach")
    s.document.add_stroke(_stroke())
    encoded = s.to_dict()  # the project, and the undo history the autosave keeps
    assert encoded == {**s.document.to_dict(), "history": s.document.history_to_dict()}
    assert picture.is_encoded
    # encoded once: later dicts share the encoded strings
    assert s.to_dict()["picture"]["pixels"]["data"] is encoded["picture"]["pixels"]["data"]
    s.document.undo()
    # no strokes yet, but the inversion took time: closing asks, the autosave keeps it
    assert s.needs_confirm and s.dirty and s.title == "GANPaint — beach[*]"
    assert s.export_name == "beach-edited" and s.autosave_meta(None)["picture"] is True
    assert s.project_name == "beach"  # Save proposes the picture's name, not "untitled"
    s.save(tmp_path / "b.ganpaint")
    assert not s.needs_confirm and s.name == "b"
    s.reset("demo", "layer4")
    assert s.document.picture is None and s.name == "Untitled"


def test_choose_recovery_offers_a_picture_with_no_strokes():
    picture = SimpleNamespace(meta={"strokes": 0, "picture": True})
    empty = SimpleNamespace(meta={"strokes": 0, "picture": False})
    chosen, discard = choose_recovery([empty, picture], lambda rec, n: True)
    assert chosen is picture and discard == [empty]


# -- the model controller ------------------------------------------------------------------


def test_model_controller_requests_and_results():
    m = ModelController("cuda")
    first = m.request_open("/models/a")
    assert (first.key, first.path, first.device, first.bundle) == (1, "/models/a", "cuda", None)
    assert m.request_device("cpu") is None and m.device_pref == "cpu"  # nothing open yet
    assert m.request_open(m.requested, "cpu").key == 2
    bundle = SimpleNamespace(name="a", generator=SimpleNamespace(resolution=64))
    assert m.loaded(2, bundle, "cpu", ("cpu", "cuda"), "/models/a", reused=False)
    assert m.ready and m.model_key == 2 and m.resolution == 64 and m.devices == ("cpu", "cuda")
    assert m.model_path.endswith("a")
    move = m.request_device("cuda")
    assert move.bundle is bundle and move.path is None and move.key == 3
    assert not m.loaded(3, bundle, "cuda:0", ("cpu", "cuda"), None, reused=True)  # moved only
    assert m.offer_cpu_on_render_error and m.model_path.endswith("a")


def test_model_controller_failures_and_pending():
    m = ModelController()
    assert m.failure("no such file", None).missing_default
    gpu = m.failure("CUDA out of memory", "/x")
    assert gpu.offer_cpu and not gpu.missing_default and gpu.keep_note == ""
    m.device_pref = "cpu"
    assert not m.failure("CUDA out of memory", "/x").offer_cpu
    m.bundle = SimpleNamespace(name="old")
    assert m.failure("bad", "/x").keep_note == " Still using old."
    m.pending_project, m.pending_restore = "/p.ganpaint", None
    assert m.take_pending() == (None, "/p.ganpaint") and m.take_pending() == (None, None)


# -- concepts and the brush ----------------------------------------------------------------


def _concept(name="tree", iou=((3, 0.5), (1, 0.4)), causal=((1, 0.9), (3, 0.2))):
    group, icon, color = concept_style(name)
    return ConceptInfo(name, group, icon, color, iou=iou, causal=causal)


def test_brush_units_follow_ranking_count_and_custom():
    brush = BrushSettings(concept="tree", unit_count=1, ranking="causal")
    tree = _concept()
    assert brush_units(brush, tree) == (1,)
    brush.update(ranking="iou", unit_count=2)
    assert brush_units(brush, tree) == (3, 1)
    brush.update(concept=CUSTOM, custom_units=[7, 5])
    assert brush_units(brush, tree) == (5, 7)
    assert brush_units(BrushSettings(concept="dome"), None) == ()


def test_unit_scores_prefer_the_brush_concept_then_the_label():
    tree, sky = _concept(), _concept("sky", iou=((2, 0.3),), causal=())
    units = [UnitInfo(0), UnitInfo(1, "tree", 0.4), UnitInfo(2, "sky", 0.3)]
    assert unit_scores([tree, sky], units, "tree", 1) == {"label": "tree", "iou": 0.4, "ace": 0.9}
    assert unit_scores([tree, sky], units, "tree", 2) == {"label": "sky", "iou": 0.3, "ace": None}
    assert unit_scores([tree, sky], units, CUSTOM, 0) == {"label": None, "iou": None, "ace": None}


def test_names_and_colours():
    assert name_problem("", set()) == "Give the concept a name."
    assert "letters" in name_problem("bad/name", set())
    assert "already" in name_problem("tree", {"tree"})
    assert name_problem("lantern 2", {"tree"}) is None
    from ganpaint.scenes.concepts import CONCEPT_COLORS

    assert concept_color("sky") == "#{:02x}{:02x}{:02x}".format(*CONCEPT_COLORS["sky"])
    assert concept_color("tree") != "#{:02x}{:02x}{:02x}".format(*CONCEPT_COLORS["tree"])
    assert concept_color("person") == "#f28e6b"  # an LSUN label keeps its own colour
    assert concept_color("gazebo") == concept_color("gazebo")


def test_stroke_template_rules():
    assert stroke_template(0, "tree", (1,), "layer4", "#fff") == "Open a model first"
    assert "Pick a concept" in stroke_template(64, "tree", (), "layer4", "#fff")
    t = stroke_template(64, None, (1, 2), "layer4", "#fff")
    assert t == StrokeTemplate(CUSTOM, (1, 2), "layer4", 64, "#fff")


@pytest.fixture
def library(demo_bundle, tmp_path):
    from ganpaint.models.bundle import load_bundle

    lib = ConceptLibrary(tmp_path / "concepts")
    assert lib.file() is None
    assert lib.set_model(load_bundle(demo_bundle)) is None
    return lib


def _custom(name="lantern", layer="layer4", units=(1, 2)):
    from ganpaint.models.concept_files import CustomConcept

    n = len(units)
    return CustomConcept(name, layer, list(units), [0.5] * n, [1.0] * n, seeds=[1], icon="mdi.lamp")


def test_concept_library_checks_saves_and_deletes(library, tmp_path):
    builtin = sorted(library.builtin_names("layer4"))
    assert builtin and CUSTOM in library.reserved("layer4")
    assert "not an edit layer" in library.problem(_custom(layer="layer1"))
    assert "do not fit" in library.problem(_custom(units=(10_000,)))
    assert "already a concept" in library.problem(_custom(name=builtin[0]))
    assert library.problem(_custom()) is None
    library.save(_custom())
    assert library.reload() is None and [c.name for c in library.custom] == ["lantern"]
    assert library.custom_layer("lantern") == "layer4"
    assert library.style_of("lantern")[:2] == ("Custom", "mdi.lamp")
    shown = library.layer_concepts("layer4")
    assert shown[-1].name == "lantern" and shown[-1].custom
    # on another layer it stays listed, tied to its layer and not usable there
    elsewhere = library.layer_concepts("layer6")[-1]
    assert elsewhere.name == "lantern" and elsewhere.other_layer == "layer4"
    assert not elsewhere.available and shown[-1].other_layer is None
    assert len(library.layer_units("layer4")) == library.bundle.generator.layer_channels("layer4")
    assert library.export("lantern", tmp_path / "out.json")
    assert not library.export("nothing", tmp_path / "none.json")
    library.delete("lantern")
    assert library.reload() is None and library.custom == []
    result = library.import_file(tmp_path / "out.json")
    assert result.added == ["lantern"] and result.found == 1 and result.error is None
    assert [c.name for c in library.custom] == ["lantern"]


def test_concept_library_reports_bad_files(library, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    result = library.import_file(bad)
    assert result.error and result.found == 0 and result.added == []
    library.file().parent.mkdir(parents=True, exist_ok=True)
    library.file().write_text("[]", encoding="utf-8")
    assert "not a GANPaint concept file" in library.reload() and library.custom == []


def test_concept_library_imports_what_fits_and_names_what_it_skipped(library, tmp_path):
    from ganpaint.models.concept_files import save_concepts

    builtin = sorted(library.builtin_names("layer4"))[0]
    source = tmp_path / "mixed.json"
    save_concepts(source, [_custom("lantern"), _custom("far", layer="layer1"),
                           _custom(builtin), _custom("big", units=(10_000,))])  # fmt: skip
    result = library.import_file(source)
    assert result.error is None and result.found == 4 and result.added == ["lantern"]
    assert [line.split(":")[0] for line in result.skipped] == ["far", builtin, "big"]
    assert "not an edit layer" in result.skipped[0] and "already a concept" in result.skipped[1]
    assert [c.name for c in library.custom] == ["lantern"]
    save_concepts(source, [_custom("far", layer="layer1")])
    result = library.import_file(source)  # nothing fits: an error naming each one and why
    assert result.added == [] and "none of its 1 concept(s) fits" in result.error
    assert "far: its layer layer1" in result.error


def test_recovery_question_names_the_model_that_restoring_opens():
    plain = recovery_question("2026-11-28 15:49", 2, False, "scenes128")
    assert plain.endswith("autosaved at 2026-11-28 15:49 (2 strokes on scenes128)?")
    assert "a picture with 1 stroke on demo" in recovery_question("t", 1, True, "demo")
    # the user asked for another model: restoring opens the autosave's, and says so
    other = recovery_question("t", 2, False, "scenes128", "scenes256")
    assert other.endswith("? It opens scenes128 instead of scenes256.")
    assert recovery_question("t", 2, False, "scenes128", "scenes128") == plain.replace(
        "2026-11-28 15:49", "t"
    )
