"""The concept-file fuzz target (custom concept files, read and imported) and one test per bug
it found: deep nesting and 5000-digit integers escaped as RecursionError and ValueError,
an infinite seed as OverflowError, and NaN or infinite scores were accepted."""

from __future__ import annotations

import json

import pytest

from ganpaint.core.errors import GanpaintError
from ganpaint.models.concept_files import CustomConcept, import_concepts, load_concepts
from ganpaint.robust import concepts_target as CT
from ganpaint.robust import fuzz as F


def test_fuzz_concepts_target_short_run(tmp_path):
    report = F.fuzz("concepts", 300, seed=5, workdir=tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.loaded > 0 and report.refused > 0


def _file(tmp_path, text: str):
    path = tmp_path / "shared.json"
    path.write_text(text, encoding="utf-8")
    return path


def _doc(concept: dict) -> str:
    return json.dumps({"format": "ganpaint-concepts", "version": 1, "concepts": [concept]})


GOOD = {"name": "lantern", "layer": "layer4", "units": [[3, 0.3, 1.5]], "seeds": [1]}


@pytest.mark.parametrize(
    "text, why",
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"format": "ganpaint-concepts", "version": ' + "1" * 5000 + "}", "not a concept file"),
        (_doc(GOOD).replace('"seeds": [1]', '"seeds": [1e999]'), "'seeds' must be"),
        (_doc(GOOD).replace('"seeds": [1]', '"seeds": "12"'), "'seeds' must be"),
        (_doc(GOOD).replace("0.3", "NaN"), "finite number"),
        (_doc(GOOD).replace("1.5", "-Infinity"), "finite number"),
        (_doc(GOOD).replace("1.5", "1" + "0" * 400), "finite number"),
        (_doc(GOOD).replace("[[3,", "[[true,"), "'units' must be"),
    ],
)
def test_hostile_concept_files_are_refused_with_the_file_named(tmp_path, text, why):
    path = _file(tmp_path, text)
    with pytest.raises(GanpaintError, match=why) as info:
        load_concepts(path)
    assert str(path) in str(info.value)
    user = tmp_path / "user.json"
    user.write_text("kept as it was", encoding="utf-8")
    with pytest.raises(GanpaintError):
        import_concepts(user, path, CT.FIT)
    assert user.read_text(encoding="utf-8") == "kept as it was"


def test_a_good_file_still_reads(tmp_path):
    (c,) = load_concepts(_file(tmp_path, _doc(GOOD)))
    assert c == CustomConcept("lantern", "layer4", [3], [0.3], [1.5], [1])
