"""The fuzz target for custom concept files: the user's own file (read when a model opens,
:func:`~ganpaint.models.concept_files.load_concepts`) and files shared by others (*Concept →
Import…*, ``ganpaint concept --import``, :func:`~ganpaint.models.concept_files.import_concepts`).

Each case is a concept file: a valid one, one with its JSON changed in one place (edge
values, raw text such as a 5000-digit integer or deep nesting), random JSON, byte mutations
or a truncation. It is read, then imported into a user's file that already holds a concept.
A file refused must be refused with a :class:`~ganpaint.core.errors.GanpaintError` naming the
file, and the user's file must be left byte for byte as it was. A file read must give
concepts the app can use as they are: valid names, a string layer, non-negative unit
indices and finite scores, one each per unit; an import adds exactly the concepts that fit
the model, names each one skipped, and leaves a user's file that reads back with them.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from ganpaint.core.errors import GanpaintError
from ganpaint.models.concept_files import (
    CustomConcept,
    ModelFit,
    import_concepts,
    load_concepts,
    save_concepts,
    valid_concept_name,
)
from ganpaint.robust.cases import Case, InvariantError, Target, require_file_named
from ganpaint.robust.mutate import dumps_with_raw, mutate_bytes, mutate_json, random_json

# The model the files are imported into: two edit layers, a built-in concept on one.
FIT = ModelFit("fuzzmodel", {"layer4": 16, "layer6": 8}, {"layer4": frozenset({"tree"})})


def seed_concepts() -> list[CustomConcept]:
    """A small valid file's concepts: some fit ``FIT``, some do not (layer, units, name)."""
    lantern = CustomConcept("lantern", "layer4", [3, 1, 7], [0.31, 0.2, 0.1], [1.5, 1.2, 0.9])
    lantern.seeds, lantern.icon, lantern.created = [12, 40], "mdi.lamp", "2026-11-27"
    return [
        lantern,
        CustomConcept("hedge row", "layer6", [0, 5], [0.25, 0.22], [1.1, 1.0]),
        CustomConcept("far", "layer9", [1], [0.5], [1.0]),
        CustomConcept("huge", "layer6", [2, 99], [0.4, 0.3], [1.0, 1.0]),
        CustomConcept("tree", "layer4", [2], [0.4], [1.0]),
    ]


class ConceptFilesTarget(Target):
    """Cases are concept files, read and then imported into a user's file."""

    name = "concepts"
    refusals = (GanpaintError,)
    FILE = "shared.json"
    USER = "user.json"

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        source = workdir / "seed.json"
        save_concepts(source, seed_concepts(), "elsewhere")
        self.original = source.read_bytes()
        save_concepts(workdir / self.USER, [CustomConcept("pond", "layer6", [4], [0.3], [1.0])])
        self.user = (workdir / self.USER).read_bytes()

    def make(self, rng: random.Random, index: int) -> Case:
        data = self.original
        r = rng.random()
        if r < 0.05:
            kind, desc = "valid", "as written"
        elif r < 0.55:
            raws: list[str] = []
            doc = json.loads(data)
            for _ in range(rng.randint(1, 3)):
                doc = mutate_json(rng, doc, raws)
            kind, desc = "json", f"JSON changed ({len(raws)} raw values)"
            data = dumps_with_raw(doc, raws).encode("utf-8", "surrogatepass")
        elif r < 0.65:
            kind, desc = "random-json", "random JSON"
            data = json.dumps(random_json(rng), allow_nan=True).encode()
        elif r < 0.9:
            kind, desc, data = "bytes", "byte mutations", mutate_bytes(rng, data)
        else:
            cut = rng.randrange(len(data))
            kind, desc, data = "truncated", f"cut at {cut} of {len(data)} bytes", data[:cut]
        return Case(index, kind, desc, {self.FILE: data})

    def run(self, case: Case) -> None:
        source, user = self.workdir / self.FILE, self.workdir / self.USER
        user.write_bytes(self.user)
        self.write(self.workdir, case)
        try:
            found = load_concepts(source)
        except GanpaintError as exc:
            require_file_named(exc, source)
            raise
        for c in found:
            _check_concept(c)
        try:
            report = import_concepts(user, source, FIT)
        except GanpaintError as exc:
            require_file_named(exc, source)
            if user.read_bytes() != self.user:
                raise InvariantError("a refused import changed the user's file") from None
            raise
        fits = [  # of two with one name the later is the one imported
            c.name
            for i, c in enumerate(found)
            if FIT.problem(c) is None and all(o.name != c.name for o in found[i + 1 :])
        ]
        if sorted(report.added) != sorted(fits):
            raise InvariantError(f"added {report.added}, but these fit: {fits}")
        if len(report.added) + len(report.skipped) != len(found):
            raise InvariantError("a concept was neither added nor named as skipped")
        if not report.added:
            if user.read_bytes() != self.user:
                raise InvariantError("an import that added nothing changed the user's file")
            return
        after = {c.name for c in load_concepts(user)}
        if not set(report.added) <= after or "pond" not in after | set(report.added):
            raise InvariantError(f"the user's file after the import holds {sorted(after)}")


def _check_concept(c: CustomConcept) -> None:
    n = len(c.units)
    if not (isinstance(c.name, str) and valid_concept_name(c.name)):
        raise InvariantError(f"concept name {c.name!r} accepted")
    if not isinstance(c.layer, str):
        raise InvariantError(f"layer {c.layer!r} accepted")
    if len(c.iou) != n or len(c.contrast) != n:
        raise InvariantError("scores do not match the units one for one")
    if not all(isinstance(u, int) and u >= 0 for u in c.units):
        raise InvariantError(f"units {c.units[:5]} accepted")
    if not all(math.isfinite(v) for v in (*c.iou, *c.contrast)):
        raise InvariantError("a score that is not a finite number was accepted")
    if not all(isinstance(s, int) for s in c.seeds):
        raise InvariantError(f"seeds {c.seeds[:5]} accepted")
