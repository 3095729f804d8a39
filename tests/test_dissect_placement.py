"""Context placement for ``ganpaint evaluate --placement context``: each rule on a drawn
label map (a brick wall on a lawn under the sky), and the table by covered class."""

from __future__ import annotations

import torch

from ganpaint.dissect.placement import by_covered, context_positions, covered_classes
from ganpaint.scenes.concepts import CONCEPTS

SKY, GRASS, BRICK, DOOR = (CONCEPTS.index(c) for c in ("sky", "grass", "brick", "door"))


def _scene(door: bool = False) -> torch.Tensor:
    """64 x 64 px, 8 px cells: sky above row 28, lawn below; a wall in columns 16..39 from
    row 12 down to its foot at row 40; optionally a door at the wall's left end."""
    labels = torch.full((1, 64, 64), GRASS, dtype=torch.long)
    labels[:, :28] = SKY
    labels[:, 12:40, 16:40] = BRICK
    if door:
        labels[:, 32:40, 16:24] = DOOR
    return labels


def _pos(labels, concept):
    return tuple(context_positions(labels, CONCEPTS, concept, 8, 1)[0].tolist())


def test_each_concept_goes_where_it_fits():
    labels = _scene()
    row, col = _pos(labels, "door")
    assert row == 4 and 2 <= col <= 4  # bottom of the wall, lawn below
    row, col = _pos(labels, "dome")
    assert row == 1 and 2 <= col <= 4  # straddles the wall's top, sky above
    row, col = _pos(labels, "tree")
    assert row == 3 and col not in (2, 3, 4)  # lawn reaching the horizon, beside the wall
    row, col = _pos(labels, "window")
    assert 2 <= row <= 4 and 2 <= col <= 4  # on the wall
    assert _pos(labels, "cloud") == (-1, -1)  # no rule: placed a priori instead


def test_a_door_goes_to_a_wall_without_one():
    assert _pos(_scene(door=True), "door") == (4, 4)  # the door's columns (and next) are out
    wall_with_doors = _scene()
    wall_with_doors[:, 32:40, 16:40] = DOOR
    assert _pos(wall_with_doors, "door") == (-1, -1)


def test_insertion_by_covered_class():
    labels = _scene()
    masks = torch.zeros(3, 64, 64, dtype=torch.bool)
    masks[0, 32:40, 16:24] = True  # brick
    masks[1, 0:8, 0:8] = True  # sky
    masks[2, 24:32, 32:40] = True  # brick
    covered = covered_classes(labels.expand(3, -1, -1), masks, len(CONCEPTS))
    assert covered.tolist() == [BRICK, SKY, BRICK]
    table = by_covered(covered, torch.tensor([0.5, 0.0, 0.25]), CONCEPTS)
    assert list(table) == ["brick", "sky"]
    assert table["brick"] == {"squares": 2, "insertion": 0.375}
    assert table["sky"] == {"squares": 1, "insertion": 0.0}
